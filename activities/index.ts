import { createAwsActivities, createSupplyChainAwsActivities, type AwsDeps } from './aws/index.ts';
import { createCiActivities } from './ci/index.ts';
import { createEvidenceActivities, type EvidenceStore } from './evidence/index.ts';
import { createKubernetesActivities } from './kubernetes/index.ts';
import { createNotifyActivities, type Notifier } from './notify.ts';
import { createPreflightActivities, type PreflightDeps } from './preflight.ts';
import { createRegistryActivities, type RegistryDeps } from './registry/index.ts';

export type { EvidenceRef, EvidenceStore } from './evidence/index.ts';
export type { Notice, NoticeReceipt, Notifier } from './notify.ts';
export type { ReachCheck } from './preflight.ts';

/** Every client an activity may use; the worker wires real ones, drills a simulated world. */
export type ActivityDeps = PreflightDeps & { notifier: Notifier; evidence: EvidenceStore } & Omit<AwsDeps, 'sts' | 'evidence'> & Omit<RegistryDeps, 'evidence' | 'ecr'>;

/** Builds every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreflightActivities(deps),
    ...createNotifyActivities(deps),
    ...createEvidenceActivities(deps.evidence),
    ...createKubernetesActivities(deps),
    ...createAwsActivities(deps),
    ...createSupplyChainAwsActivities(deps),
    ...createRegistryActivities(deps),
    ...createCiActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
