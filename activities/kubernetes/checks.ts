/**
 * Two checks before a Kubernetes activity acts: the names it was given follow
 * Kubernetes' rules (refused before any request), and the object the API
 * server answered with is the one asked for. client-node builds paths with
 * encodeURIComponent, which leaves dots, and the URL parser resolves dot
 * segments: a pod named `..` is read as its Namespace, `.` as the pod list, a
 * node named `..` as the API's resource list. Single-object reads answer with
 * kind and apiVersion set, so a mismatch is visible.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import {
  containerNameProblem,
  dnsSubdomainProblem,
  imageDigestProblem,
  namespaceProblem,
  nodeNameProblem,
  podNameProblem,
  quoteName,
  type NameProblem,
} from '../../domain/names.ts';
import { kubeFailure } from './errors.ts';

/** The names an activity input may carry, each checked by its rule. */
export interface KubeNames {
  namespace?: string;
  pod?: string;
  node?: string;
  container?: string;
  /** Where the supply-chain block keeps its parameter ConfigMaps. */
  blockNamespace?: string;
}

const rules: Record<keyof KubeNames, (value: string) => NameProblem> = {
  namespace: namespaceProblem,
  pod: podNameProblem,
  node: nodeNameProblem,
  container: containerNameProblem,
  blockNamespace: namespaceProblem,
};

function namesProblem(input: KubeNames): NameProblem {
  for (const [field, rule] of Object.entries(rules)) {
    const value: unknown = (input as Record<string, unknown>)[field];
    if (value === undefined) continue;
    const problem = typeof value === 'string' ? rule(value) : `${field} is not a string`;
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Refuses a name that breaks its rule; a non-retryable failure, since the same name fails every time. */
export function refuseInvalidName(problem: NameProblem): void {
  if (problem === undefined) return;
  throw ApplicationFailure.create({
    type: kubeFailure.invalidName,
    nonRetryable: true,
    message: `Refused before any request to Kubernetes: ${problem}.`,
    details: [{ problem }],
  });
}

/** The activity boundary: the input, once its names are checked (defence in depth under the workflow's own check). */
export function named<T extends KubeNames>(input: T): T {
  refuseInvalidName(namesProblem(input));
  return input;
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

/** A workload reference: one of the five kinds, a valid namespace and object name. */
export function workloadProblem(w: unknown): NameProblem {
  if (typeof w !== 'object' || w === null) return 'workload is not an object';
  const { kind, namespace, name } = w as Record<string, unknown>;
  if (typeof kind !== 'string' || !workloadKinds.has(kind)) return `workload kind ${quoteName(String(kind))} is not one of ${[...workloadKinds].join(', ')}`;
  if (typeof namespace !== 'string') return 'workload namespace is not a string';
  if (typeof name !== 'string') return 'workload name is not a string';
  return namespaceProblem(namespace) ?? dnsSubdomainProblem(`${kind} name`, name);
}

/**
 * An image reference as a pod spec carries it: no whitespace or control
 * characters (it is compared verbatim and written into a ConfigMap line), at
 * most 4096 characters; a digest after `@` must be a valid one.
 */
export function imageReferenceProblem(value: unknown): NameProblem {
  if (typeof value !== 'string') return 'image reference is not a string';
  if (value === '' || value.length > 4096 || /[\s\p{Cc}]/u.test(value)) return `image reference ${quoteName(value)} is not valid: expected a non-empty reference without whitespace`;
  const at = value.indexOf('@');
  return at === -1 ? undefined : imageDigestProblem(value.slice(at + 1));
}

/** Digests and image references of a supply-chain input. */
export function imagesProblem(input: { digests?: unknown; images?: unknown }): NameProblem {
  for (const [field, rule] of [
    ['digests', imageDigestProblem],
    ['images', imageReferenceProblem],
  ] as const) {
    const values = input[field];
    if (values === undefined) continue;
    if (!Array.isArray(values)) return `${field} is not a list`;
    for (const v of values) {
      const problem = typeof v === 'string' ? rule(v) : `an entry of ${field} is not a string`;
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** What a read asked for. */
export interface Asked {
  kind: string;
  /** Omitted where the reference does not pin it (an ownerReference may name an older API version). */
  apiVersion?: string;
  name: string;
  /** Omitted for cluster-scoped objects, whose metadata has no namespace. */
  namespace?: string;
}

function describeAsked(a: Asked): string {
  return `${a.kind} ${a.namespace === undefined ? '' : `${a.namespace}/`}${a.name}`;
}

function describeGot(o: KubernetesObject): string {
  const ns = o.metadata?.namespace;
  const name = o.metadata?.name;
  return `${o.kind ?? '(no kind)'}${o.apiVersion === undefined ? '' : ` (${o.apiVersion})`}${name === undefined ? '' : ` ${ns === undefined ? '' : `${ns}/`}${name}`}`;
}

function unexpected(asked: string, got: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: kubeFailure.unexpectedObject,
    nonRetryable: true,
    message: `Asked Kubernetes for ${quoteName(asked)} and got ${quoteName(got)}: refusing to record or act on another object than the one asked for.`,
    details: [{ asked, got }],
  });
}

/** The object read, when it is the one asked for: same kind (and apiVersion when given), name and namespace. */
export function expectObject<T extends KubernetesObject>(object: T, asked: Asked): T {
  const m = object.metadata;
  const same =
    object.kind === asked.kind &&
    (asked.apiVersion === undefined || object.apiVersion === asked.apiVersion) &&
    m?.name === asked.name &&
    m.namespace === asked.namespace;
  if (!same) throw unexpected(describeAsked(asked), describeGot(object));
  return object;
}

/** The list read, when it is the list asked for: its kind, and (for a namespaced list) every item in that namespace. */
export function expectList<T extends KubernetesListObject<KubernetesObject>>(list: T, asked: { kind: string; namespace?: string }): T {
  const where = asked.namespace === undefined ? '' : ` in namespace ${asked.namespace}`;
  if (list.kind !== asked.kind) throw unexpected(`${asked.kind}${where}`, describeGot(list));
  if (asked.namespace !== undefined) {
    const stray = list.items.find((item) => item.metadata?.namespace !== asked.namespace);
    if (stray !== undefined) throw unexpected(`${asked.kind}${where}`, `${list.kind} holding ${describeGot(stray)}`);
  }
  return list;
}
