import type { Command } from 'commander';
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
      installRuntime(config.FIREBREAK_LOG_LEVEL, log);
      const running: Promise<void>[] = [];

      if (roles.includes('intake')) {
        const { startIntake } = await import('../../intake/index.ts');
        const { intakeAuthFromConfig } = await import('../../intake/auth.ts');
        if (Object.keys(intakeAuthFromConfig(config)).length === 0) {
          throw new UserError(
            'the intake role needs credentials for at least one alert source: set FIREBREAK_INTAKE_<SOURCE>_TOKEN or FIREBREAK_INTAKE_<SOURCE>_HMAC_SECRET (SOURCE: FALCO, GUARDDUTY, ALERTMANAGER, GENERIC).',
          );
        }
        const stop = shutdownSignal();
        const intake = await startIntake(config, log);
        running.push(
          stop.then(async () => {
            await intake.close();
            log.info('intake stopped');
          }),
        );
      }

      if (roles.includes('slack')) {
        const { startSlack } = await import('../../slack/index.ts');
        const stop = shutdownSignal();
        const slack = await startSlack(config, log);
        running.push(
          stop.then(async () => {
            await slack.stop();
            log.info('Slack app stopped');
          }),
        );
      }

      if (roles.includes('worker')) {
        const [{ createWorker }, { createActivityDeps }] = await Promise.all([import('../../worker/index.ts'), import('../../deps.ts')]);
        const { worker, connection } = await createWorker({
          config,
          deps: createActivityDeps(config, log),
          onTimelineEvent: (event, incidentId) => log.info({ incidentId, event }, `timeline ${event.type}`),
        });
        log.info({ taskQueue: config.FIREBREAK_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
        running.push(
          (async () => {
            try {
              await worker.run();
            } finally {
              await connection.close();
            }
            log.info('worker stopped');
          })(),
        );
      }
      await Promise.all(running);
    });
}
