/**
 * The supply-chain runbook's AWS activities against moto: ECR tag
 * immutability, the secret inventory and rotation, KMS signing keys. Each is
 * checked by what a responder would look at afterwards (the stored state at
 * the server), each undo restores it, and dry-run sends no write.
 */
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsFailure, createSupplyChainAwsActivities } from '../../activities/aws/index.ts';
import { refusal } from '../support/failures.ts';
import { awsClient, uniqueName } from '../support/servers.ts';

interface WithMiddleware {
  middlewareStack: { add(middleware: unknown, options: unknown): void };
}

/** Every command a client sends, by name, so "nothing sent" is measured. */
function counted<C extends WithMiddleware>(client: C, sent: string[]): C {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => {
      sent.push((context.commandName ?? '?').replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return client;
}

const sent: string[] = [];
const ecr = awsClient(ECRClient);
const sm = awsClient(SecretsManagerClient);
const kms = awsClient(KMSClient);
const acts = createSupplyChainAwsActivities({
  ecr: counted(awsClient(ECRClient), sent),
  secrets: counted(awsClient(SecretsManagerClient), sent),
  kms: counted(awsClient(KMSClient), sent),
});
const incidentId = 'sc-test-1';
const writes = ['PutImageTagMutability', 'PutSecretValue', 'UpdateSecretVersionStage', 'DisableKey', 'EnableKey'];

beforeEach(() => {
  sent.length = 0;
});

async function repository(mutability: 'MUTABLE' | 'IMMUTABLE' = 'MUTABLE'): Promise<string> {
  const name = uniqueName('shop/web').toLowerCase();
  await ecr.send(new CreateRepositoryCommand({ repositoryName: name, imageTagMutability: mutability }));
  return name;
}
const mutabilityOf = async (name: string) => (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]?.imageTagMutability;

async function secret(value = 'old-value'): Promise<{ name: string; arn: string; version: string }> {
  const name = uniqueName('ci/deploy-token');
  const res = await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  return { name, arn: res.ARN!, version: res.VersionId! };
}
// moto answers GetSecretValue with the rolled-back-from value unless the stage is named: always read AWSCURRENT.
const currentValue = async (id: string) => (await sm.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSCURRENT' }))).SecretString;
const currentVersion = async (id: string) => (await sm.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSCURRENT' }))).VersionId;
const versionCount = async (id: string) => (await sm.send(new ListSecretVersionIdsCommand({ SecretId: id, IncludeDeprecated: true }))).Versions?.length;

async function signingKey(): Promise<string> {
  const res = await kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256', Description: 'release signing' }));
  return res.KeyMetadata!.KeyId!;
}
const keyState = async (id: string) => (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.KeyState;

describe('ECR tag immutability', () => {
  it('makes a mutable repository immutable and says it was mutable', async () => {
    const repo = await repository();
    const r = await acts.setEcrTagImmutability({ incidentId, repository: repo, mode: 'live' });
    expect(r).toMatchObject({ outcome: 'changed', previous: 'MUTABLE' });
    expect(await mutabilityOf(repo)).toBe('IMMUTABLE');
  });

  it('reports already-done on a repository that is already immutable', async () => {
    const repo = await repository('IMMUTABLE');
    expect(await acts.setEcrTagImmutability({ incidentId, repository: repo, mode: 'live' })).toMatchObject({ outcome: 'already-done', previous: 'IMMUTABLE' });
    expect(sent.filter((c) => writes.includes(c))).toEqual([]);
  });

  it('reports target-gone for a repository that does not exist', async () => {
    expect((await acts.setEcrTagImmutability({ incidentId, repository: 'no/such-repo', mode: 'live' })).outcome).toBe('target-gone');
  });

  it('restores the mutability the repository had', async () => {
    const repo = await repository();
    const r = await acts.setEcrTagImmutability({ incidentId, repository: repo, mode: 'live' });
    await acts.restoreEcrTagImmutability({ incidentId, repository: repo, previous: r.previous!, mode: 'live' });
    expect(await mutabilityOf(repo)).toBe('MUTABLE');
  });

  it('changes nothing in dry-run and says what it would have sent', async () => {
    const repo = await repository();
    const r = await acts.setEcrTagImmutability({ incidentId, repository: repo, mode: 'dry-run' });
    expect(r.detail).toContain('not sent: ecr:PutImageTagMutability');
    expect(await mutabilityOf(repo)).toBe('MUTABLE');
    expect(sent.filter((c) => writes.includes(c))).toEqual([]);
  });

  it('refuses a crafted repository name before any call', async () => {
    const f = await refusal(() => acts.setEcrTagImmutability({ incidentId, repository: '../../etc', mode: 'live' }));
    expect(f.type).toBe(awsFailure.invalidName);
    expect(sent).toEqual([]);
  });
});

describe('the secret inventory', () => {
  it('lists names and current versions, marks missing secrets, and carries no value', async () => {
    const s = await secret('do-not-show-me');
    const { secrets } = await acts.describeSecrets({ incidentId, secretIds: [s.name, 'ci/not-there'] });
    expect(secrets).toEqual([
      { id: s.name, found: true, arn: s.arn, name: s.name, currentVersion: s.version, rotationEnabled: false },
      { id: 'ci/not-there', found: false },
    ]);
    expect(JSON.stringify(secrets)).not.toContain('do-not-show-me');
    expect(sent).not.toContain('GetSecretValue');
  });
});

describe('secret rotation', () => {
  it('puts a new current value under a version derived from the incident, and returns no value', async () => {
    const s = await secret();
    const r = await acts.rotateSecret({ incidentId, secretId: s.name, mode: 'live' });
    expect(r).toMatchObject({ outcome: 'changed', previousVersionId: s.version });
    expect(await currentVersion(s.name)).toBe(r.versionId);
    const value = await currentValue(s.name);
    expect(value).not.toBe('old-value');
    expect(value!.length).toBeGreaterThanOrEqual(32);
    expect(JSON.stringify(r)).not.toContain(value);
  });

  it('rotates once when the activity is retried: one new version at the server', async () => {
    const s = await secret();
    const first = await acts.rotateSecret({ incidentId, secretId: s.name, mode: 'live' });
    const valueAfterFirst = await currentValue(s.name);
    const retry = await acts.rotateSecret({ incidentId, secretId: s.arn, mode: 'live' });
    expect(retry).toMatchObject({ outcome: 'already-done', versionId: first.versionId, previousVersionId: s.version });
    expect(await versionCount(s.name)).toBe(2);
    expect(await currentValue(s.name)).toBe(valueAfterFirst);
    expect(sent.filter((c) => c === 'PutSecretValue')).toHaveLength(1);
  });

  it('rotates again for another incident (control)', async () => {
    const s = await secret();
    await acts.rotateSecret({ incidentId, secretId: s.name, mode: 'live' });
    expect((await acts.rotateSecret({ incidentId: 'sc-test-2', secretId: s.name, mode: 'live' })).outcome).toBe('changed');
    expect(await versionCount(s.name)).toBe(3);
  });

  it('undo makes the previous version current again', async () => {
    const s = await secret();
    const r = await acts.rotateSecret({ incidentId, secretId: s.name, mode: 'live' });
    await acts.undoSecretRotation({ incidentId, secretId: s.name, versionId: r.versionId!, previousVersionId: r.previousVersionId!, mode: 'live' });
    expect(await currentVersion(s.name)).toBe(s.version);
    expect(await currentValue(s.name)).toBe('old-value');
  });

  it('undo refuses when someone rotated the secret since', async () => {
    const s = await secret();
    const r = await acts.rotateSecret({ incidentId, secretId: s.name, mode: 'live' });
    const later = await acts.rotateSecret({ incidentId: 'sc-test-other', secretId: s.name, mode: 'live' });
    const f = await refusal(() => acts.undoSecretRotation({ incidentId, secretId: s.name, versionId: r.versionId!, previousVersionId: r.previousVersionId!, mode: 'live' }));
    expect(f.type).toBe(awsFailure.rollbackUnsafe);
    expect(await currentVersion(s.name)).toBe(later.versionId);
  });

  it('changes nothing in dry-run', async () => {
    const s = await secret();
    const r = await acts.rotateSecret({ incidentId, secretId: s.name, mode: 'dry-run' });
    expect(r.detail).toContain('not sent: secretsmanager:PutSecretValue');
    expect(await versionCount(s.name)).toBe(1);
    expect(await currentValue(s.name)).toBe('old-value');
    expect(sent.filter((c) => writes.includes(c) || c === 'GetRandomPassword')).toEqual([]);
  });

  it('reports target-gone for a secret that does not exist', async () => {
    expect((await acts.rotateSecret({ incidentId, secretId: 'ci/never-created', mode: 'live' })).outcome).toBe('target-gone');
  });

  it('refuses a crafted secret id before any call', async () => {
    const f = await refusal(() => acts.rotateSecret({ incidentId, secretId: 'a b\nc', mode: 'live' }));
    expect(f.type).toBe(awsFailure.invalidName);
    expect(sent).toEqual([]);
  });
});

describe('KMS signing keys', () => {
  it('disables an enabled key and says it was enabled', async () => {
    const key = await signingKey();
    expect(await acts.disableSigningKey({ incidentId, keyId: key, mode: 'live' })).toMatchObject({ outcome: 'changed', previousState: 'Enabled' });
    // moto still signs with a disabled key, so the key state is what proves the change, not a refused Sign.
    expect(await keyState(key)).toBe('Disabled');
  });

  it('reports already-done on a disabled key', async () => {
    const key = await signingKey();
    await acts.disableSigningKey({ incidentId, keyId: key, mode: 'live' });
    sent.length = 0;
    expect(await acts.disableSigningKey({ incidentId, keyId: key, mode: 'live' })).toMatchObject({ outcome: 'already-done', previousState: 'Disabled' });
    expect(sent).not.toContain('DisableKey');
  });

  it('enables the key again on undo', async () => {
    const key = await signingKey();
    await acts.disableSigningKey({ incidentId, keyId: key, mode: 'live' });
    await acts.enableSigningKey({ incidentId, keyId: key, mode: 'live' });
    expect(await keyState(key)).toBe('Enabled');
  });

  it('changes nothing in dry-run', async () => {
    const key = await signingKey();
    expect((await acts.disableSigningKey({ incidentId, keyId: key, mode: 'dry-run' })).detail).toContain('not sent: kms:DisableKey');
    expect(await keyState(key)).toBe('Enabled');
    expect(sent.filter((c) => writes.includes(c))).toEqual([]);
  });

  it('reports target-gone for a key that does not exist', async () => {
    expect((await acts.disableSigningKey({ incidentId, keyId: '00000000-0000-4000-8000-000000000000', mode: 'live' })).outcome).toBe('target-gone');
  });

  it('refuses a crafted key id before any call', async () => {
    const f = await refusal(() => acts.disableSigningKey({ incidentId, keyId: 'alias/../../x y', mode: 'live' }));
    expect(f.type).toBe(awsFailure.invalidName);
    expect(sent).toEqual([]);
  });
});

describe('a worker without the clients', () => {
  it('fails typed as not configured', async () => {
    const f = await refusal(() => createSupplyChainAwsActivities({}).disableSigningKey({ incidentId, keyId: 'alias/release', mode: 'live' }));
    expect(f.type).toBe(awsFailure.notConfigured);
  });
});
