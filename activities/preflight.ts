import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { KubeClients } from './kubernetes/index.ts';

/** What one dependency answered when the worker tried to reach it. */
export interface ReachCheck {
  system: 'kubernetes' | 'aws';
  ok: boolean;
  /** Who the worker is on that system (user, ARN), when it could tell. */
  identity?: string;
  /** What was reached, e.g. the API server URL or AWS account id. */
  target: string;
  /** When not ok: what failed and what to do. */
  problem?: string;
}

export interface PreflightDeps {
  kube: KubeClients | undefined;
  sts: STSClient | undefined;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.name;
  return String(e);
}

/**
 * Read-only checks that the worker can reach the systems it acts on. They never
 * throw for an unreachable system: the report says what failed and what to fix.
 */
export function createPreflightActivities(deps: PreflightDeps) {
  return {
    async checkKubernetes(): Promise<ReachCheck> {
      if (deps.kube === undefined) {
        return { system: 'kubernetes', ok: false, target: '(none)', problem: 'No cluster is configured: set KUBECONFIG.' };
      }
      const target = deps.kube.config.getCurrentCluster()?.server ?? '(unknown server)';
      try {
        await deps.kube.core.listNamespace({ limit: 1 });
        const review = await deps.kube.authz.createSelfSubjectRulesReview({
          body: { spec: { namespace: 'default' } },
        });
        const rules = review.status?.resourceRules.length ?? 0;
        return { system: 'kubernetes', ok: true, target, identity: `${deps.kube.config.getCurrentUser()?.name ?? '?'} (${rules} RBAC rules in default)` };
      } catch (e) {
        return {
          system: 'kubernetes',
          ok: false,
          target,
          problem: `${describeError(e)}. Check that the API server is reachable and that KUBECONFIG's current context has credentials.`,
        };
      }
    },

    async checkAws(): Promise<ReachCheck> {
      if (deps.sts === undefined) {
        return { system: 'aws', ok: false, target: '(none)', problem: 'No AWS client is configured.' };
      }
      try {
        const who = await deps.sts.send(new GetCallerIdentityCommand({}));
        return { system: 'aws', ok: true, target: `account ${who.Account ?? '?'}`, identity: who.Arn ?? '?' };
      } catch (e) {
        return {
          system: 'aws',
          ok: false,
          target: await deps.sts.config.region(),
          problem: `${describeError(e)}. Check AWS credentials (the default provider chain) and AWS_REGION.`,
        };
      }
    },
  };
}
