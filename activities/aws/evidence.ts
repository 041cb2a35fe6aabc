import type { CloudTrailClient, Event } from '@aws-sdk/client-cloudtrail';
import {
  GetGroupPolicyCommand,
  GetLoginProfileCommand,
  GetAccessKeyLastUsedCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
} from '@aws-sdk/client-iam';
import { ApplicationFailure } from '@temporalio/common';
import { iamNameProblem } from '../../domain/names.ts';
import { EvidenceError, type EvidenceRef, type EvidenceStore } from '../evidence/index.ts';
import { lookupEvents, type LookupResult } from './cloudtrail.ts';
import { aws, orMissing } from './errors.ts';
import { type AttackerChange, type CredentialEvidenceFacts, type CredentialFacts, type Principal, revokePolicyName } from './types.ts';

export interface CredentialCaptureInput {
  incidentId: string;
  facts: CredentialFacts;
  /** End of the CloudTrail window (ISO); the window reaches back the configured lookback. */
  windowEnd: string;
  /**
   * Before eradication: CloudTrail read again (the attacker may have acted
   * while the gates waited) and sealed under `before-eradication/`, with the
   * state of what it shows changed; the principal is not captured again.
   */
  beforeEradication?: boolean;
}

export interface CredentialCaptureResult {
  /** Sealed items in a fixed order. */
  refs: EvidenceRef[];
  facts: CredentialEvidenceFacts;
}

