/**
 * The closed sets every layer names, defined once: the CLI, Slack, intake,
 * the runbook schema and the workflow types all derive theirs from these.
 */

/** Sources intake accepts alerts from (`POST /alerts/<source>`). */
export const alertSources = ['falco', 'guardduty', 'alertmanager', 'generic', 'inspector'] as const;
export type AlertSource = (typeof alertSources)[number];

/** Everything that can start or join an incident: the alert sources, and people or drills. */
export const triggerSources = [...alertSources, 'slack', 'cli', 'drill'] as const;
export type TriggerSource = (typeof triggerSources)[number];

/** Severities, lowest first: `minSeverity` and auto-containment compare by this order. */
export const severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export function severityRank(s: Severity): number {
  return severities.indexOf(s);
}

/** Every kind of target, as `--target kind:id` and the start request name them. */
export const targetKinds = ['pod', 'node', 'namespace', 'iam-user', 'access-key', 'role', 'image', 'package', 'action', 'advisory', 'other'] as const;
export type TargetKind = (typeof targetKinds)[number];

export const modes = ['live', 'dry-run'] as const;
export type Mode = (typeof modes)[number];
