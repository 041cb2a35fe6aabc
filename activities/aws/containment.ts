import {
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { ApplicationFailure } from '@temporalio/common';
import { policyText } from './evidence.ts';
import { awsFailure, isNotFound, orMissing } from './errors.ts';
import {
  type AwsActionResult,
  type AwsMode,
  type Principal,
  quarantinePolicyName,
  revokePolicyDocument,
  revokePolicyName,
  revokeTimeOf,
  sessionValidityMs,
} from './types.ts';
import { IamWriter, type PolicyHolder } from './writes.ts';

export type { PolicyHolder } from './writes.ts';

export interface KeyInput {
  incidentId: string;
  userName: string;
  accessKeyId: string;
  mode: AwsMode;
  /** The key's status when evidence was captured: an Inactive key found now that was Active then was deactivated by an earlier attempt of this step. */
  statusAtEvidence?: 'Active' | 'Inactive';
}

export interface RevokeInput {
  incidentId: string;
  principal: Principal;
  /** The `aws:TokenIssueTime` bound: tokens issued before it are denied (the workflow's "now"). */
  notBefore: string;
  mode: AwsMode;
  /** The revoke policy in place when evidence was captured, restored on rollback. */
  priorDocument?: string;
}

const quarantineDoc = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'FirebreakQuarantine', Effect: 'Deny', Action: ['*'], Resource: ['*'] }] });

/**
 * Containment and eradication. Reads go to IAM in every mode; every write goes
 * through the IamWriter of the call's mode (activities/aws/writes.ts), which
 * in dry-run records it instead. The undos return early in dry-run only to
 * say truthfully that nothing was done, so there is nothing to undo.
 */
export class Containment {
  constructor(private readonly iam: IAMClient) {}

  private writer(mode: AwsMode): IamWriter {
    return new IamWriter(this.iam, mode);
  }

  private async keyStatus(userName: string, accessKeyId: string): Promise<'Active' | 'Inactive' | undefined> {
    const keys = await orMissing('iam:ListAccessKeys', `user ${userName}`, () => this.iam.send(new ListAccessKeysCommand({ UserName: userName })));
    const status = keys?.AccessKeyMetadata?.find((k) => k.AccessKeyId === accessKeyId)?.Status;
    return status === 'Active' || status === 'Inactive' ? status : undefined;
  }

  /** Deactivates (never deletes) an access key. Already inactive: done, unless evidence saw it active (an earlier attempt of this step did it). */
  async deactivateKey(input: KeyInput): Promise<AwsActionResult> {
    const key = `access key ${input.accessKeyId} of user ${input.userName}`;
    const status = await this.keyStatus(input.userName, input.accessKeyId);
    if (status === undefined) return { outcome: 'target-gone', detail: `${key} not found: nothing to deactivate (recorded)` };
    if (status === 'Inactive') {
      if (input.statusAtEvidence === 'Active' && input.mode === 'live') {
        return { outcome: 'changed', detail: `${key}: Active → Inactive (already inactive: an earlier attempt of this step deactivated it)` };
      }
      return { outcome: 'already-done', detail: `${key} is already Inactive` };
    }
    const w = this.writer(input.mode);
    await w.setAccessKeyStatus(input.userName, input.accessKeyId, 'Inactive');
    return { outcome: 'changed', detail: w.said(`set ${key}: Active → Inactive (prior state Active)`) };
  }

  /** Compensation: makes the key Active again. */
  async reactivateKey(input: KeyInput): Promise<string> {
    const key = `access key ${input.accessKeyId} of user ${input.userName}`;
    if (input.mode === 'dry-run') return `dry-run: nothing to undo for ${key}`;
    const status = await this.keyStatus(input.userName, input.accessKeyId);
    if (status === undefined) return `${key} no longer exists: nothing to reactivate`;
    if (status === 'Active') return `${key} is already Active`;
    await this.writer(input.mode).setAccessKeyStatus(input.userName, input.accessKeyId, 'Active');
    return `${key}: Inactive → Active`;
  }

  private async getInline(on: PolicyHolder, name: string): Promise<string | undefined> {
    const where = `${on.kind} ${on.name} policy ${name}`;
    if (on.kind === 'user') return policyText((await orMissing('iam:GetUserPolicy', where, () => this.iam.send(new GetUserPolicyCommand({ UserName: on.name, PolicyName: name }))))?.PolicyDocument);
    if (on.kind === 'role') return policyText((await orMissing('iam:GetRolePolicy', where, () => this.iam.send(new GetRolePolicyCommand({ RoleName: on.name, PolicyName: name }))))?.PolicyDocument);
    throw new Error('group inline policies are read through evidence');
  }

