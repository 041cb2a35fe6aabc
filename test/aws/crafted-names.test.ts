/**
 * A user, role, group or policy name, access key id or ARN that breaks IAM's
 * rule is refused before any call to AWS: by the credential-compromise
 * workflow at its start, and by each AWS activity at its boundary. The IAM and
 * STS clients count what they send, so "before any call" is measured.
 */
import { GetLoginProfileCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { WorkflowFailedError } from '@temporalio/client';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsFailure, createAwsActivities } from '../../activities/aws/index.ts';
import { invalidTargetFailure } from '../../workflows/engine/targets.ts';
import { refusal } from '../support/failures.ts';
import { awsClient, temporalClient, testAccountId, uniqueName } from '../support/servers.ts';
import { startRunbookWorker } from '../kubernetes/support.ts';
import { awsDeps, cloudTrailServer, policy, seedUser, startCredentialIncident, type SeededUser } from './support.ts';

interface WithMiddleware {
  middlewareStack: { add(middleware: unknown, options: unknown): void };
}

/** Every command a client sends, by name. */
function counted<C extends WithMiddleware>(client: C, sent: string[]): C {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return client;
}

const sent: string[] = [];
const client = await temporalClient();
const trail = await cloudTrailServer();
const deps = await awsDeps(trail, { iam: counted(awsClient(IAMClient), sent), sts: counted(awsClient(STSClient), sent) });
const iam = awsClient(IAMClient);
let taskQueue: string;
let u: SeededUser;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(deps));
  u = await seedUser(iam);
});
beforeEach(() => {
  sent.length = 0;
});

/** The user's key statuses and console password: what a write on the user would change. */
async function userState(user: string) {
  const keys = await iam.send(new ListAccessKeysCommand({ UserName: user }));
  const profile = await iam.send(new GetLoginProfileCommand({ UserName: user })).then(
    () => true,
    () => false,
  );
  return { keys: (keys.AccessKeyMetadata ?? []).map((k) => `${k.AccessKeyId}:${k.Status}`).sort(), profile };
}

describe('a crafted target sent straight to the credential-compromise workflow', () => {
  it.each([
    [{ kind: 'iam-user' as const, id: 'alice/../bob' }, "IAM's rule for user names"],
    [{ kind: 'role' as const, id: `arn:aws:iam::${testAccountId}:user/alice` }, 'names a user, not a role'],
    [{ kind: 'access-key' as const, id: 'AKIAlowercase0000000' }, 'expected AKIA… or ASIA…'],
    [{ kind: 'iam-user' as const, id: 'alice', attributes: { account: 'all' } }, 'AWS account id "all" is not valid'],
  ])('%j: the workflow fails at once, typed InvalidTarget and not retryable, naming the rule, with no call to AWS', async (target, why) => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await policy(), targets: [target] });
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 15_000));
    const failure = await Promise.race([handle.result().then(() => 'completed', (e: unknown) => e), timeout]).finally(() =>
      handle.terminate('test finished').catch(() => undefined),
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: invalidTargetFailure, nonRetryable: true, message: expect.stringContaining(why) });
    expect(sent).toEqual([]);
    expect(await deps.evidence.manifest(handle.workflowId)).toEqual([]);
  });
});

describe('the AWS activities called with a crafted name (bypassing the workflow)', () => {
  const activities = createAwsActivities(deps);
  const incidentId = uniqueName('crafted');
  const live = { incidentId, mode: 'live' as const };

  it('accepts the real user and key (the control): the dry-run deactivation reads IAM and reports what it would do', async () => {
    const r = await activities.deactivateAccessKey({ ...live, mode: 'dry-run', userName: u.user, accessKeyId: u.key });
    expect(r.outcome).toBe('changed');
    expect(sent).toContain('ListAccessKeysCommand');
  });

  it('refuses each crafted name typed AwsInvalidName, not retryable and naming the rule, sending nothing and changing nothing', async () => {
    const before = await userState(u.user);
    sent.length = 0;
    const calls: [string, () => Promise<unknown>, string][] = [
      ['deactivateAccessKey', () => activities.deactivateAccessKey({ ...live, userName: `${u.user}/../admin`, accessKeyId: u.key }), "IAM's rule for user names"],
      ['reactivateAccessKey', () => activities.reactivateAccessKey({ ...live, userName: u.user, accessKeyId: `${u.key}/x` }), 'access key id'],
      ['deleteLoginProfile', () => activities.deleteLoginProfile({ ...live, userName: `${u.user} admin` }), "IAM's rule for user names"],
      ['revokeOlderSessions', () => activities.revokeOlderSessions({ ...live, principal: { kind: 'user', name: 'x'.repeat(65) }, notBefore: new Date().toISOString() }), '1–64'],
      ['quarantinePrincipal', () => activities.quarantinePrincipal({ ...live, on: { kind: 'group', name: 'ops/admins' } }), "IAM's rule for group names"],
      ['detachAttackerPolicy', () => activities.detachAttackerPolicy({ ...live, on: { kind: 'user', name: u.user }, policyArn: 'AdministratorAccess' }), 'policy ARN'],
      ['removeAttackerInlinePolicy', () => activities.removeAttackerInlinePolicy({ ...live, on: { kind: 'user', name: u.user }, policyName: 'read artifacts' }), "IAM's rule for policy names"],
      ['setTrustPolicy', () => activities.setTrustPolicy({ ...live, roleName: 'app/role', document: '{}', why: 'test' }), "IAM's rule for role names"],
      [
        'captureCredentialEvidence',
        () => activities.captureCredentialEvidence({ incidentId, facts: { principal: { kind: 'user', name: `${u.user}/x` }, notFound: [] }, windowEnd: new Date().toISOString() }),
        "IAM's rule for user names",
      ],
    ];
    for (const [name, call, why] of calls) {
      const failure = await refusal(call);
      expect(failure, name).toMatchObject({ type: awsFailure.invalidName, nonRetryable: true });
      expect(failure.message, name).toContain(why);
    }
    expect(sent).toEqual([]);
    expect(await deps.evidence.manifest(incidentId)).toEqual([]);
    expect(await userState(u.user)).toEqual(before);
  });

  it('triage refuses a crafted target typed InvalidCredentialTarget, naming the rule, before any call', async () => {
    const failure = await refusal(() => activities.triageCredential({ incidentId, targets: [{ kind: 'iam-user', id: 'alice/../bob' }] }));
    expect(failure).toMatchObject({ type: awsFailure.invalidTarget, nonRetryable: true, message: expect.stringContaining("IAM's rule for user names") });
    expect(sent).toEqual([]);
  });
});
