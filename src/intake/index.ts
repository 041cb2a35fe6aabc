/**
 * Alert intake, as a process role: loads the runbook policies, connects to
 * Temporal and serves the HTTP endpoints (see ./server.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { workflowCatalog } from '../../workflows/catalog.ts';
import { slackApi } from '../wiring/clients.ts';
import { ApproverGroups } from '../slack/groups.ts';
import type { Config } from '../config/index.ts';
import { loadRunbooks } from '../runbooks/loader.ts';
import { connectClient } from '../wiring/temporal.ts';
import { alertSources } from './alert.ts';
import { intakeAuthFromConfig, type IntakeAuth } from './auth.ts';
import { temporalDelivery } from './deliver.ts';
import { IntakeService } from './service.ts';
import { startIntakeServer, type IntakeServer } from './server.ts';

export { alertSources, type Alert, type AlertSource } from './alert.ts';
export { normaliseBody, normalisePayload, InvalidPayloadError } from './normalise.ts';
export { routeAlert, correlationKeyFor, targetsFor, type Route } from './router.ts';
export { unroutedFile, type UnroutedRecord } from './service.ts';

export interface RunningIntake extends IntakeServer {
  runbooks: string[];
  auth: IntakeAuth;
}

/** Starts intake from configuration; `auth` overrides the configured credentials (the local stack). */
export async function startIntake(config: Config, log: Logger, opts: { auth?: IntakeAuth } = {}): Promise<RunningIntake> {
  const groups = config.FIREBREAK_APPROVER_GROUPS;
  const runbooks = await loadRunbooks(config.FIREBREAK_RUNBOOKS_DIR, { catalog: workflowCatalog, groups });
  const client = await connectClient(config);
  const delivery = temporalDelivery(client);
  const auth = opts.auth ?? intakeAuthFromConfig(config);
  // Slack user groups (FIREBREAK_SLACK_USERGROUPS) join the static lists, as for /incident.
  const slackGroups = Object.keys(config.FIREBREAK_SLACK_USERGROUPS).length === 0 ? undefined : new ApproverGroups(config, slackApi(config));
  const warn = (message: string) => log.warn(message);
  const service = new IntakeService({
    delivery,
    policies: runbooks.map((r) => r.policy),
    groups: slackGroups === undefined ? groups : () => slackGroups.resolveOrStatic(warn),
    taskQueue: config.FIREBREAK_TASK_QUEUE,
    dataDir: config.FIREBREAK_DATA_DIR,
    log,
  });
  let server: IntakeServer;
  try {
    await service.start();
    server = await startIntakeServer({ service, auth, ready: delivery.ping, log, host: config.FIREBREAK_INTAKE_HOST, port: config.FIREBREAK_INTAKE_PORT, defaultCluster: config.FIREBREAK_DEFAULT_CLUSTER });
  } catch (e) {
    await client.connection.close();
    throw e;
  }
  log.info(
    { url: server.url, runbooks: runbooks.map((r) => r.policy.id), sources: alertSources.map((s) => `${s}:${auth[s]?.mode ?? 'disabled'}`) },
    'intake listening',
  );
  return {
    ...server,
    runbooks: runbooks.map((r) => r.policy.id),
    auth,
    close: async () => {
      await server.close();
      await service.close();
      await client.connection.close();
    },
  };
}

/**
 * The local stack's token for sources without configured credentials: random,
 * made once and kept in `<data>/intake/local-token` (mode 0600), so the
 * README's curl command can read it.
 */
export async function localIntakeToken(dataDir: string): Promise<{ file: string; token: string }> {
  const file = join(resolve(dataDir), 'intake', 'local-token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 16) return { file, token };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(24).toString('hex');
  await mkdir(join(resolve(dataDir), 'intake'), { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { file, token };
}
