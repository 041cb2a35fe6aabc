import { pino, type Logger } from 'pino';
import type { Config } from './config/index.ts';

/** Keys whose values are redacted wherever they appear in a log record. */
const redactPaths = [
  '*.token',
  '*.secret',
  '*.password',
  '*.authorization',
  '*.SecretAccessKey',
  '*.secretAccessKey',
  '*.SessionToken',
  '*.sessionToken',
  'config.SLACK_BOT_TOKEN',
  'config.SLACK_SIGNING_SECRET',
  'config.SLACK_APP_TOKEN',
];

/** The process logger: JSON lines on stderr, secrets redacted. */
export function createLogger(config: Pick<Config, 'FIREBREAK_LOG_LEVEL'>, name = 'firebreak'): Logger {
  return pino(
    { name, level: config.FIREBREAK_LOG_LEVEL, redact: { paths: redactPaths, censor: '[redacted]' } },
    pino.destination(2),
  );
}
