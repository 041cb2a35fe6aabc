import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correlationKeyForTargets, incidentIdFor } from '../../src/incidents/ids.ts';
import { loadRunbooks, type RunbookPolicy, type WorkflowCatalog } from '../../src/runbooks/index.ts';
import { parseTarget, prepareStart, StartError, startIncident, targetKinds, type PrepareStartOptions } from '../../src/incidents/start.ts';
import { defaultPayloadConverter } from '@temporalio/common';
import { workflowCatalog } from '../../workflows/catalog.ts';
import type { IncidentInput } from '../../workflows/engine/types.ts';
import { statusQuery, timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, newWorld, startEngineWorker, waitForStatus } from '../support/engine.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';
import { runFirebreak } from '../support/cli.ts';


/** The policies under test run on the test-only engine workflow, which only the tests' catalog registers. */
const catalog: WorkflowCatalog = { engineTestWorkflow: { steps: ['collect', 'isolate', 'cordon'] } };
const groups = { oncall: ['cli:carol', 'slack:U024BE7LH'] };
const fixtures = path.join(import.meta.dirname, '../runbooks/fixtures/start');
const shownFixtures = path.relative(process.cwd(), fixtures);
const policies: RunbookPolicy[] = (await loadRunbooks(fixtures, { catalog, groups })).map((r) => r.policy);
const now = new Date('2026-11-28T10:00:00.000Z');
const client = await temporalClient();

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'firebreak-start-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Writes a start request file into the scratch directory; returns its path. */
async function requestFile(name: string, content: unknown): Promise<string> {
  const file = path.join(scratch, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function prepare(o: Partial<PrepareStartOptions> = {}) {
  return prepareStart({ policies, catalog, groups, runbookId: 'start-test', requester: 'cli:alice', now, targets: [{ kind: 'pod', id: 'demo-shop/web-1' }], ...o });
}

function startErrorOf(fn: () => unknown): StartError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StartError) return e;
    throw e;
  }
  throw new Error('expected a StartError');
}

