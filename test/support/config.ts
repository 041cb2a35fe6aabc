import { ConfigError, parseConfig } from '../../src/config/index.ts';

/** The problems parseConfig reports for an environment it must reject. */
export function problemsOf(env: Record<string, string>): ConfigError['problems'] {
  try {
    parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the configuration to be rejected');
}
