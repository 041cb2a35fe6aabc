/**
 * deploy/kubernetes, the kustomize base: rendered by the real kubectl
 * (`kubectl kustomize`), applied to the real kube-apiserver the global setup
 * starts with server-side dry-run (only the namespace, and the ServiceAccount
 * a token is issued for, are stored), and checked as the compose test checks docker-compose.yml:
 * every variable against the config schema, secrets only in Secrets, and the
 * probes against the real `firebreak serve`.
 *
 * Most checks read the operator's render: the base under an overlay that sets
 * what the base leaves to the operator (the evidence bucket, the credentials),
 * as docs/deploy-kubernetes.md shows. The base alone is checked for what it
 * must never contain (a secret value) and for refusing to run unconfigured.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiException, AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigError, configVariables, parseConfig, secretVariables, type Config } from '../../src/config/index.ts';
import { freePort } from '../../src/net/ports.ts';
import { kubeClients } from '../../src/wiring/clients.ts';
import { spawnServe } from '../support/serve.ts';
import { kubeConfig, sandbox, uniqueName } from '../support/servers.ts';
import { slackStub, stubToken } from '../support/slack-stub.ts';

type Env = Record<string, string>;
type Labels = Record<string, string>;

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef };
}
interface EnvFrom {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}
type PortRef = number | string;
interface Probe {
  httpGet?: { path?: string; port: PortRef; scheme?: string };
  tcpSocket?: { port: PortRef };
  exec?: unknown;
  grpc?: unknown;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvFrom[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  topologySpreadConstraints?: SpreadConstraint[];
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; emptyDir?: unknown; configMap?: { name: string; items?: { key: string; path: string }[] } }[];
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Deployment extends KubeObject {
  spec: { replicas?: number; selector: { matchLabels?: Labels }; template: { metadata: { labels?: Labels; annotations?: Labels }; spec: PodSpec } };
}
interface SpreadConstraint {
  topologyKey: string;
  maxSkew: number;
  whenUnsatisfiable: string;
  labelSelector?: { matchLabels?: Labels };
}
interface Budget extends KubeObject {
  spec: { selector: { matchLabels?: Labels }; minAvailable?: number | string; maxUnavailable?: number | string };
}
interface Service extends KubeObject {
  spec: { selector?: Labels; ports: { name?: string; port: number; targetPort?: PortRef; protocol?: string }[] };
}
interface PolicyPort {
  protocol?: string;
  port?: PortRef;
}
interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: { matchLabels?: Labels };
    policyTypes?: string[];
    ingress?: { from?: unknown[]; ports?: PolicyPort[] }[];
    egress?: { to?: unknown[]; ports?: PolicyPort[] }[];
  };
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const baseDir = join(repoRoot, 'deploy', 'kubernetes');
const { kubectl } = sandbox().tools;
const run = promisify(execFile);

/** `kubectl kustomize <dir>`, every document of its output. */
async function kustomize(dir: string): Promise<KubeObject[]> {
  const { stdout } = await run(kubectl, ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((d) => d.toJS() as KubeObject);
}

/** The overlay an operator writes (docs/deploy-kubernetes.md): its own namespace, the evidence bucket, the credentials. */
const namespace = uniqueName('firebreak-k8s').toLowerCase();
const falcoToken = randomBytes(24).toString('hex');
const signingSecret = randomBytes(16).toString('hex');
const overlayDir = await mkdtemp(join(tmpdir(), 'firebreak-overlay-'));
afterAll(() => rm(overlayDir, { recursive: true, force: true }));
await writeFile(
  join(overlayDir, 'kustomization.yaml'),
  [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    `namespace: ${namespace}`,
    'resources:',
    // kustomize takes a base only by a relative path.
    `  - ${relative(overlayDir, baseDir)}`,
    'configMapGenerator:',
    '  - name: firebreak-worker',
    '    behavior: merge',
    '    literals: [FIREBREAK_EVIDENCE_S3_BUCKET=acme-firebreak-evidence]',
    'secretGenerator:',
    '  - name: firebreak-intake',
    '    behavior: merge',
    `    literals: [FIREBREAK_INTAKE_FALCO_TOKEN=${falcoToken}]`,
    '  - name: firebreak-slack',
    '    behavior: merge',
    `    literals: [SLACK_BOT_TOKEN=${stubToken}, SLACK_SIGNING_SECRET=${signingSecret}]`,
    '',
  ].join('\n'),
);

const base = await kustomize(baseDir);
const rendered = await kustomize(overlayDir);

const ofKind = <T extends KubeObject>(objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind) as T[];
const deployments = ofKind<Deployment>(rendered, 'Deployment');
const roleOf = (d: Deployment): string => d.spec.template.metadata.labels?.['app.kubernetes.io/component'] ?? d.metadata.name;
const podsOf = (d: Deployment): Labels => d.spec.template.metadata.labels ?? {};
const containersOf = (d: Deployment): Container[] => [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers];
const byRole = (role: string): Deployment => {
  const found = deployments.find((d) => roleOf(d) === role);
  if (found === undefined) throw new Error(`no Deployment for the ${role} role`);
  return found;
};
const selects = (selector: Labels | undefined, labels: Labels): boolean =>
  selector !== undefined && Object.entries(selector).every(([key, value]) => labels[key] === value);

/** The ENV the Dockerfile's image sets: every container starts with it. */
async function imageEnvironment(): Promise<Env> {
  const text = (await readFile(join(repoRoot, 'Dockerfile'), 'utf8')).replace(/\\\r?\n/g, ' ');
  const env: Env = {};
  for (const line of text.split(/\r?\n/).filter((l) => /^ENV\s/.test(l))) {
    for (const [, key = '', value = ''] of line.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[key] = value.replace(/^"|"$/g, '');
  }
  return env;
}
const imageEnv = await imageEnvironment();

/** What a ConfigMap or Secret holds, decoded. */
function dataOf(object: KubeObject): Env {
  const decoded = Object.fromEntries(
    Object.entries(object.data ?? {}).map(([key, value]) => [key, object.kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value]),
  );
  return { ...decoded, ...(object.stringData ?? {}) };
}

function referenced(objects: KubeObject[], kind: 'ConfigMap' | 'Secret', name: string, optional = false): Env | undefined {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined && !optional) throw new Error(`${kind} ${name} is referenced but not in the manifests`);
  return found === undefined ? undefined : dataOf(found);
}

/**
 * The variables the kubelet would link in for every Service of the pod's
 * namespace, and the API server's (always): <NAME>_SERVICE_HOST, <NAME>_PORT=tcp://…
 */
function serviceLinks(objects: KubeObject[], pod: PodSpec): Env {
  const services = [{ name: 'kubernetes', port: 443 }];
  if (pod.enableServiceLinks !== false) {
    for (const s of ofKind<Service>(objects, 'Service')) services.push({ name: s.metadata.name, port: s.spec.ports[0]?.port ?? 0 });
  }
  const env: Env = {};
  for (const { name, port } of services) {
    const prefix = name.toUpperCase().replace(/-/g, '_');
    Object.assign(env, {
      [`${prefix}_SERVICE_HOST`]: '10.0.0.10',
      [`${prefix}_SERVICE_PORT`]: String(port),
      [`${prefix}_PORT`]: `tcp://10.0.0.10:${port}`,
      [`${prefix}_PORT_${port}_TCP`]: `tcp://10.0.0.10:${port}`,
      [`${prefix}_PORT_${port}_TCP_PROTO`]: 'tcp',
      [`${prefix}_PORT_${port}_TCP_PORT`]: String(port),
      [`${prefix}_PORT_${port}_TCP_ADDR`]: '10.0.0.10',
    });
  }
  return env;
}

/** The environment a container starts with: the image's, the service links, envFrom in order, then env. */
function containerEnvironment(objects: KubeObject[], d: Deployment, container: Container): Env {
  const env: Env = { ...imageEnv, ...serviceLinks(objects, d.spec.template.spec) };
  for (const from of container.envFrom ?? []) {
    const source = from.configMapRef !== undefined
      ? referenced(objects, 'ConfigMap', from.configMapRef.name, from.configMapRef.optional)
      : from.secretRef !== undefined
        ? referenced(objects, 'Secret', from.secretRef.name, from.secretRef.optional)
        : undefined;
    for (const [key, value] of Object.entries(source ?? {})) env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.configMapKeyRef ?? entry.valueFrom?.secretKeyRef;
    if (ref === undefined) {
      env[entry.name] = entry.value ?? '';
      continue;
    }
    const data = referenced(objects, entry.valueFrom?.secretKeyRef !== undefined ? 'Secret' : 'ConfigMap', ref.name, ref.optional);
    const value = data?.[ref.key];
    if (value === undefined && ref.optional !== true) throw new Error(`${entry.name}: key ${ref.key} is not in ${ref.name}`);
    if (value !== undefined) env[entry.name] = value;
  }
  return env;
}

const firebreakContainer = (d: Deployment): Container => {
  const found = d.spec.template.spec.containers.find((c) => c.args?.includes('serve'));
  if (found === undefined) throw new Error(`${d.metadata.name} runs no \`firebreak serve\` container`);
  return found;
};
const configOf = (objects: KubeObject[], d: Deployment): Config => parseConfig(containerEnvironment(objects, d, firebreakContainer(d)));

/** Every variable name the manifests set: ConfigMap and Secret keys, env entries. */
function variableNames(objects: KubeObject[]): { where: string; name: string }[] {
  const names: { where: string; name: string }[] = [];
  for (const o of objects.filter((x) => x.kind === 'ConfigMap' || x.kind === 'Secret')) {
    if (o.metadata.name.startsWith('firebreak-kubeconfig')) continue; // a file, mounted, not environment
    for (const key of Object.keys(dataOf(o))) names.push({ where: `${o.kind} ${o.metadata.name}`, name: key });
  }
  for (const d of ofKind<Deployment>(objects, 'Deployment')) for (const c of containersOf(d)) for (const e of c.env ?? []) names.push({ where: `${d.metadata.name}/${c.name}`, name: e.name });
  return names;
}

const listenPort: Record<string, (c: Config) => { host: string; port: number }> = {
  intake: (c) => ({ host: c.FIREBREAK_INTAKE_HOST, port: c.FIREBREAK_INTAKE_PORT }),
  slack: (c) => ({ host: c.FIREBREAK_SLACK_HOST, port: c.FIREBREAK_SLACK_PORT }),
};

function containerPort(container: Container, port: PortRef): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}
const probesOf = (c: Container): [string, Probe][] =>
  (['startupProbe', 'livenessProbe', 'readinessProbe'] as const).flatMap((kind) => (c[kind] === undefined ? [] : [[kind, c[kind]] as [string, Probe]]));


const tcpAccepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** `firebreak serve` with a Deployment's environment, moved onto this machine: the test Temporal, a free loopback port, a scratch data dir. */
async function serveAsDeployment(role: 'intake' | 'slack', extra: Env = {}) {
  const d = byRole(role);
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), `firebreak-${role}-`));
  afterAll(() => rm(dataDir, { recursive: true, force: true }));
  const variable = role === 'intake' ? 'INTAKE' : 'SLACK';
  const metricsPort = await freePort();
  const serve = spawnServe({
    ...containerEnvironment(rendered, d, firebreakContainer(d)),
    TEMPORAL_ADDRESS: sandbox().temporalAddress,
    TEMPORAL_NAMESPACE: sandbox().temporalNamespace,
    FIREBREAK_DATA_DIR: dataDir,
    FIREBREAK_RUNBOOKS_DIR: join(repoRoot, 'runbooks'),
    [`FIREBREAK_${variable}_HOST`]: '127.0.0.1',
    [`FIREBREAK_${variable}_PORT`]: String(port),
    FIREBREAK_METRICS_HOST: '127.0.0.1',
    FIREBREAK_METRICS_PORT: String(metricsPort),
    ...extra,
  });
  afterAll(() => serve.kill());
  return { serve, port, metricsPort, container: firebreakContainer(d) };
}