describe('preparing a start from the CLI', () => {
  it('builds the runbook workflow input: the policy, the operator as requester, a cli trigger, no auto-containment', () => {
    const prepared = prepare({ targets: [parseTarget('pod:demo-shop/storefront-7d9c6b5f8-x7k2p'), parseTarget('node:sandbox-node-1')] });
    expect(prepared.workflowType).toBe('engineTestWorkflow');
    expect(prepared.input).toEqual({
      policy: policies.find((p) => p.id === 'start-test'),
      groups,
      requester: 'cli:alice',
      mode: 'live',
      trigger: { source: 'cli', severity: 'high', summary: 'Started from the CLI by cli:alice', receivedAt: '2026-11-28T10:00:00.000Z' },
      targets: [
        { kind: 'pod', id: 'demo-shop/storefront-7d9c6b5f8-x7k2p' },
        { kind: 'node', id: 'sandbox-node-1' },
      ],
      autoContainSteps: [],
    });
  });

  it('derives the correlation key an alert about the same targets gets, whatever their order, but per runbook', () => {
    const pod = parseTarget('pod:demo-shop/web-1');
    const node = parseTarget('node:n1');
    const a = prepare({ targets: [pod, node] });
    const b = prepare({ targets: [node, pod, pod] });
    // The pod is the most specific target: cluster (unknown here), namespace, pod, as intake keys a Falco alert.
    expect(a.correlationKey).toBe('-:demo-shop:web-1');
    expect(b.correlationKey).toBe(a.correlationKey);
    expect(b.input.targets).toEqual([node, pod]);
    expect(prepare({ targets: [node] }).correlationKey).toBe('-:node:n1');
    expect(prepare({ targets: [parseTarget('pod:demo-shop/web-2')] }).correlationKey).not.toBe(a.correlationKey);
    const other = prepare({ runbookId: 'start-second', targets: [pod, node] });
    expect(incidentIdFor(other.input.policy.id, other.correlationKey)).not.toBe(incidentIdFor(a.input.policy.id, a.correlationKey));
  });

  it('parses --target kind:id at the first colon, so ARNs and image digests keep theirs', () => {
    expect(parseTarget('role:arn:aws:iam::123456789012:role/x')).toEqual({ kind: 'role', id: 'arn:aws:iam::123456789012:role/x' });
    expect(parseTarget('access-key:AKIAIOSFODNN7EXAMPLE')).toEqual({ kind: 'access-key', id: 'AKIAIOSFODNN7EXAMPLE' });
    expect(parseTarget(`image:ghcr.io/acme/web@sha256:${'a'.repeat(64)}`)).toEqual({ kind: 'image', id: `ghcr.io/acme/web@sha256:${'a'.repeat(64)}` });
    expect(() => parseTarget('demo-ci-deployer')).toThrow(/expected kind:id.*kinds: pod, node/);
    expect(() => parseTarget('user:demo-ci-deployer')).toThrow(`unknown kind "user"; expected one of ${targetKinds.join(', ')}`);
    expect(() => parseTarget('pod:')).toThrow('expected a non-empty target id');
  });

  it.each([
    ['pod:demo-shop/..', 'pod name ".." is not a valid Kubernetes name', 'RFC 1123 subdomain'],
    ['pod:demo-shop/.', 'pod name "." is not a valid Kubernetes name', 'RFC 1123 subdomain'],
    ['pod:../../x', 'pod "../../x": expected namespace/pod', 'namespace/pod'],
    ['pod:demo-shop/a/../b', 'pod "demo-shop/a/../b": expected namespace/pod', 'namespace/pod'],
    ['pod:Demo-Shop/web-1', 'namespace "Demo-Shop" is not a valid Kubernetes name', 'RFC 1123 label'],
    ['node:..', 'node name ".." is not a valid Kubernetes name', 'RFC 1123 subdomain'],
    ['iam-user:alice/../bob', 'user name "alice/../bob" is not valid', "IAM's rule for user names"],
    ['access-key:AKIA1234', 'access key id "AKIA1234" is not valid', 'AKIA… or ASIA…'],
  ])('refuses the target %s up front, in one line naming the rule it breaks', (text, what, rule) => {
    const message = startErrorOf(() => parseTarget(text)).message;
    expect(message).toContain(`--target ${JSON.stringify(text)}: ${what}`);
    expect(message).toContain(rule);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('refuses a start request whose target or its node or container attribute breaks its naming rule, naming the field', () => {
    const text = JSON.stringify({
      targets: [
        { kind: 'pod', id: 'demo-shop/..' },
        { kind: 'pod', id: 'demo-shop/web-1', attributes: { node: '..', container: 'web' } },
      ],
    });
    const lines = startErrorOf(() => prepare({ targets: undefined, inputFile: { name: 'request.json', text } })).message.split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^request\.json: targets\[0\]\.id: pod name "\.\." is not a valid Kubernetes name: .*\(RFC 1123 subdomain\)$/),
      expect.stringMatching(/^request\.json: targets\[1\]\.attributes\.node: node name "\.\." is not a valid Kubernetes name: .*\(RFC 1123 subdomain\)$/),
    ]);
  });

  it('refuses targets given programmatically (as Slack and tests pass them) by the same rules', () => {
    expect(startErrorOf(() => prepare({ targets: [{ kind: 'pod', id: 'demo-shop/..' }] })).message).toMatch(/^targets: targets\[0\]\.id: pod name "\.\."/);
  });

  it('takes a bare access key id, long-term or temporary, as an access-key target', () => {
    expect(parseTarget('AKIAIOSFODNN7EXAMPLE')).toEqual({ kind: 'access-key', id: 'AKIAIOSFODNN7EXAMPLE' });
    expect(parseTarget('ASIAQWERTYUIOPASDFGH')).toEqual({ kind: 'access-key', id: 'ASIAQWERTYUIOPASDFGH' });
    expect(() => parseTarget('AKIA-not-a-key')).toThrow(/expected kind:id/);
  });

  it('reads targets, severity, summary and mode from a start request file; the command line overrides the file', () => {
    const text = JSON.stringify({
      targets: [{ kind: 'iam-user', id: 'demo-ci-deployer', attributes: { account: '123456789012' } }],
      severity: 'critical',
      summary: 'Key leaked in a public repo',
      mode: 'dry-run',
    });
    const fromFile = prepare({ targets: undefined, inputFile: { name: 'request.json', text } });
    expect(fromFile.input).toMatchObject({
      mode: 'dry-run',
      trigger: { severity: 'critical', summary: 'Key leaked in a public repo' },
      targets: [{ kind: 'iam-user', id: 'demo-ci-deployer', attributes: { account: '123456789012' } }],
    });
    expect(fromFile.correlationKey).toBe('123456789012:demo-ci-deployer');
    const overridden = prepare({ targets: undefined, inputFile: { name: 'request.json', text }, mode: 'live', severity: 'low', summary: 'drill' });
    expect(overridden.input).toMatchObject({ mode: 'live', trigger: { severity: 'low', summary: 'drill' } });
  });

  it('names the field of every problem in a malformed start request', () => {
    const bad = JSON.stringify({ targets: [{ kind: 'pdo', id: 'x' }, { kind: 'pod' }], mode: 'wet-run', extra: 1 });
    const lines = startErrorOf(() => prepare({ targets: undefined, inputFile: { name: 'request.json', text: bad } })).message.split('\n');
    expect(lines).toEqual([
      `request.json: targets[0].kind: expected a target kind: ${targetKinds.map((k) => `"${k}"`).join(', ')}; got "pdo"`,
      'request.json: targets[1].id: expected the target id as a string, e.g. "demo-shop/storefront-7d9c6b5f8-x7k2p"',
      'request.json: mode: expected a mode: "live", "dry-run"; got "wet-run"',
      'request.json: extra: unknown key "extra"',
    ]);
    expect(startErrorOf(() => prepare({ targets: undefined, inputFile: { name: 'r.json', text: '{"targets": [' } })).message).toMatch(
      /^r\.json: not valid JSON \(.+\); expected a start request such as \{"targets"/,
    );
    expect(startErrorOf(() => prepare({ targets: undefined, inputFile: { name: 'r.json', text: '{"targets": []}' } })).message).toBe(
      'r.json: targets: expected at least one target',
    );
  });

  it('refuses an unknown runbook, listing the available ones, and a start with both or neither way of giving targets', () => {
    expect(startErrorOf(() => prepare({ runbookId: 'credential-compromise' })).message).toBe(
      'unknown runbook "credential-compromise"; available runbooks: start-second, start-test.',
    );
    expect(startErrorOf(() => prepare({ inputFile: { name: 'r.json', text: '{}' } })).message).toMatch(/cannot be used together/);
    expect(startErrorOf(() => prepare({ targets: undefined })).message).toMatch(/--target kind:id \(repeatable\) or --input file.json/);
  });

  it('refuses a policy whose workflow is not registered, does not fit it, or names approver groups not configured', () => {
    expect(startErrorOf(() => prepare({ catalog: {} })).message).toMatch(/runs workflow "engineTestWorkflow", which this version of Firebreak does not register/);
    expect(startErrorOf(() => prepare({ catalog: { engineTestWorkflow: { steps: ['collect', 'isolate'] } } })).message).toMatch(
      /gives gates for steps collect, isolate, cordon, but workflow "engineTestWorkflow" has the steps collect, isolate;/,
    );
    expect(startErrorOf(() => prepare({ groups: {} })).message).toMatch(/names approver group oncall, which FIREBREAK_APPROVER_GROUPS does not define/);
  });
});

