/**
 * The drill's simulated AWS account: IAM users, keys, login profiles,
 * policies and roles, STS, and a CloudTrail trail, as state in memory.
 *
 * The runbook's activities use the real SDK clients (`IAMClient`,
 * `STSClient`, `CloudTrailClient`); a middleware at the front of each
 * client's stack answers the command from this state, so nothing is
 * serialised, signed or sent. Answers and errors have the SDK's own shapes
 * (IAM documents URL-encoded, `NoSuchEntityException`, `Throttling`), so the
 * activities' error mapping is the production one.
 *
 * CloudTrail answers every event of the lookup attribute whatever the time
 * window: activities bound windows by the worker's wall clock, and a drill's
 * events are at virtual times ahead of it.
 */
import { createHash } from 'node:crypto';
import { CloudTrailClient, CloudTrailServiceException } from '@aws-sdk/client-cloudtrail';
import { IAMClient, IAMServiceException, NoSuchEntityException } from '@aws-sdk/client-iam';
import { STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { revokePolicyName, revokeTimeOf, quarantinePolicyName } from '../../../activities/aws/types.ts';
import { matchesAttribute, resourcesOf, usernameOf, type CloudTrailRecord, type StoredEvent } from '../../sandbox/cloudtrail.ts';
import type { AdversaryAction, WorldCheck, WorldSpec } from '../scenario.ts';
import type { FaultError, FaultPlan } from './faults.ts';

type Spec = NonNullable<WorldSpec['aws']>;
type Service = 'iam' | 'sts' | 'cloudtrail';
type Input = Record<string, unknown>;

interface Key {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
  lastUsed?: Date;
}

interface Holder {
  attached: Set<string>;
  inline: Map<string, string>;
}

interface User extends Holder {
  name: string;
  arn: string;
  created: Date;
  keys: Map<string, Key>;
  loginProfile: Date | undefined;
  groups: string[];
}

interface Role extends Holder {
  name: string;
  arn: string;
  created: Date;
  trust: string;
}

type Group = Holder & { name: string; arn: string; created: Date };

const writeOperations = new Set([
  'UpdateAccessKey',
  'PutUserPolicy',
  'PutRolePolicy',
  'PutGroupPolicy',
  'DeleteUserPolicy',
  'DeleteRolePolicy',
  'DeleteGroupPolicy',
  'AttachUserPolicy',
  'AttachRolePolicy',
  'AttachGroupPolicy',
  'DetachUserPolicy',
  'DetachRolePolicy',
  'DetachGroupPolicy',
  'DeleteLoginProfile',
  'UpdateAssumeRolePolicy',
]);

const str = (input: Input, field: string): string => {
  const v = input[field];
  return typeof v === 'string' ? v : '';
};

/** A stable IAM-looking unique id (AIDA…, AROA…, AGPA…) from a name. */
function uniqueId(prefix: string, name: string): string {
  return prefix + createHash('sha256').update(name).digest('hex').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 17);
}

function json(doc: unknown): string {
  return typeof doc === 'string' ? doc : JSON.stringify(doc);
}

function policyNameOf(arn: string): string {
  return arn.split('/').at(-1) ?? arn;
}

function iamError(name: string, message: string, status: number, fault: 'client' | 'server'): IAMServiceException {
  return new IAMServiceException({ name, $fault: fault, $metadata: { httpStatusCode: status }, message });
}

function noSuchEntity(message: string): NoSuchEntityException {
  return new NoSuchEntityException({ $metadata: { httpStatusCode: 404 }, message });
}

/** The SDK exception a scenario fault stands for, with the code AWS would send. */
function faultError(service: Service, operation: string, error: FaultError): Error {
  const [name, status, fault] =
    error === 'throttled' ? (['Throttling', 400, 'client'] as const) : error === 'denied' ? (['AccessDenied', 403, 'client'] as const) : (['ServiceUnavailable', 503, 'server'] as const);
  const code = service === 'cloudtrail' && error === 'throttled' ? 'ThrottlingException' : service === 'cloudtrail' && error === 'denied' ? 'AccessDeniedException' : name;
  const message = `drill fault: ${service}:${operation} ${error}`;
  const opts = { name: code, $fault: fault, $metadata: { httpStatusCode: status }, message };
  if (service === 'iam') return new IAMServiceException(opts);
  if (service === 'sts') return new STSServiceException(opts);
  return new CloudTrailServiceException(opts);
}

