/**
 * The worker's IAM policy (deploy/aws/firebreak-worker-policy.json) against
 * what the activities call: statically, every AWS SDK command constructed in
 * activities/ maps to an action the policy allows (and the policy allows
 * nothing they do not use); dynamically, every command the real clients send
 * during a whole incident (evidence, containment, eradication, rollback) is
 * recorded by SDK middleware and must be allowed too.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSupplyChainAwsActivities } from '../../activities/aws/index.ts';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { tempDir } from '../evidence/helpers.ts';
import { decideUpdate, rollbackUpdate, type IncidentStatus } from '../../workflows/engine/messages.ts';
import { awaiting, waitForStatus } from '../support/engine.ts';
import { awsClient, awsTestConfig, inAccount, temporalClient, testAccountId, uniqueName } from '../support/servers.ts';
import { startRunbookWorker } from '../kubernetes/support.ts';
import { approvers, awsDeps, cloudTrailServer, policy, seedUser, startCredentialIncident, userEvent } from './support.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const policyPath = join(root, 'deploy/aws/firebreak-worker-policy.json');

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string[] | string;
  Resource: string[] | string;
}
const workerPolicy = JSON.parse(await readFile(policyPath, 'utf8')) as { Version: string; Statement: Statement[] };
const list = (v: string[] | string) => (Array.isArray(v) ? v : [v]);
const allowed = new Set(workerPolicy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)));

const services: Record<string, string> = {
  '@aws-sdk/client-iam': 'iam',
  '@aws-sdk/client-sts': 'sts',
  '@aws-sdk/client-cloudtrail': 'cloudtrail',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-ecr': 'ecr',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-kms': 'kms',
};
/** S3 commands whose IAM action is not named like the command (PutObject with Object Lock also needs s3:PutObjectRetention). */
const s3Actions: Record<string, string[]> = {
  GetObject: ['s3:GetObject'],
  HeadObject: ['s3:GetObject'],
  PutObject: ['s3:PutObject', 's3:PutObjectRetention'],
  GetObjectLockConfiguration: ['s3:GetBucketObjectLockConfiguration'],
  ListObjectsV2: ['s3:ListBucket'],
};

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : Promise.resolve(e.name.endsWith('.ts') ? [join(dir, e.name)] : []))));
  return nested.flat();
}

/** Every `new XCommand(` in activities/, as the IAM actions it needs, by the SDK package the command is imported from. */
async function staticActions(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const file of await tsFiles(join(root, 'activities'))) {
    const text = await readFile(file, 'utf8');
    const imports = [...text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g)];
    const serviceOf = new Map<string, string>();
    for (const [, names, pkg] of imports) {
      for (const raw of names!.split(',')) {
        const name = raw.replace(/^\s*type\s+/, '').trim();
        if (name.endsWith('Command')) serviceOf.set(name, services[pkg!] ?? `unknown(${pkg})`);
      }
    }
    for (const [, command] of text.matchAll(/new\s+([A-Za-z0-9]+Command)\s*\(/g)) {
      const service = serviceOf.get(command!);
      if (service === undefined) throw new Error(`${file}: ${command} is not imported from an AWS SDK client package this test knows`);
      const op = command!.replace(/Command$/, '');
      const actions = service === 's3' ? (s3Actions[op] ?? [`s3:${op}`]) : [`${service}:${op}`];
      found.set(`${file.slice(root.length)}: ${command}`, actions);
    }
  }
  return found;
}

describe('the worker IAM policy', () => {
  it('is a valid policy document with no wildcard actions', () => {
    expect(workerPolicy.Version).toBe('2012-10-17');
    for (const s of workerPolicy.Statement) {
      expect(['Allow', 'Deny']).toContain(s.Effect);
      for (const a of list(s.Action)) expect(a).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
    }
  });

  it('allows every AWS action an activity calls', async () => {
    const calls = await staticActions();
    expect(calls.size).toBeGreaterThan(30);
    const missing = [...calls].flatMap(([where, actions]) => actions.filter((a) => !allowed.has(a)).map((a) => `${where} needs ${a}`));
    expect(missing).toEqual([]);
  });

  it('allows nothing that no activity calls', async () => {
    const used = new Set([...(await staticActions()).values()].flat());
    expect([...allowed].filter((a) => !used.has(a))).toEqual([]);
  });
});

const client = await temporalClient();
const trail = await cloudTrailServer();
const iam = awsClient(IAMClient);

