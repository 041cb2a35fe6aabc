import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  GetLoginProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
  CreateUserCommand,
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { revokePolicyName, revokeTimeOf, quarantinePolicyName } from '../../activities/aws/index.ts';
import { decideUpdate, rejection, rollbackUpdate, type IncidentStatus } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { awaiting, waitForStatus } from '../support/engine.ts';
import { awsClient, temporalClient, testAccountId, uniqueName } from '../support/servers.ts';
import { startRunbookWorker, timeline } from '../kubernetes/support.ts';
import {
  approvers,
  awsDeps,
  cloudTrailServer,
  iamProxy,
  policy,
  proxiedIam,
  roleEvent,
  seedAttackerChanges,
  seedRole,
  seedUser,
  startCredentialIncident,
  trustEc2,
  userEvent,
} from './support.ts';

const client = await temporalClient();
const iam = awsClient(IAMClient);
const trail = await cloudTrailServer();
const deps = await awsDeps(trail);
let taskQueue: string;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(deps));
});

const one = { approvers, required: 1, timeout: '30m', onTimeout: 'deny' };
/** The shipped policy with containment ungated and eradication denied after 1 s, so an incident runs straight through. */
const straight = (extra: Record<string, unknown> = {}) =>
  policy({
    'deactivate-access-key': 'none',
    'revoke-role-sessions': 'none',
    'delete-login-profile': { approvers, required: 2, twoPerson: true, timeout: '1s', onTimeout: 'deny' },
    'eradicate-access-keys': { ...one, timeout: '1s' },
    'eradicate-principals': { ...one, timeout: '1s' },
    'restore-policies': { ...one, timeout: '1s' },
    rollback: 'none',
    ...extra,
  });
const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));
const vote = (step: string, actor: string) => ({ args: [{ step, decision: 'approve' as const, actor }] as [{ step: string; decision: 'approve'; actor: string }] });
const stepOf = (s: IncidentStatus, id: string) => s.steps.find((x) => x.id === id);

async function keyStatus(user: string, key: string): Promise<string | undefined> {
  const keys = await iam.send(new ListAccessKeysCommand({ UserName: user }));
  return keys.AccessKeyMetadata?.find((k) => k.AccessKeyId === key)?.Status;
}

async function userRevokePolicy(user: string): Promise<string | undefined> {
  try {
    const r = await iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: revokePolicyName }));
    return decodeURIComponent(r.PolicyDocument!);
  } catch (e) {
    if ((e as Error).name === 'NoSuchEntityException') return undefined;
    throw e;
  }
}

async function hasLoginProfile(user: string): Promise<boolean> {
  try {
    await iam.send(new GetLoginProfileCommand({ UserName: user }));
    return true;
  } catch (e) {
    if ((e as Error).name === 'NoSuchEntityException') return false;
    throw e;
  }
}

