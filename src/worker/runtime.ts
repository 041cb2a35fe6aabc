import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';

/**
 * The Temporal SDK's log level for a Firebreak level. The SDK's INFO is chatty
 * (bundler statistics, worker state changes), so it shows from `debug` on.
 */
const sdkLevel: Record<Config['FIREBREAK_LOG_LEVEL'], LogLevel> = {
  trace: 'TRACE',
  debug: 'INFO',
  info: 'WARN',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

const pinoMethod = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * Routes the Temporal SDK's logs (worker and core) through the process logger,
 * and, given an address, serves the SDK's Prometheus metrics there. Call once, first.
 */
export function installRuntime(level: Config['FIREBREAK_LOG_LEVEL'], log: Logger, sdkMetricsAddress?: string): void {
  const sdkLog = log.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(sdkLevel[level], (entry) => {
      sdkLog[pinoMethod[entry.level]](entry.meta ?? {}, entry.message);
    }),
    // The native core prints to the console unless told to forward: its lines would land on stdout, in a command's output.
    telemetryOptions: {
      logging: { filter: { core: sdkLevel[level], other: sdkLevel[level] }, forward: {} },
      ...(sdkMetricsAddress === undefined ? {} : { metrics: { prometheus: { bindAddress: sdkMetricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } }),
    },
  });
}
