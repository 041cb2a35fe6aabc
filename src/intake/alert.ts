/**
 * The one shape every alert source is normalised to. Routing, correlation and
 * the incident's trigger are computed from it; `raw` keeps the payload exactly
 * as the source sent it, as evidence.
 */
import type { AlertSource, Severity } from '../../domain/vocabulary.ts';

export { alertSources, severityRank, type AlertSource, type Severity } from '../../domain/vocabulary.ts';

/** What an alert is about, as far as its source says. Every field is optional. */
export interface AlertEntities {
  cluster?: string;
  namespace?: string;
  pod?: string;
  container?: string;
  node?: string;
  image?: string;
  account?: string;
  region?: string;
  /** The IAM principal (user or role name) or Kubernetes user involved. */
  principal?: string;
  accessKey?: string;
  /**
   * Packages the alert names (an Inspector finding's vulnerable packages): a
   * purl where the package manager has a purl type, name@version otherwise.
   */
  packages?: string[];
}

/** The entities that are one name each (all but `packages`). */
type NameEntity = Exclude<keyof AlertEntities, 'packages'>;

export interface Alert {
  source: AlertSource;
  /** The source's id of the alert (Falcosidekick uuid, finding id, fingerprint, …) or a content hash. */
  id: string;
  /** When the source says the alert happened (ISO 8601). */
  time: string;
  /** When Firebreak received it (ISO 8601). */
  receivedAt: string;
  /** `resolved` only for sources that say so (Alertmanager, generic). */
  status: 'firing' | 'resolved';
  severity: Severity;
  /** Falco rule, GuardDuty finding type, Alertmanager alertname, generic rule. */
  rule: string;
  summary: string;
  /** Labels that policies can match (Alertmanager labels, generic labels, Falco tags as `tag:<name>`). */
  labels: Record<string, string>;
  entities: AlertEntities;
  /** A correlation key the sender chose (generic alerts only); otherwise derived from the entities. */
  correlationKey?: string;
  /** The payload as received (for Alertmanager: the one alert of the group; the group's fields are in `shared`). */
  raw: unknown;
  /**
   * Fields every alert of the request shares (Alertmanager's receiver,
   * groupLabels, commonLabels, commonAnnotations, externalURL…): the same
   * object for each, stored once per request.
   */
  shared?: Record<string, unknown>;
  /**
   * One firing of the alert, for sources that resend what they already sent
   * (Alertmanager: fingerprint + startsAt, on every group notification and
   * repeat interval). A resend is the same firing and is counted once; a new
   * startsAt is a new firing.
   */
  occurrence?: string;
  /**
   * Why the alert must not be routed, set at normalisation: names that break
   * their system's rule (a pod named `..`, an access key id that is not one).
   * Such an alert is stored as unrouted with these reasons, never routed.
   */
  problems?: string[];
  /**
   * Set with `problems` when the alert itself is invalid (an Alertmanager alert
   * without `alertname`): its group's valid alerts are still accepted, and this
   * one is stored as unrouted (`invalid-alert`) instead of refusing them all.
   */
  invalidAlert?: true;
  /**
   * Set with `problems` when the alert is valid but about nothing a runbook
   * acts on (an Inspector code-vulnerability or network-reachability finding,
   * or one about no ECR image): stored as unrouted (`unsupported-finding`)
   * with the reason, never routed.
   */
  unsupported?: true;
}

/** Drops undefined and empty values so entities only list what is known. */
export function compactEntities(e: { [K in NameEntity]?: string | null | undefined }): AlertEntities {
  const out: AlertEntities = {};
  for (const [k, v] of Object.entries(e)) {
    if (typeof v === 'string' && v.trim() !== '') out[k as NameEntity] = v.trim();
  }
  return out;
}

/** The alert without the fields its request shares (stored once per request, see RequestLine). */
export function withoutShared(alert: Alert): Alert {
  const { shared: _shared, ...own } = alert;
  return own;
}