  /** Deletes an inline policy; true when it existed (or, in dry-run, would have been deleted). */
  private async deleteInline(w: IamWriter, on: PolicyHolder, name: string): Promise<boolean> {
    try {
      await w.deleteInlinePolicy(on, name, { keepNotFound: true });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /**
   * Puts the inline AWSRevokeOlderSessions policy on the user or role: deny
   * everything to tokens issued before `notBefore`. A revoke policy with the
   * same or a later bound already in place is done; an older one is replaced
   * (its document is in the evidence, restored on rollback).
   */
  async revokeSessions(input: RevokeInput): Promise<AwsActionResult> {
    const p = input.principal;
    const who = `${p.kind} ${p.name}`;
    const current = await this.getInline(p, revokePolicyName);
    const currentTime = current === undefined ? undefined : revokeTimeOf(current);
    if (currentTime !== undefined && Date.parse(currentTime) >= Date.parse(input.notBefore)) {
      if (currentTime === input.notBefore && current !== input.priorDocument && input.mode === 'live') {
        return { outcome: 'changed', detail: `${revokePolicyName} on ${who} denies tokens issued before ${input.notBefore} (already in place: an earlier attempt of this step put it)` };
      }
      return { outcome: 'already-done', detail: `${revokePolicyName} on ${who} already denies tokens issued before ${currentTime}` };
    }
    const w = this.writer(input.mode);
    await w.putInlinePolicy(p, revokePolicyName, revokePolicyDocument(input.notBefore));
    return {
      outcome: 'changed',
      detail: w.said(
        `put inline policy ${revokePolicyName} on ${who}: deny * to tokens issued before ${input.notBefore} (aws:TokenIssueTime)${current === undefined ? '' : `, replacing one with bound ${currentTime ?? 'unknown'}`}`,
      ),
    };
  }

  /**
   * Compensation of revokeSessions: refused while sessions issued before the
   * revocation could still be valid (12 h for roles, 36 h for users'
   * GetSessionToken sessions), naming the time it becomes safe; after that,
   * restores the revoke policy evidence saw (or removes it).
   */
  async restoreRevokePolicy(input: RevokeInput): Promise<string> {
    const p = input.principal;
    const who = `${p.kind} ${p.name}`;
    if (input.mode === 'dry-run') return `dry-run: nothing to undo for ${revokePolicyName} on ${who}`;
    const validity = sessionValidityMs[p.kind];
    const safeAt = new Date(Date.parse(input.notBefore) + validity);
    if (Date.now() < safeAt.getTime()) {
      throw ApplicationFailure.create({
        type: awsFailure.rollbackUnsafe,
        nonRetryable: true,
        message: `Refusing to remove ${revokePolicyName} from ${who}: sessions issued before ${input.notBefore} may still be valid (up to ${validity / 3_600_000} h for ${p.kind === 'role' ? 'role sessions' : 'GetSessionToken sessions'}); it becomes safe at ${safeAt.toISOString()}. Roll back again after that time, or delete the policy by hand if you accept the risk.`,
        details: [{ principal: who, notBefore: input.notBefore, safeAt: safeAt.toISOString() }],
      });
    }
    const w = this.writer(input.mode);
    if (input.priorDocument !== undefined) {
      await w.putInlinePolicy(p, revokePolicyName, input.priorDocument);
      return `restored the ${revokePolicyName} policy evidence recorded on ${who} (bound ${revokeTimeOf(input.priorDocument) ?? 'unknown'})`;
    }
    const existed = await this.deleteInline(w, p, revokePolicyName);
    return existed ? `removed ${revokePolicyName} from ${who}` : `${revokePolicyName} was no longer on ${who}`;
  }

  /** Deletes the user's console password (two-person gated; evidence holds that it existed). No undo: the password is unknown. */
  async deleteLoginProfile(input: { incidentId: string; userName: string; mode: AwsMode }): Promise<AwsActionResult> {
    const who = `user ${input.userName}`;
    const w = this.writer(input.mode);
    try {
      await w.deleteLoginProfile(input.userName, { keepNotFound: true });
    } catch (e) {
      if (isNotFound(e)) return { outcome: 'already-done', detail: `${who} has no login profile (none, or already deleted)` };
      throw e;
    }
    return { outcome: 'changed', detail: w.said(`deleted the login profile (console password) of ${who}`) };
  }

  /** Puts a deny-all inline policy on a user or role the attacker created. */
  async quarantinePrincipal(input: { incidentId: string; on: PolicyHolder; mode: AwsMode }): Promise<AwsActionResult> {
    const who = `${input.on.kind} ${input.on.name}`;
    const current = await this.getInline(input.on, quarantinePolicyName);
    if (current !== undefined) return { outcome: 'already-done', detail: `${who} already has the deny-all policy ${quarantinePolicyName}` };
    const w = this.writer(input.mode);
    try {
      await w.putInlinePolicy(input.on, quarantinePolicyName, quarantineDoc, { keepNotFound: true });
    } catch (e) {
      if (isNotFound(e)) return { outcome: 'target-gone', detail: `${who} no longer exists: nothing to quarantine (recorded)` };
      throw e;
    }
    return { outcome: 'changed', detail: w.said(`put the deny-all inline policy ${quarantinePolicyName} on ${who} (created by the compromised credentials)`) };
  }

  async releasePrincipal(input: { incidentId: string; on: PolicyHolder; mode: AwsMode }): Promise<string> {
    const who = `${input.on.kind} ${input.on.name}`;
    if (input.mode === 'dry-run') return `dry-run: nothing to undo for ${who}`;
    return (await this.deleteInline(this.writer(input.mode), input.on, quarantinePolicyName)) ? `removed ${quarantinePolicyName} from ${who}` : `${quarantinePolicyName} was no longer on ${who}`;
  }

  private async attachedArns(on: PolicyHolder): Promise<string[] | undefined> {
    const where = `${on.kind} ${on.name}`;
    const list =
      on.kind === 'user'
        ? await orMissing('iam:ListAttachedUserPolicies', where, () => this.iam.send(new ListAttachedUserPoliciesCommand({ UserName: on.name })))
        : on.kind === 'role'
          ? await orMissing('iam:ListAttachedRolePolicies', where, () => this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: on.name })))
          : await orMissing('iam:ListAttachedGroupPolicies', where, () => this.iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: on.name })));
    return list?.AttachedPolicies?.map((p) => p.PolicyArn ?? '');
  }

  /** Detaches a managed policy the attacker attached. */
  async detachPolicy(input: { incidentId: string; on: PolicyHolder; policyArn: string; mode: AwsMode }): Promise<AwsActionResult> {
    const { on, policyArn } = input;
    const where = `${on.kind} ${on.name}`;
    const attached = await this.attachedArns(on);
    if (attached === undefined) return { outcome: 'target-gone', detail: `${where} no longer exists: nothing to detach (recorded)` };
    if (!attached.includes(policyArn)) return { outcome: 'already-done', detail: `${policyArn} is not attached to ${where}` };
    const w = this.writer(input.mode);
    await w.detachPolicy(on, policyArn);
    return { outcome: 'changed', detail: w.said(`detached ${policyArn} from ${where} (attached by the compromised credentials)`) };
  }

  async reattachPolicy(input: { incidentId: string; on: PolicyHolder; policyArn: string; mode: AwsMode }): Promise<string> {
    const { on, policyArn } = input;
    const where = `${on.kind} ${on.name}`;
    if (input.mode === 'dry-run') return `dry-run: nothing to undo for ${where}`;
    await this.writer(input.mode).attachPolicy(on, policyArn);
    return `re-attached ${policyArn} to ${where}`;
  }

  /** Deletes an inline policy the attacker put (its document is in the evidence, put back on rollback). */
  async removeInlinePolicy(input: { incidentId: string; on: PolicyHolder; policyName: string; mode: AwsMode }): Promise<AwsActionResult> {
    const where = `${input.on.kind} ${input.on.name}`;
    const w = this.writer(input.mode);
    const existed = await this.deleteInline(w, input.on, input.policyName);
    if (!existed) return { outcome: 'already-done', detail: `inline policy ${input.policyName} of ${where} is gone (deleted already, or its holder is)` };
    return { outcome: 'changed', detail: w.said(`deleted inline policy ${input.policyName} of ${where} (put by the compromised credentials; its document is in the evidence)`) };
  }

  async restoreInlinePolicy(input: { incidentId: string; on: PolicyHolder; policyName: string; document: string; mode: AwsMode }): Promise<string> {
    const where = `${input.on.kind} ${input.on.name}`;
    if (input.mode === 'dry-run') return `dry-run: nothing to undo for ${where}`;
    await this.writer(input.mode).putInlinePolicy(input.on, input.policyName, input.document);
    return `put inline policy ${input.policyName} of ${where} back as evidence recorded it`;
  }

  /** Sets a role's trust policy (eradication: the document before the attacker's change; rollback: the one evidence recorded). */
  async setTrustPolicy(input: { incidentId: string; roleName: string; document: string; mode: AwsMode; why: string }): Promise<AwsActionResult> {
    const where = `role ${input.roleName}`;
    const role = await orMissing('iam:GetRole', where, () => this.iam.send(new GetRoleCommand({ RoleName: input.roleName })));
    if (role?.Role === undefined) return { outcome: 'target-gone', detail: `${where} no longer exists: no trust policy to set (recorded)` };
    if (sameJson(policyText(role.Role.AssumeRolePolicyDocument), input.document)) return { outcome: 'already-done', detail: `the trust policy of ${where} is already ${input.why}` };
    const w = this.writer(input.mode);
    await w.setTrustPolicy(input.roleName, input.document);
    return { outcome: 'changed', detail: w.said(`set the trust policy of ${where} to ${input.why}`) };
  }
}

function sameJson(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}
