import { createAwsActivities, createSupplyChainAwsActivities, type AwsDeps } from './aws/index.ts';
import { createCiActivities } from './ci/index.ts';
import { createEvidenceActivities, type EvidenceStore } from './evidence/index.ts';
import { createKubernetesActivities } from './kubernetes/index.ts';
import { createNotifyActivities, type Notifier } from './notify.ts';
import { createPreflightActivities, type PreflightDeps } from './preflight.ts';
import { createRegistryActivities, type RegistryDeps } from './registry/index.ts';
import { createSupplyChainActivities, defaultScope, type SupplyChainScope } from './supply-chain/index.ts';
import type { S3Client } from '@aws-sdk/client-s3';

export type { EvidenceRef, EvidenceStore } from './evidence/index.ts';
export type { Notice, NoticeReceipt, Notifier } from './notify.ts';
export type { ReachCheck } from './preflight.ts';

/** Every client an activity may use; the worker wires real ones, drills a simulated world. */
export type ActivityDeps = PreflightDeps & { notifier: Notifier; evidence: EvidenceStore } & Omit<AwsDeps, 'sts' | 'evidence'> & Omit<RegistryDeps, 'evidence' | 'ecr'> & {
    /** Where the supply-chain runbook looks (FIREBREAK_SUPPLY_CHAIN_SCOPE); only the cluster when absent. */
    supplyChainScope?: SupplyChainScope;
    /** Reads SBOMs from an S3 prefix of the scope. */
    sbomS3?: S3Client | undefined;
  };

/** Builds every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  const ci = createCiActivities(deps);
  return {
    ...createPreflightActivities(deps),
    ...createNotifyActivities(deps),
    ...createEvidenceActivities(deps.evidence),
    ...createKubernetesActivities(deps),
    ...createAwsActivities(deps),
    ...createSupplyChainAwsActivities(deps),
    ...createRegistryActivities(deps),
    ...ci,
    ...createSupplyChainActivities({
      scope: deps.supplyChainScope ?? defaultScope,
      evidence: deps.evidence,
      s3: deps.sbomS3,
      findWorkflowUses: ci.findWorkflowUses,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