describe('starting an incident on the dev server', () => {
  const world = newWorld();
  let taskQueue: string;
  beforeAll(async () => {
    const connection = await NativeConnection.connect({ address: sandbox().temporalAddress });
    afterAll(() => connection.close());
    ({ taskQueue } = await startEngineWorker(connection, world));
  });

  it('starts the runbook workflow with the request: requester, targets, trigger, dry-run honoured down to the actions', async () => {
    const pod = `demo-shop/${uniqueName('storefront')}`;
    const prepared = prepare({ targets: [parseTarget(`pod:${pod}`), parseTarget('node:sandbox-node-1')], mode: 'dry-run', now: new Date() });
    const started = await startIncident(client, prepared, taskQueue);
    expect(started.incidentId).toBe(incidentIdFor('start-test', prepared.correlationKey, 'dry-run'));
    expect(started.workflowType).toBe('engineTestWorkflow');
    const handle = client.workflow.getHandle(started.incidentId);
    // Even the policy's auto-containment rule for source cli lifts no gate: cordon waits for on-call.
    const status = await waitForStatus(handle, awaiting('cordon'));
    expect(status).toMatchObject({
      incidentId: started.incidentId,
      runbook: { id: 'start-test', version: 2, title: 'Start test' },
      mode: 'dry-run',
      requester: 'cli:alice',
      targets: [
        { kind: 'pod', id: pod },
        { kind: 'node', id: 'sandbox-node-1' },
      ],
      trigger: { source: 'cli', severity: 'high', summary: 'Started from the CLI by cli:alice' },
      counts: { alerts: 1 },
    });
    expect(status.pendingApprovals).toEqual([expect.objectContaining({ step: 'cordon', approvers: ['cli:carol', 'slack:U024BE7LH'], twoPerson: true })]);
    expect(world.of(started.incidentId).calls).toEqual(['seal:pod.json', 'isolate:dry-run']);
    const { runId } = await handle.describe();
    expect(started.runId).toBe(runId);
  });

  it('joins the open incident when started again for the same targets, in any order: same run, alert counted', async () => {
    const pod = parseTarget(`pod:demo-shop/${uniqueName('web')}`);
    const node = parseTarget('node:sandbox-node-2');
    const first = await startIncident(client, prepare({ targets: [pod, node], now: new Date() }), taskQueue);
    const second = await startIncident(client, prepare({ targets: [node, pod], now: new Date(Date.now() + 1000), summary: 'still spawning shells' }), taskQueue);
    expect(second).toEqual(first);
    const handle = client.workflow.getHandle(first.incidentId);
    const status = await waitForStatus(handle, (s) => s.counts.alerts === 2);
    expect(status.trigger.summary).toBe('Started from the CLI by cli:alice');
    const repeats = (await handle.query(timelineQuery)).filter((e) => e.type === 'alert.repeated');
    expect(repeats.map((e) => e.data)).toEqual([{ source: 'cli', summary: 'still spawning shells', count: 2 }]);
    const runs: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${first.incidentId}'` })) runs.push(w.runId);
    expect(runs).toEqual([first.runId]);
  });

  it('opens a separate incident for different targets', async () => {
    const pod = parseTarget(`pod:demo-shop/${uniqueName('web')}`);
    const first = await startIncident(client, prepare({ targets: [pod], now: new Date() }), taskQueue);
    const other = await startIncident(client, prepare({ targets: [parseTarget(`pod:demo-shop/${uniqueName('web')}`)], now: new Date() }), taskQueue);
    expect(other.incidentId).not.toBe(first.incidentId);
    expect(other.runId).not.toBe(first.runId);
    for (const { incidentId } of [first, other]) {
      expect((await client.workflow.getHandle(incidentId).query(statusQuery)).counts.alerts).toBe(1);
    }
  });
});

