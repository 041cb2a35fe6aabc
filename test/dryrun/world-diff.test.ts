/**
 * Dry-run changes nothing: each runbook runs in dry-run mode through every
 * gate it has — every step approved (two approvers where the policy says so),
 * then rollback requested and approved — on the real kube-apiserver and moto,
 * and the whole world is read before and after: every Kubernetes object of the
 * namespace, the Namespace and the Node (uid, resourceVersion), and every IAM
 * and S3 object of the account. Any difference fails the test.
 */
import { CreateUserCommand, IAMClient, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { CoreV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import { credentialCompromiseSteps } from '../../workflows/catalog.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { awsClient, kubeConfig, temporalClient, testAccountId, testNamespace, uniqueName } from '../support/servers.ts';
import { awsDeps, cloudTrailServer, iamProxy, policy as credentialPolicy, proxiedIam, roleEvent, seedAttackerChanges, seedRole, seedUser, startCredentialIncident } from '../aws/support.ts';
import { falcoEvent, fromFalco, policy as escapePolicy, seedWorkload, startEscape, startRunbookWorker, timeline } from '../kubernetes/support.ts';
import { approveEveryGate, requester, rollBack } from './gates.ts';
import { awsWorld, differences, kubernetesWorld } from './world.ts';

const client = await temporalClient();
const iam = awsClient(IAMClient);
const s3 = awsClient(S3Client);
const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const trail = await cloudTrailServer();
// The worker's IAM calls go through a proxy that counts them by action: besides the world staying the same, no write may even be sent.
const proxy = await iamProxy();
let taskQueue: string;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(await awsDeps(trail, { iam: proxiedIam(proxy) })));
});

/** IAM actions the worker sent that are not reads. */
const writesSent = () => [...proxy.calls.keys()].filter((action) => !/^(Get|List)[A-Z]/.test(action));



/** The gates the policy defines: each gated step, and rollback when it is gated. */
function gatesOf(p: RunbookPolicy): string[] {
  return [...p.steps.filter((s) => s.gate !== 'none').map((s) => s.id), ...(p.rollback.gate === 'none' ? [] : ['rollback'])].sort();
}

/** The gates that were approved (each once, however many votes it took). */
const granted = (events: TimelineEvent[]) => [...new Set(events.filter((e) => e.type === 'approval.granted').map((e) => e.step ?? ''))].sort();
const succeeded = (events: TimelineEvent[]) => events.filter((e) => e.type === 'action.succeeded').map((e) => e.step ?? '');

/** A user whose leaked key made a user with a key, attached and put policies on it, and changed a role's trust policy. */
async function compromisedAccount() {
  const u = await seedUser(iam);
  await seedAttackerChanges(iam, trail, u);
  return u;
}

