/**
 * The ways a credential-compromise incident starts, each ending in a real
 * change in moto: a GuardDuty IAM finding through intake routing, the
 * container-escape runbook for a pod's IRSA role, and `firebreak start` with a
 * bare access key id.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GetRolePolicyCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { CoreV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { revokePolicyName, revokeTimeOf } from '../../activities/aws/index.ts';
import { demoCloudTrailEvents, seedAws } from '../../src/sandbox/demo.ts';
import { openIncident } from '../../src/incidents/open.ts';
import { normaliseBody } from '../../src/intake/normalise.ts';
import { incidentInputFor, routeAlert } from '../../src/intake/router.ts';
import { decideUpdate, statusQuery, type IncidentStatus } from '../../workflows/engine/messages.ts';
import { runFirebreak } from '../support/cli.ts';
import { awaiting, waitForStatus } from '../support/engine.ts';
import { awsClient, kubeConfig, sandbox, temporalClient, testAccountId, testNamespace } from '../support/servers.ts';
import { falcoEvent, fromFalco, policy as escapePolicy, seedWorkload, startEscape, startRunbookWorker, timeline } from '../kubernetes/support.ts';
import { awsDeps, cloudTrailServer, policy, seedRole, seedUser, userEvent } from './support.ts';

const client = await temporalClient();
const iam = awsClient(IAMClient);
const trail = await cloudTrailServer();
let taskQueue: string;
beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(await awsDeps(trail)));
});

const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));
const keyStatus = async (user: string, key: string) =>
  (await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata?.find((k) => k.AccessKeyId === key)?.Status;

describe('a GuardDuty IAM finding', () => {
  it('routes to credential-compromise with the key and the user as targets, and deactivates the key without waiting', async () => {
    const u = await seedUser(iam, { loginProfile: false });
    const finding = JSON.parse(await readFile(fileURLToPath(new URL('../intake/fixtures/guardduty/iam-credential-exfiltration.json', import.meta.url)), 'utf8')) as {
      detail: { id: string; resource: { accessKeyDetails: Record<string, string> } };
    };
    finding.detail.id = `finding-${u.user}`;
    finding.detail.resource.accessKeyDetails = { accessKeyId: u.key, principalId: 'AIDATEST', userType: 'IAMUser', userName: u.user };
    const [alert] = normaliseBody('guardduty', JSON.stringify(finding), new Date().toISOString());
    const p = await policy({ rollback: 'none' });
    const [route] = routeAlert(alert!, [p]);
    expect(route).toMatchObject({
      autoContainSteps: ['deactivate-access-key'],
      targets: [
        { kind: 'access-key', id: u.key, attributes: { account: '123456789012', principal: u.user, region: 'eu-west-1' } },
        { kind: 'iam-user', id: u.user, attributes: { account: '123456789012' } },
      ],
    });
    const input = incidentInputFor(alert!, route!, { groups: {}, mode: 'live' });
    const { incidentId } = await openIncident(client, { workflowType: p.workflow, taskQueue, correlationKey: `${route!.correlationKey}:${u.user}`, input });
    const handle = client.workflow.getHandle(incidentId);
    const status = await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'deactivate-access-key')?.status === 'succeeded');
    expect(status.steps.find((x) => x.id === 'deactivate-access-key')?.settledBy).toBe('auto-contain');
    expect(await keyStatus(u.user, u.key)).toBe('Inactive');
  });
});

describe('the container-escape runbook for a pod whose service account has an IRSA role', () => {
  it('starts credential-compromise on that role as a child incident, which seals evidence and revokes the role sessions once approved', async () => {
    const namespace = await testNamespace('irsa');
    const w = await seedWorkload(namespace);
    const role = await seedRole(iam);
    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .patchNamespacedServiceAccount(
        { name: 'storefront', namespace, body: [{ op: 'replace', path: '/metadata/annotations/eks.amazonaws.com~1role-arn', value: role.arn }] },
      );
    const escape = await escapePolicy({ 'cordon-node': 'none', 'offer-credential-compromise': 'none', 'delete-pod': 'none', rollback: 'none' });
    const parent = await startEscape(client, taskQueue, { ...fromFalco(escape, falcoEvent(w, w.pods[0])), childPolicies: { credentialCompromise: await policy() } });
    await waitForStatus(parent, (s) => s.steps.find((x) => x.id === 'offer-credential-compromise')?.status === 'succeeded');
    const offered = (await timeline(parent)).find((e) => e.type === 'action.succeeded' && e.step === 'offer-credential-compromise');
    const childId = `${parent.workflowId}.credential-compromise`;
    expect(offered?.data).toMatchObject({ target: `role:${role.arn}`, changed: expect.stringContaining(childId) });

    const child = client.workflow.getHandle(childId);
    const waiting = await waitForStatus(child, awaiting('revoke-role-sessions'));
    expect(waiting.targets).toEqual([{ kind: 'role', id: role.arn }]);
    expect(waiting.counts.evidence).toBeGreaterThan(0);
    await child.executeUpdate(decideUpdate, { args: [{ step: 'revoke-role-sessions', decision: 'approve', actor: 'cli:bob' }] });
    await waitForStatus(child, settled);
    const doc = decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: revokePolicyName }))).PolicyDocument!);
    expect(revokeTimeOf(doc)).toBeDefined();
    expect((await child.query(statusQuery)).steps.find((s) => s.id === 'revoke-role-sessions')?.status).toBe('succeeded');
  });
});

describe('firebreak start credential-compromise --target <access key id>', () => {
  it('opens the incident on the key from the CLI; the worker seals evidence and waits for approval to deactivate it', async () => {
    const u = await seedUser(iam, { loginProfile: false });
    trail.seed([userEvent(u, 'ListBuckets', 5, { eventSource: 's3.amazonaws.com' })], testAccountId);
    const r = await runFirebreak(['start', 'credential-compromise', '--target', u.key, '--json'], {
      FIREBREAK_OPERATOR: 'alice',
      TEMPORAL_ADDRESS: sandbox().temporalAddress,
      TEMPORAL_NAMESPACE: sandbox().temporalNamespace,
      FIREBREAK_TASK_QUEUE: taskQueue,
      FIREBREAK_LOG_LEVEL: 'silent',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const started = JSON.parse(r.stdout) as { incidentId: string; workflowType: string };
    expect(started.workflowType).toBe('credentialCompromise');
    const handle = client.workflow.getHandle(started.incidentId);
    const status = await waitForStatus(handle, awaiting('deactivate-access-key'));
    expect(status.targets).toEqual([{ kind: 'access-key', id: u.key }]);
    expect(status.requester).toBe('cli:alice');
    expect(status.counts.evidence).toBeGreaterThan(0);
    expect(await keyStatus(u.user, u.key)).toBe('Active');
  });
});

describe('the local sandbox demo', () => {
  it("tells a story the runbook finds: the demo key's CloudTrail shows a key and an admin user made with it", async () => {
    const demo = await seedAws(iam);
    expect(demo.account).toBe(testAccountId);
    trail.seed(demoCloudTrailEvents(demo), demo.account);
    const p = await policy({ 'deactivate-access-key': 'none', 'delete-login-profile': 'none', 'eradicate-access-keys': 'none', 'eradicate-principals': 'none', 'restore-policies': 'none' });
    const { incidentId } = await openIncident(client, {
      workflowType: p.workflow,
      taskQueue,
      correlationKey: `demo:${demo.accessKeyId}`,
      input: { policy: p, groups: {}, requester: 'cli:alice', mode: 'live', trigger: { source: 'cli', severity: 'high', summary: 'demo', receivedAt: new Date().toISOString() }, targets: [{ kind: 'access-key', id: demo.accessKeyId }] },
    });
    const handle = client.workflow.getHandle(incidentId);
    const status = await waitForStatus(handle, settled, 30_000);
    expect(status.counts.failures).toBe(0);
    const succeeded = (await timeline(handle)).filter((e) => e.type === 'action.succeeded').map((e) => [e.step, e.type === 'action.succeeded' ? e.data.target : '']);
    expect(succeeded).toEqual([
      ['deactivate-access-key', `access-key:${demo.accessKeyId}`],
      ['revoke-user-sessions', `iam-user:${demo.user}`],
      ['delete-login-profile', `iam-user:${demo.user}`],
      ['eradicate-access-keys', `access-key:${demo.attackerKeyId}`],
      ['eradicate-principals', `user:${demo.attackerUser}`],
      ['restore-policies', `user:${demo.attackerUser}`],
    ]);
    expect(await keyStatus(demo.user, demo.attackerKeyId)).toBe('Inactive');
  });
});
