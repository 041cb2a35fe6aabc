/**
 * Every AWS write of the activities passes through one method here, which in
 * dry-run records the call instead of sending it (IAM has no dry run of its
 * own). Lint forbids importing an AWS SDK write command anywhere else in
 * activities/aws, so no write can forget dry-run.
 */
import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  DeleteGroupPolicyCommand,
  DeleteLoginProfileCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  type IAMClient,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { PutImageTagMutabilityCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DisableKeyCommand, EnableKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { PutSecretValueCommand, UpdateSecretVersionStageCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { aws } from './errors.ts';
import type { AwsMode } from './types.ts';

export type PolicyHolder = { kind: 'user' | 'role' | 'group'; name: string };

/** A write dry-run recorded instead of sending: the IAM action and what it was on. */
export interface RecordedWrite {
  action: string;
  resource: string;
}

type Opts = { keepNotFound?: boolean };

/** The writes of one activity call, in one mode: the one place that decides between sending and recording. */
export class AwsWriter {
  /** What dry-run did not send, in order. */
  readonly recorded: RecordedWrite[] = [];

  constructor(readonly mode: AwsMode) {}

  /** The one way a write reaches AWS: sent in live mode, recorded in dry-run. */
  protected async send(action: string, resource: string, request: () => Promise<unknown>, opts: Opts = {}): Promise<void> {
    if (this.mode === 'dry-run') {
      this.recorded.push({ action, resource });
      return;
    }
    await aws(action, resource, request, opts);
  }

  /** What was done, or, in dry-run, what would have been and which calls were not sent. */
  said(text: string): string {
    if (this.mode === 'live') return text;
    const calls = [...new Set(this.recorded.map((r) => r.action))];
    return `dry-run (nothing sent to AWS): would have ${text}${calls.length === 0 ? '' : ` (not sent: ${calls.join(', ')})`}`;
  }
}

/** IAM writes of the credential-compromise runbook. */
export class IamWriter extends AwsWriter {
  constructor(
    private readonly iam: IAMClient,
    mode: AwsMode,
  ) {
    super(mode);
  }

  async setAccessKeyStatus(userName: string, accessKeyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    await this.send('iam:UpdateAccessKey', `access key ${accessKeyId} of user ${userName}`, () =>
      this.iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status })),
    );
  }

  async putInlinePolicy(on: PolicyHolder, name: string, document: string, opts: Opts = {}): Promise<void> {
    const where = `${on.kind} ${on.name} policy ${name}`;
    if (on.kind === 'user') await this.send('iam:PutUserPolicy', where, () => this.iam.send(new PutUserPolicyCommand({ UserName: on.name, PolicyName: name, PolicyDocument: document })), opts);
    else if (on.kind === 'role') await this.send('iam:PutRolePolicy', where, () => this.iam.send(new PutRolePolicyCommand({ RoleName: on.name, PolicyName: name, PolicyDocument: document })), opts);
    else await this.send('iam:PutGroupPolicy', where, () => this.iam.send(new PutGroupPolicyCommand({ GroupName: on.name, PolicyName: name, PolicyDocument: document })), opts);
  }

  async deleteInlinePolicy(on: PolicyHolder, name: string, opts: Opts = {}): Promise<void> {
    const where = `${on.kind} ${on.name} policy ${name}`;
    if (on.kind === 'user') await this.send('iam:DeleteUserPolicy', where, () => this.iam.send(new DeleteUserPolicyCommand({ UserName: on.name, PolicyName: name })), opts);
    else if (on.kind === 'role') await this.send('iam:DeleteRolePolicy', where, () => this.iam.send(new DeleteRolePolicyCommand({ RoleName: on.name, PolicyName: name })), opts);
    else await this.send('iam:DeleteGroupPolicy', where, () => this.iam.send(new DeleteGroupPolicyCommand({ GroupName: on.name, PolicyName: name })), opts);
  }

  async deleteLoginProfile(userName: string, opts: Opts = {}): Promise<void> {
    await this.send('iam:DeleteLoginProfile', `user ${userName}`, () => this.iam.send(new DeleteLoginProfileCommand({ UserName: userName })), opts);
  }

  async attachPolicy(on: PolicyHolder, policyArn: string): Promise<void> {
    const where = `${on.kind} ${on.name}`;
    if (on.kind === 'user') await this.send('iam:AttachUserPolicy', where, () => this.iam.send(new AttachUserPolicyCommand({ UserName: on.name, PolicyArn: policyArn })));
    else if (on.kind === 'role') await this.send('iam:AttachRolePolicy', where, () => this.iam.send(new AttachRolePolicyCommand({ RoleName: on.name, PolicyArn: policyArn })));
    else await this.send('iam:AttachGroupPolicy', where, () => this.iam.send(new AttachGroupPolicyCommand({ GroupName: on.name, PolicyArn: policyArn })));
  }

  async detachPolicy(on: PolicyHolder, policyArn: string): Promise<void> {
    const where = `${on.kind} ${on.name}`;
    if (on.kind === 'user') await this.send('iam:DetachUserPolicy', where, () => this.iam.send(new DetachUserPolicyCommand({ UserName: on.name, PolicyArn: policyArn })));
    else if (on.kind === 'role') await this.send('iam:DetachRolePolicy', where, () => this.iam.send(new DetachRolePolicyCommand({ RoleName: on.name, PolicyArn: policyArn })));
    else await this.send('iam:DetachGroupPolicy', where, () => this.iam.send(new DetachGroupPolicyCommand({ GroupName: on.name, PolicyArn: policyArn })));
  }

  async setTrustPolicy(roleName: string, document: string): Promise<void> {
    await this.send('iam:UpdateAssumeRolePolicy', `role ${roleName}`, () => this.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: document })));
  }
}