/** Where the kubelet mounts a pod's ServiceAccount token and the cluster's CA. */
const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The kubeconfig file the worker reads: KUBECONFIG, resolved through its volume mount to a ConfigMap item. */
function workerKubeconfig(): string {
  const worker = byRole('worker');
  const container = firebreakContainer(worker);
  const path = configOf(rendered, worker).KUBECONFIG ?? '';
  const mount = container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
  const volume = worker.spec.template.spec.volumes?.find((v) => v.name === mount?.name);
  const item = volume?.configMap?.items?.find((i) => `${mount?.mountPath}/${i.path}` === path);
  const file = item === undefined ? undefined : referenced(rendered, 'ConfigMap', volume!.configMap!.name)?.[item.key];
  if (file === undefined) throw new Error(`KUBECONFIG (${path}) is not an item of a ConfigMap volume mounted in the worker`);
  return file;
}

describe('deploy/kubernetes, the kustomize base', () => {
  it('renders the worker, intake and slack Deployments, each running `firebreak serve` with exactly its role', () => {
    expect(deployments.map(roleOf).sort()).toEqual(['intake', 'slack', 'worker']);
    for (const d of deployments) {
      const container = firebreakContainer(d);
      // No command: the image's ENTRYPOINT (node bin/firebreak.js) runs, as in the compose file.
      expect(container.command, d.metadata.name).toBeUndefined();
      expect(container.args, d.metadata.name).toEqual(['serve']);
      expect(configOf(rendered, d).FIREBREAK_ROLES, d.metadata.name).toEqual([roleOf(d)]);
    }
  });

  it('runs every Firebreak container from one image, named firebreak (for an overlay to re-pin) at package.json\'s version', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const images = new Set(deployments.flatMap((d) => containersOf(d).map((c) => c.image)));
    expect([...images]).toEqual([`firebreak:${version}`]);
  });

  describe('applied with server-side dry-run to a real API server', () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const kubeconfigPath = sandbox().kubeconfigPath;

    /** Creates the rendered Namespace for real (with its Pod Security labels); deleted after the file. */
    async function createNamespace(): Promise<void> {
      const ns = ofKind<KubeObject>(rendered, 'Namespace');
      expect(ns.map((n) => n.metadata.name)).toEqual([namespace]);
      await core.createNamespace({ body: { metadata: { name: namespace, labels: { ...ns[0]!.metadata.labels, 'firebreak.io/test': 'true' } } } });
    }
    afterAll(async () => {
      try {
        await core.deleteNamespace({ name: namespace });
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 404)) throw e;
      }
    });

    async function dryRunApply(objects: KubeObject[]): Promise<{ stdout: string; stderr: string }> {
      const file = join(overlayDir, `apply-${randomBytes(4).toString('hex')}.yaml`);
      await writeFile(file, objects.map((o) => JSON.stringify(o)).join('\n---\n'));
      return run(kubectl, ['--kubeconfig', kubeconfigPath, 'apply', '--server-side', '--dry-run=server', '--field-manager=firebreak-test', '-f', file], {
        maxBuffer: 16 * 1024 * 1024,
      });
    }

    let namespaced = { stdout: '', stderr: '' };
    beforeAll(async () => {
      await createNamespace();
      namespaced = await dryRunApply(rendered.filter((o) => o.kind !== 'Namespace'));
    });

    it('accepts every object the base renders', () => {
      const applied = namespaced.stdout.split('\n').filter((line) => /serverside-applied \(server dry run\)$/.test(line));
      expect(applied).toHaveLength(rendered.length - 1);
      for (const o of rendered.filter((x) => x.kind !== 'Namespace')) {
        expect(namespaced.stdout, `${o.kind} ${o.metadata.name}`).toContain(`/${o.metadata.name} serverside-applied`);
      }
    });

    it('draws no Pod Security warning from the namespace\'s "restricted" level, which does warn of a root container', async () => {
      expect(namespaced.stderr).not.toMatch(/Warning|PodSecurity/);
      // The same Deployment, as root: the namespace's labels make the server say so, so silence above means compliance.
      const worker = structuredClone(byRole('worker'));
      worker.metadata.name = 'firebreak-worker-as-root';
      worker.spec.template.spec.securityContext = { ...worker.spec.template.spec.securityContext, runAsNonRoot: false, runAsUser: 0 };
      for (const c of worker.spec.template.spec.containers) c.securityContext = { ...c.securityContext, runAsNonRoot: false };
      const root = await dryRunApply([worker]);
      expect(root.stderr).toMatch(/would violate PodSecurity "restricted:latest"/);
    });

    // The one object stored besides the namespace: a token can only be issued for a ServiceAccount that exists.
    it("authenticates the worker's kubeconfig as the shipped ServiceAccount, reading the token and CA from the files the kubelet mounts", async () => {
      const account = rendered.find((o) => o.kind === 'ServiceAccount')!;
      await core.createNamespacedServiceAccount({ namespace, body: account });
      const issued = await core.createNamespacedServiceAccountToken({ name: account.metadata.name, namespace, body: { spec: { audiences: [], expirationSeconds: 600 } } });
      // This machine's stand-in for the kubelet's mount, and for the API server behind kubernetes.default.svc.
      const mounted = join(overlayDir, 'serviceaccount');
      await mkdir(mounted, { recursive: true });
      await writeFile(join(mounted, 'token'), issued.status?.token ?? '');
      const admin = kubeConfig().getCurrentCluster()!;
      await writeFile(join(mounted, 'ca.crt'), admin.caData === undefined ? await readFile(admin.caFile!) : Buffer.from(admin.caData, 'base64'));
      const file = join(overlayDir, 'worker-kubeconfig');
      await writeFile(file, workerKubeconfig().replaceAll(serviceAccountDir, mounted).replace('https://kubernetes.default.svc', sandbox().kubeServer));
      // As the worker builds its clients (src/wiring/clients.ts), from KUBECONFIG.
      const { config } = kubeClients(file);
      const review = await config.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace}:${account.metadata.name}`);
    });
  });

  it("renders the overlay docs/deploy-kubernetes.md shows: a valid configuration for every role, the image pinned by digest, the worker's IAM role", async () => {
    const docs = await readFile(join(repoRoot, 'docs', 'deploy-kubernetes.md'), 'utf8');
    const shown = /```yaml\n# kustomization\.yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(shown, 'a kustomization.yaml in the docs').toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'firebreak-docs-overlay-'));
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const digest = `sha256:${'ab'.repeat(32)}`;
    // Only the docs' placeholders are filled in: where the base is, the digest, the secret files.
    const text = shown!.replace(/^(\s+- )\.\.\/firebreak\/deploy\/kubernetes\b.*$/m, `$1${relative(dir, baseDir)}`).replace('sha256:<the digest you pushed>', digest);
    await writeFile(join(dir, 'kustomization.yaml'), text);
    await writeFile(join(dir, 'intake-secrets.env'), `FIREBREAK_INTAKE_FALCO_TOKEN=${falcoToken}\n`);
    await writeFile(join(dir, 'slack-secrets.env'), `SLACK_BOT_TOKEN=${stubToken}\nSLACK_SIGNING_SECRET=${signingSecret}\n`);
    const objects = await kustomize(dir);
    const documented = ofKind<Deployment>(objects, 'Deployment');
    expect(documented.map(roleOf).sort()).toEqual(['intake', 'slack', 'worker']);
    for (const d of documented) {
      expect(configOf(objects, d).FIREBREAK_ROLES, d.metadata.name).toEqual([roleOf(d)]);
      expect(firebreakContainer(d).image, d.metadata.name).toBe(`registry.example.com/security/firebreak@${digest}`);
    }
    expect(configOf(objects, documented.find((d) => roleOf(d) === 'worker')!).FIREBREAK_APPROVER_GROUPS).toEqual({ 'security-oncall': ['slack:U024BE7LH', 'cli:alice'] });
    const account = objects.find((o) => o.kind === 'ServiceAccount');
    expect(account?.metadata.annotations?.['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\//);
  });

  it("gives the worker's pods longer to stop than the worker's 30 s shutdown grace for running activities", async () => {
    const source = await readFile(join(repoRoot, 'src', 'worker', 'index.ts'), 'utf8');
    const grace = Number(/shutdownGraceTime: '(\d+) seconds'/.exec(source)?.[1]);
    expect(grace).toBeGreaterThan(0);
    expect(byRole('worker').spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(grace);
  });

  it('configures the Firebreak containers only with variables the config schema declares', () => {
    const known = new Set(configVariables);
    const unknown = [...variableNames(base), ...variableNames(rendered)].filter(({ name }) => !known.has(name)).map(({ where, name }) => `${where}: ${name}`);
    expect(unknown).toEqual([]);
  });

  it('keeps every secret variable in a Secret, and nothing but secret variables in the Secrets', () => {
    const misplaced = variableNames(base)
      .filter(({ where, name }) => secretVariables.has(name) !== where.startsWith('Secret '))
      .filter(({ where }) => !where.includes('/')) // env entries: checked below, by where their value comes from
      .map(({ where, name }) => `${where}: ${name}`);
    expect(misplaced).toEqual([]);
    const literal = deployments.flatMap((d) =>
      containersOf(d).flatMap((c) =>
        (c.env ?? []).filter((e) => secretVariables.has(e.name) && e.valueFrom?.secretKeyRef === undefined).map((e) => `${d.metadata.name}: ${e.name}`),
      ),
    );
    expect(literal).toEqual([]);
  });

  it('ships every Secret value as an empty placeholder, never a real or guessable one', () => {
    const secrets = ofKind<KubeObject>(base, 'Secret');
    expect(secrets.length).toBeGreaterThan(0);
    const filled = secrets.flatMap((s) => Object.entries(dataOf(s)).filter(([, value]) => value !== '').map(([key]) => `${s.metadata.name}: ${key}`));
    expect(filled).toEqual([]);
  });

  it('gives every Firebreak container a valid configuration once the operator sets the evidence bucket and credentials', () => {
    for (const d of deployments) expect(() => configOf(rendered, d), d.metadata.name).not.toThrow();
  });

  it('hands the worker the evidence bucket and the bot token, intake its source credentials, and the Slack app its tokens', () => {
    const worker = configOf(rendered, byRole('worker'));
    expect(worker.FIREBREAK_EVIDENCE_BACKEND).toBe('s3');
    expect(worker.FIREBREAK_EVIDENCE_S3_BUCKET).toBe('acme-firebreak-evidence');
    expect(worker.SLACK_BOT_TOKEN).toBe(stubToken);
    expect(configOf(rendered, byRole('intake')).FIREBREAK_INTAKE_FALCO_TOKEN).toBe(falcoToken);
    const slack = configOf(rendered, byRole('slack'));
    expect([slack.SLACK_MODE, slack.SLACK_BOT_TOKEN, slack.SLACK_SIGNING_SECRET]).toEqual(['http', stubToken, signingSecret]);
  });

  it('keeps the worker from starting until the operator sets the evidence bucket', () => {
    const worker = ofKind<Deployment>(base, 'Deployment').find((d) => roleOf(d) === 'worker')!;
    let thrown: unknown;
    try {
      configOf(base, worker);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems.map((p) => p.variable)).toEqual(['FIREBREAK_EVIDENCE_S3_BUCKET']);
  });

  it("keeps Kubernetes' service-link variables out of the configuration: the Services' would set FIREBREAK_INTAKE_PORT and FIREBREAK_SLACK_PORT", () => {
    const known = new Set(configVariables);
    const linked = (pod: PodSpec) => Object.keys(serviceLinks(rendered, pod)).filter((name) => known.has(name));
    expect(linked({ containers: [], enableServiceLinks: true }).sort()).toEqual(['FIREBREAK_INTAKE_PORT', 'FIREBREAK_SLACK_PORT']);
    for (const d of deployments) expect(linked(d.spec.template.spec), d.metadata.name).toEqual([]);
  });

  it('probes each listening process on the port it listens on (its FIREBREAK_*_PORT, every interface), and nothing else', () => {
    for (const d of deployments) {
      const container = firebreakContainer(d);
      const listens = listenPort[roleOf(d)];
      const probes = probesOf(container);
      if (listens === undefined) {
        // The worker serves only /metrics, which answers whether or not it polls: a probe there would prove nothing.
        expect({ ports: (container.ports ?? []).map((p) => p.name), probes }, d.metadata.name).toEqual({ ports: ['metrics'], probes: [] });
        continue;
      }
      const { host, port } = listens(configOf(rendered, d));
      expect(host, d.metadata.name).toBe('0.0.0.0');
      expect(probes.map(([kind]) => kind).sort(), d.metadata.name).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
      for (const [kind, probe] of probes) {
        const target = probe.httpGet ?? probe.tcpSocket;
        expect(target, `${d.metadata.name} ${kind} is an HTTP or TCP probe`).toBeDefined();
        expect(containerPort(container, target!.port), `${d.metadata.name} ${kind}`).toBe(port);
      }
    }
  });

  it('serves /metrics on every role at the container port named metrics, the one FIREBREAK_METRICS_PORT and the scrape annotations name, open to Prometheus only', () => {
    // Which pods it admits, and on which ports: the NetworkPolicy tests below.
    const policy = ofKind<NetworkPolicy>(rendered, 'NetworkPolicy').find((p) => p.metadata.name === 'firebreak-metrics');
    expect(policy?.spec.ingress, 'a NetworkPolicy admitting the monitoring namespace to the metrics port').toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ protocol: 'TCP', port: 'metrics' }] },
    ]);
    for (const d of deployments) {
      const config = configOf(rendered, d);
      const container = firebreakContainer(d);
      expect(config.FIREBREAK_METRICS_HOST, d.metadata.name).toBe('0.0.0.0');
      expect(containerPort(container, 'metrics'), d.metadata.name).toBe(config.FIREBREAK_METRICS_PORT);
      expect(d.spec.template.metadata.annotations?.['prometheus.io/port'], d.metadata.name).toBe(String(config.FIREBREAK_METRICS_PORT));
    }
  });

  it("answers intake's probes with 200 from the real `firebreak serve` run with the intake Deployment's environment", async () => {
    const { serve, port, metricsPort, container } = await serveAsDeployment('intake');
    await serve.log('intake listening', (l) => l.msg === 'intake listening', 30_000);
    const probes = probesOf(container);
    expect(probes.every(([, p]) => p.httpGet !== undefined)).toBe(true);
    const answers = await Promise.all(
      probes.map(async ([kind, p]) => [kind, p.httpGet!.path, (await fetch(`http://127.0.0.1:${port}${p.httpGet!.path ?? '/'}`)).status] as const),
    );
    expect(answers).toEqual(probes.map(([kind, p]) => [kind, p.httpGet!.path, 200]));
    await serve.log('metrics listening', (l) => l.msg === 'metrics listening', 30_000);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP firebreak_open_incidents /m);
  });

  it("accepts the Slack app's TCP probes on the real `firebreak serve` run with the slack Deployment's environment", async () => {
    const stub = await slackStub();
    const { serve, port, container } = await serveAsDeployment('slack', { SLACK_API_URL: stub.url });
    await serve.log('Slack app listening', (l) => l.msg === 'Slack app listening', 30_000);
    const probes = probesOf(container);
    expect(probes.length).toBeGreaterThan(0);
    for (const [kind, probe] of probes) {
      expect(probe.tcpSocket, kind).toBeDefined();
      expect(await tcpAccepts(port), kind).toBe(true);
    }
  });

  it("runs every container as the image's non-root user, read-only root, all capabilities dropped, no privilege escalation, RuntimeDefault seccomp", async () => {
    const dockerfile = await readFile(join(repoRoot, 'Dockerfile'), 'utf8');
    const [, user = '', group = ''] = /^USER\s+(\d+):(\d+)\s*$/m.exec(dockerfile) ?? [];
    for (const d of deployments) {
      const pod = d.spec.template.spec.securityContext ?? {};
      for (const c of containersOf(d)) {
        const s = { ...pod, ...c.securityContext };
        const where = `${d.metadata.name}/${c.name}`;
        expect(s.runAsNonRoot, where).toBe(true);
        expect([String(s.runAsUser), String(s.runAsGroup)], where).toEqual([user, group]);
        expect(s.readOnlyRootFilesystem, where).toBe(true);
        expect(s.allowPrivilegeEscalation, where).toBe(false);
        expect(s.privileged ?? false, where).toBe(false);
        expect(c.securityContext?.capabilities, where).toEqual({ drop: ['ALL'] });
        expect(s.seccompProfile, where).toEqual({ type: 'RuntimeDefault' });
      }
    }
  });

  it("runs every pod as rbac.yaml's ServiceAccount, with its token mounted only where the worker acts on the cluster", async () => {
    const rbac = parseAllDocuments(await readFile(join(baseDir, 'rbac.yaml'), 'utf8')).map((doc) => doc.toJS() as KubeObject);
    const accounts = rbac.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name);
    expect(accounts).toHaveLength(1);
    const tokens: Record<string, boolean | undefined> = {};
    for (const d of deployments) {
      expect(d.spec.template.spec.serviceAccountName, d.metadata.name).toBe(accounts[0]);
      tokens[roleOf(d)] = d.spec.template.spec.automountServiceAccountToken;
    }
    expect(tokens).toEqual({ worker: true, intake: false, slack: false });
  });

  it("gives the worker a kubeconfig for its own cluster, as its ServiceAccount's mounted token", () => {
    const kc = new KubeConfig();
    kc.loadFromString(workerKubeconfig());
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://kubernetes.default.svc', caFile: `${serviceAccountDir}/ca.crt` });
    // client-node's "tokenFile" provider re-reads the file every minute: the kubelet rotates the bound token.
    expect(kc.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: `${serviceAccountDir}/token` } });
  });

  it('mounts a writable volume wherever a process writes, as the root file system is read-only: FIREBREAK_DATA_DIR and /tmp', () => {
    for (const d of deployments) {
      const container = firebreakContainer(d);
      const emptyDirs = new Set((d.spec.template.spec.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
      const writable = (container.volumeMounts ?? []).filter((m) => emptyDirs.has(m.name) && m.readOnly !== true).map((m) => m.mountPath);
      expect(writable.sort(), d.metadata.name).toEqual([configOf(rendered, d).FIREBREAK_DATA_DIR, '/tmp'].sort());
    }
  });

  it('requests and limits CPU and memory for every container', () => {
    for (const d of deployments) {
      for (const c of containersOf(d)) {
        expect(Object.keys(c.resources?.requests ?? {}).sort(), `${d.metadata.name} requests`).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources?.limits ?? {}).sort(), `${d.metadata.name} limits`).toEqual(['cpu', 'memory']);
      }
    }
  });

  it("selects each Deployment's pods with exactly one PodDisruptionBudget, which lets a drain evict one pod at a time", () => {
    const budgets = ofKind<Budget>(rendered, 'PodDisruptionBudget');
    for (const d of deployments) {
      const mine = budgets.filter((b) => selects(b.spec.selector.matchLabels, podsOf(d)));
      expect(mine.map((b) => b.metadata.name), d.metadata.name).toHaveLength(1);
      expect(mine[0]!.spec.maxUnavailable, d.metadata.name).toBe(1);
      // Exactly its own pods: no other Deployment's.
      const others = deployments.filter((o) => o !== d && selects(mine[0]!.spec.selector.matchLabels, podsOf(o)));
      expect(others, d.metadata.name).toEqual([]);
      expect(selects(d.spec.selector.matchLabels, podsOf(d)), `${d.metadata.name}'s selector matches its pods`).toBe(true);
    }
  });

  it("runs at least two replicas of each Deployment, spread over nodes where the cluster has them", () => {
    for (const d of deployments) {
      expect(d.spec.replicas, d.metadata.name).toBeGreaterThanOrEqual(2);
      const spread = (d.spec.template.spec.topologySpreadConstraints ?? []).filter((c) => c.topologyKey === 'kubernetes.io/hostname');
      expect(spread.length, d.metadata.name).toBe(1);
      // Its own pods only, and never left Pending on a one-node cluster.
      expect(selects(spread[0]!.labelSelector?.matchLabels, podsOf(d)) && spread[0]!.whenUnsatisfiable === 'ScheduleAnyway', d.metadata.name).toBe(true);
      expect(deployments.filter((o) => o !== d && selects(spread[0]!.labelSelector?.matchLabels, podsOf(o))), d.metadata.name).toEqual([]);
    }
  });

  it('exposes intake and the Slack app each through a Service to the port it listens on, selecting only its own pods', () => {
    const services = ofKind<Service>(rendered, 'Service');
    for (const role of Object.keys(listenPort)) {
      const d = byRole(role);
      const mine = services.filter((s) => deployments.filter((o) => selects(s.spec.selector, podsOf(o))).map(roleOf).join() === role);
      expect(mine.map((s) => s.metadata.name), role).toHaveLength(1);
      const { port } = listenPort[role]!(configOf(rendered, d));
      expect(mine[0]!.spec.ports.map((p) => containerPort(firebreakContainer(d), p.targetPort ?? p.port)), role).toEqual([port]);
    }
    expect(services).toHaveLength(Object.keys(listenPort).length);
  });

  describe('NetworkPolicy', () => {
    const policies = ofKind<NetworkPolicy>(rendered, 'NetworkPolicy');
    const policiesOf = (d: Deployment, type: 'Ingress' | 'Egress') =>
      policies.filter((p) => selects(p.spec.podSelector.matchLabels, podsOf(d)) && (p.spec.policyTypes ?? ['Ingress']).includes(type));
    /** The ports a pod's policies open, as "TCP/8080"; a rule without ports (every port) as "any". */
    const opened = (d: Deployment, type: 'Ingress' | 'Egress'): string[] => {
      const rules = policiesOf(d, type).flatMap((p) => (type === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []);
      const ports = rules.flatMap((r) =>
        r.ports === undefined || r.ports.length === 0
          ? ['any']
          : r.ports.map((p) => `${p.protocol ?? 'TCP'}/${p.port === undefined ? 'any' : containerPort(firebreakContainer(d), p.port) ?? `unknown ${String(p.port)}`}`),
      );
      return [...new Set(ports)].sort();
    };

    it("lets into Firebreak's pods only connections to intake's and the Slack app's listening ports, and to each pod's metrics port", () => {
      const ingress = Object.fromEntries(deployments.map((d) => [roleOf(d), opened(d, 'Ingress')]));
      const intake = listenPort['intake']!(configOf(rendered, byRole('intake'))).port;
      const slack = listenPort['slack']!(configOf(rendered, byRole('slack'))).port;
      const metrics = `TCP/${configOf(rendered, byRole('worker')).FIREBREAK_METRICS_PORT}`;
      expect(ingress).toEqual({ worker: [metrics], intake: [`TCP/${intake}`, metrics].sort(), slack: [`TCP/${slack}`, metrics].sort() });
      for (const d of deployments) expect(policiesOf(d, 'Ingress').length, `${d.metadata.name} is under an ingress policy`).toBeGreaterThan(0);
    });

    it('lets Firebreak out only to DNS, the Temporal frontend of TEMPORAL_ADDRESS and HTTPS, and the worker to the API server', () => {
      for (const d of deployments) {
        const temporalPort = (configOf(rendered, d).TEMPORAL_ADDRESS ?? '').split(':').at(-1);
        const expected = ['TCP/443', 'TCP/53', `TCP/${temporalPort}`, 'UDP/53', ...(roleOf(d) === 'worker' ? ['TCP/6443'] : [])].sort();
        expect(opened(d, 'Egress'), d.metadata.name).toEqual(expected);
      }
    });
  });
});
