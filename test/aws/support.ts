/**
 * Shared by the credential-compromise tests: the sandbox CloudTrail endpoint
 * per file, real IAM/STS/CloudTrail clients on this file's moto account, the
 * shipped policy, seeded IAM users and CloudTrail records, and a loopback
 * proxy in front of moto that answers chosen IAM actions the way IAM does when
 * a policy denies them or the account is throttled (moto enforces neither).
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  AddUserToGroupCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll } from 'vitest';
import type { ActivityDeps } from '../../activities/index.ts';
import { openIncident } from '../../src/incidents/open.ts';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import { startCloudTrailServer, type CloudTrailRecord, type CloudTrailServer } from '../../src/sandbox/cloudtrail.ts';
import { shippedPolicy } from '../support/policies.ts';
import type { IncidentInput, Target } from '../../workflows/engine/types.ts';
import { testDeps } from '../support/deps.ts';
import { awsClient, awsTestConfig, inAccount, sandbox, testAccountId, uniqueName } from '../support/servers.ts';

export const policyFile = fileURLToPath(new URL('../../runbooks/credential-compromise.yaml', import.meta.url));
export const approvers = ['cli:alice', 'cli:bob', 'cli:carol'];

/** The shipped policy, with some gates replaced for a test. */
export function policy(gates: Partial<Record<string, unknown>> = {}): Promise<RunbookPolicy> {
  return shippedPolicy(policyFile, gates);
}

/** The sandbox CloudTrail endpoint for this file; closed after it. */
export async function cloudTrailServer(): Promise<CloudTrailServer> {
  const server = await startCloudTrailServer();
  afterAll(() => server.close());
  return server;
}


/** A real CloudTrailClient on the sandbox endpoint, configured as the worker configures it. */
export function cloudTrailClient(server: CloudTrailServer): CloudTrailClient {
  return inAccount(new CloudTrailClient({ ...awsTestConfig(), endpoint: server.endpoint, maxAttempts: 6 }));
}

/** The worker's dependencies on the test servers, with IAM, STS and CloudTrail. */
export async function awsDeps(server: CloudTrailServer, overrides: Partial<ActivityDeps> = {}) {
  return testDeps({
    iam: awsClient(IAMClient),
    sts: awsClient(STSClient),
    cloudtrail: cloudTrailClient(server),
    cloudTrailLookbackMs: 24 * 3_600_000,
    ...overrides,
  });
}

export interface SeededUser {
  user: string;
  arn: string;
  key: string;
  otherKey: string;
  group: string;
  managedPolicyArn: string;
}

const allowS3 = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });

/** A CI user with two access keys, a console password, an inline and a managed policy, and a group. */
export async function seedUser(iam: IAMClient, opts: { loginProfile?: boolean } = {}): Promise<SeededUser> {
  const user = uniqueName('ci');
  const created = await iam.send(new CreateUserCommand({ UserName: user, Path: '/ci/' }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!.AccessKeyId!;
  const otherKey = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!.AccessKeyId!;
  if (opts.loginProfile !== false) await iam.send(new CreateLoginProfileCommand({ UserName: user, Password: `Pw-${randomUUID()}`, PasswordResetRequired: false }));
  await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: 'read-artifacts', PolicyDocument: allowS3 }));
  const managed = await iam.send(new CreatePolicyCommand({ PolicyName: uniqueName('deploy'), PolicyDocument: allowS3 }));
  await iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: managed.Policy!.Arn! }));
  const group = uniqueName('deployers');
  await iam.send(new CreateGroupCommand({ GroupName: group }));
  await iam.send(new AddUserToGroupCommand({ GroupName: group, UserName: user }));
  return { user, arn: created.User!.Arn!, key, otherKey, group, managedPolicyArn: managed.Policy!.Arn! };
}

export const trustEc2 = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

