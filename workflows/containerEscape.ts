// The container-escape runbook: the evidence isolation alters first, isolate the pod (label +
// deny-all NetworkPolicy, out of rotation), cordon its node, offer the
// credential-compromise runbook for its cloud identity, delete only behind a
// two-person gate, and roll everything back on request.
import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { PodRef } from '../activities/kubernetes/index.ts';
import { containerEscapeRunbook, credentialCompromiseRunbook } from './catalog.ts';
import { Incident } from './engine/incident.ts';
import type { IncidentStatus } from './engine/messages.ts';
import { refuseTargets } from './engine/targets.ts';
import type { IncidentInput } from './engine/types.ts';

const k8s = proxyActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
});

/** The patch that split the evidence step in two (issue #17): isolation waits only for what it alters. */
const evidenceInParts = 'container-escape-evidence-in-parts';

// The first evidence and the quarantine, on the hot path of an auto-contained breakout, run as local
// activities: no task-queue round trip through the server. Both are idempotent (a retried seal returns
// the first reference; the quarantine sets desired state), so a worker lost mid-call only repeats them.
const hot = proxyLocalActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
});

/** The pod the incident is about: the first `pod` target, `<namespace>/<pod>`. */
function podTarget(input: IncidentInput): { namespace: string; pod: string; container?: string; node?: string } {
  const target = input.targets.find((t) => t.kind === 'pod');
  const [namespace, pod, ...rest] = (target?.id ?? '').split('/');
  if (target === undefined || namespace === undefined || pod === undefined || namespace === '' || pod === '' || rest.length > 0) {
    refuseTargets(
      `The container-escape runbook needs a pod target "<namespace>/<pod>" (e.g. --target pod:demo-shop/storefront-7d9c6b5f8-x7k2p); got ${
        target === undefined ? 'none' : JSON.stringify(target.id)
      }.`,
      { expected: 'pod:<namespace>/<pod>', ...(target === undefined ? {} : { got: target.id }) },
    );
  }
  const container = target.attributes?.['container'];
  const node = target.attributes?.['node'];
  return { namespace, pod, ...(container ? { container } : {}), ...(node ? { node } : {}) };
}

