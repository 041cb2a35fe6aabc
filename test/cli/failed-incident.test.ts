/**
 * An incident whose workflow failed: started straight through the Temporal
 * client with a pod named `..`, the container-escape workflow refuses it at
 * its first line (InvalidTarget), before it registers its queries. `status`
 * and `timeline` must say that it failed and why, in one line, without a
 * stack trace or the bundler's output.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFirebreak } from '../support/cli.ts';
import { testDeps } from '../support/deps.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';
import { policy, startEscape, startRunbookWorker } from '../kubernetes/support.ts';

const client = await temporalClient();
let incidentId: string;
let refusal: string;

beforeAll(async () => {
  const { taskQueue } = await startRunbookWorker(await testDeps());
  const handle = await startEscape(client, taskQueue, {
    policy: await policy(),
    groups: {},
    requester: 'cli:alice',
    mode: 'live',
    trigger: { source: 'cli', severity: 'high', summary: 'crafted target', receivedAt: '2026-12-03T00:00:00.000Z' },
    targets: [{ kind: 'pod', id: `${uniqueName('shop')}/..` }],
  });
  incidentId = handle.workflowId;
  const failure = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  refusal = (failure as WorkflowFailedError).cause?.message ?? '';
  expect(refusal).toMatch(/^Refused target "pod:shop-\w+\/\.\.": /);
});

const firebreak = (args: string[]) => runFirebreak(args, { TEMPORAL_ADDRESS: sandbox().temporalAddress });

describe('a failed incident in the CLI', () => {
  it('status says the incident failed, its failure type and why, in one line, and exits 1', async () => {
    const r = await firebreak(['status', incidentId]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `firebreak: Incident ${incidentId} failed: InvalidTarget: ${refusal}\n` });
  });

  it('status --json gives the workflow status and the typed failure, and exits 1', async () => {
    const r = await firebreak(['status', incidentId, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ incidentId, workflowStatus: 'failed', failure: { type: 'InvalidTarget', message: refusal } });
  });

  it('the timeline report says failed and why instead of "open", with nothing on stderr', async () => {
    const r = await firebreak(['timeline', incidentId, '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`- **State:** failed: InvalidTarget: ${refusal} (workflow failed)\n`);
    expect(r.stdout).toContain(`- The incident's workflow failed: InvalidTarget: ${refusal}; nothing more runs in it.\n`);
    expect(r.stdout).not.toContain('still open');
  });

  it('the JSON timeline carries the failure', async () => {
    const r = await firebreak(['timeline', incidentId, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ incidentId, workflowStatus: 'failed', failure: { type: 'InvalidTarget', message: refusal } });
  });
});
