import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeConfig, sandbox, testNamespace } from '../support/servers.ts';

describe('kube-apiserver in the test sandbox', () => {
  it('serves the generated kubeconfig over TLS with the certificate authority pinned', () => {
    const kc = kubeConfig();
    const cluster = kc.getCurrentCluster();
    expect(cluster?.server).toBe(sandbox().kubeServer);
    expect(cluster?.skipTLSVerify).toBeFalsy();
    expect(cluster?.caData).toBeTruthy();
  });

  it('creates a namespace and reads it back', async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const name = await testNamespace('smoke');
    const ns = await core.readNamespace({ name });
    expect(ns.metadata?.labels).toMatchObject({ 'firebreak.io/test': 'true' });
    expect(ns.status?.phase).toBe('Active');
  });

  it('creates a deny-all NetworkPolicy and reads back its spec', async () => {
    const namespace = await testNamespace('netpol');
    const net = kubeConfig().makeApiClient(NetworkingV1Api);
    await net.createNamespacedNetworkPolicy({
      namespace,
      body: {
        metadata: { name: 'quarantine' },
        spec: {
          podSelector: { matchLabels: { 'firebreak.io/quarantine': 'inc-1' } },
          policyTypes: ['Ingress', 'Egress'],
        },
      },
    });
    const policy = await net.readNamespacedNetworkPolicy({ name: 'quarantine', namespace });
    expect(policy.spec?.podSelector?.matchLabels).toEqual({ 'firebreak.io/quarantine': 'inc-1' });
    expect(policy.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec?.ingress ?? []).toEqual([]);
    expect(policy.spec?.egress ?? []).toEqual([]);
  });

  it('enforces RBAC: a service account with no bindings is forbidden to list pods', async () => {
    const namespace = await testNamespace('rbac');
    const kc = kubeConfig();
    kc.users = kc.users.map((u) => ({ ...u, impersonateUser: `system:serviceaccount:${namespace}:nobody` }));
    const core = kc.makeApiClient(CoreV1Api);
    await expect(core.listNamespacedPod({ namespace })).rejects.toMatchObject({ code: 403 });
  });
});
