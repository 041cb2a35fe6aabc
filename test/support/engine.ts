/**
 * Runs the test-only engine workflow (test/fixtures/engine-workflow.ts) on a
 * real Temporal server with a world of test activities whose state tests read.
 */
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll } from 'vitest';
import { runbookPolicy, type RunbookPolicy } from '../../src/runbooks/schema.ts';
import { timelineSinks } from '../../src/timeline/sinks.ts';
import type { IncidentStatus } from '../../workflows/engine/messages.ts';
import { statusQuery } from '../../workflows/engine/messages.ts';
import type { IncidentInput, Mode } from '../../workflows/engine/types.ts';
import type { Notifier } from '../../activities/index.ts';
import type { EngineTestActivities } from '../fixtures/engine-workflow.ts';
import { recordingNotifier } from './notices.ts';
import { sandbox, uniqueName } from './servers.ts';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
function engineBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../fixtures/engine-workflow.ts', import.meta.url)),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  return bundle;
}

/** What the test activities did to one incident's simulated pod and node. */
export interface Place {
  isolated: boolean;
  cordoned: boolean;
  /** Every activity call for the incident, in order, with the mode it received. */
  calls: string[];
  failUncordon: boolean;
  /** What `sealRest` does: seal at once, wait until set otherwise, or fail (non-retryably). */
  rest: 'seal' | 'hold' | 'fail';
}

/** The simulated world the test activities act on, one place per incident. */
export class World {
  private readonly places = new Map<string, Place>();
  of(incidentId: string): Place {
    let p = this.places.get(incidentId);
    if (p === undefined) {
      p = { isolated: false, cordoned: false, calls: [], failUncordon: false, rest: 'seal' };
      this.places.set(incidentId, p);
    }
    return p;
  }
}

export function testActivities(world: World, notifier: Notifier = recordingNotifier()): EngineTestActivities {
  return {
    notify: (n) => notifier.send(n),
    sealSnapshot: (incidentId, name) => {
      world.of(incidentId).calls.push(`seal:${name}`);
      return Promise.resolve({ name, sha256: 'a'.repeat(64), bytes: 42, uri: `file:///evidence/${incidentId}/${name}` });
    },
    sealRest: async (incidentId) => {
      const p = world.of(incidentId);
      while (p.rest === 'hold') await new Promise((r) => setTimeout(r, 20));
      if (p.rest === 'fail') throw ApplicationFailure.nonRetryable('the API server answered 503 for pods/log', 'KubeUnavailable');
      p.calls.push('seal:logs.json');
      return { name: 'logs.json', sha256: 'b'.repeat(64), bytes: 7, uri: `file:///evidence/${incidentId}/logs.json` };
    },
    isolate: (incidentId, mode: Mode) => {
      const p = world.of(incidentId);
      p.calls.push(`isolate:${mode}`);
      if (p.isolated) return Promise.resolve({ outcome: 'already-done' as const, detail: 'pod already quarantined' });
      if (mode === 'live') p.isolated = true;
      return Promise.resolve({ outcome: 'changed' as const, detail: mode === 'live' ? 'labelled firebreak.io/quarantine' : 'would label (dry-run)' });
    },
    unisolate: (incidentId) => {
      const p = world.of(incidentId);
      p.calls.push('unisolate');
      p.isolated = false;
      return Promise.resolve('quarantine label removed');
    },
    cordon: (incidentId, mode: Mode) => {
      const p = world.of(incidentId);
      p.calls.push(`cordon:${mode}`);
      if (mode === 'live') p.cordoned = true;
      return Promise.resolve({ outcome: 'changed' as const, detail: 'spec.unschedulable=true' });
    },
    uncordon: (incidentId) => {
      const p = world.of(incidentId);
      p.calls.push('uncordon');
      if (p.failUncordon) return Promise.reject(ApplicationFailure.nonRetryable('node n1 is gone', 'NodeNotFound'));
      p.cordoned = false;
      return Promise.resolve('spec.unschedulable=false');
    },
  };
}

export function newWorld(): World {
  return new World();
}

/** Starts a worker for the engine workflow on its own task queue; stopped after the file. */
export async function startEngineWorker(
  connection: NativeConnection,
  world: World,
  opts: { namespace?: string; notifier?: Notifier } = {},
) {
  const namespace = opts.namespace ?? 'default';
  const taskQueue = uniqueName('engine');
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: await engineBundle(),
    activities: testActivities(world, opts.notifier),
    sinks: timelineSinks(() => undefined),
  });
  const running = worker.run();
  afterAll(async () => {
    worker.shutdown();
    await running;
  });
  return { taskQueue, worker };
}

/** Runs the engine workflow on the dev server for this test file (call in beforeAll); returns its task queue. */
export async function engineOnDevServer(world: World): Promise<string> {
  const connection = await NativeConnection.connect({ address: sandbox().temporalAddress });
  afterAll(() => connection.close());
  return (await startEngineWorker(connection, world)).taskQueue;
}

/** A valid policy for the test workflow; `steps` overrides the gates of named steps. */
export function testPolicy(gates: Partial<Record<'collect' | 'isolate' | 'cordon' | 'rollback', unknown>> = {}): RunbookPolicy {
  const approval = {
    approvers: ['cli:alice', 'cli:bob', 'cli:carol', 'U024BE7LH'],
    required: 1,
    twoPerson: true,
    timeout: '30m',
    onTimeout: 'deny',
  };
  return runbookPolicy.parse({
    id: 'engine-test',
    version: 1,
    title: 'Engine test',
    summary: 'A runbook for testing the engine',
    workflow: 'engineTestWorkflow',
    steps: [
      { id: 'collect', description: 'seal evidence', gate: gates.collect ?? 'none' },
      { id: 'isolate', description: 'quarantine the pod', gate: gates.isolate ?? approval },
      { id: 'cordon', description: 'cordon the node', gate: gates.cordon ?? approval },
    ],
    rollback: { gate: gates.rollback ?? 'none' },
  });
}

export function testInput(policy: RunbookPolicy, extra: Partial<IncidentInput> & { skipEvidence?: boolean; inParts?: { isolateRequires: string[] } } = {}): IncidentInput {
  return {
    incidentId: uniqueName('inc'),
    policy,
    groups: {},
    requester: 'cli:alice',
    mode: 'live',
    trigger: { source: 'cli', severity: 'high', summary: 'suspicious shell in web-1', receivedAt: '2026-11-28T00:00:00.000Z' },
    targets: [{ kind: 'pod', id: 'shop/web-1' }],
    ...extra,
  };
}

export async function startIncident(client: Client, taskQueue: string, input: IncidentInput): Promise<WorkflowHandle> {
  return client.workflow.start('engineTestWorkflow', { taskQueue, workflowId: input.incidentId, args: [input] });
}

/** Polls the status query until `ok` holds (bounded). */
export async function waitForStatus(
  handle: WorkflowHandle,
  ok: (s: IncidentStatus) => boolean,
  timeoutMs = 20_000,
): Promise<IncidentStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: IncidentStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(statusQuery);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last, null, 2)}`);
}

export const awaiting = (step: string) => (s: IncidentStatus) => s.pendingApprovals.some((p) => p.step === step);