export async function seedRole(iam: IAMClient, name = uniqueName('app-role')): Promise<{ name: string; arn: string }> {
  const r = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustEc2 }));
  return { name, arn: r.Role!.Arn! };
}

export interface AttackerChanges {
  newUser: string;
  newKey: string;
  adminPolicyArn: string;
  inline: string;
  role: { name: string; arn: string };
  /** The trust policy the attacker gave the role. */
  evil: string;
}

/**
 * What an attacker made with the user's key — a user with a key of its own,
 * an admin policy attached and an inline policy put on it, and a role's trust
 * policy changed (the role created earlier by an admin) — done here with the
 * admin client and recorded in CloudTrail as the key's.
 */
export async function seedAttackerChanges(iam: IAMClient, trail: CloudTrailServer, u: { user: string; arn?: string; key: string }): Promise<AttackerChanges> {
  const newUser = uniqueName('backdoor');
  await iam.send(new CreateUserCommand({ UserName: newUser }));
  const newKey = (await iam.send(new CreateAccessKeyCommand({ UserName: newUser }))).AccessKey!.AccessKeyId!;
  const admin = await iam.send(new CreatePolicyCommand({ PolicyName: uniqueName('admin'), PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) }));
  const adminPolicyArn = admin.Policy!.Arn!;
  await iam.send(new AttachUserPolicyCommand({ UserName: newUser, PolicyArn: adminPolicyArn }));
  const inline = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }] });
  await iam.send(new PutUserPolicyCommand({ UserName: newUser, PolicyName: 'ops', PolicyDocument: inline }));
  const role = await seedRole(iam);
  const evil = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' }] });
  await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role.name, PolicyDocument: evil }));
  trail.seed(
    [
      userEvent({ user: 'platform-admin', key: 'AKIAADMINADMINADMIN0' }, 'CreateRole', 600, { requestParameters: { roleName: role.name, assumeRolePolicyDocument: trustEc2 } }),
      userEvent(u, 'CreateUser', 40, { requestParameters: { userName: newUser } }),
      userEvent(u, 'CreateAccessKey', 39, { requestParameters: { userName: newUser }, responseElements: { accessKey: { accessKeyId: newKey, userName: newUser, status: 'Active' } } }),
      userEvent(u, 'AttachUserPolicy', 38, { requestParameters: { userName: newUser, policyArn: adminPolicyArn } }),
      userEvent(u, 'PutUserPolicy', 37, { requestParameters: { userName: newUser, policyName: 'ops', policyDocument: inline } }),
      userEvent(u, 'UpdateAssumeRolePolicy', 36, { requestParameters: { roleName: role.name, policyDocument: evil } }),
    ],
    testAccountId,
  );
  return { newUser, newKey, adminPolicyArn, inline, role, evil };
}

/** A CloudTrail record of an IAM user's call with a long-term key. */
export function userEvent(
  u: { user: string; arn?: string; key: string },
  eventName: string,
  minutesAgo: number,
  extra: { requestParameters?: Record<string, unknown>; responseElements?: Record<string, unknown>; errorCode?: string; eventSource?: string } = {},
): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    eventTime: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    eventSource: extra.eventSource ?? 'iam.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'aws-cli/2.17.0',
    readOnly: eventName.startsWith('Get') || eventName.startsWith('List'),
    userIdentity: { type: 'IAMUser', principalId: 'AIDATEST', arn: u.arn ?? `arn:aws:iam::${testAccountId}:user/${u.user}`, accountId: testAccountId, accessKeyId: u.key, userName: u.user },
    requestParameters: extra.requestParameters ?? null,
    responseElements: extra.responseElements ?? null,
    ...(extra.errorCode === undefined ? {} : { errorCode: extra.errorCode }),
  };
}