/** IAM returns policy documents URL-encoded; the SDK hands them on as they came. */
export function policyText(doc: string | undefined): string | undefined {
  if (doc === undefined) return undefined;
  if (doc.trimStart().startsWith('{')) return doc;
  try {
    return decodeURIComponent(doc);
  } catch {
    return doc;
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

interface Trail {
  eventId: string;
  eventName: string;
  eventTime: string;
  record: {
    errorCode?: string;
    userIdentity?: { type?: string; userName?: string; accessKeyId?: string; arn?: string; sessionContext?: { sessionIssuer?: { arn?: string; userName?: string } } };
    requestParameters?: Record<string, unknown> | null;
    responseElements?: Record<string, unknown> | null;
  };
}

function parseEvents(events: readonly Event[]): Trail[] {
  const out: Trail[] = [];
  for (const e of events) {
    if (e.CloudTrailEvent === undefined) continue;
    try {
      const record = JSON.parse(e.CloudTrailEvent) as Trail['record'];
      out.push({ eventId: e.EventId ?? '', eventName: e.EventName ?? '', eventTime: e.EventTime?.toISOString() ?? '', record });
    } catch {
      continue;
    }
  }
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Whether an event was made with the compromised credentials. */
function byAttacker(t: Trail, facts: CredentialFacts): boolean {
  const u = t.record.userIdentity;
  if (u === undefined) return false;
  if (facts.accessKeyId !== undefined) return u.accessKeyId === facts.accessKeyId;
  const p = facts.principal;
  if (p === undefined) return false;
  if (p.kind === 'user') return u.type === 'IAMUser' && u.userName === p.name;
  const issuer = u.sessionContext?.sessionIssuer;
  return u.type === 'AssumedRole' && (issuer?.userName === p.name || (p.arn !== undefined && issuer?.arn === p.arn));
}

const onOf = (p: Record<string, unknown>): AttackerChange['on'] => {
  const user = str(p['userName']);
  const role = str(p['roleName']);
  const group = str(p['groupName']);
  if (user !== undefined) return { kind: 'user', name: user };
  if (role !== undefined) return { kind: 'role', name: role };
  if (group !== undefined) return { kind: 'group', name: group };
  return undefined;
};

/** What the compromised credentials created or changed in IAM, oldest first, from the events evidence holds. */
export function attackerChanges(trail: readonly Trail[], facts: CredentialFacts): AttackerChange[] {
  const changes: AttackerChange[] = [];
  const ordered = [...trail].sort((a, b) => (a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : 0));
  for (const t of ordered) {
    if (t.record.errorCode !== undefined || !byAttacker(t, facts)) continue;
    const p = t.record.requestParameters ?? {};
    const base = { eventName: t.eventName, eventTime: t.eventTime, eventId: t.eventId };
    const on = onOf(p);
    switch (t.eventName) {
      case 'CreateAccessKey': {
        const key = (t.record.responseElements as { accessKey?: { accessKeyId?: unknown; userName?: unknown } } | null | undefined)?.accessKey;
        const id = str(key?.accessKeyId);
        const user = str(key?.userName) ?? str(p['userName']) ?? t.record.userIdentity?.userName;
        if (id !== undefined && user !== undefined) changes.push({ kind: 'access-key', ...base, accessKeyId: id, userName: user });
        break;
      }
      case 'CreateUser':
      case 'CreateRole':
        if (on !== undefined) changes.push({ kind: t.eventName === 'CreateUser' ? 'user' : 'role', ...base, on });
        break;
      case 'AttachUserPolicy':
      case 'AttachRolePolicy':
      case 'AttachGroupPolicy': {
        const arn = str(p['policyArn']);
        if (on !== undefined && arn !== undefined) changes.push({ kind: 'attached-policy', ...base, on, policyArn: arn });
        break;
      }
      case 'PutUserPolicy':
      case 'PutRolePolicy':
      case 'PutGroupPolicy': {
        const name = str(p['policyName']);
        if (on !== undefined && name !== undefined) changes.push({ kind: 'inline-policy', ...base, on, policyName: name });
        break;
      }
      case 'UpdateAssumeRolePolicy': {
        if (on?.kind !== 'role') break;
        // The trust policy before: the latest earlier CreateRole/UpdateAssumeRolePolicy of the role not made by the attacker.
        const before = ordered
          .filter((o) => o.eventTime < t.eventTime && o.record.errorCode === undefined && !byAttacker(o, facts) && str(o.record.requestParameters?.['roleName']) === on.name)
          .map((o) => str(o.record.requestParameters?.[o.eventName === 'CreateRole' ? 'assumeRolePolicyDocument' : 'policyDocument']))
          .filter((d): d is string => d !== undefined)
          .at(-1);
        changes.push({ kind: 'trust-policy', ...base, on, ...(before === undefined ? {} : { previousDocument: before }) });
        break;
      }
      default:
        break;
    }
  }
  return changes;
}

/**
 * Seals, before anything changes: the triage, the principal's authorization
 * details (inline and managed policies, groups, trust policy, permissions
 * boundary), login profile, MFA devices, access keys with status and last use,
 * CloudTrail events of the key and of the principal over the window, the
 * roles the attacker changed, and the list of what the attacker created or
 * changed. Returns references and the small facts the workflow restores from.
 */
export async function captureCredentialEvidence(
  clients: { iam: IAMClient; cloudtrail: CloudTrailClient | undefined; store: EvidenceStore; lookbackMs: number },
  input: CredentialCaptureInput,
): Promise<CredentialCaptureResult> {
  const { iam, store } = clients;
  const { facts, incidentId } = input;
  const refs: EvidenceRef[] = [];
  const prefix = input.beforeEradication === true ? 'before-eradication/' : '';
  const seal = async (name: string, value: unknown) => {
    try {
      refs.push(await store.seal({ incidentId, name: prefix + name, mediaType: 'application/json', content: json(value) }));
    } catch (e) {
      if (e instanceof EvidenceError) throw ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: !e.retryable });
      throw e;
    }
  };
  const end = new Date(input.windowEnd);
  const window = { start: new Date(end.getTime() - clients.lookbackMs), end };
  const result: CredentialEvidenceFacts = {
    keys: [],
    loginProfile: false,
    trustPolicies: {},
    inlinePolicies: {},
    changes: [],
    window: { start: window.start.toISOString(), end: window.end.toISOString() },
  };

  // CloudTrail first: what was done with the credentials, and to the principal.
  const lookups: (LookupResult | { attribute: { key: string; value: string }; unavailable: string })[] = [];
  const p = facts.principal;
  if (clients.cloudtrail !== undefined) {
    if (facts.accessKeyId !== undefined) lookups.push(await lookupEvents(clients.cloudtrail, { key: 'AccessKeyId', value: facts.accessKeyId }, window));
    if (p !== undefined) lookups.push(await lookupEvents(clients.cloudtrail, { key: p.kind === 'user' ? 'Username' : 'ResourceName', value: p.name }, window));
    if (p?.kind === 'role' && facts.accessKeyId === undefined) {
      // LookupEvents cannot select a role's sessions (their Username is the session name): read the
      // account's IAM events of the window and keep those made by sessions of the role.
      const iamEvents = await lookupEvents(clients.cloudtrail, { key: 'EventSource', value: 'iam.amazonaws.com' }, window);
      const ids = new Set(parseEvents(iamEvents.events).filter((t) => byAttacker(t, facts)).map((t) => t.eventId));
      lookups.push({ ...iamEvents, events: iamEvents.events.filter((e) => ids.has(e.EventId ?? '')) });
    }
  } else {
    lookups.push({ attribute: { key: 'AccessKeyId', value: facts.accessKeyId ?? '' }, unavailable: 'no CloudTrail client is configured for this worker' });
  }
  const seen = new Set<string>();
  const trail: Trail[] = [];
  for (const l of lookups) {
    if ('unavailable' in l) continue;
    for (const t of parseEvents(l.events)) {
      if (!seen.has(t.eventId)) {
        seen.add(t.eventId);
        trail.push(t);
      }
    }
  }
  let changes = attackerChanges(trail, facts);
  // Trust policies the attacker changed: the role's own events may show the document before.
  const trustRoles = [...new Set(changes.filter((c) => c.kind === 'trust-policy').map((c) => c.on!.name))];
  if (clients.cloudtrail !== undefined && trustRoles.length > 0) {
    for (const role of trustRoles) {
      if (p?.kind === 'role' && p.name === role) continue;
      const l = await lookupEvents(clients.cloudtrail, { key: 'ResourceName', value: role }, window);
      lookups.push(l);
      for (const t of parseEvents(l.events)) {
        if (!seen.has(t.eventId)) {
          seen.add(t.eventId);
          trail.push(t);
        }
      }
    }
    changes = attackerChanges(trail, facts);
  }
  result.changes = changes;

  if (input.beforeEradication !== true) {
    await seal('triage.json', facts);
    if (p?.kind === 'user') await captureUser(iam, p, result, seal);
    else if (p?.kind === 'role') await captureRole(iam, p, result, seal);
    else await seal('principal.json', { unavailable: `the principal could not be resolved: ${facts.notFound.join('; ') || 'no principal named'}` });
  }

  for (const l of lookups) {
    const name =
      l.attribute.key === 'AccessKeyId'
        ? 'cloudtrail/access-key.json'
        : l.attribute.key === 'EventSource'
          ? `cloudtrail/iam-events-by-role-${p?.name ?? ''}.json`
          : `cloudtrail/${l.attribute.key === 'Username' ? 'user' : 'resource'}-${l.attribute.value}.json`;
    await seal(
      name,
      'unavailable' in l
        ? l
        : { lookup: `${l.attribute.key}=${l.attribute.value}`, start: l.start, end: l.end, pages: l.pages, truncated: l.truncated, count: l.events.length, events: l.events.map((e) => ({ ...e, CloudTrailEvent: e.CloudTrailEvent === undefined ? undefined : (JSON.parse(e.CloudTrailEvent) as unknown) })) },
    );
  }

  // The current state of everything the attacker changed, to restore it on rollback.
  const changedRoles: Record<string, unknown> = {};
  for (const c of changes) {
    // Names read from CloudTrail records are checked like any other before IAM is called with them.
    const problem = c.on === undefined ? undefined : iamNameProblem(c.on.kind, c.on.name) ?? (c.policyName === undefined ? undefined : iamNameProblem('policy', c.policyName));
    if (problem !== undefined) {
      if (c.kind === 'trust-policy' && c.on !== undefined) changedRoles[c.on.name] = { unavailable: `not read: ${problem}` };
      continue;
    }
    if (c.kind === 'trust-policy' && c.on !== undefined && result.trustPolicies[c.on.name] === undefined) {
      const role = await orMissing('iam:GetRole', `role ${c.on.name}`, () => iam.send(new GetRoleCommand({ RoleName: c.on!.name })));
      changedRoles[c.on.name] = role?.Role ?? { unavailable: 'the role no longer exists' };
      const doc = policyText(role?.Role?.AssumeRolePolicyDocument);
      if (doc !== undefined) result.trustPolicies[c.on.name] = doc;
    }
    if (c.kind === 'inline-policy' && c.on !== undefined && c.policyName !== undefined) {
      const key = `${c.on.kind}/${c.on.name}/${c.policyName}`;
      if (result.inlinePolicies[key] !== undefined) continue;
      const doc = await inlinePolicy(iam, c.on, c.policyName);
      if (doc !== undefined) result.inlinePolicies[key] = doc;
    }
  }
  // Status of the keys the attacker created, so that deactivating them can tell its own earlier attempt from a key found inactive.
  const createdKeyUsers = [...new Set(changes.filter((c) => c.kind === 'access-key' && c.userName !== undefined).map((c) => c.userName!))];
  const createdKeys: Record<string, unknown> = {};
  for (const user of createdKeyUsers) {
    const problem = iamNameProblem('user', user);
    if (problem !== undefined) {
      createdKeys[user] = { unavailable: `not read: ${problem}` };
      continue;
    }
    const listed = await orMissing('iam:ListAccessKeys', `user ${user}`, () => iam.send(new ListAccessKeysCommand({ UserName: user })));
    createdKeys[user] = listed?.AccessKeyMetadata ?? { unavailable: 'the user no longer exists' };
    for (const k of listed?.AccessKeyMetadata ?? []) {
      if (k.AccessKeyId !== undefined && (k.Status === 'Active' || k.Status === 'Inactive') && !result.keys.some((x) => x.accessKeyId === k.AccessKeyId)) {
        result.keys.push({ accessKeyId: k.AccessKeyId, status: k.Status });
      }
    }
  }
  if (Object.keys(changedRoles).length > 0) await seal('changed-roles.json', changedRoles);
  if (createdKeyUsers.length > 0) await seal('created-access-keys.json', createdKeys);
  await seal('attacker-changes.json', { window: result.window, changes, inlinePolicies: result.inlinePolicies });
  return { refs, facts: result };
}

async function inlinePolicy(iam: IAMClient, on: NonNullable<AttackerChange['on']>, name: string): Promise<string | undefined> {
  const where = `${on.kind} ${on.name} policy ${name}`;
  if (on.kind === 'user') return policyText((await orMissing('iam:GetUserPolicy', where, () => iam.send(new GetUserPolicyCommand({ UserName: on.name, PolicyName: name }))))?.PolicyDocument);
  if (on.kind === 'role') return policyText((await orMissing('iam:GetRolePolicy', where, () => iam.send(new GetRolePolicyCommand({ RoleName: on.name, PolicyName: name }))))?.PolicyDocument);
  return policyText((await orMissing('iam:GetGroupPolicy', where, () => iam.send(new GetGroupPolicyCommand({ GroupName: on.name, PolicyName: name }))))?.PolicyDocument);
}

type Seal = (name: string, value: unknown) => Promise<void>;

async function captureUser(iam: IAMClient, p: Principal, result: CredentialEvidenceFacts, seal: Seal): Promise<void> {
  const UserName = p.name;
  const where = `user ${UserName}`;
  const user = await orMissing('iam:GetUser', where, () => iam.send(new GetUserCommand({ UserName })));
  if (user?.User === undefined) {
    await seal('principal.json', { unavailable: `IAM user ${UserName} does not exist` });
    return;
  }
  const inlineNames = (await aws('iam:ListUserPolicies', where, () => iam.send(new ListUserPoliciesCommand({ UserName })))).PolicyNames ?? [];
  const inline: Record<string, unknown> = {};
  for (const name of inlineNames) {
    const doc = policyText((await aws('iam:GetUserPolicy', `${where} policy ${name}`, () => iam.send(new GetUserPolicyCommand({ UserName, PolicyName: name })))).PolicyDocument);
    inline[name] = doc === undefined ? null : (JSON.parse(doc) as unknown);
    if (name === revokePolicyName && doc !== undefined) result.revokePolicy = doc;
  }
  const attached = (await aws('iam:ListAttachedUserPolicies', where, () => iam.send(new ListAttachedUserPoliciesCommand({ UserName })))).AttachedPolicies ?? [];
  const groupList = (await aws('iam:ListGroupsForUser', where, () => iam.send(new ListGroupsForUserCommand({ UserName })))).Groups ?? [];
  const groups = [];
  for (const g of groupList) {
    const GroupName = g.GroupName!;
    const gw = `group ${GroupName}`;
    groups.push({
      group: g,
      inlinePolicies: (await aws('iam:ListGroupPolicies', gw, () => iam.send(new ListGroupPoliciesCommand({ GroupName })))).PolicyNames ?? [],
      attachedPolicies: (await aws('iam:ListAttachedGroupPolicies', gw, () => iam.send(new ListAttachedGroupPoliciesCommand({ GroupName })))).AttachedPolicies ?? [],
    });
  }
  const tags = (await aws('iam:ListUserTags', where, () => iam.send(new ListUserTagsCommand({ UserName })))).Tags ?? [];
  await seal('principal.json', {
    kind: 'user',
    user: user.User,
    permissionsBoundary: user.User.PermissionsBoundary ?? null,
    inlinePolicies: inline,
    attachedPolicies: attached,
    groups,
    tags,
  });

  const profile = await orMissing('iam:GetLoginProfile', where, () => iam.send(new GetLoginProfileCommand({ UserName })));
  result.loginProfile = profile?.LoginProfile !== undefined;
  await seal('login-profile.json', profile?.LoginProfile === undefined ? { present: false } : { present: true, ...profile.LoginProfile });

  const mfa = (await aws('iam:ListMFADevices', where, () => iam.send(new ListMFADevicesCommand({ UserName })))).MFADevices ?? [];
  await seal('mfa-devices.json', { devices: mfa });

  const keys = (await aws('iam:ListAccessKeys', where, () => iam.send(new ListAccessKeysCommand({ UserName })))).AccessKeyMetadata ?? [];
  const withUse = [];
  for (const k of keys) {
    const used = await orMissing('iam:GetAccessKeyLastUsed', `access key ${k.AccessKeyId}`, () => iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId })));
    withUse.push({ ...k, lastUsed: used?.AccessKeyLastUsed ?? null });
    if (k.AccessKeyId !== undefined && (k.Status === 'Active' || k.Status === 'Inactive')) result.keys.push({ accessKeyId: k.AccessKeyId, status: k.Status });
  }
  await seal('access-keys.json', { keys: withUse });
}