/** The supply-chain runbook's writes: ECR tag immutability, Secrets Manager versions, KMS key state. */
export class SupplyChainWriter extends AwsWriter {
  constructor(
    private readonly clients: { ecr?: ECRClient | undefined; secrets?: SecretsManagerClient | undefined; kms?: KMSClient | undefined },
    mode: AwsMode,
  ) {
    super(mode);
  }

  private need<T>(client: T | undefined, what: string): T {
    // Only reached in live mode: dry-run records without a client call.
    if (client === undefined) throw new Error(`no ${what} client is configured`);
    return client;
  }

  async setTagMutability(repository: string, mutability: 'MUTABLE' | 'IMMUTABLE'): Promise<void> {
    await this.send('ecr:PutImageTagMutability', `ECR repository ${repository}`, () =>
      this.need(this.clients.ecr, 'ECR').send(new PutImageTagMutabilityCommand({ repositoryName: repository, imageTagMutability: mutability })),
    );
  }

  /** A new current version; `value` is sent only, never recorded or returned. */
  async putSecretValue(secretId: string, clientRequestToken: string, value: () => Promise<string>): Promise<void> {
    await this.send('secretsmanager:PutSecretValue', `secret ${secretId}`, async () =>
      this.need(this.clients.secrets, 'Secrets Manager').send(
        new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: clientRequestToken, SecretString: await value(), VersionStages: ['AWSCURRENT'] }),
      ),
    );
  }

  async moveCurrentStage(secretId: string, toVersionId: string, fromVersionId: string): Promise<void> {
    await this.send('secretsmanager:UpdateSecretVersionStage', `secret ${secretId}`, () =>
      this.need(this.clients.secrets, 'Secrets Manager').send(
        new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT', MoveToVersionId: toVersionId, RemoveFromVersionId: fromVersionId }),
      ),
    );
  }

  async setKeyEnabled(keyId: string, enabled: boolean): Promise<void> {
    const kms = () => this.need(this.clients.kms, 'KMS');
    if (enabled) await this.send('kms:EnableKey', `KMS key ${keyId}`, () => kms().send(new EnableKeyCommand({ KeyId: keyId })));
    else await this.send('kms:DisableKey', `KMS key ${keyId}`, () => kms().send(new DisableKeyCommand({ KeyId: keyId })));
  }
}
