import { describe, expect, it } from 'vitest';
import { InvalidPayloadError, normaliseBody } from '../../src/intake/normalise.ts';
import { targetsFor } from '../../src/intake/router.ts';
import { fixture } from './helpers.ts';

const receivedAt = '2026-11-28T15:00:00.000Z';

describe('normalising a Falco event', () => {
  it('maps a Falcosidekick event to one alert with its rule, severity and Kubernetes entities', async () => {
    const [alert] = normaliseBody('falco', await fixture('falco/release-agent-escape.json'), receivedAt);
    expect(alert).toMatchObject({
      source: 'falco',
      id: '3b2f7c1e-5a4d-4e0b-9f3a-2d6c8e1f0a7b',
      time: '2026-11-28T14:22:05.123Z',
      receivedAt,
      status: 'firing',
      severity: 'critical',
      rule: 'Detect release_agent File Container Escapes',
      entities: {
        namespace: 'demo-shop',
        pod: 'storefront-7d9c6b5f8-x7k2p',
        container: 'storefront',
        node: 'ip-10-0-3-17.eu-west-1.compute.internal',
        image: 'ghcr.io/acme/storefront:1.4.2',
      },
    });
    expect(alert?.summary).toMatch(/^Detect an attempt to exploit a container escape/);
  });

  it('keeps the payload exactly as received as the raw evidence', async () => {
    const text = await fixture('falco/terminal-shell.json');
    const [alert] = normaliseBody('falco', text, receivedAt);
    expect(alert?.raw).toEqual(JSON.parse(text));
  });

  it('maps Falco priority Notice to severity low', async () => {
    const [alert] = normaliseBody('falco', await fixture('falco/terminal-shell.json'), receivedAt);
    expect(alert?.severity).toBe('low');
  });
});

describe('normalising a GuardDuty finding from EventBridge', () => {
  it('maps an IAM access-key finding to the account, principal and access key', async () => {
    const [alert] = normaliseBody('guardduty', await fixture('guardduty/iam-credential-exfiltration.json'), receivedAt);
    expect(alert).toMatchObject({
      source: 'guardduty',
      id: 'a6c7e0f2d4b1e9a8c3f5d7b9e1a2c4f6',
      severity: 'high',
      rule: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
      entities: { account: '123456789012', region: 'eu-west-1', principal: 'storefront-node-role', accessKey: 'ASIAQWERTYUIOPASDFGH' },
    });
  });

  it('maps an EKS runtime finding to the cluster, namespace, pod, container and image digest', async () => {
    const [alert] = normaliseBody('guardduty', await fixture('guardduty/eks-runtime-host-mount.json'), receivedAt);
    expect(alert).toMatchObject({
      severity: 'medium',
      rule: 'PrivilegeEscalation:Runtime/ContainerMountsHostDirectory',
      entities: {
        cluster: 'prod-eu',
        namespace: 'demo-shop',
        pod: 'storefront-7d9c6b5f8-x7k2p',
        container: 'storefront',
        image: expect.stringMatching(/^ghcr\.io\/acme\/storefront@sha256:/),
        node: 'i-0abc123def4567890',
      },
    });
  });
});

describe('a GuardDuty EKS finding naming its Kubernetes user', () => {
  /** The EKS fixture as an EKS audit-log finding carries it: the Kubernetes user that acted, beside the AWS account. */
  async function withKubernetesUser(username: string): Promise<string> {
    const p = JSON.parse(await fixture('guardduty/eks-runtime-host-mount.json')) as { detail: { resource: { kubernetesDetails: Record<string, unknown> } } };
    p.detail.resource.kubernetesDetails['kubernetesUserDetails'] = { username, uid: '8c1f0f6e-2d9b-4c71-9e3a-6f1b2c3d4e5f', groups: ['system:serviceaccounts'] };
    return JSON.stringify(p);
  }

  it('routes a service account user (system:serviceaccount:…) with its pod, not as an IAM user with an invalid name', async () => {
    const [alert] = normaliseBody('guardduty', await withKubernetesUser('system:serviceaccount:demo-shop:storefront'), receivedAt);
    expect(alert?.problems).toBeUndefined();
    expect(alert?.entities.principal).toBeUndefined();
    expect(alert?.labels).toMatchObject({ kubernetesUser: 'system:serviceaccount:demo-shop:storefront' });
    expect(targetsFor(alert!).map((t) => t.kind)).toEqual(['pod', 'node']);
  });

  it('control: an IAM access-key finding still names its principal as an IAM target', async () => {
    const [alert] = normaliseBody('guardduty', await fixture('guardduty/iam-credential-exfiltration.json'), receivedAt);
    expect(targetsFor(alert!).map((t) => `${t.kind}:${t.id}`)).toContain('role:storefront-node-role');
  });
});

describe('normalising an Alertmanager webhook', () => {
  it('turns each alert of a group into its own alert, identified by its fingerprint', async () => {
    const alerts = normaliseBody('alertmanager', await fixture('alertmanager/firing.json'), receivedAt);
    expect(alerts.map((a) => [a.id, a.rule, a.severity, a.status])).toEqual([
      ['7b2e6f1c9d0a3e45', 'KubePodCryptominerSuspected', 'critical', 'firing'],
      ['c41d2a8e7f603b19', 'KubePodCrashLooping', 'medium', 'firing'],
    ]);
    expect(alerts[0]?.entities).toEqual({ cluster: 'prod-eu', namespace: 'batch', pod: 'report-worker-5c9f7-qz8lm', container: 'worker' });
  });

  it('marks a resolved alert resolved, at the time it ended', async () => {
    const [alert] = normaliseBody('alertmanager', await fixture('alertmanager/resolved.json'), receivedAt);
    expect(alert).toMatchObject({ status: 'resolved', time: '2026-11-28T15:05:00.000Z', id: '7b2e6f1c9d0a3e45' });
  });
});

describe('normalising a generic alert', () => {
  it('takes the entities, labels and severity as given', async () => {
    const [alert] = normaliseBody('generic', await fixture('generic/leaked-key.json'), receivedAt);
    expect(alert).toMatchObject({
      id: 'secret-scan-8812',
      severity: 'high',
      rule: 'aws-access-key-in-public-repo',
      labels: { team: 'payments', scanner: 'secret-scan' },
      entities: { account: '123456789012', principal: 'demo-ci-deployer', accessKey: 'AKIAIOSFODNN7EXAMPLE' },
    });
  });

  it('rejects an unknown entity key with its field path', () => {
    const body = JSON.stringify({ severity: 'high', rule: 'r', summary: 's', entities: { hostname: 'x' } });
    expect(() => normaliseBody('generic', body, receivedAt)).toThrow(InvalidPayloadError);
    try {
      normaliseBody('generic', body, receivedAt);
    } catch (e) {
      expect((e as InvalidPayloadError).problems).toEqual([{ path: 'entities', message: expect.stringContaining('hostname') }]);
    }
  });
});
