/**
 * A tabletop drill's scenario (`scenarios/*.yaml`, docs/drills.md): the
 * simulated world a runbook acts on, the alerts injected into it, the
 * people who answer its gates, the adversary who keeps going until
 * contained, faults in the APIs, and the outcomes the run is scored on.
 * Every time is an offset from the scenario's start in virtual time.
 */
import { z } from 'zod';
import { parseDuration } from '../runbooks/schema.ts';
import { alertSources } from '../../domain/vocabulary.ts';

export const scenarioSchemaVersion = 1;

/** An offset from the scenario's start, e.g. `90s`, `15m`, `2h`, to milliseconds. */
const offset = z.string().transform((text, ctx) => {
  // A duration, or the start itself (policies' durations are never zero, offsets may be).
  const ms = /^0+(ms|s|m|h|d)?$/.test(text) ? 0 : parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a time such as "0s", "90s", "15m" or "2h"; got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return ms;
});

const name = z.string().min(1).max(253);
const principal = z.string().regex(/^(slack|cli):[A-Za-z0-9._@-]+$/, 'expected a principal such as slack:U0ALICE or cli:alice');

// ---------- world ----------

const accessKey = z.strictObject({
  id: z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{12,124}$/, 'expected an access key id such as AKIAIOSFODNN7EXAMPLE'),
  status: z.enum(['Active', 'Inactive']).default('Active'),
  created: z.string().datetime().optional(),
});

const iamUser = z.strictObject({
  name,
  accessKeys: z.array(accessKey).default([]),
  loginProfile: z.boolean().default(false),
  /** Managed policy ARNs attached to the user. */
  policies: z.array(z.string()).default([]),
  inlinePolicies: z.record(z.string(), z.unknown()).default({}),
  groups: z.array(name).default([]),
});

const iamRole = z.strictObject({
  name,
  trustPolicy: z.unknown().optional(),
  policies: z.array(z.string()).default([]),
  inlinePolicies: z.record(z.string(), z.unknown()).default({}),
});

const aws = z.strictObject({
  accountId: z.string().regex(/^\d{12}$/).default('111122223333'),
  region: z.string().default('us-east-1'),
  users: z.array(iamUser).default([]),
  roles: z.array(iamRole).default([]),
  /** CloudTrail management events (the `CloudTrailEvent` JSON of LookupEvents), inline or from a file next to the scenario. */
  cloudtrail: z.strictObject({ events: z.array(z.record(z.string(), z.unknown())).default([]), file: z.string().optional() }).prefault({}),
});

// The simulated world covers AWS IAM, STS and CloudTrail (the credential-compromise runbook); a
// simulated Kubernetes and registry for the other two runbooks are not built yet (docs/drills.md).
const world = z
  .strictObject({
    aws: aws.optional(),
  })
  .prefault({});

// ---------- what happens ----------

/** What the attacker does; each kind succeeds only while its own containment is not in force (docs/drills.md). */
const adversaryAction = z.discriminatedUnion('kind', [
  /** Creates another access key for the user with one of the user's keys: stopped once every key of the user is inactive. */
  z.strictObject({ kind: z.literal('iam:create-access-key'), user: name }),
  /** Calls AWS with the key: stopped once the key is inactive. */
  z.strictObject({ kind: z.literal('iam:use-access-key'), accessKey: accessKey.shape.id }),
  /** Uses an existing session of the role: stopped once sessions issued before now are revoked. */
  z.strictObject({ kind: z.literal('sts:use-role-session'), role: name }),
  /** Signs in to the console as the user: stopped once the login profile is deleted. */
  z.strictObject({ kind: z.literal('iam:console-login'), user: name }),
]);

const adversaryStep = z.strictObject({
  at: offset,
  /** Tries again at this interval until the horizon, or until contained. */
  every: offset.optional(),
  /** What the scorecard calls it, e.g. "creates a backdoor key". */
  name: z.string().min(1).max(200),
  action: adversaryAction,
});

const inject = z
  .strictObject({
    at: offset,
    source: z.enum(alertSources),
    /** The alert as its source sends it (inline), or a file next to the scenario holding it. */
    alert: z.unknown().optional(),
    file: z.string().optional(),
    /** Repeat the alert this many times, `every` apart (an alert storm). */
    repeat: z.number().int().min(1).max(100_000).default(1),
    every: offset.optional(),
    /** Whether intake should route it to the drill's runbook; false for an alert the policy must drop (a Notice below its minSeverity). */
    routes: z.boolean().default(true),
  })
  .refine((i) => (i.alert === undefined) !== (i.file === undefined), { message: 'give the alert inline (alert) or as a file (file), not both' });

const decisionRule = z.strictObject({
  /** A step id, or `*` for every gate the responder is asked. */
  step: z.string().min(1),
  decision: z.enum(['approve', 'deny']),
  /** From the moment the request reached the responder (or the escalation, with `onEscalation`). */
  after: offset,
  reason: z.string().max(500).optional(),
  /** Answers only once the gate escalated to them. */
  onEscalation: z.boolean().default(false),
});

