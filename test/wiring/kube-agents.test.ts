/**
 * Kubernetes API connections are reused (src/wiring/kube-agents.ts): the
 * real kube-apiserver behind a TCP proxy that counts the connections made to
 * it, with client-node's own per-request agents as the control.
 */
import { once } from 'node:events';
import net from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeClientsFor } from '../../src/wiring/clients.ts';
import { sandbox } from '../support/servers.ts';

/** A TCP proxy to the sandbox's kube-apiserver that counts the connections it accepts. */
async function countingProxy() {
  const upstream = new URL(sandbox().kubeServer);
  let connections = 0;
  const server = net.createServer((client) => {
    connections += 1;
    const target = net.connect(Number(upstream.port), upstream.hostname);
    client.pipe(target).pipe(client);
    client.on('error', () => target.destroy());
    target.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  afterAll(() => {
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** The sandbox's kubeconfig, pointed at `port` on the same address (so its certificate still matches). */
function configVia(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(sandbox().kubeconfigPath);
  const cluster = kc.getCurrentCluster()!;
  const server = new URL(cluster.server);
  server.port = String(port);
  kc.loadFromOptions({ clusters: [{ ...cluster, server: server.toString().replace(/\/$/, '') }], users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  return kc;
}

describe('Kubernetes API connections', () => {
  it('opens one connection for ten sequential API calls of the clients Firebreak builds', async () => {
    const proxy = await countingProxy();
    const { core } = kubeClientsFor(configVia(proxy.port));
    for (let i = 0; i < 10; i++) await core.listNamespace({ limit: 1 });
    expect(proxy.connections()).toBe(1);
  });

  it("opens a connection per call with client-node's own agents (the control)", async () => {
    const proxy = await countingProxy();
    const core = configVia(proxy.port).makeApiClient(CoreV1Api);
    for (let i = 0; i < 10; i++) await core.listNamespace({ limit: 1 });
    expect(proxy.connections()).toBe(10);
  });
});