describe('a dry run through every gate of a runbook', () => {
  it('container-escape (and the credential-compromise incident it starts on the IRSA role) leaves every Kubernetes and AWS object as it was', async () => {
    const namespace = await testNamespace('dryrun');
    const w = await seedWorkload(namespace);
    // The pod's IRSA role exists in this account, and its sessions created a user: the child incident has gates to pass too.
    const role = await seedRole(iam);
    await core.patchNamespacedServiceAccount({
      name: 'storefront',
      namespace,
      body: [{ op: 'replace', path: '/metadata/annotations/eks.amazonaws.com~1role-arn', value: role.arn }],
    });
    const backdoor = uniqueName('backdoor');
    await iam.send(new CreateUserCommand({ UserName: backdoor }));
    trail.seed([roleEvent(role, 'storefront-session', 'CreateUser', 20, { requestParameters: { userName: backdoor } })], testAccountId);
    const escape = await escapePolicy();
    const credential = await credentialPolicy();
    const kubeBefore = await kubernetesWorld(kc, namespace, w.node);
    const awsBefore = await awsWorld(iam, s3);

    // A shell in the pod: no auto-containment, so a person approves isolation too.
    const parent = await startEscape(client, taskQueue, {
      ...fromFalco(escape, falcoEvent(w, w.pods[0], 'Terminal shell in container', 'Error'), 'dry-run'),
      childPolicies: { credentialCompromise: credential },
    });
    const status = await approveEveryGate(parent);
    expect(status.counts.failures).toBe(0);
    const child = client.workflow.getHandle(`${parent.workflowId}.credential-compromise`);
    expect((await approveEveryGate(child)).counts.failures).toBe(0);
    await rollBack(parent);
    await rollBack(child);

    const parentEvents = await timeline(parent);
    const childEvents = await timeline(child);
    expect(granted(parentEvents)).toEqual(gatesOf(escape));
    expect(succeeded(parentEvents)).toEqual(['isolate-pod', 'detach-from-rotation', 'cordon-node', 'offer-credential-compromise', 'delete-pod']);
    expect(succeeded(childEvents)).toEqual(['revoke-role-sessions', 'eradicate-principals']);
    expect(parentEvents.filter((e) => e.type === 'rollback.compensated').map((e) => e.step)).toEqual(['cordon-node', 'detach-from-rotation', 'isolate-pod']);

    expect(differences(kubeBefore, await kubernetesWorld(kc, namespace, w.node))).toEqual([]);
    expect(differences(awsBefore, await awsWorld(iam, s3))).toEqual([]);
    expect(writesSent()).toEqual([]);
  });

  it('credential-compromise on a leaked user key leaves every IAM and S3 object of the account as it was', async () => {
    const u = await compromisedAccount();
    const p = await credentialPolicy();
    const before = await awsWorld(iam, s3);

    const handle = await startCredentialIncident(client, taskQueue, { policy: p, targets: [{ kind: 'access-key', id: u.key }], mode: 'dry-run', requester });
    const status = await approveEveryGate(handle);
    expect(status.counts.failures).toBe(0);
    await rollBack(handle);

    const events = await timeline(handle);
    // Every gate but revoke-role-sessions (a user has no role sessions; the container-escape case passes it on a role).
    expect(granted(events)).toEqual(gatesOf(p).filter((g) => g !== 'revoke-role-sessions'));
    // Every step that acts ran its action (restore-policies three: detach, delete inline, trust policy).
    const acting = credentialCompromiseSteps.filter((step) => !['triage', 'collect-evidence', 'revoke-role-sessions'].includes(step));
    expect(succeeded(events)).toEqual(acting.flatMap((step) => (step === 'restore-policies' ? [step, step, step] : [step])));
    expect(events.filter((e) => e.type === 'rollback.compensated').length).toBeGreaterThan(0);

    expect(differences(before, await awsWorld(iam, s3))).toEqual([]);
    expect(writesSent()).toEqual([]);
    expect(proxy.calls.get('ListAccessKeys')).toBeGreaterThan(0);
  });

  it('sees a real change: one label on a pod and one key set Inactive show up as exactly those objects (control)', async () => {
    const namespace = await testNamespace('dryrun-control');
    const w = await seedWorkload(namespace);
    const u = await seedUser(iam, { loginProfile: false });
    const kubeBefore = await kubernetesWorld(kc, namespace, w.node);
    const awsBefore = await awsWorld(iam, s3);
    await core.patchNamespacedPod({ name: w.pods[1], namespace, body: [{ op: 'add', path: '/metadata/labels/touched', value: 'yes' }] });
    await iam.send(new UpdateAccessKeyCommand({ UserName: u.user, AccessKeyId: u.key, Status: 'Inactive' }));
    expect(differences(kubeBefore, await kubernetesWorld(kc, namespace, w.node)).map((d) => d.key)).toEqual([`v1/pods/${w.pods[1]}`]);
    expect(differences(awsBefore, await awsWorld(iam, s3))).toEqual([{ key: `user/${u.user}/access-key/${u.key}`, before: 'Active', after: 'Inactive' }]);
  });
});
