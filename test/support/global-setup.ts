/**
 * Vitest global setup: installs the tools if the cache lacks them (never
 * skipping), starts every real server the tests talk to on loopback, hands
 * their addresses to the tests through `inject('sandbox')`, and stops them all
 * when the run ends, passes or fails.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { killServersOnSignals, testRunOwnerPrefix } from '../../src/sandbox/processes.ts';
import { startSandbox } from '../../src/sandbox/servers.ts';
import { ensureTools } from '../../src/sandbox/tools.ts';
import type { SandboxInfo } from './sandbox-info.ts';


export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  killServersOnSignals();
  const started = Date.now();
  const tools = await ensureTools((line) => console.error(`[tools] ${line}`));
  const ownerId = `${testRunOwnerPrefix}${process.pid}-${randomBytes(4).toString('hex')}`;
  const sandbox = await startSandbox({ tools, ownerId, temporal: {}, moto: true, kubernetes: true, registry: true });
  const k8s = sandbox.kubernetes!;
  const info: SandboxInfo = {
    ownerId,
    workDir: sandbox.workDir,
    temporalAddress: sandbox.temporal!.address,
    temporalNamespace: sandbox.temporal!.namespace,
    temporalTestServerPath: tools.temporalTestServer,
    motoEndpoint: sandbox.moto!.endpoint,
    kubeServer: k8s.server,
    kubeconfigPath: k8s.kubeconfigPath,
    kubeAuditLogPath: k8s.auditLogPath,
    registryUrl: sandbox.registry!.url,
    tools,
    pids: sandbox.processes().map((p) => ({ name: p.name, pid: p.pid })),
  };
  project.provide('sandbox', info);
  console.error(
    `[sandbox] ready in ${((Date.now() - started) / 1000).toFixed(1)}s: Temporal ${info.temporalAddress}, moto ${info.motoEndpoint}, kube-apiserver ${info.kubeServer}, registry ${info.registryUrl}`,
  );
  return async () => {
    await sandbox.stop();
  };
}
