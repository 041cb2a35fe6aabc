import type { Command } from 'commander';
import type { Worker } from '@temporalio/worker';
import type { FirebreakMetrics } from '../../metrics/firebreak.ts';
import { getConfig } from '../../config/index.ts';
import { UserError } from '../io.ts';

/** Resolves on the first SIGINT or SIGTERM. */
function shutdownSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the processes named in FIREBREAK_ROLES against TEMPORAL_ADDRESS (production entry point).')
    .action(async () => {
      const config = getConfig();
      const roles = config.FIREBREAK_ROLES;
      if (roles.includes('slack')) {
        const { slackConfigProblem } = await import('../../slack/app.ts');
        const problem = slackConfigProblem(config);
        if (problem !== undefined) throw new UserError(`${problem} Or leave slack out of FIREBREAK_ROLES.`);
      }
      const [{ createLogger }, { installRuntime }] = await Promise.all([import('../../log.ts'), import('../../worker/runtime.ts')]);
      const log = createLogger(config);
      const metricsPort = config.FIREBREAK_METRICS_PORT;
      // The SDK's exporter listens on a loopback port of its own; /metrics passes its text through.
      const sdkMetricsAddress = metricsPort !== undefined && roles.includes('worker') ? `127.0.0.1:${await (await import('../../net/ports.ts')).freePort()}` : undefined;
      installRuntime(config.FIREBREAK_LOG_LEVEL, log, sdkMetricsAddress);
      const { asStartupError, intakeListener, listening, slackListener, StartedParts } = await import('../../startup.ts');
      const stop = shutdownSignal();
      const started = new StartedParts(log);
      let worker: Worker | undefined;
      let metrics: FirebreakMetrics | undefined;
      try {
        if (metricsPort !== undefined) {
          const [{ FirebreakMetrics }, { startMetricsServer }, { connectClient }] = await Promise.all([
            import('../../metrics/firebreak.ts'),
            import('../../metrics/server.ts'),
            import('../../wiring/temporal.ts'),
          ]);
          const client = await connectClient(config);
          started.add('the metrics client', () => client.connection.close());
          metrics = new FirebreakMetrics(client, { client }, (e, what) => log.warn({ err: e instanceof Error ? e.message : String(e) }, `metrics: could not read ${what}`));
          const host = config.FIREBREAK_METRICS_HOST;
          const server = await listening(
            { what: 'The /metrics endpoint', host, port: metricsPort, variable: 'FIREBREAK_METRICS_PORT', hostVariable: 'FIREBREAK_METRICS_HOST' },
            () => startMetricsServer({ host, port: metricsPort, registry: metrics!.registry, ...(sdkMetricsAddress === undefined ? {} : { sdkAddress: sdkMetricsAddress }) }),
          );
          started.add('the /metrics endpoint', () => server.close());
          log.info({ url: server.url }, 'metrics listening');
        }
        if (roles.includes('intake')) {
          const { startIntake } = await import('../../intake/index.ts');
          const { intakeAuthFromConfig } = await import('../../intake/auth.ts');
          if (Object.keys(intakeAuthFromConfig(config)).length === 0) {
            throw new UserError(
              'the intake role needs credentials for at least one alert source: set FIREBREAK_INTAKE_<SOURCE>_TOKEN or FIREBREAK_INTAKE_<SOURCE>_HMAC_SECRET (SOURCE: FALCO, GUARDDUTY, ALERTMANAGER, GENERIC).',
            );
          }
          const intake = await listening(intakeListener(config), () => startIntake(config, log));
          started.add('the alert intake', async () => {
            await intake.close();
            log.info('intake stopped');
          });
        }

        if (roles.includes('slack')) {
          const { startSlack } = await import('../../slack/index.ts');
          const slack = await listening(slackListener(config), () => startSlack(config, log));
          started.add('the Slack app', async () => {
            await slack.stop();
            log.info('Slack app stopped');
          });
        }

        if (roles.includes('worker')) {
          const [{ createWorker }, { createActivityDeps }] = await Promise.all([import('../../worker/index.ts'), import('../../wiring/deps.ts')]);
          // Last: a worker created but never run cannot be shut down, and keeps its connection open.
          const created = await createWorker({
            config,
            deps: createActivityDeps(config, log),
            onTimelineEvent: (event, incidentId, workflowType) => {
              log.info({ incidentId, event }, `timeline ${event.type}`);
              metrics?.record(event, { workflowId: incidentId, workflowType });
            },
          });
          started.add('the Temporal connection', () => created.connection.close());
          worker = created.worker;
        }
      } catch (e) {
        await started.stopAll();
        throw asStartupError(e);
      }
      try {
        if (worker === undefined) await stop;
        else {
          log.info({ taskQueue: config.FIREBREAK_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
          // Resolves after SIGINT/SIGTERM, once in-flight work has drained.
          await worker.run();
          log.info('worker stopped');
        }
      } finally {
        await started.stopAll();
      }
    });
}
