import { proxyActivities } from '@temporalio/workflow';
import type { Activities, ReachCheck } from '../activities/index.ts';

const { checkKubernetes, checkAws } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

export interface PreflightReport {
  ok: boolean;
  checks: ReachCheck[];
}

/**
 * Checks, through the worker's own activities and credentials, that it can
 * reach every system a runbook acts on. Run by `firebreak doctor`.
 */
export async function preflight(): Promise<PreflightReport> {
  const checks = await Promise.all([checkKubernetes(), checkAws()]);
  return { ok: checks.every((c) => c.ok), checks };
}