/** Every command a client sends goes to `answer`; returning here means no later middleware (serialise, sign, send) runs. */
function shortCircuit(client: IAMClient | STSClient | CloudTrailClient, answer: (command: string, input: Input) => Promise<Record<string, unknown>>): void {
  const stack = client.middlewareStack as unknown as {
    add(
      mw: (next: unknown, context: { commandName?: string }) => (args: { input: Input }) => Promise<{ output: unknown; response: unknown }>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
  stack.add(
    (_next, context) => async (args) => {
      const output = await answer((context.commandName ?? '').replace(/Command$/, ''), args.input);
      return { output: { ...output, $metadata: { httpStatusCode: 200, requestId: 'drill' } }, response: {} };
    },
    { step: 'initialize', name: 'firebreakDrillWorld', priority: 'high' },
  );
}

interface Snapshot {
  users: Map<string, { keys: Map<string, string>; loginProfile: boolean; attached: Set<string>; inline: Map<string, string> }>;
  roles: Map<string, { trust: string; attached: Set<string>; inline: Map<string, string> }>;
}

export class SimulatedAws {
  readonly accountId: string;
  readonly region: string;
  readonly iam: IAMClient;
  readonly sts: STSClient;
  readonly cloudtrail: CloudTrailClient;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private readonly groups = new Map<string, Group>();
  private readonly trail: StoredEvent[] = [];
  private readonly adversaryKeys = new Set<string>();
  private before: Snapshot | undefined;
  private keySerial = 0;
  private eventSerial = 0;

  constructor(
    spec: Spec,
    extraEvents: readonly Record<string, unknown>[],
    private readonly faults: FaultPlan,
    private readonly now: () => number,
    /** When the adversary's stolen role sessions were issued (before the drill started). */
    private readonly sessionsIssuedAt: number,
  ) {
    this.accountId = spec.accountId;
    this.region = spec.region;
    const created = new Date(sessionsIssuedAt - 30 * 86_400_000);
    const holder = (policies: readonly string[], inline: Record<string, unknown>): Holder => ({
      attached: new Set(policies),
      inline: new Map(Object.entries(inline).map(([k, v]) => [k, json(v)])),
    });
    for (const u of spec.users) {
      const keys = new Map<string, Key>(u.accessKeys.map((k) => [k.id, { id: k.id, status: k.status, created: k.created === undefined ? created : new Date(k.created) }]));
      this.users.set(u.name, { name: u.name, arn: this.arn('user', u.name), created, keys, loginProfile: u.loginProfile ? created : undefined, groups: [...u.groups], ...holder(u.policies, u.inlinePolicies) });
      for (const g of u.groups) if (!this.groups.has(g)) this.groups.set(g, { name: g, arn: this.arn('group', g), created, ...holder([], {}) });
    }
    for (const r of spec.roles) {
      const trust = r.trustPolicy === undefined ? JSON.stringify({ Version: '2012-10-17', Statement: [] }) : json(r.trustPolicy);
      this.roles.set(r.name, { name: r.name, arn: this.arn('role', r.name), created, trust, ...holder(r.policies, r.inlinePolicies) });
    }
    for (const e of [...spec.cloudtrail.events, ...extraEvents]) this.record(e as unknown as CloudTrailRecord);
    const client = { region: this.region, credentials: { accessKeyId: 'AKIADRILLWORKER00000', secretAccessKey: 'drill-no-secret' } };
    this.iam = new IAMClient(client);
    this.sts = new STSClient(client);
    this.cloudtrail = new CloudTrailClient(client);
    shortCircuit(this.iam, (c, i) => this.call('iam', c, i, () => this.answerIam(c, i)));
    shortCircuit(this.sts, (c, i) => this.call('sts', c, i, () => this.answerSts(c, i)));
    shortCircuit(this.cloudtrail, (c, i) => this.call('cloudtrail', c, i, () => this.answerCloudTrail(c, i)));
  }

  private arn(kind: 'user' | 'role' | 'group', name: string): string {
    return `arn:aws:iam::${this.accountId}:${kind}/${name}`;
  }

  private record(r: CloudTrailRecord): void {
    this.eventSerial += 1;
    const id = typeof r.eventID === 'string' ? r.eventID : `drill-event-${String(this.eventSerial).padStart(6, '0')}`;
    const record: CloudTrailRecord = { ...r, eventID: id, eventTime: r.eventTime ?? new Date(this.sessionsIssuedAt).toISOString(), userIdentity: r.userIdentity ?? { type: 'Unknown' } };
    this.trail.push({ id, time: Date.parse(record.eventTime), record, resources: resourcesOf(record), username: usernameOf(record) });
  }

  private async call(service: Service, command: string, input: Input, answer: () => Record<string, unknown>): Promise<Record<string, unknown>> {
    const error = this.faults.draw(service, command, this.now());
    if (error !== undefined) throw faultError(service, command, error);
    // Rollback is scored against the world as the runbook found it.
    if (writeOperations.has(command)) this.before ??= this.snapshot();
    return Promise.resolve(answer());
  }

  private user(name: string): User {
    const u = this.users.get(name);
    if (u === undefined) throw noSuchEntity(`The user with name ${name} cannot be found.`);
    return u;
  }

  private role(name: string): Role {
    const r = this.roles.get(name);
    if (r === undefined) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return r;
  }

  private group(name: string): Group {
    const g = this.groups.get(name);
    if (g === undefined) throw noSuchEntity(`The group with name ${name} cannot be found.`);
    return g;
  }

  private holderOf(command: string, input: Input): Holder {
    if (command.includes('User')) return this.user(str(input, 'UserName'));
    if (command.includes('Role')) return this.role(str(input, 'RoleName'));
    return this.group(str(input, 'GroupName'));
  }

  private keyOwner(id: string): User | undefined {
    return [...this.users.values()].find((u) => u.keys.has(id));
  }

  private answerIam(command: string, input: Input): Record<string, unknown> {
    const list = { IsTruncated: false };
    switch (command) {
      case 'GetUser': {
        const u = this.user(str(input, 'UserName'));
        return { User: { UserName: u.name, UserId: uniqueId('AIDA', u.name), Arn: u.arn, Path: '/', CreateDate: u.created } };
      }
      case 'ListAccessKeys': {
        const u = this.user(str(input, 'UserName'));
        return { ...list, AccessKeyMetadata: [...u.keys.values()].map((k) => ({ UserName: u.name, AccessKeyId: k.id, Status: k.status, CreateDate: k.created })) };
      }
      case 'GetAccessKeyLastUsed': {
        const id = str(input, 'AccessKeyId');
        const u = this.keyOwner(id);
        if (u === undefined) throw noSuchEntity(`The access key with id ${id} cannot be found.`);
        const k = u.keys.get(id)!;
        return { UserName: u.name, AccessKeyLastUsed: k.lastUsed === undefined ? { ServiceName: 'N/A', Region: 'N/A' } : { LastUsedDate: k.lastUsed, ServiceName: 's3', Region: this.region } };
      }
      case 'UpdateAccessKey': {
        const u = this.user(str(input, 'UserName'));
        const k = u.keys.get(str(input, 'AccessKeyId'));
        if (k === undefined) throw noSuchEntity(`The Access Key with id ${str(input, 'AccessKeyId')} cannot be found.`);
        k.status = str(input, 'Status') === 'Inactive' ? 'Inactive' : 'Active';
        return {};
      }
      case 'ListUserTags':
        this.user(str(input, 'UserName'));
        return { ...list, Tags: [] };
      case 'ListMFADevices':
        this.user(str(input, 'UserName'));
        return { ...list, MFADevices: [] };
      case 'ListGroupsForUser': {
        const u = this.user(str(input, 'UserName'));
        return { ...list, Groups: u.groups.map((g) => ({ GroupName: g, GroupId: uniqueId('AGPA', g), Arn: this.arn('group', g), Path: '/', CreateDate: this.groups.get(g)?.created })) };
      }
      case 'GetLoginProfile': {
        const u = this.user(str(input, 'UserName'));
        if (u.loginProfile === undefined) throw noSuchEntity(`The user with name ${u.name} cannot be found.`);
        return { LoginProfile: { UserName: u.name, CreateDate: u.loginProfile, PasswordResetRequired: false } };
      }
      case 'DeleteLoginProfile': {
        const u = this.user(str(input, 'UserName'));
        if (u.loginProfile === undefined) throw noSuchEntity(`Login Profile for User ${u.name} cannot be found.`);
        u.loginProfile = undefined;
        return {};
      }
      case 'GetRole': {
        const r = this.role(str(input, 'RoleName'));
        return {
          Role: { RoleName: r.name, RoleId: uniqueId('AROA', r.name), Arn: r.arn, Path: '/', CreateDate: r.created, AssumeRolePolicyDocument: encodeURIComponent(r.trust), MaxSessionDuration: 3600, Tags: [] },
        };
      }
      case 'UpdateAssumeRolePolicy':
        this.role(str(input, 'RoleName')).trust = str(input, 'PolicyDocument');
        return {};
      case 'ListUserPolicies':
      case 'ListRolePolicies':
      case 'ListGroupPolicies':
        return { ...list, PolicyNames: [...this.holderOf(command, input).inline.keys()] };
      case 'ListAttachedUserPolicies':
      case 'ListAttachedRolePolicies':
      case 'ListAttachedGroupPolicies':
        return { ...list, AttachedPolicies: [...this.holderOf(command, input).attached].map((arn) => ({ PolicyArn: arn, PolicyName: policyNameOf(arn) })) };
      case 'GetUserPolicy':
      case 'GetRolePolicy':
      case 'GetGroupPolicy': {
        const name = str(input, 'PolicyName');
        const doc = this.holderOf(command, input).inline.get(name);
        if (doc === undefined) throw noSuchEntity(`The policy with name ${name} cannot be found.`);
        return { ...input, PolicyDocument: encodeURIComponent(doc) };
      }
      case 'PutUserPolicy':
      case 'PutRolePolicy':
      case 'PutGroupPolicy':
        this.holderOf(command, input).inline.set(str(input, 'PolicyName'), str(input, 'PolicyDocument'));
        return {};
      case 'DeleteUserPolicy':
      case 'DeleteRolePolicy':
      case 'DeleteGroupPolicy': {
        const name = str(input, 'PolicyName');
        if (!this.holderOf(command, input).inline.delete(name)) throw noSuchEntity(`The policy with name ${name} cannot be found.`);
        return {};
      }
      case 'AttachUserPolicy':
      case 'AttachRolePolicy':
      case 'AttachGroupPolicy':
        this.holderOf(command, input).attached.add(str(input, 'PolicyArn'));
        return {};
      case 'DetachUserPolicy':
      case 'DetachRolePolicy':
      case 'DetachGroupPolicy': {
        const arn = str(input, 'PolicyArn');
        if (!this.holderOf(command, input).attached.delete(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
        return {};
      }
      default:
        throw iamError('InvalidInput', `The drill's simulated IAM does not implement ${command}; run the drill with a runbook that needs only what docs/drills.md lists.`, 400, 'client');
    }
  }

  private answerSts(command: string, input: Input): Record<string, unknown> {
    if (command === 'GetCallerIdentity') return { Account: this.accountId, Arn: `arn:aws:sts::${this.accountId}:assumed-role/firebreak-drill/worker`, UserId: 'AROADRILLWORKER:worker' };
    if (command === 'GetAccessKeyInfo') {
      if (!/^(AKIA|ASIA)/.test(str(input, 'AccessKeyId'))) throw new STSServiceException({ name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'invalid access key id' });
      return { Account: this.accountId };
    }
    throw new STSServiceException({ name: 'InvalidAction', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: `The drill's simulated STS does not implement ${command}.` });
  }

  private answerCloudTrail(command: string, input: Input): Record<string, unknown> {
    if (command !== 'LookupEvents') {
      throw new CloudTrailServiceException({ name: 'UnsupportedOperationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: `The drill's simulated CloudTrail does not implement ${command}.` });
    }
    const attribute = (input['LookupAttributes'] as { AttributeKey: string; AttributeValue: string }[] | undefined)?.[0];
    const max = typeof input['MaxResults'] === 'number' ? input['MaxResults'] : 50;
    const offset = typeof input['NextToken'] === 'string' ? Number(input['NextToken']) : 0;
    const matching = this.trail.filter((e) => matchesAttribute(e, attribute)).sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1));
    const page = matching.slice(offset, offset + max);
    return {
      Events: page.map((e) => ({
        EventId: e.id,
        EventName: e.record.eventName,
        ReadOnly: String(e.record.readOnly ?? false),
        ...(e.record.userIdentity.accessKeyId === undefined ? {} : { AccessKeyId: e.record.userIdentity.accessKeyId }),
        EventTime: new Date(e.time),
        EventSource: e.record.eventSource,
        ...(e.username === undefined ? {} : { Username: e.username }),
        Resources: e.resources,
        CloudTrailEvent: JSON.stringify(e.record),
      })),
      ...(offset + max < matching.length ? { NextToken: String(offset + max) } : {}),
    };
  }

  // ---------- the adversary ----------

  private quarantined(h: Holder): boolean {
    return h.inline.has(quarantinePolicyName);
  }

  private userIdentity(u: User, key: string): CloudTrailRecord['userIdentity'] {
    return { type: 'IAMUser', principalId: uniqueId('AIDA', u.name), arn: u.arn, accountId: this.accountId, accessKeyId: key, userName: u.name };
  }

  private trace(eventSource: string, eventName: string, userIdentity: CloudTrailRecord['userIdentity'], requestParameters: Input | null = null, responseElements: Input | null = null): void {
    this.record({ eventVersion: '1.09', eventTime: new Date(this.now()).toISOString(), eventSource, eventName, awsRegion: this.region, sourceIPAddress: '203.0.113.66', userIdentity, requestParameters, responseElements });
  }

  /** One adversary move against the current state: it succeeds only while its containment is not in force. */
  attempt(action: AdversaryAction): { succeeded: boolean; detail: string } {
    switch (action.kind) {
      case 'iam:use-access-key': {
        const u = this.keyOwner(action.accessKey);
        const k = u?.keys.get(action.accessKey);
        if (u === undefined || k === undefined) return { succeeded: false, detail: 'no such key' };
        if (k.status !== 'Active') return { succeeded: false, detail: 'the key is inactive' };
        if (this.quarantined(u)) return { succeeded: false, detail: `${quarantinePolicyName} denies the user everything` };
        k.lastUsed = new Date(this.now());
        this.trace('s3.amazonaws.com', 'ListBuckets', this.userIdentity(u, k.id));
        return { succeeded: true, detail: 'the key is active: the call went through' };
      }
      case 'iam:create-access-key': {
        const u = this.users.get(action.user);
        if (u === undefined) return { succeeded: false, detail: 'no such user' };
        const usable = [...u.keys.values()].find((k) => k.status === 'Active' && !this.adversaryKeys.has(k.id)) ?? [...u.keys.values()].find((k) => k.status === 'Active');
        if (usable === undefined) return { succeeded: false, detail: 'every key of the user is inactive' };
        if (this.quarantined(u)) return { succeeded: false, detail: `${quarantinePolicyName} denies the user everything` };
        if (u.keys.size >= 2) return { succeeded: false, detail: 'the user already has two keys (the IAM limit)' };
        this.keySerial += 1;
        const id = `AKIADRILLBACKDOOR${String(this.keySerial).padStart(3, '0')}`;
        u.keys.set(id, { id, status: 'Active', created: new Date(this.now()) });
        this.adversaryKeys.add(id);
        this.trace('iam.amazonaws.com', 'CreateAccessKey', this.userIdentity(u, usable.id), { userName: u.name }, { accessKey: { accessKeyId: id, userName: u.name, status: 'Active' } });
        return { succeeded: true, detail: `created ${id} with ${usable.id}` };
      }
      case 'iam:console-login': {
        const u = this.users.get(action.user);
        if (u === undefined) return { succeeded: false, detail: 'no such user' };
        if (u.loginProfile === undefined) return { succeeded: false, detail: 'the user has no login profile' };
        this.trace('signin.amazonaws.com', 'ConsoleLogin', { type: 'IAMUser', arn: u.arn, accountId: this.accountId, userName: u.name });
        return { succeeded: true, detail: 'signed in with the password' };
      }
      case 'sts:use-role-session': {
        const r = this.roles.get(action.role);
        if (r === undefined) return { succeeded: false, detail: 'no such role' };
        if (this.sessionsRevoked(r)) return { succeeded: false, detail: `${revokePolicyName} denies sessions issued before the revocation` };
        if (this.quarantined(r)) return { succeeded: false, detail: `${quarantinePolicyName} denies the role everything` };
        this.trace('s3.amazonaws.com', 'ListBuckets', {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${this.accountId}:assumed-role/${r.name}/stolen-session`,
          accountId: this.accountId,
          accessKeyId: 'ASIADRILLSTOLENSESSION',
          sessionContext: { sessionIssuer: { type: 'Role', arn: r.arn, accountId: this.accountId, userName: r.name } },
        });
        return { succeeded: true, detail: 'the session is still valid' };
      }
    }
  }

  private sessionsRevoked(r: Role): boolean {
    const doc = r.inline.get(revokePolicyName);
    const bound = doc === undefined ? undefined : revokeTimeOf(doc);
    return bound !== undefined && Date.parse(bound) > this.sessionsIssuedAt;
  }

  check(c: WorldCheck): { ok: boolean; detail: string } {
    switch (c.kind) {
      case 'access-keys-inactive': {
        const u = this.users.get(c.user);
        if (u === undefined) return { ok: false, detail: `no user ${c.user}` };
        const active = [...u.keys.values()].filter((k) => k.status === 'Active').map((k) => k.id);
        return { ok: active.length === 0, detail: active.length === 0 ? `all ${u.keys.size} key(s) inactive` : `still active: ${active.join(', ')}` };
      }
      case 'login-profile-deleted': {
        const u = this.users.get(c.user);
        if (u === undefined) return { ok: false, detail: `no user ${c.user}` };
        return { ok: u.loginProfile === undefined, detail: u.loginProfile === undefined ? 'no login profile' : 'the login profile is still there' };
      }
      case 'role-sessions-revoked': {
        const r = this.roles.get(c.role);
        if (r === undefined) return { ok: false, detail: `no role ${c.role}` };
        const ok = this.sessionsRevoked(r);
        return { ok, detail: ok ? `${revokePolicyName} denies sessions issued before ${revokeTimeOf(r.inline.get(revokePolicyName)!) ?? '?'}` : 'sessions issued before the incident are still valid' };
      }
    }
  }

  // ---------- rollback residue ----------

  private snapshot(): Snapshot {
    return {
      users: new Map(
        [...this.users.values()].map((u) => [u.name, { keys: new Map([...u.keys.values()].map((k) => [k.id, k.status])), loginProfile: u.loginProfile !== undefined, attached: new Set(u.attached), inline: new Map(u.inline) }]),
      ),
      roles: new Map([...this.roles.values()].map((r) => [r.name, { trust: r.trust, attached: new Set(r.attached), inline: new Map(r.inline) }])),
    };
  }

  /** What differs from the world as it was before the runbook's first write, ignoring what the adversary created. */
  residue(): string[] {
    const was = this.before;
    if (was === undefined) return [];
    const out: string[] = [];
    const holder = (target: string, then: Holder, now: Holder) => {
      for (const arn of then.attached) if (!now.attached.has(arn)) out.push(`${target}: managed policy ${arn} detached`);
      for (const arn of now.attached) if (!then.attached.has(arn)) out.push(`${target}: managed policy ${arn} attached`);
      for (const [name, doc] of then.inline) {
        if (!now.inline.has(name)) out.push(`${target}: inline policy ${name} deleted`);
        else if (!sameDocument(now.inline.get(name)!, doc)) out.push(`${target}: inline policy ${name} changed`);
      }
      for (const name of now.inline.keys()) if (!then.inline.has(name)) out.push(`${target}: inline policy ${name} added`);
    };
    for (const [name, then] of was.users) {
      const now = this.users.get(name);
      const target = `iam-user:${name}`;
      if (now === undefined) {
        out.push(`${target}: deleted`);
        continue;
      }
      for (const [id, status] of then.keys) {
        const k = now.keys.get(id);
        if (k === undefined) out.push(`access-key:${id}: deleted (${target})`);
        else if (k.status !== status) out.push(`access-key:${id}: ${k.status}, was ${status} (${target})`);
      }
      if (then.loginProfile && now.loginProfile === undefined) out.push(`${target}: login profile deleted`);
      holder(target, then, now);
    }
    for (const [name, then] of was.roles) {
      const now = this.roles.get(name);
      const target = `role:${name}`;
      if (now === undefined) {
        out.push(`${target}: deleted`);
        continue;
      }
      if (!sameDocument(now.trust, then.trust)) out.push(`${target}: trust policy changed`);
      holder(target, then, now);
    }
    return out;
  }
}

function sameDocument(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}
