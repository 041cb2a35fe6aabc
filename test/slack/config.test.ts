import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { runFirebreak } from '../support/cli.ts';
import { problemsOf } from '../support/config.ts';

const http = { SLACK_MODE: 'http', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret' };

describe('Slack configuration', () => {
  it('runs the Slack app beside the worker by default once Slack is configured', () => {
    expect(parseConfig(http).FIREBREAK_ROLES).toEqual(['worker', 'slack']);
    expect(parseConfig({ ...http, FIREBREAK_ROLES: 'worker' }).FIREBREAK_ROLES).toEqual(['worker']);
    expect(parseConfig({}).FIREBREAK_ROLES).toEqual(['worker']);
  });

  it('reads approver groups that are Slack user groups, and refuses malformed ones', () => {
    expect(parseConfig({ ...http, FIREBREAK_SLACK_USERGROUPS: '{"security-oncall": "S0614TZR7"}' }).FIREBREAK_SLACK_USERGROUPS).toEqual({ 'security-oncall': 'S0614TZR7' });
    expect(problemsOf({ ...http, FIREBREAK_SLACK_USERGROUPS: '{"oncall": "U123"}' })[0]?.message).toContain('Slack user group id');
    expect(problemsOf({ FIREBREAK_SLACK_USERGROUPS: '{"oncall": "S123"}' })).toEqual([
      { variable: 'FIREBREAK_SLACK_USERGROUPS', message: 'needs Slack configured (SLACK_MODE and its tokens) to read the user groups', value: '"{\\"oncall\\": \\"S123\\"}"' },
    ]);
  });

  it('refuses to serve the slack role without Slack configured, naming what to set', async () => {
    const r = await runFirebreak(['serve'], { FIREBREAK_ROLES: 'slack' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The Slack app cannot start: set SLACK_MODE.');
  });

  it('names the token Socket Mode is missing', async () => {
    const r = await runFirebreak(['serve'], { FIREBREAK_ROLES: 'slack', SLACK_MODE: 'socket', SLACK_BOT_TOKEN: 'xoxb-1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SLACK_APP_TOKEN: required when SLACK_MODE=socket');
  });
});
