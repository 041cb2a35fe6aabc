/**
 * Routing: which runbooks an alert starts (their policies' `triggers`), under
 * which correlation key, with which targets, and which steps its policy lets
 * run without waiting for a human (`autoContain`). Pure: no I/O, so
 * `firebreak route` and the server decide alike.
 */
import { awsAccountIdProblem, dnsLabelProblem, namespaceProblem, podNameProblem, targetIdProblem } from '../../domain/names.ts';
import type { IncidentInput, Mode, Target, TriggerInfo } from '../../workflows/engine/types.ts';
import { correlationKeyForTargets, incidentIdFor } from '../incidents/ids.ts';
import type { AlertMatcher, RunbookPolicy } from '../runbooks/schema.ts';
import { severityRank, type Alert } from './alert.ts';

/** Exact names, or a prefix ending in `*` (e.g. `Execution:Runtime/*`). */
function nameMatches(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

/** Whether an alert satisfies a matcher: every field the matcher gives must hold. */
export function matches(alert: Alert, m: AlertMatcher): boolean {
  if (m.source !== alert.source) return false;
  if (m.rules !== undefined && !nameMatches(m.rules, alert.rule)) return false;
  if (m.findingTypes !== undefined && !(alert.source === 'guardduty' && nameMatches(m.findingTypes, alert.rule))) return false;
  if (m.minSeverity !== undefined && severityRank(alert.severity) < severityRank(m.minSeverity)) return false;
  if (m.labels !== undefined && !Object.entries(m.labels).every(([k, v]) => alert.labels[k] === v)) return false;
  return true;
}

/**
 * The correlation key: alerts with the same key join the same incident of a
 * runbook. Most specific entity first: a pod (cluster + namespace + pod), an
 * AWS principal (account + principal, or its access key), a node, an image;
 * otherwise the source and rule. A generic alert may set its own.
 */
export function correlationKeyFor(alert: Alert): string {
  if (alert.correlationKey !== undefined) return alert.correlationKey;
  return correlationKeyForTargets(entityTargets(alert)) ?? `${alert.source}:${alert.rule}`;
}

function attributes(pairs: Record<string, string | undefined>): { attributes?: Record<string, string> } {
  const a = Object.fromEntries(Object.entries(pairs).filter((kv): kv is [string, string] => kv[1] !== undefined));
  return Object.keys(a).length === 0 ? {} : { attributes: a };
}

/** What the incident acts on, from the alert's entities. */
export function targetsFor(alert: Alert): Target[] {
  const targets = entityTargets(alert);
  if (targets.length === 0) targets.push({ kind: 'other', id: correlationKeyFor(alert) });
  return targets;
}

function entityTargets(alert: Alert): Target[] {
  const e = alert.entities;
  const targets: Target[] = [];
  if (e.pod !== undefined) {
    targets.push({
      kind: 'pod',
      id: `${e.namespace ?? 'default'}/${e.pod}`,
      ...attributes({ cluster: e.cluster, container: e.container, image: e.image, node: e.node }),
    });
  }
  if (e.node !== undefined) targets.push({ kind: 'node', id: e.node, ...attributes({ cluster: e.cluster }) });
  if (e.accessKey !== undefined) {
    targets.push({ kind: 'access-key', id: e.accessKey, ...attributes({ account: e.account, principal: e.principal, region: e.region }) });
  }
  if (e.principal !== undefined && (e.accessKey !== undefined || e.account !== undefined)) {
    const role = alert.labels.userType === 'AssumedRole' || alert.labels.userType === 'Role';
    targets.push({ kind: role ? 'role' : 'iam-user', id: e.principal, ...attributes({ account: e.account }) });
  }
  // An image not running in a named pod (an Inspector finding about an ECR image): the account and region say whose registry.
  if (e.image !== undefined && e.pod === undefined) targets.push({ kind: 'image', id: e.image, ...attributes({ account: e.account, region: e.region }) });
  for (const purl of e.packages ?? []) targets.push({ kind: 'package', id: purl });
  if (targets.length === 0 && e.namespace !== undefined) targets.push({ kind: 'namespace', id: e.namespace, ...attributes({ cluster: e.cluster }) });
  return targets;
}

/**
 * What is wrong with the names an alert would hand a runbook, each by the rule
 * of the system it names: every target (pod, node, namespace, access key, IAM
 * user or role), the pod's container, the namespace, and the account of an AWS
 * target. Empty when all are valid. A name is refused, never repaired: a pod
 * named `..` would resolve to its namespace's URL.
 */
export function nameProblems(alert: Alert): string[] {
  const e = alert.entities;
  const targets = entityTargets(alert);
  const aws = targets.some((t) => t.kind === 'access-key' || t.kind === 'iam-user' || t.kind === 'role');
  const problems = [
    e.namespace === undefined ? undefined : namespaceProblem(e.namespace),
    // The pod target's id is namespace/pod: each part checked on its own says which is wrong.
    e.pod === undefined ? undefined : podNameProblem(e.pod),
    e.pod !== undefined && e.container !== undefined ? dnsLabelProblem('container name', e.container) : undefined,
    aws && e.account !== undefined ? awsAccountIdProblem(e.account) : undefined,
    ...targets.filter((t) => t.kind !== 'pod').map((t) => targetIdProblem(t.kind, t.id)),
  ];
  return [...new Set(problems.filter((p): p is string => p !== undefined))];
}

/** Why an alert with `problems` is not routed: invalid, about nothing a runbook acts on, or (otherwise) a name breaking its rule. */
export function unroutedReasonOf(alert: Alert): 'invalid-alert' | 'unsupported-finding' | 'invalid-name' {
  if (alert.invalidAlert === true) return 'invalid-alert';
  if (alert.unsupported === true) return 'unsupported-finding';
  return 'invalid-name';
}

/** The alert as the incident records it (no raw payload: workflow inputs stay small). */
export function triggerFor(alert: Alert): TriggerInfo {
  return {
    source: alert.source,
    alertId: alert.id,
    rule: alert.rule,
    severity: alert.severity,
    summary: alert.summary.length > 1000 ? `${alert.summary.slice(0, 999)}…` : alert.summary,
    receivedAt: alert.receivedAt,
  };
}

export interface Route {
  policy: RunbookPolicy;
  correlationKey: string;
  incidentId: string;
  /** Steps whose gates the policy's `autoContain` lifts for this alert; empty when a human decides. */
  autoContainSteps: string[];
  targets: Target[];
}

/**
 * Every runbook whose triggers match the alert, in the order the policies are
 * given; none when a name is invalid. `mode` is part of the incident's
 * identity: a dry-run intake opens dry-run incidents, never joins live ones.
 */
export function routeAlert(alert: Alert, policies: readonly RunbookPolicy[], mode: Mode = 'live'): Route[] {
  // Checked here too, not only at normalisation: the outbox may hold alerts normalised before the check existed.
  if (alert.problems !== undefined || nameProblems(alert).length > 0) return [];
  const correlationKey = correlationKeyFor(alert);
  return policies
    .filter((p) => p.triggers.some((t) => matches(alert, t)))
    .map((policy) => ({
      policy,
      correlationKey,
      incidentId: incidentIdFor(policy.id, correlationKey, mode),
      autoContainSteps: [...new Set(policy.autoContain.filter((r) => matches(alert, r.when)).flatMap((r) => r.steps))],
      targets: targetsFor(alert),
    }));
}

/** The workflow input for a routed alert (without the incident id, which the correlation key gives). */
export function incidentInputFor(
  alert: Alert,
  route: Route,
  o: { groups: Record<string, string[]>; mode: IncidentInput['mode'] },
): Omit<IncidentInput, 'incidentId'> {
  return {
    policy: route.policy,
    groups: o.groups,
    // Nobody asked: the alert did. No human is barred from approving as the requester.
    requester: `alert:${alert.source}`,
    mode: o.mode,
    trigger: triggerFor(alert),
    targets: route.targets,
    ...(route.autoContainSteps.length === 0 ? {} : { autoContainSteps: route.autoContainSteps }),
  };
}
