import { configSchema, secretVariables, type Config } from './schema.ts';

export { configVariables, secretVariables, type Config, type Role } from './schema.ts';

/** Raised when the environment does not satisfy the configuration schema. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly { variable: string; message: string; value?: string }[]) {
    super(
      [
        `Invalid configuration: ${problems.length} environment variable${problems.length === 1 ? '' : 's'} to fix:`,
        ...problems.map(
          (p) => `  ${p.variable}: ${p.message}${p.value === undefined ? '' : ` (got ${p.value})`}`,
        ),
      ].join('\n'),
    );
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Parses an environment into a Config, listing every invalid variable at once. */
export function parseConfig(env: Env): Config {
  // An empty string means "unset": shells and compose files often export VAR= .
  const input: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = configSchema.safeParse(input);
  if (result.success) {
    // When Slack is configured and no roles are named, the Slack app runs beside the worker.
    if (input['FIREBREAK_ROLES'] === undefined && result.data.SLACK_MODE !== undefined) result.data.FIREBREAK_ROLES = ['worker', 'slack'];
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(environment)');
    const raw = input[variable];
    const inner = issue.path.slice(1).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return {
      variable,
      message: inner === '' ? issue.message : `at ${inner.replace(/^\./, '')}: ${issue.message}`,
      ...(raw === undefined ? {} : { value: secretVariables.has(variable) ? '<redacted>' : JSON.stringify(raw) }),
    };
  });
  throw new ConfigError(problems);
}

let cached: Config | undefined;

/** The process's configuration, parsed from `process.env` once. */
export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