/**
 * A policy, every step ungated, for a workflow the real catalog registers, and
 * the environment to start it with; no worker serves the task queue, so
 * nothing runs: tests read what was started from history.
 */
async function registeredRunbook() {
  const [registered] = Object.entries(workflowCatalog).sort(([a], [b]) => (a < b ? -1 : 1));
  expect(registered, 'the catalog registers at least one runbook workflow').toBeDefined();
  const [workflow, { steps }] = registered!;
  const dir = path.join(scratch, 'registered');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  await writeFile(
    path.join(dir, 'cli-start.yaml'),
    JSON.stringify({
      id: 'cli-start',
      version: 1,
      title: 'CLI start',
      summary: 'A policy for the start command test.',
      workflow,
      steps: steps.map((id) => ({ id, description: `step ${id}`, gate: 'none' })),
      rollback: { gate: 'none' },
    }),
  );
  const info = sandbox();
  const env = {
    FIREBREAK_OPERATOR: 'alice',
    FIREBREAK_RUNBOOKS_DIR: dir,
    TEMPORAL_ADDRESS: info.temporalAddress,
    TEMPORAL_NAMESPACE: info.temporalNamespace,
    FIREBREAK_TASK_QUEUE: uniqueName('no-worker'),
  };
  return { workflow, env };
}

