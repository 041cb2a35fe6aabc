// The container-escape runbook: evidence first, isolate the pod (label +
// deny-all NetworkPolicy, out of rotation), cordon its node, offer the
// credential-compromise runbook for its cloud identity, delete only behind a
// two-person gate, and roll everything back on request.
import { ApplicationFailure, ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { PodFacts, PodRef } from '../activities/kubernetes/index.ts';
import type { RunbookPolicy } from '../src/runbooks/schema.ts';
import { containerEscapeSteps, workflowCatalog } from './catalog.ts';
import { Incident, noticeActivityOptions } from './engine/incident.ts';
import type { IncidentStatus } from './engine/messages.ts';
import { describeFailure } from './engine/saga.ts';
import { refuseInvalidTargets } from './engine/targets.ts';
import type { IncidentInput } from './engine/types.ts';

type Step = (typeof containerEscapeSteps)[number];

/** The workflow that the credential-compromise runbook registers (offered as a child for IRSA roles). */
export const credentialCompromiseWorkflow = 'credentialCompromise';

export interface ContainerEscapeInput extends IncidentInput {
  /**
   * The credential-compromise policy, when the starter has one: the child
   * workflow needs its own policy in its input. Without it (or without the
   * workflow registered) the offer is recorded and skipped.
   */
  credentialCompromisePolicy?: RunbookPolicy;
}

const k8s = proxyActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
});
const { notify } = proxyActivities<Activities>(noticeActivityOptions);

/** The pod the incident is about: the first `pod` target, `<namespace>/<pod>`. */
function podTarget(input: IncidentInput): { namespace: string; pod: string; container?: string; node?: string } {
  const target = input.targets.find((t) => t.kind === 'pod');
  const [namespace, pod, ...rest] = (target?.id ?? '').split('/');
  if (target === undefined || namespace === undefined || pod === undefined || namespace === '' || pod === '' || rest.length > 0) {
    throw ApplicationFailure.create({
      type: 'InvalidTarget',
      nonRetryable: true,
      message: `The container-escape runbook needs a pod target "<namespace>/<pod>" (e.g. --target pod:demo-shop/storefront-7d9c6b5f8-x7k2p); got ${
        target === undefined ? 'none' : JSON.stringify(target.id)
      }.`,
    });
  }
  const container = target.attributes?.['container'];
  const node = target.attributes?.['node'];
  return { namespace, pod, ...(container ? { container } : {}), ...(node ? { node } : {}) };
}

export async function containerEscape(input: ContainerEscapeInput): Promise<IncidentStatus> {
  refuseInvalidTargets(input);
  const target = podTarget(input);
  const incident = new Incident(input, { workflowSteps: containerEscapeSteps, notify: (n) => notify(n) });
  incident.install();
  const { incidentId, mode } = input;
  const ref: PodRef = { incidentId, namespace: target.namespace, pod: target.pod, mode };
  const podName = `pod:${target.namespace}/${target.pod}`;

  const skip = (step: Step, action: string, why: string) => incident.skip(step, action, why);

  // 1. Evidence first: nothing below changes anything before this is sealed.
  let facts: PodFacts | undefined;
  await incident.gated('collect-evidence', async () => {
    try {
      const captured = await k8s.captureContainerEscapeEvidence({
        incidentId,
        namespace: target.namespace,
        pod: target.pod,
        ...(target.container === undefined ? {} : { container: target.container }),
      });
      for (const item of captured.refs) incident.recordEvidence(item, 'collect-evidence');
      facts = captured.pod;
    } catch (e) {
      incident.gates.state('collect-evidence').status = 'failed';
      incident.timeline.append('action.failed', { action: 'capture evidence', target: podName, ...describeFailure(e) }, { step: 'collect-evidence' });
    }
  });
  if (facts === undefined) {
    for (const step of containerEscapeSteps.slice(1)) skip(step, step, 'no evidence could be captured, so nothing is changed');
    await incident.holdOpen();
    return incident.status();
  }
  const pod = facts;
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
      run: () => watchGone(k8s.quarantinePod(ref)),
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
  const role = pod.awsRoleArn;
  const account = `${target.namespace}/${pod.serviceAccount}`;
  if (role === undefined) {
    skip('offer-credential-compromise', 'offer credential-compromise runbook', `service account ${account} maps to no AWS role (no IRSA annotation)`);
  } else if (!Object.hasOwn(workflowCatalog, credentialCompromiseWorkflow) || input.credentialCompromisePolicy === undefined) {
    skip(
      'offer-credential-compromise',
      `offer credential-compromise runbook on role ${role}`,
      `service account ${account} maps to AWS role ${role} (IRSA), whose credentials the escaped container could read; ${
        Object.hasOwn(workflowCatalog, credentialCompromiseWorkflow)
          ? 'the starter passed no credential-compromise policy'
          : `this version of Firebreak registers no ${credentialCompromiseWorkflow} workflow`
      }, so start the credential-compromise runbook on that role by hand`,
    );
  } else {
    const policy = input.credentialCompromisePolicy;
    await incident.gated('offer-credential-compromise', async () => {
      await incident.act('offer-credential-compromise', {
        action: 'start credential-compromise runbook',
        target: `role:${role}`,
        run: async () => {
          // No '/' in incident ids: the evidence store keys incidents by them.
          const childId = `${incidentId}.credential-compromise`;
          const childInput: IncidentInput = {
            incidentId: childId,
            policy,
            groups: input.groups,
            requester: input.requester,
            mode,
            trigger: { ...input.trigger, summary: `IRSA role of ${podName} after a container escape: ${input.trigger.summary}` },
            targets: [{ kind: 'role', id: role }],
          };
          await startChild(credentialCompromiseWorkflow, { workflowId: childId, args: [childInput], parentClosePolicy: ParentClosePolicy.ABANDON });
          return { outcome: 'changed', detail: `started incident ${childId} (${credentialCompromiseWorkflow}) on role ${role}` };
        },
      });
    });
  }

  // 5. Delete: two-person gate, evidence sealed (act refuses otherwise), the very pod evidence was taken of.
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
  await incident.holdOpen();
  return incident.status();
}
