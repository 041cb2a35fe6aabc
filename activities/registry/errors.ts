/**
 * Failures of the registry activities, by type: retryable or not is decided
 * here by what the registry answered, never by message text.
 */
import { ApplicationFailure } from '@temporalio/common';
import { engineFailure } from '../../domain/failures.ts';

export const registryFailure = {
  /** Network error, timeout, HTTP 5xx or 429: retried. */
  unavailable: 'RegistryUnavailable',
  /** HTTP 401/403: the worker's registry credentials lack the permission. */
  refused: 'RegistryRefused',
  /** Another 4xx, or content that is not what was asked for. */
  invalid: 'RegistryInvalid',
  /** The registry does not allow deleting (distribution: storage.delete.enabled is false). */
  unsupported: 'RegistryUnsupported',
  /** A registry URL, repository, tag or digest in the input breaks the OCI grammar: refused before any request. */
  invalidName: 'RegistryInvalidName',
  invalidTarget: engineFailure.invalidTarget,
  rollbackUnsafe: engineFailure.rollbackUnsafe,
} as const;

export type RegistryFailureType = (typeof registryFailure)[keyof typeof registryFailure];

export function failure(type: RegistryFailureType, message: string, details: Record<string, unknown> = {}): ApplicationFailure {
  const retryable = type === registryFailure.unavailable;
  return ApplicationFailure.create({ type, nonRetryable: !retryable, message, details: [details] });
}

/** The failure for a registry answer that is not a success the caller handles itself. */
export function httpFailure(verb: string, url: string, status: number): ApplicationFailure {
  const details = { verb, url, status };
  if (status === 401 || status === 403) {
    return failure(
      registryFailure.refused,
      `The registry refused ${verb} ${url} (HTTP ${status}): the worker's registry credentials lack this permission. Grant it (pull for reads; push and delete for untag and restore), then retry the step.`,
      details,
    );
  }
  if (status === 429 || status >= 500) return failure(registryFailure.unavailable, `The registry answered ${verb} ${url} with HTTP ${status}; retrying with backoff.`, details);
  if (status === 405 && verb === 'DELETE') {
    return failure(
      registryFailure.unsupported,
      `The registry does not allow ${verb} ${url} (HTTP 405): enable deletes (distribution: storage.delete.enabled: true), or make the tag immutable instead.`,
      details,
    );
  }
  return failure(registryFailure.invalid, `The registry refused ${verb} ${url} as invalid (HTTP ${status}).`, details);
}
