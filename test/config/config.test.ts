import { describe, expect, it } from 'vitest';
import { configVariables, parseConfig } from '../../src/config/index.ts';
import { problemsOf } from '../support/config.ts';

describe('configuration from the environment', () => {
  it('starts with working defaults when nothing is set', () => {
    const config = parseConfig({});
    expect(config.TEMPORAL_ADDRESS).toBeUndefined();
    expect(config).toMatchObject({
      TEMPORAL_NAMESPACE: 'default',
      FIREBREAK_TASK_QUEUE: 'firebreak',
      FIREBREAK_ROLES: ['worker'],
      FIREBREAK_LOG_LEVEL: 'info',
      FIREBREAK_DATA_DIR: './data',
      AWS_REGION: 'us-east-1',
      FIREBREAK_INTAKE_PORT: 8080,
    });
  });

  it('lists every invalid variable at once, each with what it expects', () => {
    const problems = problemsOf({
      TEMPORAL_ADDRESS: 'temporal',
      FIREBREAK_LOG_LEVEL: 'loud',
      FIREBREAK_INTAKE_PORT: '70000',
      FIREBREAK_ROLES: 'worker,api',
      AWS_REGION: 'Frankfurt',
    });
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'AWS_REGION',
      'FIREBREAK_INTAKE_PORT',
      'FIREBREAK_LOG_LEVEL',
      'FIREBREAK_ROLES',
      'TEMPORAL_ADDRESS',
    ]);
    expect(problems.find((p) => p.variable === 'TEMPORAL_ADDRESS')?.message).toContain('expected host:port');
    expect(problems.find((p) => p.variable === 'FIREBREAK_ROLES')?.message).toContain('worker, intake, slack');
  });

  it('names the variable and its value in the message that stops the process', () => {
    expect(() => parseConfig({ FIREBREAK_SLACK_PORT: 'abc' })).toThrow(
      /Invalid configuration: 1 environment variable to fix:\n {2}FIREBREAK_SLACK_PORT: expected a TCP port number \(got "abc"\)/,
    );
  });

  it('never repeats a secret value in its message', () => {
    const problems = problemsOf({ SLACK_MODE: 'socket', SLACK_BOT_TOKEN: 'not-a-real-token-123', SLACK_APP_TOKEN: 'xapp-1' });
    const bot = problems.find((p) => p.variable === 'SLACK_BOT_TOKEN');
    expect(bot?.message).toContain('xoxb-');
    expect(bot?.value).toBe('<redacted>');
    expect(JSON.stringify(problems)).not.toContain('not-a-real-token-123');
  });

  it('requires the tokens that the chosen Slack mode needs', () => {
    expect(problemsOf({ SLACK_MODE: 'http' })).toEqual([
      { variable: 'SLACK_BOT_TOKEN', message: 'required when SLACK_MODE=http' },
      { variable: 'SLACK_SIGNING_SECRET', message: 'required when SLACK_MODE=http' },
    ]);
    expect(problemsOf({ SLACK_MODE: 'socket', SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
      { variable: 'SLACK_APP_TOKEN', message: 'required when SLACK_MODE=socket' },
    ]);
  });

  it('treats a variable set to the empty string as unset', () => {
    const config = parseConfig({ FIREBREAK_LOG_LEVEL: '', KUBECONFIG: '' });
    expect(config.FIREBREAK_LOG_LEVEL).toBe('info');
    expect(config.KUBECONFIG).toBeUndefined();
  });

  it('parses which systems the local sandbox simulates', () => {
    expect(parseConfig({ FIREBREAK_SANDBOX: 'aws, kubernetes' }).FIREBREAK_SANDBOX).toEqual(['aws', 'kubernetes']);
    expect(parseConfig({ FIREBREAK_SANDBOX: 'none' }).FIREBREAK_SANDBOX).toEqual([]);
    expect(parseConfig({ FIREBREAK_SANDBOX: 'registry' }).FIREBREAK_SANDBOX).toEqual(['registry']);
    expect(problemsOf({ FIREBREAK_SANDBOX: 'gcp' })[0]?.message).toContain('"kubernetes", "aws"');
  });

  it('ignores variables it does not know, and lists the ones it does', () => {
    expect(() => parseConfig({ HOME: '/root', SOMETHING_ELSE: '1' })).not.toThrow();
    expect(configVariables).toContain('TEMPORAL_ADDRESS');
    expect(configVariables).toContain('SLACK_SIGNING_SECRET');
  });
});
