// Which secrets an affected image could read: the inventory's entries used by
// an affected workload, service account, Kubernetes Secret or CI workflow,
// and the Kubernetes Secrets and CI secrets the affected objects name that
// the inventory does not know. Pure, so the workflow decides it replayably.
import type { AffectedPod, AffectedWorkload } from '../activities/kubernetes/index.ts';
import type { InventorySecret } from '../activities/supply-chain/index.ts';

export interface ReachedSecret {
  name: string;
  store: InventorySecret['store'];
  /** Secrets Manager name/ARN, or `<namespace>/<secret>`. */
  id: string;
  /** `rotate`: Firebreak puts a new value; `follow-up`: a person reissues it. */
  plan: 'rotate' | 'follow-up';
  /** Where the affected image can read it from. */
  usedBy: string[];
  issuer?: string;
}

export interface Reach {
  pods: readonly AffectedPod[];
  workloads: readonly AffectedWorkload[];
  /** CI workflow files (`<checkout>/<file>`) using the compromised action, and the secret names each references. */
  workflows: readonly { file: string; secrets: readonly string[] }[];
  inventory: readonly InventorySecret[];
}

export function secretsReached(r: Reach): ReachedSecret[] {
  const holders = new Map<string, string>();
  const hold = (key: string, what: string) => {
    if (!holders.has(key)) holders.set(key, what);
  };
  const k8sSecrets = new Map<string, string[]>();
  const referenced = (namespace: string, secret: string, by: string) => {
    const key = `${namespace}/${secret}`;
    hold(`secret:${key}`, by);
    k8sSecrets.set(key, [...(k8sSecrets.get(key) ?? []), by]);
  };
  for (const w of r.workloads) {
    const name = `workload:${w.namespace}/${w.kind}/${w.name}`;
    hold(name, name);
    hold(`serviceaccount:${w.namespace}/${w.serviceAccount}`, name);
    for (const s of w.secrets) referenced(w.namespace, s, name);
  }
  for (const p of r.pods) {
    const name = `pod:${p.namespace}/${p.pod}`;
    if (p.owner !== undefined) hold(`workload:${p.owner.namespace}/${p.owner.kind}/${p.owner.name}`, name);
    hold(`serviceaccount:${p.namespace}/${p.serviceAccount}`, name);
    for (const s of p.secrets) referenced(p.namespace, s, name);
  }
  for (const f of r.workflows) hold(`workflow:${f.file}`, `workflow:${f.file}`);

  const out: ReachedSecret[] = [];
  const known = new Set<string>();
  for (const s of r.inventory) {
    const usedBy = [...new Set(s.usedBy.filter((u) => holders.has(u)).map((u) => holders.get(u)!))];
    if (usedBy.length === 0) continue;
    const id = s.id ?? s.name;
    if (s.store === 'kubernetes') known.add(id);
    out.push({
      name: s.name,
      store: s.store,
      id,
      plan: s.store === 'aws-secrets-manager' && s.rotation === 'generate' ? 'rotate' : 'follow-up',
      usedBy: usedBy.sort(),
      ...(s.issuer === undefined ? {} : { issuer: s.issuer }),
    });
  }
  for (const [key, by] of k8sSecrets) {
    if (known.has(key)) continue;
    out.push({ name: key, store: 'kubernetes', id: key, plan: 'follow-up', usedBy: [...new Set(by)].sort() });
  }
  const inventoried = new Set(r.inventory.flatMap((s) => s.usedBy.filter((u) => u.startsWith('workflow:')).map((u) => `${u}#${s.name}`)));
  for (const f of r.workflows) {
    for (const secret of f.secrets) {
      if (inventoried.has(`workflow:${f.file}#${secret}`)) continue;
      out.push({ name: `CI secret ${secret}`, store: 'third-party', id: secret, plan: 'follow-up', usedBy: [`workflow:${f.file}`] });
    }
  }
  return out;
}
