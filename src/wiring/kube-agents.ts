/**
 * Kubernetes API connections kept alive. @kubernetes/client-node 1.4 builds a
 * new https.Agent for every request (KubeConfig.createAgent), so every API
 * call pays a TLS handshake: 22 per contained pod, about half the CPU of an
 * incident in `npm run bench:containment`. This keeps one keep-alive agent
 * per TLS identity (server, CA, client certificate, verification settings)
 * and hands it back; bearer tokens are per-request headers, so a rotated
 * token still applies at once, and a rotated client certificate gets a new
 * agent. Proxied and plain-HTTP clusters keep client-node's own agents.
 */
import { createHash } from 'node:crypto';
import https from 'node:https';
import type { Agent } from 'node:http';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

type CreateAgent = (cluster: Cluster | null, options: https.AgentOptions) => Agent;

const identity = (cluster: Cluster | null, o: https.AgentOptions): string => {
  const parts = [cluster?.server, o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername];
  return createHash('sha256')
    .update(JSON.stringify(parts.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : (v ?? null)))))
    .digest('hex');
};

const patched = new WeakSet<KubeConfig>();

/** Makes `config` reuse connections to its API server (before any request; again is a no-op). */
export function reuseKubeConnections(config: KubeConfig): void {
  if (patched.has(config)) return;
  patched.add(config);
  const target = config as unknown as { createAgent: CreateAgent };
  const own = target.createAgent.bind(config);
  const agents = new Map<string, https.Agent>();
  target.createAgent = (cluster, options) => {
    if (cluster?.proxyUrl !== undefined || cluster?.server.startsWith('http:') === true) return own(cluster, options);
    const key = identity(cluster, options);
    let agent = agents.get(key);
    if (agent === undefined) {
      // Idle sockets are unref'd by the agent, so they never keep a process alive.
      agent = new https.Agent({ ...options, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
}
