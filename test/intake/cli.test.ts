// `firebreak route` and `firebreak alerts unrouted`, run as the real command.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/intake/alert.ts';
import { unroutedFile } from '../../src/intake/service.ts';
import { JsonLines } from '../../src/intake/store.ts';
import { cliEnvWithPolicy, fixturesDir, releaseAgentRule, tempDataDir } from './helpers.ts';
import { runFirebreak } from '../support/cli.ts';


const policy = `id: container-escape-test
version: 3
title: Container escape (test)
summary: Isolate a pod that tried to break out
workflow: engineTestWorkflow
triggers:
  - source: falco
    rules: ["${releaseAgentRule}", "Terminal shell in container"]
    minSeverity: low
autoContain:
  - when: { source: falco, rules: ["${releaseAgentRule}"], minSeverity: critical }
    steps: [isolate]
steps:
  - { id: collect, description: seal evidence, gate: none }
  - id: isolate
    description: quarantine the pod
    gate: { approvers: [cli:alice], timeout: 30m, onTimeout: deny }
  - id: cordon
    description: cordon the node
    gate: { approvers: [cli:alice], timeout: 30m, onTimeout: deny }
rollback: { gate: none }
`;

let env: Record<string, string>;
const fx = (f: string) => path.join(fixturesDir, f);

beforeAll(async () => {
  env = await cliEnvWithPolicy('container-escape.yaml', policy);
});

