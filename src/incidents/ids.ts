import { createHash } from 'node:crypto';
import type { Mode, Target } from '../../workflows/engine/types.ts';

/**
 * The correlation key for what an incident acts on, the same whether the
 * incident comes from an alert or from `firebreak start`, so both join one
 * incident. Most specific first: a pod (cluster:namespace:pod), an AWS
 * principal (account:principal, or its access key), a node, an image;
 * otherwise the sorted kind:id list. Undefined for no targets.
 */
export function correlationKeyForTargets(targets: readonly Target[]): string | undefined {
  const first = (...kinds: Target['kind'][]) => targets.find((t) => kinds.includes(t.kind));
  const pod = first('pod');
  if (pod !== undefined) {
    const slash = pod.id.indexOf('/');
    const [namespace, name] = slash < 0 ? ['default', pod.id] : [pod.id.slice(0, slash), pod.id.slice(slash + 1)];
    return [pod.attributes?.['cluster'] ?? '-', namespace, name].join(':');
  }
  const principal = first('iam-user', 'role');
  const key = first('access-key');
  if (principal !== undefined || key !== undefined) {
    const account = principal?.attributes?.['account'] ?? key?.attributes?.['account'] ?? '-';
    return [account, principal?.id ?? key?.attributes?.['principal'] ?? key!.id].join(':');
  }
  const node = first('node');
  if (node !== undefined) return [node.attributes?.['cluster'] ?? '-', 'node', node.id].join(':');
  const image = first('image');
  if (image !== undefined) return `image:${image.id}`;
  if (targets.length === 0) return undefined;
  return [...new Set(targets.map((t) => `${t.kind}:${t.id}`))].sort().join(',');
}

/**
 * The incident id (= workflow id) for a runbook, a correlation key and a
 * mode, e.g. `container-escape.prod-eu:shop:storefront-x7k2p-1a2b3c4d`:
 * readable, usable as a file and object name (the evidence store keys
 * incidents by it), and the same for every alert with the same key, so
 * repeats join the open incident. The mode is part of the identity: a
 * dry-run incident is `<runbook>.dry-run.<key>-<hash>`, so a live start never
 * joins an open dry run (and gets no containment) nor the reverse. Live ids
 * are as they always were.
 */
export function incidentIdFor(runbookId: string, correlationKey: string, mode: Mode = 'live'): string {
  const slug = correlationKey
    .toLowerCase()
    .replace(/[^a-z0-9:._-]+/g, '-')
    // A key without a cluster or account starts with '-:'; the readable part starts with the first name.
    .replace(/^[-:._]+|[-:._]+$/g, '')
    .slice(0, 80);
  const identity = mode === 'live' ? `${runbookId}\0${correlationKey}` : `${runbookId}\0${correlationKey}\0${mode}`;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 8);
  return mode === 'live' ? `${runbookId}.${slug}-${hash}` : `${runbookId}.${mode}.${slug}-${hash}`;
}
