import type { ToolPaths } from '../../src/sandbox/tools.ts';

/** What the global setup hands to every test file through `inject('sandbox')`. */
export interface SandboxInfo {
  ownerId: string;
  workDir: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalTestServerPath: string;
  motoEndpoint: string;
  kubeServer: string;
  kubeconfigPath: string;
  /** kube-apiserver's audit log of writes to pods, nodes and NetworkPolicies (JSON lines). */
  kubeAuditLogPath: string;
  /** The OCI registry (distribution), plain HTTP on loopback. */
  registryUrl: string;
  tools: ToolPaths;
  pids: { name: string; pid: number }[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    sandbox: SandboxInfo;
  }
}