async function captureRole(iam: IAMClient, p: Principal, result: CredentialEvidenceFacts, seal: Seal): Promise<void> {
  const RoleName = p.name;
  const where = `role ${RoleName}`;
  const role = await orMissing('iam:GetRole', where, () => iam.send(new GetRoleCommand({ RoleName })));
  if (role?.Role === undefined) {
    await seal('principal.json', { unavailable: `IAM role ${RoleName} does not exist` });
    return;
  }
  const trust = policyText(role.Role.AssumeRolePolicyDocument);
  if (trust !== undefined) result.trustPolicies[RoleName] = trust;
  const inlineNames = (await aws('iam:ListRolePolicies', where, () => iam.send(new ListRolePoliciesCommand({ RoleName })))).PolicyNames ?? [];
  const inline: Record<string, unknown> = {};
  for (const name of inlineNames) {
    const doc = policyText((await aws('iam:GetRolePolicy', `${where} policy ${name}`, () => iam.send(new GetRolePolicyCommand({ RoleName, PolicyName: name })))).PolicyDocument);
    inline[name] = doc === undefined ? null : (JSON.parse(doc) as unknown);
    if (name === revokePolicyName && doc !== undefined) result.revokePolicy = doc;
  }
  const attached = (await aws('iam:ListAttachedRolePolicies', where, () => iam.send(new ListAttachedRolePoliciesCommand({ RoleName })))).AttachedPolicies ?? [];
  await seal('principal.json', {
    kind: 'role',
    role: { ...role.Role, AssumeRolePolicyDocument: trust === undefined ? null : (JSON.parse(trust) as unknown) },
    trustPolicy: trust === undefined ? null : (JSON.parse(trust) as unknown),
    permissionsBoundary: role.Role.PermissionsBoundary ?? null,
    maxSessionDuration: role.Role.MaxSessionDuration ?? null,
    inlinePolicies: inline,
    attachedPolicies: attached,
    tags: role.Role.Tags ?? [],
  });
}