export async function containerEscape(input: IncidentInput): Promise<IncidentStatus> {
  const target = podTarget(input);
  const incident = Incident.open(input, containerEscapeRunbook);
  const { incidentId, mode } = input;
  const ref: PodRef = { incidentId, namespace: target.namespace, pod: target.pod, mode };
  const podName = `pod:${target.namespace}/${target.pod}`;
  const skip = incident.skip.bind(incident);

  // 1. Evidence first. Incidents started before the capture in parts keep the capture they began with.
  const capture = {
    incidentId,
    namespace: target.namespace,
    pod: target.pod,
    ...(target.container === undefined ? {} : { container: target.container }),
  };
  let pod: { uid: string; node?: string; serviceAccount: string };
  // The IRSA role, once the service account is read: at once, or when the rest of the capture is sealed (undefined: it failed).
  let role: { arn?: string } | Promise<{ arn?: string } | undefined>;
  let isolationEvidence: { requires?: string[] } = {};
  if (patched(evidenceInParts)) {
    // What isolation alters is sealed first; the rest is captured alongside containment, and cordon, delete and the close wait for it.
    const parts = await incident.captureInParts('collect-evidence', {
      action: 'capture the evidence isolation alters (pod, NetworkPolicies)',
      target: podName,
      run: () => hot.captureContainmentEvidence(capture),
      rest: {
        action: 'capture the rest of the evidence (owners, node, service account, events, logs)',
        run: (first) => k8s.captureContainerEscapeContext({ ...capture, facts: first.pod, owners: first.owners }),
      },
    });
    if (parts === undefined) return incident.finish();
    pod = parts.first.pod;
    role = parts.rest.then((rest) => (rest === undefined ? undefined : rest.awsRoleArn === undefined ? {} : { arn: rest.awsRoleArn }));
    isolationEvidence = { requires: ['pod.json', 'network-policies.json'] };
  } else {
    const captured = await incident.capture('collect-evidence', {
      action: 'capture evidence',
      target: podName,
      run: () => k8s.captureContainerEscapeEvidence(capture),
    });
    if (captured === undefined) return incident.finish();
    pod = captured.pod;
    const arn = captured.pod.awsRoleArn;
    role = arn === undefined ? {} : { arn };
  }
  let podGone = false;
  const watchGone = async <R extends { podGone?: boolean }>(p: Promise<R>): Promise<R> => {
    const r = await p;
    if (r.podGone === true) podGone = true;
    return r;
  };

  // 2. Isolate: quarantine label + deny-all NetworkPolicy, then out of rotation.
  await incident.gated('isolate-pod', async () => {
    await incident.act('isolate-pod', {
      action: 'quarantine pod (label + deny-all NetworkPolicy)',
      target: podName,
      ...isolationEvidence,
      run: () => watchGone((isolationEvidence.requires === undefined ? k8s : hot).quarantinePod(ref)),
      compensate: { action: 'release pod from quarantine', run: () => k8s.releasePod(ref) },
    });
  });
  if (podGone) skip('detach-from-rotation', 'take pod out of rotation', 'the pod is gone');
  else {
    await incident.gated('detach-from-rotation', async () => {
      let removed: Record<string, string> = {};
      await incident.act('detach-from-rotation', {
        action: 'remove the labels tying the pod to its ReplicaSet and Services',
        target: podName,
        ...(isolationEvidence.requires === undefined ? {} : { requires: ['pod.json'] }),
        run: async () => {
          const r = await watchGone(k8s.detachPodFromRotation(ref));
          removed = r.removed;
          return r;
        },
        compensate: { action: 'restore the removed labels', run: () => k8s.restorePodLabels({ ...ref, labels: removed }) },
      });
    });
  }

  // 3. Node: cordon and annotate. Never drain.
  const node = pod.node ?? target.node;
  if (node === undefined) skip('cordon-node', 'cordon node', 'the pod is not scheduled on a node');
  else {
    const nodeRef = { incidentId, node, mode };
    await incident.gated('cordon-node', async () => {
      await incident.act('cordon-node', {
        action: 'cordon and annotate node (no drain)',
        target: `node:${node}`,
        run: () => k8s.cordonNode(nodeRef),
        compensate: { action: 'uncordon node', run: () => k8s.uncordonNode(nodeRef) },
      });
    });
  }

  // 4. Cloud identity: offer the credential-compromise runbook on the IRSA role.
  // No await on the path without parts: its commands keep their order on replay.
  const irsa = role instanceof Promise ? await role : role;
  const account = `${target.namespace}/${pod.serviceAccount}`;
  if (irsa === undefined) {
    skip('offer-credential-compromise', 'offer credential-compromise runbook', `service account ${account} could not be read (the rest of the evidence failed), so its AWS role is unknown`);
  } else if (irsa.arn === undefined) {
    skip('offer-credential-compromise', 'offer credential-compromise runbook', `service account ${account} maps to no AWS role (no IRSA annotation)`);
  } else {
    const role = irsa.arn;
    await incident.offerChild('offer-credential-compromise', {
      workflow: credentialCompromiseRunbook.workflow,
      runbook: 'credential-compromise',
      targets: [{ kind: 'role', id: role }],
      why: `service account ${account} maps to AWS role ${role} (IRSA), whose credentials the escaped container could read`,
      summary: `IRSA role of ${podName} after a container escape: ${input.trigger.summary}`,
    });
  }

  // 5. Delete: two-person gate, the full evidence set sealed (act waits for it), the very pod evidence was taken of.
  if (podGone) skip('delete-pod', 'delete pod', 'the pod is gone');
  else {
    await incident.gated('delete-pod', async () => {
      await incident.act('delete-pod', {
        action: 'delete pod',
        target: podName,
        run: () => watchGone(k8s.deletePod({ ...ref, uid: pod.uid })),
      });
    });
  }

  // 6. Rollback (saga, newest first) until the incident is closed.
  return incident.finish();
}
