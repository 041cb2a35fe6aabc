/**
 * A GuardDuty finding as EventBridge delivers it (detail-type "GuardDuty
 * Finding"): IAM access-key findings carry `resource.accessKeyDetails`; EKS
 * audit-log and runtime findings carry `resource.eksClusterDetails` and
 * `resource.kubernetesDetails`.
 */
import { z } from 'zod';
import { compactEntities, type Severity } from '../alert.ts';
import { eventBridgeEvent, isoTime, loose, timestamp, type SourceAdapter } from './common.ts';

const optionalText = z.string().nullish();

const finding = loose({
  schemaVersion: z.string().optional(),
  accountId: z.string().min(1),
  region: z.string().min(1),
  id: z.string().min(1),
  arn: z.string().optional(),
  type: z.string().min(1),
  title: z.string().optional(),
  description: z.string().optional(),
  severity: z.number().min(0).max(10),
  createdAt: timestamp.optional(),
  updatedAt: timestamp,
  resource: loose({
    resourceType: z.string().min(1),
    accessKeyDetails: loose({
      accessKeyId: optionalText,
      principalId: optionalText,
      userName: optionalText,
      userType: optionalText,
    }).optional(),
    eksClusterDetails: loose({ name: optionalText, arn: optionalText }).optional(),
    kubernetesDetails: loose({
      kubernetesWorkloadDetails: loose({
        name: optionalText,
        type: optionalText,
        namespace: optionalText,
        containers: z.array(loose({ name: optionalText, image: optionalText })).optional(),
      }).optional(),
      kubernetesUserDetails: loose({ username: optionalText }).optional(),
    }).optional(),
    instanceDetails: loose({ instanceId: optionalText }).optional(),
  }),
  service: loose({ count: z.number().optional() }).optional(),
});

export const guarddutyPayload = eventBridgeEvent({ detailType: 'GuardDuty Finding', source: 'aws.guardduty', what: 'an EventBridge GuardDuty event', detail: finding });
export type GuardDutyPayload = z.output<typeof guarddutyPayload>;

/** GuardDuty's bands: 1.0–3.9 low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10.0 critical. */
function severityOf(n: number): Severity {
  if (n >= 9) return 'critical';
  if (n >= 7) return 'high';
  if (n >= 4) return 'medium';
  if (n >= 1) return 'low';
  return 'info';
}

export const guardduty: SourceAdapter<GuardDutyPayload> = {
  source: 'guardduty',
  schema: guarddutyPayload,
  normalise(p, receivedAt) {
    const d = p.detail;
    const key = d.resource.accessKeyDetails;
    const kubernetesUser = d.resource.kubernetesDetails?.kubernetesUserDetails?.username;
    const workload = d.resource.kubernetesDetails?.kubernetesWorkloadDetails;
    const container = workload?.containers?.[0];
    const isPod = workload?.type?.toLowerCase() === 'pods';
    return [
      {
        source: 'guardduty',
        id: d.id,
        time: isoTime(d.updatedAt),
        receivedAt,
        status: 'firing',
        severity: severityOf(d.severity),
        rule: d.type,
        summary: d.title ?? d.description ?? d.type,
        labels: {
          resourceType: d.resource.resourceType,
          ...(key?.userType ? { userType: key.userType } : {}),
          // The Kubernetes user (system:serviceaccount:<ns>:<sa>, or a mapped name) is not an IAM principal: a label to match on.
          ...(kubernetesUser ? { kubernetesUser } : {}),
        },
        entities: compactEntities({
          account: d.accountId,
          region: d.region,
          accessKey: key?.accessKeyId,
          principal: key?.userName,
          cluster: d.resource.eksClusterDetails?.name,
          namespace: workload?.namespace,
          // A pod's own name; for a Deployment, DaemonSet… the workload is named instead.
          pod: isPod ? workload?.name : undefined,
          container: container?.name,
          image: container?.image,
          node: d.resource.instanceDetails?.instanceId,
        }),
        raw: p,
      },
    ];
  },
};
