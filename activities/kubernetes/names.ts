import { createHash } from 'node:crypto';

/** The label that marks a quarantined pod; its value names the incident. */
export const quarantineLabel = 'firebreak.io/quarantine';
/** The full incident id, on every object Firebreak marks (label values are too short for it). */
export const incidentAnnotation = 'firebreak.io/incident';
/** The labels removed from a pod to take it out of rotation, as JSON {incident, labels}. */
export const removedLabelsAnnotation = 'firebreak.io/removed-labels';
/** On a node Firebreak cordoned: the incident that set spec.unschedulable. */
export const cordonedByAnnotation = 'firebreak.io/cordoned-by';
/** Prefix of the per-incident annotation on a node held by incidents: incident.firebreak.io/<label value>. */
export const nodeIncidentPrefix = 'incident.firebreak.io/';
/** The IRSA annotation of a service account. */
export const irsaAnnotation = 'eks.amazonaws.com/role-arn';

/**
 * The incident id as a label value (at most 63 characters of [A-Za-z0-9._-],
 * starting and ending with a letter or digit): readable, and unique by a hash
 * suffix whenever the id had to be changed to fit.
 */
export function incidentLabelValue(incidentId: string): string {
  if (/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(incidentId)) return incidentId;
  const slug = incidentId.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 54).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  const hash = createHash('sha256').update(incidentId).digest('hex').slice(0, 8);
  return slug === '' ? `i-${hash}` : `${slug}-${hash}`;
}

/** The deny-all NetworkPolicy of an incident (one per incident, in the pod's namespace). */
export function quarantinePolicyName(incidentId: string): string {
  return `firebreak-quarantine-${incidentLabelValue(incidentId).toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 253).replace(/-+$/, '');
}

export function nodeIncidentAnnotation(incidentId: string): string {
  return `${nodeIncidentPrefix}${incidentLabelValue(incidentId)}`;
}

/** The shared ValidatingAdmissionPolicy and binding that deny blocked images (one for all incidents). */
export const blockPolicyName = 'firebreak-blocked-images';
/** The label that makes a ConfigMap a parameter of the block policy (the binding selects it). */
export const blockParamLabel = 'firebreak.io/block';
export const blockParamLabelValue = 'images';
/** On a block ConfigMap: the incident's label value, so one incident's entries are found and lifted alone. */
export const blockIncidentLabel = 'firebreak.io/incident';

/** Object names from an incident: `<prefix><incident label value>`, lowercased to a DNS subdomain. */
function incidentObjectName(prefix: string, incidentId: string): string {
  return `${prefix}${incidentLabelValue(incidentId).toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 253).replace(/-+$/, '');
}

/** The incident's block parameter ConfigMap, in the block namespace. */
export function blockConfigMapName(incidentId: string): string {
  return incidentObjectName('firebreak-block-', incidentId);
}

/** Per-incident annotation on a workload Firebreak scaled or suspended: JSON of what it was before. */
export function scaleAnnotation(incidentId: string): string {
  return `scale.firebreak.io/${incidentLabelValue(incidentId)}`;
}

/** Per-incident annotation on a workload Firebreak re-pinned: JSON {container: previous image}. */
export function repinAnnotation(incidentId: string): string {
  return `image.firebreak.io/${incidentLabelValue(incidentId)}`;
}
