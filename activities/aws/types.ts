/** Shared shapes of the AWS activities (workflows import these as types only). */
import type { ActionOutcome } from '../../domain/actions.ts';

export type AwsMode = 'live' | 'dry-run';

/** The IAM principal behind the compromised credentials. */
export interface Principal {
  kind: 'user' | 'role';
  name: string;
  arn?: string;
}

/** What triage found out, read-only: names and states, never secrets. */
export interface CredentialFacts {
  account?: string;
  accessKeyId?: string;
  /** `long-term` for AKIA… keys, `temporary` for ASIA… session keys. */
  keyType?: 'long-term' | 'temporary';
  /** Status of a long-term key when triage found it. */
  keyStatus?: 'Active' | 'Inactive';
  keyLastUsed?: { date?: string; service?: string; region?: string };
  principal?: Principal;
  /** What was looked for and not found (recorded; the incident continues with what exists). */
  notFound: string[];
}

/** Something the compromised credentials created or changed, read from CloudTrail evidence. */
export interface AttackerChange {
  kind: 'access-key' | 'user' | 'role' | 'attached-policy' | 'inline-policy' | 'trust-policy';
  eventName: string;
  eventTime: string;
  eventId: string;
  /** For access keys: the key and its user. */
  accessKeyId?: string;
  userName?: string;
  /** For users, roles, inline/attached policies and trust policies: the principal the change is on. */
  on?: { kind: 'user' | 'role' | 'group'; name: string };
  policyArn?: string;
  policyName?: string;
  /** For trust policies: the document before the attacker's change, when an earlier event in the window shows it. */
  previousDocument?: string;
}

/** What the workflow needs after evidence: states to restore from, never content beyond small documents. */
export interface CredentialEvidenceFacts {
  /** Access keys of the user at capture time. */
  keys: { accessKeyId: string; status: 'Active' | 'Inactive' }[];
  loginProfile: boolean;
  /** The AWSRevokeOlderSessions document in place at capture time, if any. */
  revokePolicy?: string;
  /** Trust policies of the roles evidence read (the target role and the roles the attacker changed), by role name. */
  trustPolicies: Record<string, string>;
  /** Inline policy documents the attacker put, as found at capture time, by `<kind>/<name>/<policy>`. */
  inlinePolicies: Record<string, string>;
  changes: AttackerChange[];
  /** The CloudTrail window evidence looked at (ISO). */
  window: { start: string; end: string };
}

/** The outcome of one containment call, as the engine records it. */
export interface AwsActionResult {
  outcome: ActionOutcome;
  detail: string;
}

/** The inline policy AWS's own "revoke active sessions" writes; Firebreak uses the same name. */
export const revokePolicyName = 'AWSRevokeOlderSessions';
/** The inline deny-all policy Firebreak puts on users and roles the attacker created. */
export const quarantinePolicyName = 'FirebreakQuarantine';

/** How long a session issued before a revocation may stay valid: roles 12 h (the longest role session), GetSessionToken 36 h. */
export const sessionValidityMs = { role: 12 * 3_600_000, user: 36 * 3_600_000 } as const;

/** The revoke policy document: deny everything to tokens issued before `notBefore`. */
export function revokePolicyDocument(notBefore: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: ['*'], Resource: ['*'], Condition: { DateLessThan: { 'aws:TokenIssueTime': notBefore } } }],
  });
}

/** The `aws:TokenIssueTime` bound of a revoke policy document, or undefined if it is not one. */
export function revokeTimeOf(document: string): string | undefined {
  try {
    const doc = JSON.parse(document) as { Statement?: { Effect?: string; Condition?: { DateLessThan?: Record<string, unknown> } }[] | { Condition?: { DateLessThan?: Record<string, unknown> } } };
    const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement === undefined ? [] : [doc.Statement];
    for (const s of statements) {
      const t = s.Condition?.DateLessThan?.['aws:TokenIssueTime'];
      if (typeof t === 'string') return t;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
