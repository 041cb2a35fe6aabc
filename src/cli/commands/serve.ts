import type { Command } from 'commander';
import { getConfig } from '../../config/index.ts';
import { UserError } from '../io.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the processes named in FIREBREAK_ROLES against TEMPORAL_ADDRESS (production entry point).')
    .action(async () => {
      const config = getConfig();
      const unavailable = config.FIREBREAK_ROLES.filter((r) => r !== 'worker');
      if (unavailable.length > 0) {
        throw new UserError(
          `FIREBREAK_ROLES names ${unavailable.join(', ')}, which this version does not provide yet; set FIREBREAK_ROLES=worker.`,
        );
      }
      const [{ createLogger }, { installRuntime }, { createWorker }, { createActivityDeps }] = await Promise.all([
        import('../../log.ts'),
        import('../../worker/runtime.ts'),
        import('../../worker/index.ts'),
        import('../../deps.ts'),
      ]);
      const log = createLogger(config);
      installRuntime(config.FIREBREAK_LOG_LEVEL, log);
      const { worker, connection } = await createWorker({
        config,
        deps: createActivityDeps(config, log),
        onTimelineEvent: (event, incidentId) => log.info({ incidentId, event }, `timeline ${event.type}`),
      });
      log.info({ taskQueue: config.FIREBREAK_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
      try {
        await worker.run();
      } finally {
        await connection.close();
      }
      log.info('worker stopped');
    });
}