describe('the AWS calls of a whole incident', () => {
  const sent = new Set<string>();
  type Next = (args: unknown) => Promise<unknown>;
  const record = <C extends { middlewareStack: { add(m: unknown, o: unknown): void } }>(client: C, service: string): C => {
    client.middlewareStack.add(
      (next: Next, context: { commandName?: string }) => (args: unknown) => {
        sent.add(`${service}:${(context.commandName ?? '').replace(/Command$/, '')}`);
        return next(args);
      },
      { step: 'initialize', name: 'recordIamAction' },
    );
    return client;
  };

  let taskQueue: string;
  beforeAll(async () => {
    const deps = await awsDeps(trail, {
      iam: record(awsClient(IAMClient), 'iam'),
      sts: record(awsClient(STSClient), 'sts'),
      cloudtrail: record(inAccount(new CloudTrailClient({ ...awsTestConfig(), endpoint: trail.endpoint, maxAttempts: 6 })), 'cloudtrail'),
    });
    ({ taskQueue } = await startRunbookWorker(deps));
  });

  it('sends only actions the policy allows, through evidence, containment, eradication and rollback', async () => {
    const u = await seedUser(iam);
    const backdoor = uniqueName('backdoor');
    await iam.send(new CreateUserCommand({ UserName: backdoor }));
    const backdoorKey = (await iam.send(new CreateAccessKeyCommand({ UserName: backdoor }))).AccessKey!.AccessKeyId!;
    const role = uniqueName('role');
    await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }));
    trail.seed(
      [
        userEvent(u, 'CreateUser', 30, { requestParameters: { userName: backdoor } }),
        userEvent(u, 'CreateAccessKey', 29, { requestParameters: { userName: backdoor }, responseElements: { accessKey: { accessKeyId: backdoorKey, userName: backdoor } } }),
        userEvent(u, 'AttachUserPolicy', 28, { requestParameters: { userName: backdoor, policyArn: u.managedPolicyArn } }),
        userEvent(u, 'PutUserPolicy', 27, { requestParameters: { userName: backdoor, policyName: 'x' } }),
        userEvent(u, 'UpdateAssumeRolePolicy', 26, { requestParameters: { roleName: role, policyDocument: '{}' } }),
      ],
      testAccountId,
    );
    const one = { approvers, required: 1, timeout: '30m', onTimeout: 'deny' };
    const p = await policy({ 'deactivate-access-key': 'none', 'delete-login-profile': 'none', 'eradicate-access-keys': 'none', 'eradicate-principals': 'none', 'restore-policies': 'none', rollback: 'none', 'revoke-role-sessions': one });
    const handle = await startCredentialIncident(client, taskQueue, { policy: p, targets: [{ kind: 'access-key', id: u.key }] });
    const done = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => ['succeeded', 'failed', 'skipped', 'denied'].includes(x.status));
    await waitForStatus(handle, done);
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    // A role incident too: its evidence reads and revocation.
    const roleIncident = await startCredentialIncident(client, taskQueue, { policy: p, targets: [{ kind: 'role', id: role }] });
    await waitForStatus(roleIncident, awaiting('revoke-role-sessions'));
    await roleIncident.executeUpdate(decideUpdate, { args: [{ step: 'revoke-role-sessions', decision: 'approve', actor: 'cli:bob' }] });
    await waitForStatus(roleIncident, done);

    expect((await iam.send(new ListAccessKeysCommand({ UserName: backdoor }))).AccessKeyMetadata?.[0]?.Status).toBe('Active');
    expect(sent.size).toBeGreaterThan(15);
    expect([...sent].filter((a) => !allowed.has(a))).toEqual([]);
    const statics = new Set([...(await staticActions()).values()].flat());
    expect([...sent].filter((a) => !statics.has(a))).toEqual([]);
  });
});

describe('the AWS calls of the supply-chain activities', () => {
  it('sends only actions the policy allows, through scope, evidence, each write and its undo', async () => {
    const sent = new Set<string>();
    type Next = (args: unknown) => Promise<unknown>;
    const record = <C extends { middlewareStack: { add(m: unknown, o: unknown): void } }>(c: C, service: string): C => {
      c.middlewareStack.add(
        (next: Next, context: { commandName?: string }) => (args: unknown) => {
          sent.add(`${service}:${(context.commandName ?? '').replace(/Command$/, '')}`);
          return next(args);
        },
        { step: 'initialize', name: 'recordSupplyChainAction' },
      );
      return c;
    };
    const ecr = record(awsClient(ECRClient), 'ecr');
    const secrets = record(awsClient(SecretsManagerClient), 'secretsmanager');
    const kms = record(awsClient(KMSClient), 'kms');
    const aws = createSupplyChainAwsActivities({ ecr, secrets, kms });
    const registry = createRegistryActivities({ evidence: new LocalEvidenceStore(await tempDir('lp')), ecr });

    const repo = uniqueName('lp/app').toLowerCase();
    await awsClient(ECRClient).send(new CreateRepositoryCommand({ repositoryName: repo }));
    const digest = `sha256:${'b'.repeat(64)}`;
    // moto computes ECR digests wrongly unless PutImage is given imageDigest.
    await awsClient(ECRClient).send(new PutImageCommand({ repositoryName: repo, imageManifest: '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}', imageTag: 'v1', imageDigest: digest }));
    const secret = (await awsClient(SecretsManagerClient).send(new CreateSecretCommand({ Name: uniqueName('lp/token'), SecretString: 'x' }))).Name!;
    const key = (await awsClient(KMSClient).send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata!.KeyId!;
    const incidentId = 'lp-supply-chain';

    expect((await registry.findTags({ registries: [], ecr: { repositories: [repo] }, digests: [digest] })).tags).toHaveLength(1);
    const immutable = await aws.setEcrTagImmutability({ incidentId, repository: repo, mode: 'live' });
    await aws.restoreEcrTagImmutability({ incidentId, repository: repo, previous: immutable.previous!, mode: 'live' });
    await aws.describeSecrets({ incidentId, secretIds: [secret] });
    const rotated = await aws.rotateSecret({ incidentId, secretId: secret, mode: 'live' });
    await aws.undoSecretRotation({ incidentId, secretId: secret, versionId: rotated.versionId!, previousVersionId: rotated.previousVersionId!, mode: 'live' });
    await aws.disableSigningKey({ incidentId, keyId: key, mode: 'live' });
    await aws.enableSigningKey({ incidentId, keyId: key, mode: 'live' });

    expect(sent.size).toBeGreaterThanOrEqual(10);
    expect([...sent].filter((a) => !allowed.has(a))).toEqual([]);
    const statics = new Set([...(await staticActions()).values()].flat());
    expect([...sent].filter((a) => !statics.has(a))).toEqual([]);
  });
});
