// Shared set-up for the intake tests: fixtures, test policies, and an intake
// server on loopback delivering to the engine test workflow on the dev server.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { pino, type Logger } from 'pino';
import { afterAll } from 'vitest';
import type { AlertSource } from '../../src/intake/alert.ts';
import type { IntakeAuth } from '../../src/intake/auth.ts';
import { temporalDelivery, type Delivery } from '../../src/intake/deliver.ts';
import { IntakeService, type IntakeServiceOptions } from '../../src/intake/service.ts';
import { startIntakeServer, type IntakeServer } from '../../src/intake/server.ts';
import { runbookPolicy, type RunbookPolicy } from '../../src/runbooks/schema.ts';
import { uniqueName } from '../support/servers.ts';

export const fixturesDir = path.join(import.meta.dirname, 'fixtures');

export async function fixture(name: string): Promise<string> {
  return readFile(path.join(fixturesDir, name), 'utf8');
}

export async function fixtureJson(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await fixture(name)) as Record<string, unknown>;
}

export const releaseAgentRule = 'Detect release_agent File Container Escapes';

const steps = [
  { id: 'collect', description: 'seal evidence', gate: 'none' },
  {
    id: 'isolate',
    description: 'quarantine the pod',
    gate: { approvers: ['cli:alice', 'cli:bob'], required: 1, timeout: '30m', onTimeout: 'deny' },
  },
  {
    id: 'cordon',
    description: 'cordon the node',
    gate: { approvers: ['cli:alice', 'cli:bob'], required: 1, timeout: '30m', onTimeout: 'deny' },
  },
];

function policy(id: string, title: string, triggers: unknown[], autoContain: unknown[] = []): RunbookPolicy {
  return runbookPolicy.parse({
    id,
    version: 1,
    title,
    summary: `${title} (intake test)`,
    workflow: 'engineTestWorkflow',
    triggers,
    steps,
    autoContain,
    rollback: { gate: 'none' },
  });
}

/**
 * Four runbooks on the engine test workflow. `suffix` keeps the ids (and so
 * the incident ids) of one test apart from another's.
 */
export function testPolicies(suffix: string): { escape: RunbookPolicy; credentials: RunbookPolicy; miner: RunbookPolicy; image: RunbookPolicy; all: RunbookPolicy[] } {
  const escape = policy(
    `escape-${suffix}`,
    'Container escape',
    [
      { source: 'falco', rules: [releaseAgentRule, 'Terminal shell in container'], minSeverity: 'low' },
      { source: 'guardduty', findingTypes: ['PrivilegeEscalation:Runtime/*', 'Execution:Runtime/*'] },
    ],
    [{ when: { source: 'falco', rules: [releaseAgentRule], minSeverity: 'critical' }, steps: ['isolate'] }],
  );
  const credentials = policy(`credentials-${suffix}`, 'Credential compromise', [
    { source: 'guardduty', findingTypes: ['UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS'] },
    { source: 'generic', rules: ['aws-access-key-in-public-repo'] },
  ]);
  const miner = policy(`miner-${suffix}`, 'Cryptominer', [{ source: 'alertmanager', labels: { alertname: 'KubePodCryptominerSuspected' } }]);
  // No shipped runbook takes Inspector findings yet (the supply-chain runbook is to come): this one does, for the tests.
  const image = policy(`image-${suffix}`, 'Vulnerable image', [{ source: 'inspector', rules: ['CVE-2024-4068', 'MAL-*'], minSeverity: 'high' }]);
  return { escape, credentials, miner, image, all: [escape, credentials, miner, image] };
}

export const tokens: Record<AlertSource, string> = {
  falco: 'falco-token-0123456789abcdef',
  guardduty: 'guardduty-token-0123456789abcdef',
  alertmanager: 'alertmanager-token-0123456789',
  generic: 'generic-token-0123456789abcdef',
  inspector: 'inspector-token-0123456789abcdef',
};

