import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { kubeFailure } from '../../domain/failures.ts';

export { kubeFailure };

/** The HTTP status of a Kubernetes API error, or undefined for anything else (network, bugs). */
export function statusOf(e: unknown): number | undefined {
  return e instanceof ApiException ? e.code : undefined;
}

/** The API server's own explanation (its Status object's message), for the timeline. */
export function reasonOf(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = e.body;
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') message = parsed.message;
      } catch {
        message = body.trim().slice(0, 300) || undefined;
      }
    } else if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
      message = (body as { message: string }).message;
    }
    return `HTTP ${e.code}${message === undefined ? '' : `: ${message}`}`;
  }
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.name;
  return String(e);
}

/**
 * Turns an API error into a Temporal failure whose retryability comes from the
 * HTTP status: denied (403), unauthenticated (401), missing (404) and invalid
 * (400/422) requests never succeed on retry; throttling, server errors and
 * network failures may.
 */
export function toFailure(e: unknown, verb: string, resource: string, where: string): ApplicationFailure {
  const status = statusOf(e);
  const reason = reasonOf(e);
  const details = [{ verb, resource, where, status: status ?? null }];
  // Admission denials answer 403 too, but no permission is missing: say what denied it.
  if (status === 403 && /ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request|admission webhook "[^"]*" denied the request/.test(reason)) {
    return ApplicationFailure.create({
      type: kubeFailure.admissionDenied,
      nonRetryable: true,
      message: `Admission denied "${verb}" on "${resource}" ${where}: a policy of the cluster refused the object (not a missing permission). ${reason}`,
      details,
    });
  }
  if (status === 403) {
    return ApplicationFailure.create({
      type: kubeFailure.forbidden,
      nonRetryable: true,
      message: `Kubernetes denied verb "${verb}" on resource "${resource}" ${where}: the worker's identity lacks this permission. Grant it (deploy/kubernetes/rbac.yaml lists what the worker needs). ${reason}`,
      details,
    });
  }
  if (status === 401) {
    return ApplicationFailure.create({
      type: kubeFailure.unauthorized,
      nonRetryable: true,
      message: `Kubernetes rejected the worker's credentials for "${verb}" on "${resource}" ${where}: check KUBECONFIG. ${reason}`,
      details,
    });
  }
  if (status === 404) {
    return ApplicationFailure.create({ type: kubeFailure.notFound, nonRetryable: true, message: `"${verb}" ${resource} ${where}: not found. ${reason}`, details });
  }
  if (status === 400 || status === 422 || status === 415) {
    return ApplicationFailure.create({ type: kubeFailure.invalid, nonRetryable: true, message: `"${verb}" ${resource} ${where} was refused as invalid. ${reason}`, details });
  }
  if (status === 409) {
    return ApplicationFailure.create({ type: kubeFailure.conflict, nonRetryable: false, message: `"${verb}" ${resource} ${where} conflicted with a concurrent change. ${reason}`, details });
  }
  return ApplicationFailure.create({
    type: kubeFailure.unavailable,
    nonRetryable: false,
    message: `"${verb}" ${resource} ${where} failed: ${reason}`,
    details,
  });
}

/** Runs one API call, mapping its errors (except those `keep` lets through untouched) to typed failures. */
export async function call<T>(verb: string, resource: string, where: string, fn: () => Promise<T>, keep: readonly number[] = []): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const status = statusOf(e);
    if (status !== undefined && keep.includes(status)) throw e;
    throw toFailure(e, verb, resource, where);
  }
}
