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
  /** An ECR repository name. */
  repository?: string;
  /** A Secrets Manager secret: name or ARN. */
  secretId?: string;
  secretIds?: string[];
  /** Secrets Manager version ids. */
  versionId?: string;
  previousVersionId?: string;
  /** A KMS key: key id, alias name, or key or alias ARN. */
  keyId?: string;
}

// ECR's own pattern for repository names (CreateRepository's repositoryName).
const ecrRepository = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
// Secrets Manager allows these in a name; an ARN ends in `secret:<name>`.
const secretName = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const secretArn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;
const versionIdPattern = /^[A-Za-z0-9-]{32,64}$/;
const kmsKey = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias\/[A-Za-z0-9/_-]{1,250})$/;
const kmsArn = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})|alias\/[A-Za-z0-9/_-]{1,250})$/;

export function ecrRepositoryProblem(name: string): NameProblem {
  if (name.length < 2 || name.length > 256 || !ecrRepository.test(name)) return `ECR repository ${JSON.stringify(name.slice(0, 300))} is not a repository name (lower-case path components such as shop/storefront, 2-256 characters)`;
  return undefined;
}

export function secretIdProblem(id: string): NameProblem {
  if (id.startsWith('arn:') ? !secretArn.test(id) : !secretName.test(id)) return `secret ${JSON.stringify(id.slice(0, 600))} is not a Secrets Manager secret name or ARN`;
  return undefined;
}

export function secretVersionIdProblem(id: string): NameProblem {
  return versionIdPattern.test(id) ? undefined : `version ${JSON.stringify(id.slice(0, 80))} is not a Secrets Manager version id`;
}

export function kmsKeyIdProblem(id: string): NameProblem {
  if (id.startsWith('arn:') ? !kmsArn.test(id) : !kmsKey.test(id)) return `KMS key ${JSON.stringify(id.slice(0, 300))} is not a key id, alias/<name>, or key or alias ARN`;
  return undefined;
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
    string('facts.accessKeyId', input.facts?.accessKeyId, accessKeyIdProblem) ??
    string('repository', input.repository, ecrRepositoryProblem) ??
    string('secretId', input.secretId, secretIdProblem) ??
    (input.secretIds === undefined
      ? undefined
      : Array.isArray(input.secretIds)
        ? input.secretIds.reduce<NameProblem>((p, id) => p ?? string('secretIds[]', id, secretIdProblem), undefined)
        : 'secretIds is not a list') ??
    string('versionId', input.versionId, secretVersionIdProblem) ??
    string('previousVersionId', input.previousVersionId, secretVersionIdProblem) ??
    string('keyId', input.keyId, kmsKeyIdProblem)
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
