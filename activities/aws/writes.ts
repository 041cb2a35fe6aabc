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
import { aws } from './errors.ts';
import type { AwsMode } from './types.ts';

export type PolicyHolder = { kind: 'user' | 'role' | 'group'; name: string };

/** A write dry-run recorded instead of sending: the IAM action and what it was on. */
export interface RecordedWrite {
  action: string;
  resource: string;
}

type Opts = { keepNotFound?: boolean };

/** The writes of one activity call, in one mode. */
export class IamWriter {
  /** What dry-run did not send, in order. */
  readonly recorded: RecordedWrite[] = [];

  constructor(
    private readonly iam: IAMClient,
    readonly mode: AwsMode,
  ) {}

  /** The one way a write reaches AWS: sent in live mode, recorded in dry-run. */
  private async send(action: string, resource: string, request: () => Promise<unknown>, opts: Opts = {}): Promise<void> {
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
