import { ApplicationFailure } from '@temporalio/common';
import { awsFailure } from '../../domain/failures.ts';

export { awsFailure };

const denied = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess', 'NotAuthorized']);
const throttled = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled', 'SlowDown']);
// ECR, Secrets Manager and KMS name a missing repository, image, secret or key each their own way.
const notFound = new Set(['NoSuchEntity', 'NoSuchEntityException', 'RepositoryNotFoundException', 'ImageNotFoundException', 'ResourceNotFoundException', 'NotFoundException']);
const invalid = new Set([
  'MalformedPolicyDocument',
  'MalformedPolicyDocumentException',
  'InvalidInput',
  'InvalidInputException',
  'ValidationError',
  'LimitExceeded',
  'LimitExceededException',
  'InvalidLookupAttributesException',
  'InvalidTimeRangeException',
  'InvalidNextTokenException',
  'InvalidMaxResultsException',
  'UnmodifiableEntity',
  'SerializationException',
  'InvalidParameterException',
  'InvalidRequestException',
  'InvalidParameterValueException',
  'KMSInvalidStateException',
  'DisabledException',
  'ResourceExistsException',
]);

/** The AWS error code of an SDK error (the SDK names its exceptions by code), or undefined. */
export function codeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const withMeta = e as { name?: unknown; Code?: unknown; $metadata?: unknown };
  if (withMeta.$metadata === undefined) return undefined;
  return typeof withMeta.Code === 'string' ? withMeta.Code : typeof withMeta.name === 'string' ? withMeta.name : undefined;
}

function statusOf(e: unknown): number | undefined {
  const meta = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

function reasonOf(e: unknown): string {
  if (e instanceof Error) return (e.message.split('\n')[0] ?? e.name).slice(0, 500);
  return String(e);
}

export function isNotFound(e: unknown): boolean {
  const code = codeOf(e);
  return code !== undefined && notFound.has(code);
}

/**
 * Turns an AWS SDK error into a Temporal failure whose retryability comes from
 * the error code: denied, missing and invalid requests never succeed on
 * retry; throttling, server errors and network failures may. `action` is the
 * IAM action (`iam:UpdateAccessKey`), `resource` what it was called on.
 */
export function toAwsFailure(e: unknown, action: string, resource: string): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  const code = codeOf(e);
  const status = statusOf(e);
  const reason = reasonOf(e);
  const details = [{ action, resource, code: code ?? null, status: status ?? null }];
  if (code !== undefined && denied.has(code)) {
    return ApplicationFailure.create({
      type: awsFailure.accessDenied,
      nonRetryable: true,
      message: `AWS denied ${action} on ${resource}: the worker's identity lacks this permission. Grant it (deploy/aws/firebreak-worker-policy.json lists what the worker needs), then retry the step. (${code})`,
      details,
    });
  }
  if (code !== undefined && throttled.has(code)) {
    return ApplicationFailure.create({
      type: awsFailure.throttled,
      nonRetryable: false,
      message: `AWS throttled ${action} on ${resource}; retrying with backoff. (${code})`,
      details,
    });
  }
  if (code !== undefined && notFound.has(code)) {
    return ApplicationFailure.create({ type: awsFailure.notFound, nonRetryable: true, message: `${action} on ${resource}: not found. ${reason}`, details });
  }
  if ((code !== undefined && invalid.has(code)) || (status !== undefined && status >= 400 && status < 500 && status !== 429)) {
    return ApplicationFailure.create({
      type: awsFailure.invalid,
      nonRetryable: true,
      message: `AWS refused ${action} on ${resource} as invalid: ${reason}${code === undefined ? '' : ` (${code})`}`,
      details,
    });
  }
  return ApplicationFailure.create({
    type: awsFailure.unavailable,
    nonRetryable: false,
    message: `${action} on ${resource} failed: ${reason}${code === undefined ? '' : ` (${code})`}`,
    details,
  });
}

/** Runs one AWS call, mapping its errors to typed failures (`keepNotFound` lets NoSuchEntity through untouched). */
export async function aws<T>(action: string, resource: string, fn: () => Promise<T>, opts: { keepNotFound?: boolean } = {}): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (opts.keepNotFound === true && isNotFound(e)) throw e;
    throw toAwsFailure(e, action, resource);
  }
}

/** Runs one AWS read, answering undefined when the entity does not exist. */
export async function orMissing<T>(action: string, resource: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await aws(action, resource, fn, { keepNotFound: true });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
