/**
 * `firebreak replay`: exit 0 when every history replays, 1 on nondeterminism
 * (naming the incident, its workflow and the event), 2 when histories cannot
 * be read or fetched; from files and from the dev server.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsDeps, cloudTrailServer, policy, seedUser, startCredentialIncident } from '../aws/support.ts';
import { startRunbookWorker } from '../kubernetes/support.ts';
import { runFirebreak } from '../support/cli.ts';
import { waitForStatus } from '../support/engine.ts';
import { awsClient, sandbox, temporalClient } from '../support/servers.ts';
import { editedWorkflows, historiesDir, insertBefore } from './support.ts';

const execFileP = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'firebreak-replay-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const credentialFiles = ['approve-all', 'deny-all', 'rollback', 'waiting-approval'].map((p) => join(historiesDir, `credential-compromise.${p}.json`));
const server = () => ({ TEMPORAL_ADDRESS: sandbox().temporalAddress, TEMPORAL_NAMESPACE: sandbox().temporalNamespace });

describe('firebreak replay <files>', () => {
  it('exits 0 when every history replays against the current workflow code', async () => {
    const r = await runFirebreak(['replay', ...credentialFiles]);
    expect(r.stdout).toContain('4 histories replayed against the current workflow code: all deterministic.');
    expect(r.code).toBe(0);
  });

  it('exits 1 for a copy of the workflow with an activity call added before an existing one, naming the incident, its workflow and the event', async () => {
    // A developer adds a reachability check before evidence capture, without patched().
    const workflows = await editedWorkflows('credentialCompromise.ts', insertBefore('// 2. Evidence first', 'await reads.checkAws();'));
    const file = join(historiesDir, 'credential-compromise.approve-all.json');
    const r = await runFirebreak(['replay', '--workflows', workflows, file]);
    expect(r.code).toBe(1);
    const workflowId = (JSON.parse(await readFile(file, 'utf8')) as { workflowId: string }).workflowId;
    expect(r.stdout).toContain(`NONDETERMINISM  ${workflowId} (workflow credentialCompromise, ${file}) diverged at event 18 (ActivityTaskScheduled)`);
    expect(r.stdout).toContain("'captureCredentialEvidence' does not match activity type of activity command 'checkAws'");
    expect(r.stdout).toContain('1 of 1 histories do not replay');
  });

  it('exits 2 for a history file that cannot be read, naming it', async () => {
    const r = await runFirebreak(['replay', join(dir, 'missing.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Cannot read history file ${join(dir, 'missing.json')}: ENOENT`);
  });

  it('exits 2 for a JSON file that is not a workflow history', async () => {
    const file = join(dir, 'not-a-history.json');
    await writeFile(file, JSON.stringify({ incidents: [] }));
    const r = await runFirebreak(['replay', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`History file ${file} has no "events" list`);
  });

  it('exits 2 on a usage error: nothing to replay, or files and --from-server together', async () => {
    expect((await runFirebreak(['replay'])).code).toBe(2);
    const both = await runFirebreak(['replay', '--from-server', credentialFiles[0]!]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give history files or --from-server, not both.');
  });

  it('prints its usage with --help and exits 0', async () => {
    const r = await runFirebreak(['replay', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--from-server');
    expect(r.stdout).toContain('--workflow-id <id...>');
  });
});

const client = await temporalClient();
const trail = await cloudTrailServer();

describe('firebreak replay --from-server', () => {
  let taskQueue: string;
  let incident: string;
  beforeAll(async () => {
    ({ taskQueue } = await startRunbookWorker(await awsDeps(trail)));
    const u = await seedUser(awsClient(IAMClient));
    const handle = await startCredentialIncident(client, taskQueue, { policy: await policy(), targets: [{ kind: 'access-key', id: u.key }] });
    await waitForStatus(handle, (s) => s.pendingApprovals.length > 0, 60_000);
    incident = handle.workflowId;
  });

  it('replays an open incident fetched by its id (exit 0)', async () => {
    const r = await runFirebreak(['replay', '--from-server', '--workflow-id', incident], server());
    expect(r.stdout).toContain('1 history replayed against the current workflow code: all deterministic.');
    expect(r.code).toBe(0);
  });

  it('replays the incidents a visibility query matches (exit 0)', async () => {
    const r = await runFirebreak(['replay', '--from-server', '--query', `WorkflowId = "${incident}"`, '--json'], server());
    expect(JSON.parse(r.stdout)).toEqual({ replayed: 1, failures: [] });
    expect(r.code).toBe(0);
  });

  it('replays a history file written by `temporal workflow show --output json`', async () => {
    const { stdout } = await execFileP(sandbox().tools.temporal, ['workflow', 'show', '--address', sandbox().temporalAddress, '--namespace', sandbox().temporalNamespace, '--workflow-id', incident, '--output', 'json'], { maxBuffer: 64 << 20 });
    const file = join(dir, 'from-cli.json');
    await writeFile(file, stdout);
    const r = await runFirebreak(['replay', file]);
    expect(r.stdout).toContain('1 history replayed');
    expect(r.code).toBe(0);
  });

  it('exits 2 when Temporal cannot be reached', async () => {
    const r = await runFirebreak(['replay', '--from-server'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Cannot reach Temporal at 127.0.0.1:1');
  });
});