describe('the firebreak start command', () => {
  const operator = { FIREBREAK_OPERATOR: 'alice' };

  it('explains itself with --help and exits 0', async () => {
    const r = await runFirebreak(['start', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: firebreak start \[options\] <runbook>/);
    for (const option of ['--target <kind:id>', '--input <file>', '--mode <mode>', '--json']) expect(r.stdout).toContain(option);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(targetKinds.join(', '));
    const top = await runFirebreak(['--help']);
    expect(top.stdout).toMatch(/\n {2}start \[options\] <runbook>/);
  });

  it('exits 1 with one line naming FIREBREAK_OPERATOR when it is not set', async () => {
    const r = await runFirebreak(['start', 'start-test', '--target', 'pod:demo-shop/web-1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^firebreak: FIREBREAK_OPERATOR is not set/);
    expect(r.stdout).toBe('');
  });

  it('exits 1 saying no runbook is installed, and where it looked, when the directory has none', async () => {
    const r = await runFirebreak(['start', 'credential-compromise', '--target', 'access-key:AKIAIOSFODNN7EXAMPLE'], {
      ...operator,
      FIREBREAK_RUNBOOKS_DIR: scratch,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `firebreak: unknown runbook "credential-compromise": no runbook policies are installed in ${scratch} (FIREBREAK_RUNBOOKS_DIR); add policy files (*.yaml) there or point FIREBREAK_RUNBOOKS_DIR at them.\n`,
    );
  });

  it('exits 1 when the runbooks directory does not exist', async () => {
    const missing = path.join(scratch, 'nowhere');
    const r = await runFirebreak(['start', 'start-test', '--target', 'pod:demo-shop/web-1'], { ...operator, FIREBREAK_RUNBOOKS_DIR: missing });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the runbooks directory ${missing} does not exist; set FIREBREAK_RUNBOOKS_DIR`);
  });

  it('exits 1 for a runbook whose policy is invalid for this build, pointing at runbooks validate', async () => {
    // The CLI's real catalog does not register engineTestWorkflow, so both fixture policies are skipped.
    const r = await runFirebreak(['start', 'start-test', '--target', 'pod:demo-shop/web-1'], {
      ...operator,
      FIREBREAK_RUNBOOKS_DIR: shownFixtures,
      FIREBREAK_APPROVER_GROUPS: JSON.stringify(groups),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `firebreak: unknown runbook "start-test": no valid runbook policy in ${shownFixtures} (FIREBREAK_RUNBOOKS_DIR); 2 policy files have problems and were skipped (if "start-test" is among them, fix it: \`firebreak runbooks validate\`).\n`,
    );
  });

  it('exits 1 when given both --target and --input, or neither', async () => {
    const file = await requestFile('both.json', { targets: [{ kind: 'pod', id: 'demo-shop/web-1' }] });
    const both = await runFirebreak(['start', 'start-test', '--target', 'pod:demo-shop/web-1', '--input', file], operator);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("option '--target <kind:id>' cannot be used with option '--input <file>'");
    const neither = await runFirebreak(['start', 'start-test'], operator);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toBe(
      'firebreak: say what the incident acts on: --target kind:id (repeatable), --advisory osv.json or --input file.json; see `firebreak start --help`.\n',
    );
  });

  it('exits 1 naming the field of a malformed --input file, or saying it cannot be read', async () => {
    const file = await requestFile('bad.json', { targets: [{ kind: 'pod', id: 'demo-shop/web-1', attributes: { replicas: 3 } }] });
    const r = await runFirebreak(['start', 'start-test', '--input', file], { ...operator, FIREBREAK_RUNBOOKS_DIR: shownFixtures });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`firebreak: ${file}: targets[0].attributes.replicas: expected attribute values to be strings\n`);
    const notJson = await runFirebreak(['start', 'start-test', '--input', await requestFile('not.json', 'targets: [pod]')], operator);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/not\.json: not valid JSON/);
    const missing = await runFirebreak(['start', 'start-test', '--input', path.join(scratch, 'missing.json')], operator);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('missing.json: no such file');
  });

  it('exits 1 listing the target kinds for a bad --target, and the modes for a bad --mode', async () => {
    const r = await runFirebreak(['start', 'start-test', '--target', 'user:demo-ci-deployer'], operator);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `firebreak: --target "user:demo-ci-deployer": unknown kind "user"; expected one of ${targetKinds.join(', ')} (e.g. --target pod:demo-shop/storefront-7d9c6b5f8-x7k2p)\n`,
    );
    const mode = await runFirebreak(['start', 'start-test', '--target', 'pod:demo-shop/web-1', '--mode', 'wet-run'], operator);
    expect(mode.code).toBe(1);
    expect(mode.stderr).toContain("argument 'wet-run' is invalid. Allowed choices are live, dry-run.");
  });

  it('exits 1 with one line naming the rule for a target that breaks it, and opens no incident', async () => {
    const { env } = await registeredRunbook();
    for (const [target, id] of [
      ['pod:../../x', '../../x'],
      ['pod:demo-shop/..', 'demo-shop/..'],
    ] as const) {
      const r = await runFirebreak(['start', 'cli-start', '--target', target], env);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.startsWith(`firebreak: --target "${target}": `), r.stderr).toBe(true);
      expect(r.stderr).toMatch(/expected namespace\/pod|RFC 1123 subdomain/);
      const incidentId = incidentIdFor('cli-start', correlationKeyForTargets([{ kind: 'pod', id }])!);
      await expect(client.workflow.getHandle(incidentId).describe(), `no incident was opened for ${target}`).rejects.toThrow(/not found/i);
    }
  });

  it('starts a registered runbook as FIREBREAK_OPERATOR, prints the incident id, and joins it when started again', async () => {
    const { workflow, env } = await registeredRunbook();
    const pod = `pod:demo-shop/${uniqueName('storefront')}`;
    const first = await runFirebreak(['start', 'cli-start', '--target', pod, '--target', 'node:sandbox-node-1', '--mode', 'dry-run', '--json'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const started = JSON.parse(first.stdout) as { incidentId: string; runId: string; workflowType: string };
    const key = `-:demo-shop:${pod.slice('pod:demo-shop/'.length)}`;
    expect(started).toEqual({ incidentId: incidentIdFor('cli-start', key, 'dry-run'), runId: expect.any(String), workflowType: workflow });

    const again = await runFirebreak(['start', 'cli-start', '--target', 'node:sandbox-node-1', '--target', pod, '--mode', 'dry-run'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `Incident ${started.incidentId} is open: CLI start (cli-start v1), dry-run, requested by cli:alice.\nFollow it: firebreak status ${started.incidentId}\n`,
    );

    const handle = client.workflow.getHandle(started.incidentId);
    try {
      const description = await handle.describe();
      expect(description).toMatchObject({ runId: started.runId, type: workflow, taskQueue: env.FIREBREAK_TASK_QUEUE });
      const history = (await handle.fetchHistory()).events ?? [];
      const payload = history[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const input = defaultPayloadConverter.fromPayload<IncidentInput>(payload!);
      expect(input).toMatchObject({
        incidentId: started.incidentId,
        requester: 'cli:alice',
        mode: 'dry-run',
        targets: [
          { kind: 'pod', id: pod.slice('pod:'.length) },
          { kind: 'node', id: 'sandbox-node-1' },
        ],
        trigger: { source: 'cli', severity: 'high', summary: 'Started from the CLI by cli:alice' },
        autoContainSteps: [],
      });
      // The second start arrived as a repeated alert on the same run.
      expect(history.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'alert')).toHaveLength(2);
    } finally {
      await handle.terminate('test finished');
    }
  });
});