describe('firebreak route', () => {
  it('prints the runbook, correlation key and auto-containment a Critical Falco escape alert would get', async () => {
    const r = await runFirebreak(['route', '--source', 'falco', fx('falco/release-agent-escape.json')], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Runbook container-escape-test v3 (workflow engineTestWorkflow)');
    expect(r.stdout).toContain('  correlation key  -:demo-shop:storefront-7d9c6b5f8-x7k2p\n');
    expect(r.stdout).toContain('  auto-containment yes: isolate runs without waiting for approval');
  });

  it('applies FIREBREAK_DEFAULT_CLUSTER as intake does, so the correlation key it prints is the one intake uses', async () => {
    const r = await runFirebreak(['route', '--source', 'falco', fx('falco/release-agent-escape.json')], { ...env, FIREBREAK_DEFAULT_CLUSTER: 'prod-eu' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  correlation key  prod-eu:demo-shop:storefront-7d9c6b5f8-x7k2p\n');
  });

  it('says the gates wait for a human when no autoContain rule matches', async () => {
    const r = await runFirebreak(['route', '--source', 'falco', fx('falco/terminal-shell.json')], env);
    expect(r.stdout).toContain('  auto-containment no: every gated step waits for a human');
  });

  it('prints the normalised alert as JSON with --json', async () => {
    const r = await runFirebreak(['route', '--source', 'falco', '--json', fx('falco/release-agent-escape.json')], env);
    const parsed = JSON.parse(r.stdout) as { alerts: { alert: Alert; routes: { runbook: string; autoContain: string[] }[] }[] };
    expect(parsed.alerts[0]?.alert).toMatchObject({ source: 'falco', severity: 'critical', entities: { pod: 'storefront-7d9c6b5f8-x7k2p' } });
    expect(parsed.alerts[0]?.routes).toMatchObject([{ runbook: 'container-escape-test', autoContain: ['isolate'] }]);
  });

  it('says an alert no runbook matches would be stored as unrouted', async () => {
    const r = await runFirebreak(['route', '--source', 'guardduty', fx('guardduty/iam-credential-exfiltration.json')], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No runbook matches: intake would accept it and store it as unrouted');
  });

  it('says an Alertmanager alert without alertname would be stored as unrouted with its problem, while the group is accepted', async () => {
    const r = await runFirebreak(['route', '--source', 'alertmanager', fx('alertmanager/group-with-invalid-alert.json')], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Alert 2 of 3 (alertmanager, firing, critical)');
    expect(r.stdout).toContain('Not routed: intake would store it as unrouted (invalid-alert):\n  alerts[1].labels: expected an "alertname" label\n');
  });

  it('notes on stderr that the policy names a workflow this version does not register', async () => {
    const r = await runFirebreak(['route', '--source', 'falco', fx('falco/terminal-shell.json')], env);
    expect(r.stderr).toContain('workflow "engineTestWorkflow" is not registered in this version');
  });

  it('exits 1 with the field paths of an invalid payload', async () => {
    const r = await runFirebreak(['route', '--source', 'guardduty', fx('falco/terminal-shell.json')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not a valid guardduty payload (intake would answer 400)');
    expect(r.stderr).toContain('  detail-type: expected "GuardDuty Finding"');
  });
});

describe('firebreak alerts unrouted', () => {
  it('lists the stored unrouted alerts, and all their fields with --json', async () => {
    const store = new JsonLines<unknown>(unroutedFile(env.FIREBREAK_DATA_DIR!));
    const alert = { source: 'alertmanager', id: 'c41d2a8e7f603b19', severity: 'medium', rule: 'KubePodCrashLooping', summary: 'Pod shop/web-6d5b8-p2k9x is crash looping', entities: { namespace: 'shop' }, labels: {}, raw: { a: 1 } };
    await store.append({ storedAt: '2026-11-28T15:00:00.000Z', reason: 'no-matching-runbook', alert });
    const text = await runFirebreak(['alerts', 'unrouted'], env);
    expect(text.stdout).toContain('alertmanager medium   KubePodCrashLooping  [no-matching-runbook]');
    expect(text.stdout).toContain('1 unrouted alert in ');
    const json = await runFirebreak(['alerts', 'unrouted', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual([{ storedAt: '2026-11-28T15:00:00.000Z', reason: 'no-matching-runbook', alert }]);
  });
});

describe('firebreak alerts unrouted, on a store of many records', () => {
  /** A data directory whose unrouted store holds these records (oldest first), and the env to read it. */
  async function storeOf(records: { storedAt: string; rule: string; summary?: string }[]): Promise<Record<string, string>> {
    const dir = await tempDataDir();
    const store = new JsonLines<unknown>(unroutedFile(dir));
    for (const r of records) {
      const alert = { source: 'falco', id: r.rule, severity: 'low', rule: r.rule, summary: r.summary ?? r.rule, entities: {}, labels: {}, raw: {} };
      await store.append({ storedAt: r.storedAt, reason: 'no-matching-runbook', alert });
    }
    return { FIREBREAK_RUNBOOKS_DIR: env.FIREBREAK_RUNBOOKS_DIR!, FIREBREAK_DATA_DIR: dir };
  }
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
  const rulesIn = (stdout: string) => [...stdout.matchAll(/ (rule-\d+) {2}\[/g)].map((m) => m[1]);

  it('shows the newest 50 by default and says how many there are', async () => {
    const e = await storeOf(Array.from({ length: 60 }, (_, i) => ({ storedAt: minutesAgo(60 - i), rule: `rule-${i}` })));
    const r = await runFirebreak(['alerts', 'unrouted'], e);
    expect(rulesIn(r.stdout)).toEqual(Array.from({ length: 50 }, (_, i) => `rule-${i + 10}`));
    expect(r.stdout).toContain('the newest 50 of 60 unrouted alerts in ');
  });

  it('shows the newest n with --limit n, also as JSON', async () => {
    const e = await storeOf([0, 1, 2].map((i) => ({ storedAt: minutesAgo(10 - i), rule: `rule-${i}` })));
    expect(rulesIn((await runFirebreak(['alerts', 'unrouted', '--limit', '2'], e)).stdout)).toEqual(['rule-1', 'rule-2']);
    const json = JSON.parse((await runFirebreak(['alerts', 'unrouted', '--limit', '1', '--json'], e)).stdout) as { alert: { rule: string } }[];
    expect(json.map((j) => j.alert.rule)).toEqual(['rule-2']);
    const bad = await runFirebreak(['alerts', 'unrouted', '--limit', '0'], e);
    expect(bad.code).toBe(1);
  });

  it('shows only what was stored since a duration ago or a time with --since, and refuses a value that is neither', async () => {
    const e = await storeOf([
      { storedAt: '2026-11-28T15:00:00.000Z', rule: 'rule-0' },
      { storedAt: minutesAgo(90), rule: 'rule-1' },
      { storedAt: minutesAgo(5), rule: 'rule-2' },
    ]);
    expect(rulesIn((await runFirebreak(['alerts', 'unrouted', '--since', '1h'], e)).stdout)).toEqual(['rule-2']);
    expect(rulesIn((await runFirebreak(['alerts', 'unrouted', '--since', '2026-11-28T15:30:00Z'], e)).stdout)).toEqual(['rule-1', 'rule-2']);
    const bad = await runFirebreak(['alerts', 'unrouted', '--since', 'yesterday'], e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--since expects a duration such as "30m"');
  });

  it('prints attacker-chosen text with its control characters escaped, and keeps --json exact', async () => {
    const summary = 'shell opened \x1b]0;pwned\x07 in /tmp/\rinnocent';
    const e = await storeOf([{ storedAt: minutesAgo(1), rule: 'rule-0', summary }]);
    const text = await runFirebreak(['alerts', 'unrouted'], e);
    expect(text.stdout).toContain('shell opened \\x1b]0;pwned\\x07 in /tmp/\\x0dinnocent');
    expect([...text.stdout].filter((c) => ['\x1b', '\x07', '\r'].includes(c))).toEqual([]);
    const json = JSON.parse((await runFirebreak(['alerts', 'unrouted', '--json'], e)).stdout) as { alert: { summary: string } }[];
    expect(json[0]?.alert.summary).toBe(summary);
  });

  it('documents --limit and --since in --help', async () => {
    const help = (await runFirebreak(['alerts', 'unrouted', '--help'], env)).stdout;
    expect(help).toMatch(/--limit <n>\s+show at most the newest n records \(default: 50\)/);
    expect(help).toMatch(/--since <when>\s+only records stored since then/);
  });
});
