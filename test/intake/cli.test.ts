// `firebreak route` and `firebreak alerts unrouted`, run as the real command.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/intake/alert.ts';
import { unroutedFile } from '../../src/intake/service.ts';
import { JsonLines } from '../../src/intake/store.ts';
import { fixturesDir, releaseAgentRule, tempDataDir } from './helpers.ts';
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
  const dir = await tempDataDir();
  await mkdir(path.join(dir, 'runbooks'));
  await writeFile(path.join(dir, 'runbooks', 'container-escape.yaml'), policy);
  env = { FIREBREAK_RUNBOOKS_DIR: path.join(dir, 'runbooks'), FIREBREAK_DATA_DIR: path.join(dir, 'data') };
});

describe('firebreak route', () => {
  it('prints the runbook, correlation key and auto-containment a Critical Falco escape alert would get', async () => {
    const r = await runFirebreak(['route', '--source', 'falco', fx('falco/release-agent-escape.json')], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Runbook container-escape-test v3 (workflow engineTestWorkflow)');
    expect(r.stdout).toContain('  correlation key  -:demo-shop:storefront-7d9c6b5f8-x7k2p\n');
    expect(r.stdout).toContain('  auto-containment yes: isolate runs without waiting for approval');
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
