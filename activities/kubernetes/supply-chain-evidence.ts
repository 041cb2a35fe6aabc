/**
 * Preserve step of a supply-chain incident: the affected pods and workload
 * objects as found now, and the Firebreak block objects already in place,
 * sealed in a few items (one per kind of thing, not one per pod) with
 * namespace-wide list calls, so thousands of pods make a handful of requests.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { sealItem, type EvidenceStore, type SealedItem as EvidenceRefSummary } from '../evidence/index.ts';
import type { AdmissionBlock } from './admission.ts';
import { expectList, expectObject } from './checks.ts';
import { call, reasonOf, statusOf } from './errors.ts';
import { blockPolicyName } from './names.ts';
import type { KubeClients, WorkloadKind, WorkloadRef } from './types.ts';
import { workloadResource } from './writes.ts';

export type { SealedItem as EvidenceRefSummary } from '../evidence/index.ts';

export interface SupplyChainCaptureInput {
  incidentId: string;
  pods: { namespace: string; pod: string }[];
  workloads: WorkloadRef[];
  blockNamespace: string;
}

const pageSize = 500;

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export class SupplyChainEvidence {
  constructor(
    private readonly kube: KubeClients,
    private readonly store: EvidenceStore,
    private readonly block: AdmissionBlock,
  ) {}

  async capture(input: SupplyChainCaptureInput): Promise<{ refs: EvidenceRefSummary[] }> {
    const podsByNs = group(input.pods.map((p) => ({ namespace: p.namespace, name: p.pod, kind: 'Pod' as const })));
    const workloadsByKey = group(input.workloads.map((w) => ({ namespace: w.namespace, name: w.name, kind: w.kind })));
    const { core, apps, batch, admission } = this.kube;
    const lists: Record<'Pod' | WorkloadKind, (p: { namespace: string; limit: number; _continue?: string }) => Promise<KubernetesListObject<KubernetesObject>>> = {
      Pod: (p) => core.listNamespacedPod(p),
      Deployment: (p) => apps.listNamespacedDeployment(p),
      StatefulSet: (p) => apps.listNamespacedStatefulSet(p),
      DaemonSet: (p) => apps.listNamespacedDaemonSet(p),
      Job: (p) => batch.listNamespacedJob(p),
      CronJob: (p) => batch.listNamespacedCronJob(p),
    };
    const found = async (groups: Map<string, Set<string>>) =>
      (
        await Promise.all(
          [...groups].map(async ([key, names]) => {
            const [kind, namespace] = key.split('|') as ['Pod' | WorkloadKind, string];
            const items = await listAll(kind, namespace, lists[kind]);
            return items.filter((o) => names.has(o.metadata?.name ?? '')).map((o) => ({ ...o, kind, apiVersion: apiVersionOf(kind) }));
          }),
        )
      ).flat();
    const [pods, workloads, policy, binding, entries] = await Promise.all([
      found(podsByNs),
      found(workloadsByKey),
      orAbsent(() => admission.readValidatingAdmissionPolicy({ name: blockPolicyName }), 'ValidatingAdmissionPolicy'),
      orAbsent(() => admission.readValidatingAdmissionPolicyBinding({ name: blockPolicyName }), 'ValidatingAdmissionPolicyBinding'),
      this.block.blockEntries(input.blockNamespace).catch((e: unknown) => ({ unavailable: reasonOf(e) })),
    ]);
    const present = new Set([...pods, ...workloads].map((o) => `${o.kind}|${o.metadata?.namespace ?? ''}|${o.metadata?.name ?? ''}`));
    const gone = [
      ...input.pods.map((p) => ({ kind: 'Pod', namespace: p.namespace, name: p.pod })),
      ...input.workloads.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name })),
    ].filter((x) => !present.has(`${x.kind}|${x.namespace}|${x.name}`));

    const refs: EvidenceRefSummary[] = [];
    const seal = async (name: string, value: unknown) => {
      refs.push(await sealItem(this.store, { incidentId: input.incidentId, name, mediaType: 'application/json', content: json(value) }));
    };
    // A fixed order and a manifest first: what was asked, what was found, what was gone.
    await seal('supply-chain/kube-manifest.json', {
      asked: { pods: input.pods.length, workloads: input.workloads.length },
      found: { pods: pods.length, workloads: workloads.length },
      gone,
      blockNamespace: input.blockNamespace,
    });
    await seal('supply-chain/pods.json', pods);
    await seal('supply-chain/workloads.json', workloads);
    await seal('supply-chain/block-policy.json', { policy, binding, entries });
    return { refs };
  }
}

function apiVersionOf(kind: 'Pod' | WorkloadKind): string {
  return kind === 'Pod' ? 'v1' : kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : 'apps/v1';
}

/** Names asked for, by `kind|namespace`. */
function group(items: { kind: string; namespace: string; name: string }[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const i of items) {
    const key = `${i.kind}|${i.namespace}`;
    m.set(key, (m.get(key) ?? new Set()).add(i.name));
  }
  return m;
}

async function listAll(
  kind: 'Pod' | WorkloadKind,
  namespace: string,
  fn: (p: { namespace: string; limit: number; _continue?: string }) => Promise<KubernetesListObject<KubernetesObject>>,
): Promise<KubernetesObject[]> {
  const items: KubernetesObject[] = [];
  let next: string | undefined;
  const resource = kind === 'Pod' ? 'pods' : workloadResource[kind];
  do {
    const page = expectList(
      await call('list', resource, `in namespace ${namespace}`, () => fn({ namespace, limit: pageSize, ...(next === undefined ? {} : { _continue: next }) })),
      { kind: `${kind}List`, namespace },
    );
    items.push(...page.items);
    next = page.metadata?._continue || undefined;
  } while (next !== undefined);
  return items;
}

/** The object, or a note that it does not exist (no block yet), or why it could not be read. */
async function orAbsent(read: () => Promise<KubernetesObject>, kind: string): Promise<unknown> {
  try {
    return expectObject(await read(), { kind, name: blockPolicyName });
  } catch (e) {
    if (statusOf(e) === 404) return { absent: `${kind} ${blockPolicyName} does not exist` };
    if (e instanceof ApplicationFailure) throw e;
    return { unavailable: reasonOf(e) };
  }
}
