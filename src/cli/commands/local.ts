import type { Command } from 'commander';
import { getConfig } from '../../config/index.ts';
import { out, positiveInt } from '../io.ts';

export function registerLocal(program: Command): void {
  program
    .command('local')
    .description(
      'Run Firebreak on this machine: embedded Temporal dev server (state in FIREBREAK_DATA_DIR), sandbox Kubernetes and AWS for what is not configured, and the worker.',
    )
    .option('--ready-timeout <seconds>', 'how long each sandbox server may take to start before Firebreak gives up', positiveInt, 90)
    .action(async (opts: { readyTimeout: number }) => {
      const config = getConfig();
      const [{ createLogger }, { installRuntime }, { runLocal }] = await Promise.all([
        import('../../log.ts'),
        import('../../worker/runtime.ts'),
        import('../../sandbox/local.ts'),
      ]);
      const log = createLogger(config);
      installRuntime(config.FIREBREAK_LOG_LEVEL, log);
      await runLocal(config, log, out, { readyTimeoutMs: opts.readyTimeout * 1000 });
    });
}