/** A CloudTrail record of a call made with a session of a role (AssumeRole, IRSA, instance profile). */
export function roleEvent(
  role: { name: string; arn: string },
  session: string,
  eventName: string,
  minutesAgo: number,
  extra: { requestParameters?: Record<string, unknown>; responseElements?: Record<string, unknown> } = {},
): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    eventTime: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    eventSource: 'iam.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    readOnly: false,
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROATEST:${session}`,
      arn: `arn:aws:sts::${testAccountId}:assumed-role/${role.name}/${session}`,
      accountId: testAccountId,
      accessKeyId: `ASIA${session.toUpperCase().replace(/[^A-Z0-9]/g, '').padEnd(16, '0').slice(0, 16)}`,
      sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROATEST', arn: role.arn, accountId: testAccountId, userName: role.name } },
    },
    requestParameters: extra.requestParameters ?? null,
    responseElements: extra.responseElements ?? null,
  };
}

/** Starts a credential-compromise incident on the worker's queue. */
export async function startCredentialIncident(
  client: Client,
  taskQueue: string,
  o: { policy: RunbookPolicy; targets: Target[]; mode?: 'live' | 'dry-run'; autoContainSteps?: string[]; trigger?: IncidentInput['trigger']; requester?: string },
): Promise<WorkflowHandle> {
  const input: Omit<IncidentInput, 'incidentId'> = {
    policy: o.policy,
    groups: {},
    requester: o.requester ?? 'cli:alice',
    mode: o.mode ?? 'live',
    trigger: o.trigger ?? { source: 'cli', severity: 'high', summary: 'leaked key in a public repository', receivedAt: new Date().toISOString() },
    targets: o.targets,
    ...(o.autoContainSteps === undefined ? {} : { autoContainSteps: o.autoContainSteps }),
  };
  const { incidentId } = await openIncident(client, { workflowType: 'credentialCompromise', taskQueue, correlationKey: `${uniqueName('t')}:${o.targets[0]!.id}`, input });
  return client.workflow.getHandle(incidentId);
}

export interface IamProxy {
  endpoint: string;
  /** IAM actions answered with an error instead of being forwarded: AccessDenied, or Throttling the first `times` calls. */
  deny(action: string, how: { code: 'AccessDenied' | 'Throttling'; times?: number }): void;
  /** How many calls of each action reached the proxy. */
  calls: Map<string, number>;
}

/**
 * A loopback proxy in front of moto for IAM (query protocol: the action is
 * the form body's `Action`), answering chosen actions as IAM does when the
 * caller's policy denies them (403 AccessDenied) or the account is
 * throttled (400 Throttling); everything else goes to moto unchanged.
 */
export async function iamProxy(): Promise<IamProxy> {
  const moto = new URL(sandbox().motoEndpoint);
  const rules = new Map<string, { code: 'AccessDenied' | 'Throttling'; times?: number; used: number }>();
  const calls = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? '';
      calls.set(action, (calls.get(action) ?? 0) + 1);
      const rule = rules.get(action);
      if (rule !== undefined && (rule.times === undefined || rule.used < rule.times)) {
        rule.used += 1;
        const user = new URLSearchParams(body.toString('utf8')).get('UserName') ?? 'unknown';
        const message =
          rule.code === 'AccessDenied'
            ? `User: arn:aws:iam::${testAccountId}:user/firebreak-worker is not authorized to perform: iam:${action} on resource: user ${user} because no identity-based policy allows the iam:${action} action`
            : 'Rate exceeded';
        const xml = `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${rule.code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
        res.writeHead(rule.code === 'AccessDenied' ? 403 : 400, { 'content-type': 'text/xml' });
        res.end(xml);
        return;
      }
      const forward = httpRequest(
        { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: { ...req.headers, host: moto.host } },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
      );
      forward.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  afterAll(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deny: (action, how) => rules.set(action, { ...how, used: 0 }),
    calls,
  };
}

/** An IAM client on this file's moto account that goes through the proxy. */
export function proxiedIam(proxy: IamProxy): IAMClient {
  return inAccount(new IAMClient({ ...awsTestConfig(), endpoint: proxy.endpoint }));
}