async function waitForTimeline(handle: Awaited<ReturnType<typeof startCredentialIncident>>, ok: (events: TimelineEvent[]) => boolean): Promise<TimelineEvent[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const events = await timeline(handle);
    if (ok(events)) return events;
    if (Date.now() > deadline) throw new Error(`the timeline did not reach the expected state; last: ${JSON.stringify(events.slice(-5), null, 2)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function evidence(events: TimelineEvent[], name: string): Promise<unknown> {
  const sealed = events.find((e) => e.type === 'evidence.sealed' && e.data.name === name);
  if (sealed?.type !== 'evidence.sealed') throw new Error(`no evidence ${name}; sealed: ${events.filter((e) => e.type === 'evidence.sealed').map((e) => (e.type === 'evidence.sealed' ? e.data.name : '')).join(', ')}`);
  return JSON.parse(await readFile(fileURLToPath(sealed.data.uri), 'utf8')) as unknown;
}

/** A user whose key was used: some reads, from outside. */
async function leakedUser(opts: { loginProfile?: boolean } = {}) {
  const u = await seedUser(iam, opts);
  trail.seed([userEvent(u, 'GetCallerIdentity', 50, { eventSource: 'sts.amazonaws.com' }), userEvent(u, 'ListBuckets', 45, { eventSource: 's3.amazonaws.com' })], testAccountId);
  return u;
}

describe('credential-compromise runbook against moto and the sandbox CloudTrail', () => {
  it('seals every piece of evidence before the first write, by timeline order and by capture time', async () => {
    const u = await leakedUser();
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    await waitForStatus(handle, settled);
    const events = await timeline(handle);
    const captured = events.filter((e) => e.type === 'evidence.sealed' && e.step === 'collect-evidence');
    const sealed = captured.map((e) => (e.type === 'evidence.sealed' ? e.data.name : ''));
    expect(sealed).toEqual([
      'triage.json',
      'principal.json',
      'login-profile.json',
      'mfa-devices.json',
      'access-keys.json',
      'cloudtrail/access-key.json',
      `cloudtrail/user-${u.user}.json`,
      'attacker-changes.json',
    ]);
    const firstAction = events.findIndex((e) => e.type === 'action.started');
    expect(firstAction).toBeGreaterThan(events.indexOf(captured.at(-1)!));
    const manifest = await deps.evidence.manifest(handle.workflowId);
    const lastCapture = Math.max(...manifest.filter((m) => sealed.includes(m.name)).map((m) => Date.parse(m.capturedAt)));
    expect(lastCapture).toBeLessThanOrEqual(Date.parse(events[firstAction]!.at));
  });

  it("captures the user's policies, groups, login profile, keys with status and last use, and the key's CloudTrail events", async () => {
    const u = await leakedUser();
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    await waitForStatus(handle, settled);
    const events = await timeline(handle);
    const triage = (await evidence(events, 'triage.json')) as { account: string; principal: { kind: string; name: string; arn: string }; keyType: string; keyStatus: string };
    expect(triage).toMatchObject({ account: testAccountId, principal: { kind: 'user', name: u.user, arn: u.arn }, keyType: 'long-term', keyStatus: 'Active' });
    const principal = (await evidence(events, 'principal.json')) as {
      inlinePolicies: Record<string, unknown>;
      attachedPolicies: { PolicyArn: string }[];
      groups: { group: { GroupName: string } }[];
    };
    expect(Object.keys(principal.inlinePolicies)).toEqual(['read-artifacts']);
    expect(principal.attachedPolicies.map((p) => p.PolicyArn)).toEqual([u.managedPolicyArn]);
    expect(principal.groups.map((g) => g.group.GroupName)).toEqual([u.group]);
    expect(await evidence(events, 'login-profile.json')).toMatchObject({ present: true });
    const keys = (await evidence(events, 'access-keys.json')) as { keys: { AccessKeyId: string; Status: string; lastUsed: unknown }[] };
    expect(keys.keys.map((k) => [k.AccessKeyId, k.Status])).toEqual(expect.arrayContaining([[u.key, 'Active'], [u.otherKey, 'Active']]));
    expect(keys.keys.every((k) => 'lastUsed' in k)).toBe(true);
    const ct = (await evidence(events, 'cloudtrail/access-key.json')) as { lookup: string; count: number; events: { EventName: string }[] };
    expect(ct.lookup).toBe(`AccessKeyId=${u.key}`);
    expect(ct.events.map((e) => e.EventName)).toEqual(['ListBuckets', 'GetCallerIdentity']);
  });

  it('waits for approval to deactivate the key when a person started the incident, then sets only that key Inactive', async () => {
    const u = await leakedUser();
    const handle = await startCredentialIncident(client, taskQueue, {
      policy: await straight({ 'deactivate-access-key': { ...one, onTimeout: 'deny' } }),
      targets: [{ kind: 'access-key', id: u.key }],
    });
    await waitForStatus(handle, awaiting('deactivate-access-key'));
    expect(await keyStatus(u.user, u.key)).toBe('Active');
    await handle.executeUpdate(decideUpdate, vote('deactivate-access-key', 'cli:bob'));
    await waitForStatus(handle, settled);
    expect(await keyStatus(u.user, u.key)).toBe('Inactive');
    expect(await keyStatus(u.user, u.otherKey)).toBe('Active');
    const changed = (await timeline(handle)).find((e) => e.type === 'action.succeeded' && e.step === 'deactivate-access-key');
    expect(changed?.data).toMatchObject({ changed: expect.stringContaining('Active → Inactive (prior state Active)') });
  });

  it('revokes the user\'s older sessions with an inline deny of everything before aws:TokenIssueTime = the time of the step', async () => {
    const u = await leakedUser();
    const before = Date.now();
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    await waitForStatus(handle, settled);
    const doc = JSON.parse((await userRevokePolicy(u.user))!) as { Statement: { Effect: string; Action: string[]; Resource: string[]; Condition: { DateLessThan: Record<string, string> } }[] };
    expect(doc.Statement).toHaveLength(1);
    const s = doc.Statement[0]!;
    expect(s).toMatchObject({ Effect: 'Deny', Action: ['*'], Resource: ['*'] });
    const bound = s.Condition.DateLessThan['aws:TokenIssueTime']!;
    expect(Date.parse(bound)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(bound)).toBeLessThanOrEqual(Date.now());
    const started = (await timeline(handle)).find((e) => e.type === 'action.started' && e.step === 'revoke-user-sessions');
    expect(started?.data).toMatchObject({ action: `revoke sessions issued before ${bound}` });
    expect(stepOf(await waitForStatus(handle, settled), 'revoke-role-sessions')?.status).toBe('skipped');
  });

  it('deletes the login profile only after two approvers other than the requester approve', async () => {
    const u = await leakedUser();
    const handle = await startCredentialIncident(client, taskQueue, {
      policy: await straight({ 'delete-login-profile': { approvers, required: 2, twoPerson: true, timeout: '30m', onTimeout: 'deny' } }),
      targets: [{ kind: 'access-key', id: u.key }],
    });
    await waitForStatus(handle, awaiting('delete-login-profile'));
    const e: unknown = await handle.executeUpdate(decideUpdate, vote('delete-login-profile', 'cli:alice')).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((e as WorkflowUpdateFailedError).cause as { type?: string }).type).toBe(rejection.requesterCannotApprove);
    await handle.executeUpdate(decideUpdate, vote('delete-login-profile', 'cli:bob'));
    expect(await hasLoginProfile(u.user)).toBe(true);
    await handle.executeUpdate(decideUpdate, vote('delete-login-profile', 'cli:carol'));
    await waitForStatus(handle, (s) => stepOf(s, 'delete-login-profile')?.status === 'succeeded');
    expect(await hasLoginProfile(u.user)).toBe(false);
  });

  it('revokes a role\'s sessions only once approved, naming the role by ARN', async () => {
    const role = await seedRole(iam);
    const handle = await startCredentialIncident(client, taskQueue, {
      policy: await straight({ 'revoke-role-sessions': { ...one } }),
      targets: [{ kind: 'role', id: role.arn }],
    });
    await waitForStatus(handle, awaiting('revoke-role-sessions'));
    await expect(iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: revokePolicyName }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    await handle.executeUpdate(decideUpdate, vote('revoke-role-sessions', 'cli:bob'));
    const status = await waitForStatus(handle, settled);
    const doc = decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: revokePolicyName }))).PolicyDocument!);
    expect(revokeTimeOf(doc)).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(status.steps.filter((s) => s.status === 'skipped').map((s) => s.id)).toEqual([
      'deactivate-access-key',
      'revoke-user-sessions',
      'delete-login-profile',
      'eradicate-access-keys',
      'eradicate-principals',
      'restore-policies',
    ]);
    const principal = (await evidence(await timeline(handle), 'principal.json')) as { trustPolicy: unknown };
    expect(principal.trustPolicy).toEqual(JSON.parse(trustEc2));
  });

  it('records an inactive key and a newer revocation as already done, not as errors, and registers no undo for them', async () => {
    const u = await leakedUser({ loginProfile: false });
    await iam.send(new UpdateAccessKeyCommand({ UserName: u.user, AccessKeyId: u.key, Status: 'Inactive' }));
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: ['*'], Resource: ['*'], Condition: { DateLessThan: { 'aws:TokenIssueTime': later } } }] });
    await iam.send(new PutUserPolicyCommand({ UserName: u.user, PolicyName: revokePolicyName, PolicyDocument: existing }));
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    const status = await waitForStatus(handle, settled);
    expect(status.counts.failures).toBe(0);
    const events = await timeline(handle);
    const already = events.filter((e) => e.type === 'action.already-done').map((e) => [e.step, e.type === 'action.already-done' ? e.data.detail : '']);
    expect(already).toEqual([
      ['deactivate-access-key', expect.stringContaining('is already Inactive')],
      ['revoke-user-sessions', expect.stringContaining(`already denies tokens issued before ${later}`)],
    ]);
    expect(stepOf(status, 'delete-login-profile')?.status).toBe('skipped');
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect((await timeline(handle)).find((e) => e.type === 'rollback.finished')?.data).toEqual({ compensated: 0, failed: 0 });
    expect(await keyStatus(u.user, u.key)).toBe('Inactive');
    expect(revokeTimeOf((await userRevokePolicy(u.user))!)).toBe(later);
  });

  it('records a key no user owns as not found and continues with what exists, changing nothing', async () => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'access-key', id: 'AKIAZZZZZZZZZZZZZZZZ' }] });
    const status = await waitForStatus(handle, settled);
    expect(status.counts.failures).toBe(0);
    expect(status.counts.actions).toBe(0);
    const events = await timeline(handle);
    const skipped = events.find((e) => e.type === 'action.skipped' && e.step === 'deactivate-access-key');
    expect(skipped?.data).toMatchObject({ why: expect.stringContaining('access key AKIAZZZZZZZZZZZZZZZZ (no IAM user owns it in this account)') });
    expect(await evidence(events, 'principal.json')).toMatchObject({ unavailable: expect.stringContaining('AKIAZZZZZZZZZZZZZZZZ') });
  });

  it('records a role that does not exist as not found and continues with what exists', async () => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'role', id: `arn:aws:iam::${testAccountId}:role/no-such-role` }] });
    const status = await waitForStatus(handle, settled);
    expect(status.counts.failures).toBe(0);
    const skipped = (await timeline(handle)).find((e) => e.type === 'action.skipped' && e.step === 'revoke-role-sessions');
    expect(skipped?.data).toMatchObject({ why: expect.stringContaining('IAM role no-such-role') });
  });

  it('rolls back: reactivates the key, and refuses to lift the revocation while older sessions may live, saying when it is safe', async () => {
    const u = await leakedUser({ loginProfile: false });
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    await waitForStatus(handle, settled);
    const bound = revokeTimeOf((await userRevokePolicy(u.user))!)!;
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'false positive' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    const events = await timeline(handle);
    expect(events.filter((e) => e.type === 'rollback.compensated').map((e) => e.step)).toEqual(['deactivate-access-key']);
    const refused = events.find((e) => e.type === 'rollback.failed');
    const safeAt = new Date(Date.parse(bound) + 36 * 3_600_000).toISOString();
    expect(refused).toMatchObject({ step: 'revoke-user-sessions', data: { errorType: 'RollbackUnsafe', error: expect.stringContaining(`it becomes safe at ${safeAt}`) } });
    expect(events.find((e) => e.type === 'rollback.finished')?.data).toEqual({ compensated: 1, failed: 1 });
    expect(await keyStatus(u.user, u.key)).toBe('Active');
    expect(revokeTimeOf((await userRevokePolicy(u.user))!)).toBe(bound);
    // The refused undo stays owed: asking again runs it again (refused again, until the safe time).
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'again' }] });
    await waitForTimeline(handle, (events) => events.filter((e) => e.type === 'rollback.finished').length === 2);
    const again = (await timeline(handle)).filter((e) => e.type === 'rollback.failed');
    expect(again.map((e) => [e.step, e.data.errorType])).toEqual([
      ['revoke-user-sessions', 'RollbackUnsafe'],
      ['revoke-user-sessions', 'RollbackUnsafe'],
    ]);
    expect((await timeline(handle)).filter((e) => e.type === 'rollback.finished').map((e) => e.data)).toEqual([
      { compensated: 1, failed: 1 },
      { compensated: 0, failed: 1 },
    ]);
  });

  it('in dry-run mode records every write it would make and sends none', async () => {
    const u = await leakedUser();
    const handle = await startCredentialIncident(client, taskQueue, {
      policy: await straight({ 'delete-login-profile': 'none' }),
      targets: [{ kind: 'access-key', id: u.key }],
      mode: 'dry-run',
    });
    await waitForStatus(handle, settled);
    const succeeded = (await timeline(handle)).filter((e) => e.type === 'action.succeeded');
    expect(succeeded.map((e) => e.step)).toEqual(['deactivate-access-key', 'revoke-user-sessions', 'delete-login-profile']);
    for (const e of succeeded) expect(e.type === 'action.succeeded' && e.data.changed).toMatch(/^dry-run \(nothing sent to AWS\): would have/);
    expect(await keyStatus(u.user, u.key)).toBe('Active');
    expect(await userRevokePolicy(u.user)).toBeUndefined();
    expect(await hasLoginProfile(u.user)).toBe(true);
  });
});

describe('eradication of what the compromised key created or changed', () => {
  it('offers each kind as a gated step, and undoes the key, user, policies and trust policy the attacker made; rollback restores them from evidence', async () => {
    const u = await leakedUser({ loginProfile: false });
    const { newUser, newKey, adminPolicyArn, role, evil } = await seedAttackerChanges(iam, trail, u);
    // An attempt IAM refused changed nothing: nothing to undo.
    trail.seed([userEvent(u, 'CreateUser', 35, { requestParameters: { userName: 'denied-user' }, errorCode: 'AccessDenied' })], testAccountId);
    const handle = await startCredentialIncident(client, taskQueue, {
      policy: await straight({ 'eradicate-access-keys': one, 'eradicate-principals': one, 'restore-policies': one }),
      targets: [{ kind: 'access-key', id: u.key }],
    });
    await waitForStatus(handle, awaiting('eradicate-access-keys'));
    expect(await keyStatus(newUser, newKey)).toBe('Active');
    await handle.executeUpdate(decideUpdate, vote('eradicate-access-keys', 'cli:bob'));
    await waitForStatus(handle, awaiting('eradicate-principals'));
    await handle.executeUpdate(decideUpdate, vote('eradicate-principals', 'cli:bob'));
    await waitForStatus(handle, awaiting('restore-policies'));
    await handle.executeUpdate(decideUpdate, vote('restore-policies', 'cli:bob'));
    const status = await waitForStatus(handle, settled);
    expect(status.counts.failures).toBe(0);

    expect(await keyStatus(newUser, newKey)).toBe('Inactive');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: newUser }))).PolicyNames).toEqual([quarantinePolicyName]);
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: newUser }))).AttachedPolicies).toEqual([]);
    const trust = decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: role.name }))).Role!.AssumeRolePolicyDocument!);
    expect(JSON.parse(trust)).toEqual(JSON.parse(trustEc2));
    const changes = (await evidence(await timeline(handle), 'attacker-changes.json')) as { changes: { eventName: string }[] };
    expect(changes.changes.map((c) => c.eventName)).toEqual(['CreateUser', 'CreateAccessKey', 'AttachUserPolicy', 'PutUserPolicy', 'UpdateAssumeRolePolicy']);

    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect(await keyStatus(newUser, newKey)).toBe('Active');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: newUser }))).PolicyNames).toEqual(['ops']);
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: newUser }))).AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([adminPolicyArn]);
    const restored = decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: role.name }))).Role!.AssumeRolePolicyDocument!);
    expect(JSON.parse(restored)).toEqual(JSON.parse(evil));
  });

  it('reads CloudTrail again before eradicating, and deactivates a key the attacker minted while the containment gate waited', async () => {
    const u = await leakedUser({ loginProfile: false });
    // IAM allows two keys per user: the second one retired leaves the attacker room for one.
    await iam.send(new DeleteAccessKeyCommand({ UserName: u.user, AccessKeyId: u.otherKey }));
    const handle = await startCredentialIncident(client, taskQueue, {
      policy: await straight({ 'deactivate-access-key': one, 'eradicate-access-keys': one }),
      targets: [{ kind: 'access-key', id: u.key }],
    });
    await waitForStatus(handle, awaiting('deactivate-access-key'));
    // Minted after the first evidence was sealed: only a second read can find it.
    const minted = (await iam.send(new CreateAccessKeyCommand({ UserName: u.user }))).AccessKey!.AccessKeyId!;
    trail.seed([userEvent(u, 'CreateAccessKey', 0, { requestParameters: { userName: u.user }, responseElements: { accessKey: { accessKeyId: minted, userName: u.user, status: 'Active' } } })], testAccountId);
    await handle.executeUpdate(decideUpdate, vote('deactivate-access-key', 'cli:bob'));
    await waitForStatus(handle, awaiting('eradicate-access-keys'));
    await handle.executeUpdate(decideUpdate, vote('eradicate-access-keys', 'cli:bob'));
    await waitForStatus(handle, settled);
    expect(await keyStatus(u.user, minted)).toBe('Inactive');
    const events = await timeline(handle);
    const reread = (await evidence(events, 'before-eradication/attacker-changes.json')) as { changes: { accessKeyId?: string }[] };
    expect(reread.changes.map((c) => c.accessKeyId)).toEqual([minted]);
    const sealedAt = events.findIndex((e) => e.type === 'evidence.sealed' && e.data.name === 'before-eradication/attacker-changes.json');
    expect(sealedAt).toBeLessThan(events.findIndex((e) => e.type === 'action.started' && e.step === 'eradicate-access-keys'));
    expect(events.find((e) => e.type === 'finding.recorded' && e.data.what === 'CloudTrail re-read before eradication')?.data).toMatchObject({ detail: expect.stringContaining('1 made since the first capture') });
  });

  it("finds what a role's sessions created among the account's IAM events, and quarantines it once approved", async () => {
    const role = await seedRole(iam);
    const backdoor = uniqueName('backdoor');
    await iam.send(new CreateUserCommand({ UserName: backdoor }));
    trail.seed(
      [
        roleEvent(role, 'i-0abc123def4567890', 'CreateUser', 20, { requestParameters: { userName: backdoor } }),
        roleEvent({ name: 'someone-else', arn: `arn:aws:iam::${testAccountId}:role/someone-else` }, 'ci', 'CreateUser', 19, { requestParameters: { userName: 'legit' } }),
      ],
      testAccountId,
    );
    const handle = await startCredentialIncident(client, taskQueue, {
      policy: await straight({ 'eradicate-principals': one }),
      targets: [{ kind: 'role', id: role.arn }],
    });
    await waitForStatus(handle, awaiting('eradicate-principals'));
    await handle.executeUpdate(decideUpdate, vote('eradicate-principals', 'cli:bob'));
    await waitForStatus(handle, settled);
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: backdoor }))).PolicyNames).toEqual([quarantinePolicyName]);
    const events = await timeline(handle);
    const byRole = (await evidence(events, `cloudtrail/iam-events-by-role-${role.name}.json`)) as { events: { EventName: string; Username: string }[] };
    expect(byRole.events.map((e) => [e.EventName, e.Username])).toEqual([['CreateUser', 'i-0abc123def4567890']]);
    const acted = events.filter((e) => e.type === 'action.succeeded' && e.step === 'eradicate-principals').map((e) => (e.type === 'action.succeeded' ? e.data.target : ''));
    expect(acted).toEqual([`user:${backdoor}`]);
  });

  it('skips eradication with the reason when CloudTrail shows nothing created by the key', async () => {
    const u = await leakedUser();
    const handle = await startCredentialIncident(client, taskQueue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    const status = await waitForStatus(handle, settled);
    for (const step of ['eradicate-access-keys', 'eradicate-principals', 'restore-policies']) expect(stepOf(status, step)?.status).toBe('skipped');
    const why = (await timeline(handle)).find((e) => e.type === 'action.skipped' && e.step === 'eradicate-principals');
    expect(why?.data).toMatchObject({ why: expect.stringMatching(/^CloudTrail evidence \(.* to .*\) shows no user or role created by the compromised credentials$/) });
  });
});

describe('credential-compromise errors', () => {
  it('fails a denied action without retrying it, naming the IAM action and resource on the timeline', async () => {
    const proxy = await iamProxy();
    proxy.deny('UpdateAccessKey', { code: 'AccessDenied' });
    const denied = await awsDeps(trail, { iam: proxiedIam(proxy) });
    const { taskQueue: queue } = await startRunbookWorker(denied);
    const u = await leakedUser({ loginProfile: false });
    const handle = await startCredentialIncident(client, queue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    const status = await waitForStatus(handle, settled);
    expect(stepOf(status, 'deactivate-access-key')?.status).toBe('failed');
    const failed = (await timeline(handle)).find((e) => e.type === 'action.failed');
    expect(failed).toMatchObject({
      step: 'deactivate-access-key',
      data: { errorType: 'AwsAccessDenied', error: expect.stringContaining(`AWS denied iam:UpdateAccessKey on access key ${u.key} of user ${u.user}`) },
    });
    expect(proxy.calls.get('UpdateAccessKey')).toBe(1);
    expect(await keyStatus(u.user, u.key)).toBe('Active');
    // The incident goes on: the revocation still happens.
    expect(stepOf(status, 'revoke-user-sessions')?.status).toBe('succeeded');
  });

  it('retries a throttled action with backoff until IAM accepts it', async () => {
    const proxy = await iamProxy();
    proxy.deny('UpdateAccessKey', { code: 'Throttling', times: 4 });
    const throttled = await awsDeps(trail, { iam: proxiedIam(proxy) });
    const { taskQueue: queue } = await startRunbookWorker(throttled);
    const u = await leakedUser({ loginProfile: false });
    const handle = await startCredentialIncident(client, queue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    const status = await waitForStatus(handle, settled, 40_000);
    expect(stepOf(status, 'deactivate-access-key')?.status).toBe('succeeded');
    expect(proxy.calls.get('UpdateAccessKey')).toBe(5);
    expect(await keyStatus(u.user, u.key)).toBe('Inactive');
  });

  it('fails evidence capture with a non-retryable denial naming cloudtrail:LookupEvents, and changes nothing', async () => {
    const other = await cloudTrailServer();
    other.failWith({ code: 'AccessDeniedException', message: 'User is not authorized to perform: cloudtrail:LookupEvents', status: 400 }, testAccountId);
    const ctDenied = await awsDeps(other);
    const { taskQueue: queue } = await startRunbookWorker(ctDenied);
    const u = await leakedUser();
    const handle = await startCredentialIncident(client, queue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    const status = await waitForStatus(handle, settled);
    expect(stepOf(status, 'collect-evidence')?.status).toBe('failed');
    expect(status.counts.actions).toBe(0);
    const failed = (await timeline(handle)).find((e) => e.type === 'action.failed');
    expect(failed?.data).toMatchObject({ errorType: 'AwsAccessDenied', error: expect.stringContaining('AWS denied cloudtrail:LookupEvents') });
    expect(other.requests.filter((r) => r.error === 'AccessDeniedException')).toHaveLength(1);
    expect(await keyStatus(u.user, u.key)).toBe('Active');
  });
});

describe('credential-compromise across a worker restart', () => {
  it('resumes on a second worker after the first died mid-step, changing nothing twice and still undoing it on rollback', async () => {
    const queue = uniqueName('cc-restart');
    let died = false;
    const first = await startRunbookWorker(deps, {
      taskQueue: queue,
      wrap: (a, worker) => ({
        ...a,
        deactivateAccessKey: async (input) => {
          const result = await a.deactivateAccessKey(input);
          if (!died) {
            died = true;
            worker().shutdown();
            throw new Error('worker lost before reporting the result');
          }
          return result;
        },
      }),
    });
    const u = await leakedUser({ loginProfile: false });
    const handle = await startCredentialIncident(client, queue, { policy: await straight(), targets: [{ kind: 'access-key', id: u.key }] });
    await first.running;
    expect(died).toBe(true);
    expect(await keyStatus(u.user, u.key)).toBe('Inactive');
    await startRunbookWorker(deps, { taskQueue: queue });
    await waitForStatus(handle, settled, 40_000);
    const events = await timeline(handle);
    expect(events.filter((e) => e.type === 'action.started' && e.step === 'deactivate-access-key')).toHaveLength(1);
    const deactivated = events.find((e) => e.type === 'action.succeeded' && e.step === 'deactivate-access-key');
    expect(deactivated?.data).toMatchObject({ changed: expect.stringContaining('an earlier attempt of this step deactivated it') });
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect(await keyStatus(u.user, u.key)).toBe('Active');
  });
});

describe('the revocation undo, after sessions issued before it have expired', () => {
  const rev = async () => (await import('../../activities/aws/index.ts')).createAwsActivities({ iam, sts: undefined, evidence: deps.evidence });

  it('removes the revoke policy once 36 h have passed for a user', async () => {
    const u = await seedUser(iam, { loginProfile: false });
    const a = await rev();
    const notBefore = new Date(Date.now() - 37 * 3_600_000).toISOString();
    const input = { incidentId: 'inc-1', principal: { kind: 'user' as const, name: u.user }, notBefore, mode: 'live' as const };
    await a.revokeOlderSessions(input);
    expect(await a.restoreRevokePolicy(input)).toBe(`removed ${revokePolicyName} from user ${u.user}`);
    expect(await userRevokePolicy(u.user)).toBeUndefined();
  });

  it('puts back the older revoke policy evidence recorded, once 12 h have passed for a role', async () => {
    const role = await seedRole(iam);
    const a = await rev();
    const prior = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: ['*'], Resource: ['*'], Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-01-01T00:00:00.000Z' } } }] });
    const notBefore = new Date(Date.now() - 13 * 3_600_000).toISOString();
    const input = { incidentId: 'inc-2', principal: { kind: 'role' as const, name: role.name }, notBefore, mode: 'live' as const, priorDocument: prior };
    await a.revokeOlderSessions(input);
    await a.restoreRevokePolicy(input);
    const doc = decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: revokePolicyName }))).PolicyDocument!);
    expect(revokeTimeOf(doc)).toBe('2026-01-01T00:00:00.000Z');
  });
});
