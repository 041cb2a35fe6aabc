import { type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { GetAccessKeyLastUsedCommand, GetRoleCommand, GetUserCommand, type IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetAccessKeyInfoCommand, type STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import { parseIamArn, quoteName, targetProblem } from '../../domain/names.ts';
import { lookupEvents } from './cloudtrail.ts';
import { aws, awsFailure, orMissing } from './errors.ts';
import type { CredentialFacts, Principal } from './types.ts';

/** A target as the incident names it (the same shape as the engine's Target). */
export interface CredentialTarget {
  kind: string;
  id: string;
  attributes?: Record<string, string>;
}

export interface TriageInput {
  incidentId: string;
  targets: CredentialTarget[];
}

/** The role name of a role ARN (`arn:aws:iam::123456789012:role/path/name` → `name`), or the name itself. */
export function roleNameOf(id: string): string {
  return id.startsWith('arn:') ? (parseIamArn(id)?.name ?? id) : id;
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: awsFailure.invalidTarget, nonRetryable: true, message });
}

/**
 * Resolves what the incident is about, read-only: the account and owner of an
 * access key (GetAccessKeyInfo, GetAccessKeyLastUsed, ListAccessKeys), the
 * role behind a session key (from CloudTrail), the user or role named.
 * Whatever does not exist is recorded in `notFound`, not thrown.
 */
export async function triage(
  clients: { iam: IAMClient; sts: STSClient | undefined; cloudtrail: CloudTrailClient | undefined; lookbackMs: number },
  input: TriageInput,
): Promise<CredentialFacts> {
  const keyTarget = input.targets.find((t) => t.kind === 'access-key');
  const userTarget = input.targets.find((t) => t.kind === 'iam-user');
  const roleTarget = input.targets.find((t) => t.kind === 'role');
  if (keyTarget === undefined && userTarget === undefined && roleTarget === undefined) {
    throw invalid(
      `The credential-compromise runbook needs an access key, an IAM user or a role target (e.g. --target AKIAIOSFODNN7EXAMPLE, --target iam-user:deployer, --target role:arn:aws:iam::123456789012:role/app); got ${
        input.targets.map((t) => `${t.kind}:${t.id}`).join(', ') || 'none'
      }.`,
    );
  }
  // Checked before any call (the workflow checks too): a key id, user or role name IAM would never issue is refused, naming the rule.
  for (const t of [keyTarget, userTarget, roleTarget]) {
    const problem = t === undefined ? undefined : targetProblem(t);
    if (t !== undefined && problem !== undefined) throw invalid(`Refused target ${quoteName(`${t.kind}:${t.id}`)}: ${problem}.`);
  }
  const facts: CredentialFacts = { notFound: [] };
  const account = keyTarget?.attributes?.['account'] ?? userTarget?.attributes?.['account'] ?? roleTarget?.attributes?.['account'];
  if (account !== undefined) facts.account = account;
  if (roleTarget?.id.startsWith('arn:') === true) facts.account ??= parseIamArn(roleTarget.id)?.account;

  if (keyTarget !== undefined) {
    const key = keyTarget.id;
    facts.accessKeyId = key;
    facts.keyType = key.startsWith('ASIA') ? 'temporary' : 'long-term';
    if (clients.sts !== undefined) {
      const info = await aws('sts:GetAccessKeyInfo', `access key ${key}`, () => clients.sts!.send(new GetAccessKeyInfoCommand({ AccessKeyId: key })));
      if (info.Account !== undefined) facts.account = info.Account;
    }
    if (facts.keyType === 'long-term') {
      const used = await orMissing('iam:GetAccessKeyLastUsed', `access key ${key}`, () => clients.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key })));
      if (used?.UserName === undefined) facts.notFound.push(`access key ${key} (no IAM user owns it in this account)`);
      else {
        facts.principal = { kind: 'user', name: used.UserName };
        const last = used.AccessKeyLastUsed;
        if (last !== undefined) {
          facts.keyLastUsed = {
            ...(last.LastUsedDate === undefined ? {} : { date: last.LastUsedDate.toISOString() }),
            ...(last.ServiceName === undefined ? {} : { service: last.ServiceName }),
            ...(last.Region === undefined ? {} : { region: last.Region }),
          };
        }
      }
    } else if (roleTarget === undefined && userTarget === undefined && clients.cloudtrail !== undefined) {
      // A session key: CloudTrail names the role (or user) that issued the session.
      const end = new Date();
      const found = await lookupEvents(clients.cloudtrail, { key: 'AccessKeyId', value: key }, { start: new Date(end.getTime() - clients.lookbackMs), end });
      const issuer = issuerOf(found.events.map((e) => e.CloudTrailEvent));
      if (issuer === undefined) facts.notFound.push(`the principal behind session key ${key} (no CloudTrail event of the key in the window)`);
      else facts.principal = issuer;
    }
  }
  if (userTarget !== undefined) facts.principal = { kind: 'user', name: userTarget.id };
  else if (roleTarget !== undefined) facts.principal = { kind: 'role', name: roleNameOf(roleTarget.id), ...(roleTarget.id.startsWith('arn:') ? { arn: roleTarget.id } : {}) };

  const p = facts.principal;
  if (p?.kind === 'user') {
    const user = await orMissing('iam:GetUser', `user ${p.name}`, () => clients.iam.send(new GetUserCommand({ UserName: p.name })));
    if (user?.User === undefined) {
      facts.notFound.push(`IAM user ${p.name}`);
      delete facts.principal;
    } else {
      if (user.User.Arn !== undefined) p.arn = user.User.Arn;
      if (facts.keyType === 'long-term' && facts.accessKeyId !== undefined) {
        const keys = await aws('iam:ListAccessKeys', `user ${p.name}`, () => clients.iam.send(new ListAccessKeysCommand({ UserName: p.name })));
        const mine = keys.AccessKeyMetadata?.find((k) => k.AccessKeyId === facts.accessKeyId);
        if (mine?.Status === 'Active' || mine?.Status === 'Inactive') facts.keyStatus = mine.Status;
      }
    }
  } else if (p?.kind === 'role') {
    const role = await orMissing('iam:GetRole', `role ${p.name}`, () => clients.iam.send(new GetRoleCommand({ RoleName: p.name })));
    if (role?.Role === undefined) {
      facts.notFound.push(`IAM role ${p.name}${p.arn === undefined ? '' : ` (${p.arn})`}`);
      delete facts.principal;
    } else if (role.Role.Arn !== undefined) p.arn = role.Role.Arn;
  }
  return facts;
}

/** The role (or user) that issued a session, from the CloudTrail records of its key. */
function issuerOf(records: (string | undefined)[]): Principal | undefined {
  for (const text of records) {
    if (text === undefined) continue;
    try {
      const r = JSON.parse(text) as { userIdentity?: { type?: string; userName?: string; arn?: string; sessionContext?: { sessionIssuer?: { type?: string; userName?: string; arn?: string } } } };
      const issuer = r.userIdentity?.sessionContext?.sessionIssuer;
      if (issuer?.type === 'Role' && issuer.userName !== undefined) return { kind: 'role', name: issuer.userName, ...(issuer.arn === undefined ? {} : { arn: issuer.arn }) };
      if (r.userIdentity?.type === 'IAMUser' && r.userIdentity.userName !== undefined) {
        return { kind: 'user', name: r.userIdentity.userName, ...(r.userIdentity.arn === undefined ? {} : { arn: r.userIdentity.arn }) };
      }
    } catch {
      continue;
    }
  }
  return undefined;
}
