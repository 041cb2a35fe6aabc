/**
 * The AWS activities' boundary: every IAM name, key id and ARN an input carries
 * is checked against IAM's rule before any call, so a crafted name is refused
 * with a typed failure instead of reaching IAM (or an evidence file name).
 * Defence in depth under the workflow's check of its targets.
 */
import { ApplicationFailure } from '@temporalio/common';
import { accessKeyIdProblem, iamNameProblem, iamPrincipalProblem, policyArnProblem, type NameProblem } from '../../domain/names.ts';
import { awsFailure } from './errors.ts';

type Holder = { kind: string; name: string; arn?: string };

/** The names an AWS activity input may carry. */
export interface AwsNames {
  userName?: string;
  roleName?: string;
  accessKeyId?: string;
  policyName?: string;
  policyArn?: string;
  /** A policy holder: user, role or group. */
  on?: Holder;
  /** The principal behind the credentials: user or role. */
  principal?: Holder;
  /** Triage's findings, passed on to evidence capture. */
  facts?: { principal?: Holder; accessKeyId?: string };
}

function holderProblem(what: string, h: Holder, kinds: readonly string[]): NameProblem {
  if (typeof h !== 'object' || h === null || !kinds.includes(h.kind) || typeof h.name !== 'string') {
    return `${what} is not {"kind": ${kinds.map((k) => `"${k}"`).join(' | ')}, "name": string}`;
  }
  const kind = h.kind as 'user' | 'role' | 'group';
  const problem = iamNameProblem(kind, h.name);
  if (problem !== undefined) return problem;
  if (h.arn !== undefined && kind !== 'group') return iamPrincipalProblem(kind, h.arn);
  return undefined;
}

function string(what: string, value: unknown, rule: (v: string) => NameProblem): NameProblem {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? rule(value) : `${what} is not a string`;
}

/** The first problem with the names of an input, or undefined. */
export function awsNamesProblem(input: AwsNames): NameProblem {
  return (
    string('userName', input.userName, (v) => iamNameProblem('user', v)) ??
    string('roleName', input.roleName, (v) => iamNameProblem('role', v)) ??
    string('accessKeyId', input.accessKeyId, accessKeyIdProblem) ??
    string('policyName', input.policyName, (v) => iamNameProblem('policy', v)) ??
    string('policyArn', input.policyArn, policyArnProblem) ??
    (input.on === undefined ? undefined : holderProblem('on', input.on, ['user', 'role', 'group'])) ??
    (input.principal === undefined ? undefined : holderProblem('principal', input.principal, ['user', 'role'])) ??
    (input.facts?.principal === undefined ? undefined : holderProblem('facts.principal', input.facts.principal, ['user', 'role'])) ??
    string('facts.accessKeyId', input.facts?.accessKeyId, accessKeyIdProblem)
  );
}

/** A non-retryable failure for a name that breaks IAM's rule: the same name fails every time. */
export function invalidName(problem: string): ApplicationFailure {
  return ApplicationFailure.create({ type: awsFailure.invalidName, nonRetryable: true, message: `Refused before any call to AWS: ${problem}.`, details: [{ problem }] });
}

/** The activity boundary: the input, once its names are checked. */
export function named<T extends AwsNames>(input: T): T {
  const problem = awsNamesProblem(input);
  if (problem !== undefined) throw invalidName(problem);
  return input;
}
