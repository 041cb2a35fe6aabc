/**
 * The real servers of the local sandbox and of the test suite, all on
 * loopback: the Temporal dev server, moto (AWS), etcd, kube-apiserver and an
 * OCI registry (distribution's `registry`).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort, ServerStartError, startProcess, type ManagedProcess } from './processes.ts';
import { type ToolPaths } from './tools.ts';

export interface TemporalServer {
  process: ManagedProcess;
  /** gRPC address, host:port. */
  address: string;
  namespace: string;
  /** Web UI URL, when the UI is enabled. */
  uiUrl: string | undefined;
}

export interface MotoServer {
  process: ManagedProcess;
  endpoint: string;
}

export interface RegistryServer {
  process: ManagedProcess;
  /** Plain-HTTP base URL, e.g. http://127.0.0.1:41234 (the OCI distribution API under /v2/). */
  url: string;
}

export interface KubernetesServers {
  etcd: ManagedProcess;
  apiserver: ManagedProcess;
  /** https URL of kube-apiserver. */
  server: string;
  /** Path of a kubeconfig whose current context is a cluster admin (system:masters). */
  kubeconfigPath: string;
  /** The admin's bearer token. Test-only credential; never used outside the sandbox. */
  adminToken: string;
  /** PEM of the certificate authority that signed the serving certificate. */
  caPem: string;
  /**
   * kube-apiserver's audit log (JSON lines): every write to pods, nodes and
   * NetworkPolicies at Metadata level, so tests count side effects at the
   * server rather than in Firebreak.
   */
  auditLogPath: string;
}

/** Writes only, metadata only: enough to count side effects, cheap enough for every test run. */
const auditPolicy = [
  'apiVersion: audit.k8s.io/v1',
  'kind: Policy',
  'omitStages: [RequestReceived]',
  'rules:',
  '- level: Metadata',
  '  verbs: [create, update, patch, delete]',
  '  resources:',
  '  - group: ""',
  '    resources: [pods, nodes]',
  '  - group: networking.k8s.io',
  '    resources: [networkpolicies]',
  '- level: None',
  '',
].join('\n');

interface Common {
  tools: ToolPaths;
  /** Folder for data, certificates and logs of this server. */
  workDir: string;
  /** Marker stored in each child's environment, to find leftovers. */
  ownerId: string;
  readyTimeoutMs?: number;
}

const defaultReadyTimeoutMs = 90_000;

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.ok;
}