export const bearerAuth: IntakeAuth = {
  falco: { mode: 'bearer', token: tokens.falco },
  guardduty: { mode: 'bearer', token: tokens.guardduty },
  alertmanager: { mode: 'bearer', token: tokens.alertmanager },
  generic: { mode: 'bearer', token: tokens.generic },
  inspector: { mode: 'bearer', token: tokens.inspector },
};

export const silentLog = pino({ level: 'silent' });

export async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'firebreak-intake-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An intake server on an ephemeral loopback port; closed after the file. */
export async function startTestIntake(o: {
  client: Client;
  taskQueue: string;
  policies: RunbookPolicy[];
  auth?: IntakeAuth;
  dataDir?: string;
  ready?: () => Promise<void>;
  now?: () => number;
  groups?: IntakeServiceOptions['groups'];
  /** Wraps the real delivery to Temporal (e.g. to refuse some attempts). */
  delivery?: (real: Delivery) => Delivery;
  /** FIREBREAK_DEFAULT_CLUSTER. */
  defaultCluster?: string;
  mode?: IntakeServiceOptions['mode'];
  log?: Logger;
  requestTimeoutMs?: number;
}): Promise<IntakeServer & { service: IntakeService; dataDir: string }> {
  const dataDir = o.dataDir ?? (await tempDataDir());
  const real = temporalDelivery(o.client);
  const delivery = o.delivery?.(real) ?? real;
  const service = new IntakeService({ delivery, policies: o.policies, groups: o.groups ?? {}, taskQueue: o.taskQueue, dataDir, log: silentLog, ...(o.mode === undefined ? {} : { mode: o.mode }) });
  await service.start();
  const server = await startIntakeServer({
    service,
    auth: o.auth ?? bearerAuth,
    ready: o.ready ?? real.ping,
    log: o.log ?? silentLog,
    host: '127.0.0.1',
    ...(o.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: o.requestTimeoutMs }),
    port: 0,
    ...(o.now === undefined ? {} : { now: o.now }),
    defaultCluster: o.defaultCluster,
  });
  afterAll(async () => {
    await server.close();
    await service.close();
  });
  return { ...server, service, dataDir };
}

export interface PostResult {
  status: number;
  body: Record<string, unknown> & {
    alerts?: {
      alertId: string;
      unrouted?: string;
      incidents: { runbook: string; incidentId: string; delivery?: string; new?: boolean; runId?: string; recorded?: boolean; autoContain: string[] }[];
    }[];
    problems?: { path: string; message: string }[];
    message?: string;
    error?: string;
  };
}

/** POSTs an alert body with the source's bearer token unless headers say otherwise. */
export async function postAlert(base: string, source: AlertSource, body: string, headers: Record<string, string> = {}): Promise<PostResult> {
  const res = await fetch(`${base}/v1/alerts/${source}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[source]}`, ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as PostResult['body'] };
}

/** The environment of a `firebreak` run whose runbooks directory holds one policy file (YAML text) and whose data dir is its own. */
export async function cliEnvWithPolicy(file: string, yaml: string): Promise<Record<string, string>> {
  const dir = await tempDataDir();
  await mkdir(path.join(dir, 'runbooks'));
  await writeFile(path.join(dir, 'runbooks', file), yaml);
  return { FIREBREAK_RUNBOOKS_DIR: path.join(dir, 'runbooks'), FIREBREAK_DATA_DIR: path.join(dir, 'data') };
}

/** An intake whose runbooks are its own (ids prefixed with a fresh name), so each test's incidents are its own. */
export async function intakeWithOwnPolicies(o: Omit<Parameters<typeof startTestIntake>[0], 'policies'> & { prefix: string }) {
  const { prefix, ...rest } = o;
  const policies = testPolicies(uniqueName(prefix).toLowerCase());
  return { ...(await startTestIntake({ ...rest, policies: policies.all })), policies };
}