const responder = z.strictObject({
  id: principal,
  name: z.string().optional(),
  /** Never answers: the gate times out and its policy escalates. */
  unreachable: z.boolean().default(false),
  decide: z.array(decisionRule).default([]),
});

const fault = z.strictObject({
  /** The API: an AWS service (iam, sts, cloudtrail) and its operation (e.g. `UpdateAccessKey`, or `*`). */
  service: z.enum(['iam', 'sts', 'cloudtrail']),
  operation: z.string().min(1),
  error: z.enum(['throttled', 'unavailable', 'denied']),
  /** The share of calls that fail inside the window (seeded: a run is reproducible). */
  rate: z.number().min(0).max(1).default(1),
  from: offset.prefault('0s'),
  until: offset,
});

const worldCheck = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('access-keys-inactive'), user: name }),
  z.strictObject({ kind: z.literal('login-profile-deleted'), user: name }),
  z.strictObject({ kind: z.literal('role-sessions-revoked'), role: name }),
]);

const expectation = z.union([
  z.strictObject({ step: z.string().min(1), done: z.literal(true).default(true), within: offset.optional() }),
  z.strictObject({ step: z.string().min(1), notRun: z.literal(true) }),
  z.strictObject({ evidenceBeforeFirstChange: z.literal(true) }),
  z.strictObject({ evidence: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ world: worldCheck, negate: z.boolean().default(false) }),
  z.strictObject({ escalated: z.string().min(1) }),
  z.strictObject({ adversaryStoppedBy: offset }),
  z.strictObject({ noRealCalls: z.literal(true) }),
  z.strictObject({ rollbackRestores: z.literal(true) }),
]);

/** A threshold over the scorecard: `<= 20m`, `0`, `< 3`. */
const threshold = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const text = String(v).trim();
  const m = /^(<=|<|>=|>|==)?\s*(.+)$/.exec(text)!;
  const op = (m[1] ?? '<=') as '<=' | '<' | '>=' | '>' | '==';
  const raw = m[2]!;
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : parseDuration(raw);
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a threshold such as "<= 20m" or 0; got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return { op, value, text };
});

export const scenarioSchema = z
  .strictObject({
    version: z.literal(scenarioSchemaVersion),
    scenario: z.strictObject({
      name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a lowercase name such as leaked-ci-key'),
      title: z.string().min(1).max(200),
      /** The policy id under runbooks/ the drill runs. */
      runbook: z.string().min(1),
      description: z.string().optional(),
      attack: z.array(z.string().regex(/^T\d{4}(\.\d{3})?$/, 'expected an ATT&CK technique id such as T1078.004')).default([]),
      /** Seeds every random choice (fault rates): the same seed, the same run. */
      seed: z.number().int().default(1),
    }),
    horizon: offset,
    /** Approver groups of the policy (name → principals); the policy's gates name them. */
    groups: z.record(z.string(), z.array(principal)).default({}),
    world,
    adversary: z.array(adversaryStep).default([]),
    injects: z.array(inject).min(1),
    responders: z.array(responder).default([]),
    faults: z.array(fault).default([]),
    /** Roll the incident back at this time and score the world it leaves. */
    rollback: z
      .strictObject({
        at: offset,
        /** Who asks: the policy lets only the incident's requester or an approver roll back. */
        by: principal,
        reason: z.string().default('drill: rollback rehearsal'),
      })
      .optional(),
    expect: z.array(expectation).default([]),
    pass: z
      .strictObject({
        timeToFirstContainment: threshold.optional(),
        timeToFullContainment: threshold.optional(),
        adversaryActionsAfterAlert: threshold.optional(),
        missedExpectations: threshold.prefault(0),
        realCalls: threshold.prefault(0),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    for (const [i, e] of s.injects.entries()) {
      if (e.at > s.horizon) ctx.addIssue({ code: 'custom', path: ['injects', i, 'at'], message: 'the inject is after the horizon' });
    }
    for (const [i, a] of s.adversary.entries()) {
      if (a.at > s.horizon) ctx.addIssue({ code: 'custom', path: ['adversary', i, 'at'], message: 'the action is after the horizon' });
    }
    if (s.rollback !== undefined && s.rollback.at > s.horizon) {
      ctx.addIssue({ code: 'custom', path: ['rollback', 'at'], message: 'the rollback is after the horizon' });
    }
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type WorldSpec = Scenario['world'];
export type AdversaryAction = z.output<typeof adversaryAction>;
export type AdversaryStep = Scenario['adversary'][number];
export type Fault = Scenario['faults'][number];
export type WorldCheck = z.output<typeof worldCheck>;
export type Expectation = Scenario['expect'][number];
export type Responder = Scenario['responders'][number];
export type Threshold = z.output<typeof threshold>;