export async function startTemporalDevServer(
  opts: Common & { dbFile?: string; ui?: boolean; namespace?: string; port?: number; uiPort?: number },
): Promise<TemporalServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui ? (opts.uiPort ?? (await freePort())) : undefined;
  const namespace = opts.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (opts.dbFile !== undefined) args.push('--db-filename', opts.dbFile);
  if (uiPort !== undefined) args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
  else args.push('--headless');
  const process = await startProcess(
    {
      name: 'Temporal dev server',
      command: opts.tools.temporal,
      args,
      port,
      logFile: join(opts.workDir, 'temporal.log'),
      readyTimeoutMs: opts.readyTimeoutMs ?? defaultReadyTimeoutMs,
      ready: async () => {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return true;
        } finally {
          await connection.close();
        }
      },
    },
    opts.ownerId,
  );
  return { process, address, namespace, uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}` };
}

export async function startMoto(opts: Common): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const process = await startProcess(
    {
      name: 'moto',
      command: opts.tools.motoServer,
      args: ['-H', '127.0.0.1', '-p', String(port)],
      port,
      logFile: join(opts.workDir, 'moto.log'),
      readyTimeoutMs: opts.readyTimeoutMs ?? defaultReadyTimeoutMs,
      ready: () => httpOk(`${endpoint}/moto-api/data.json`),
    },
    opts.ownerId,
  );
  return { process, endpoint };
}

/**
 * distribution's registry: filesystem storage in its own folder, no auth,
 * plain HTTP on loopback. It has no referrers API (GET /v2/<name>/referrers/
 * answers 404), so clients find referrers by the OCI 1.1 tag schema.
 */
export async function startRegistry(opts: Common): Promise<RegistryServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = join(opts.workDir, 'registry');
  await mkdir(join(dir, 'data'), { recursive: true });
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(dir, 'data'))}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      // Set, so the registry does not warn about a generated one; uploads never span instances here.
      `  secret: ${randomBytes(16).toString('hex')}`,
      '',
    ].join('\n'),
  );
  const process = await startProcess(
    {
      name: 'registry',
      command: opts.tools.registry,
      args: ['serve', config],
      // No collector listens: without this the registry's OpenTelemetry exporter retries and logs forever.
      env: { OTEL_TRACES_EXPORTER: 'none' },
      port,
      logFile: join(opts.workDir, 'registry.log'),
      readyTimeoutMs: opts.readyTimeoutMs ?? defaultReadyTimeoutMs,
      ready: () => httpOk(`${url}/v2/`),
    },
    opts.ownerId,
  );
  return { process, url };
}

function httpsGet(url: string, token: string, ca: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        headers: { authorization: `Bearer ${token}` },
        // Before the serving certificate exists we cannot pin it; readiness only.
        ...(ca === undefined ? { rejectUnauthorized: false } : { ca }),
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startKubernetes(opts: Common): Promise<KubernetesServers> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? defaultReadyTimeoutMs;
  const etcdDir = join(opts.workDir, 'etcd');
  const pkiDir = join(opts.workDir, 'pki');
  await mkdir(pkiDir, { recursive: true });

  const etcdPort = await freePort();
  const peerPort = await freePort();
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = await startProcess(
    {
      name: 'etcd',
      command: opts.tools.etcd,
      args: [
        '--name=sandbox',
        `--data-dir=${etcdDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=sandbox=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      port: etcdPort,
      logFile: join(opts.workDir, 'etcd.log'),
      readyTimeoutMs,
      ready: () => httpOk(`${etcdUrl}/health`),
    },
    opts.ownerId,
  );

  try {
    const adminToken = randomBytes(24).toString('hex');
    await writeFile(join(pkiDir, 'tokens.csv'), `${adminToken},firebreak-admin,firebreak-admin,"system:masters"\n`, {
      mode: 0o600,
    });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(pkiDir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(join(pkiDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

    const auditPolicyPath = join(pkiDir, 'audit-policy.yaml');
    await writeFile(auditPolicyPath, auditPolicy);
    const auditLogPath = join(opts.workDir, 'audit.log');
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const apiserver = await startProcess(
      {
        name: 'kube-apiserver',
        command: opts.tools.kubeApiserver,
        args: [
          `--etcd-servers=${etcdUrl}`,
          `--cert-dir=${pkiDir}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${port}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--allow-privileged=true',
          '--authorization-mode=RBAC',
          `--token-auth-file=${join(pkiDir, 'tokens.csv')}`,
          `--service-account-key-file=${join(pkiDir, 'sa.pub')}`,
          `--service-account-signing-key-file=${join(pkiDir, 'sa.key')}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          // As envtest does: no controller manager runs to create service account tokens.
          '--disable-admission-plugins=ServiceAccount',
          `--audit-policy-file=${auditPolicyPath}`,
          `--audit-log-path=${auditLogPath}`,
          '--audit-log-format=json',
          '--audit-log-mode=blocking',
          '--v=0',
        ],
        port,
        logFile: join(opts.workDir, 'kube-apiserver.log'),
        readyTimeoutMs,
        ready: async () => (await httpsGet(`${server}/readyz`, adminToken, undefined)).status === 200,
      },
      opts.ownerId,
    );

    // kube-apiserver wrote a self-signed serving certificate (and its CA) into the cert dir.
    const caPem = await readFile(join(pkiDir, 'apiserver.crt'), 'utf8');
    const check = await httpsGet(`${server}/readyz`, adminToken, caPem);
    if (check.status !== 200) {
      throw new ServerStartError(
        `kube-apiserver answered /readyz with HTTP ${check.status} once its serving certificate (${join(pkiDir, 'apiserver.crt')}) was pinned; delete ${opts.workDir} and start again.`,
      );
    }

    const kubeconfigPath = join(opts.workDir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(server, caPem, adminToken), { mode: 0o600 });
    return { etcd, apiserver, server, kubeconfigPath, adminToken, caPem, auditLogPath };
  } catch (e) {
    await etcd.stop();
    throw e;
  }
}

function kubeconfig(server: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: firebreak-sandbox',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: firebreak-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: firebreak-sandbox',
    '  context:',
    '    cluster: firebreak-sandbox',
    '    user: firebreak-admin',
    'current-context: firebreak-sandbox',
    '',
  ].join('\n');
}

export interface SandboxOptions {
  tools: ToolPaths;
  ownerId: string;
  /** Folder for logs, data and the kubeconfig; a fresh temporary folder when omitted. */
  workDir?: string;
  temporal?: false | { dbFile?: string; ui?: boolean; port?: number; uiPort?: number };
  moto?: boolean;
  kubernetes?: boolean;
  registry?: boolean;
  /** Removes workDir on stop (default: true when workDir was created here). */
  removeWorkDir?: boolean;
  /** How long each server may take to answer before start-up fails (default 90 s). */
  readyTimeoutMs?: number;
}

export interface Sandbox {
  workDir: string;
  temporal: TemporalServer | undefined;
  moto: MotoServer | undefined;
  kubernetes: KubernetesServers | undefined;
  registry: RegistryServer | undefined;
  processes(): ManagedProcess[];
  stop(): Promise<void>;
}

/**
 * Starts the requested servers concurrently. If any fails, the ones already
 * started are stopped before the error is rethrown.
 */
export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const created = opts.workDir === undefined;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'firebreak-sandbox-')));
  await mkdir(workDir, { recursive: true });
  const common = { tools: opts.tools, ownerId: opts.ownerId, workDir, ...(opts.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: opts.readyTimeoutMs }) };
  const results = await Promise.allSettled([
    opts.temporal === false || opts.temporal === undefined
      ? Promise.resolve(undefined)
      : startTemporalDevServer({ ...common, ...opts.temporal }),
    opts.moto ? startMoto(common) : Promise.resolve(undefined),
    opts.kubernetes ? startKubernetes(common) : Promise.resolve(undefined),
    opts.registry ? startRegistry(common) : Promise.resolve(undefined),
  ]);
  const [temporal, moto, kubernetes, registry] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined)) as [
    TemporalServer | undefined,
    MotoServer | undefined,
    KubernetesServers | undefined,
    RegistryServer | undefined,
  ];
  const processes = () =>
    [temporal?.process, moto?.process, kubernetes?.apiserver, kubernetes?.etcd, registry?.process].filter(
      (p): p is ManagedProcess => p !== undefined,
    );
  const stopProcesses = async () => {
    // kube-apiserver before etcd, so it does not log a storm of connection errors.
    await Promise.all([temporal?.process.stop(), moto?.process.stop(), kubernetes?.apiserver.stop(), registry?.process.stop()]);
    await kubernetes?.etcd.stop();
  };
  const stop = async () => {
    await stopProcesses();
    if (opts.removeWorkDir ?? created) await rm(workDir, { recursive: true, force: true });
  };
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    // Keep workDir: its logs explain the failure.
    await stopProcesses();
    const reasons = failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason)));
    throw new AggregateError(
      failures.map((f) => f.reason as unknown),
      `The sandbox could not start:\n${reasons.join('\n\n')}`,
    );
  }
  return { workDir, temporal, moto, kubernetes, registry, processes, stop };
}
