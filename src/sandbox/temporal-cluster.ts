/**
 * The production shape of Temporal on this machine: the real server
 * (`temporal-server`, built from go.temporal.io/server by the tools
 * installer) on PostgreSQL from the system's packages, each a child process
 * on loopback with its own data directory and ports. Schemas are set up with
 * the server's own `temporal-sql-tool` from the schema files of the same
 * module version, as an operator would.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { freePort } from '../net/ports.ts';
import { ServerStartError, startProcess, type ManagedProcess } from './processes.ts';

const run = promisify(execFile);

/** The server's binaries and schema files, from the tools cache. */
export interface TemporalServerTools {
  temporalServer: string;
  temporalSqlTool: string;
  /** `schema/postgresql/v12` of the server's module. */
  temporalSchemaDir: string;
}

interface Common {
  workDir: string;
  ownerId: string;
  readyTimeoutMs?: number;
}

export interface PostgresServer {
  process: ManagedProcess;
  port: number;
  user: string;
}

/** The newest PostgreSQL of the system's packages (Debian: /usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'postgres'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new ServerStartError(`PostgreSQL is not installed (no ${root}/<version>/bin/postgres): install Debian's package with \`apt-get install postgresql\` (.ci/run does).`, 'spawn');
  }
  return join(root, newest, 'bin');
}

/** Who PostgreSQL runs as: this user, or the packages' `postgres` user when this is root (PostgreSQL refuses root). */
async function postgresOwner(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A PostgreSQL cluster of its own: initdb into `workDir/pgdata`, listening on a free loopback port, trusting loopback. */
export async function startPostgres(o: Common & { port?: number; dataDir?: string }): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const owner = await postgresOwner();
  const dataDir = o.dataDir ?? join(o.workDir, 'pgdata');
  const socketDir = join(o.workDir, 'pgsocket');
  const user = 'temporal';
  for (const dir of [o.workDir, socketDir]) {
    await mkdir(dir, { recursive: true });
    if (owner.uid !== undefined) await chown(dir, owner.uid, owner.gid!);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (owner.uid !== undefined) await chown(dataDir, owner.uid, owner.gid!);
    await new Promise<void>((resolve, reject) => {
      execFile(join(bin, 'initdb'), ['-D', dataDir, '-U', user, '--auth=trust', '--encoding=UTF8', '--no-sync'], { ...owner }, (e, _out, err) =>
        e === null ? resolve() : reject(new ServerStartError(`initdb failed for ${dataDir}: ${err.trim() || e.message}${owner.uid === undefined ? '' : ' (it runs as the postgres user: every folder above the data dir must be searchable by it)'}`, 'spawn')),
      );
    });
  }
  const port = o.port ?? (await freePort());
  const process = await startProcess(
    {
      name: 'PostgreSQL',
      command: join(bin, 'postgres'),
      // fsync stays on: the chaos tests restart PostgreSQL and count on what it acknowledged.
      args: ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', socketDir, '-c', 'max_connections=200'],
      port,
      logFile: join(o.workDir, 'postgres.log'),
      readyTimeoutMs: o.readyTimeoutMs ?? 60_000,
      // Fast shutdown: SIGTERM would wait for the Temporal server's sessions to end.
      stopSignal: 'SIGINT',
      ...owner,
      ready: async () => {
        await run(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', user], { timeout: 2000 });
        return true;
      },
    },
    o.ownerId,
  );
  return { process, port, user };
}

/** Creates the two databases on a fresh PostgreSQL and brings their schemas to the server's version. */
export async function setupTemporalSchemas(tools: TemporalServerTools, pg: PostgresServer): Promise<void> {
  const base = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pg.port), '-u', pg.user, '--tls=false'];
  for (const [db, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    const tool = async (args: string[]) => {
      try {
        await run(tools.temporalSqlTool, [...base, '--db', db, ...args], { timeout: 120_000 });
      } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new ServerStartError(`temporal-sql-tool ${args[0]} for database ${db} failed: ${(err.stderr ?? '').trim().split('\n').slice(-5).join('\n') || err.message}`, 'unhealthy');
      }
    };
    await tool(['create-database']);
    await tool(['setup-schema', '-v', '0.0']);
    await tool(['update-schema', '-d', join(tools.temporalSchemaDir, dir, 'versioned')]);
  }
}

export interface TemporalClusterServer {
  process: ManagedProcess;
  /** The frontend's gRPC address, e.g. 127.0.0.1:7233. */
  address: string;
  namespace: string;
}

/** The services' ports: kept across restarts, so clients reconnect to the same address. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
}

/**
 * A free loopback port under 32768: the server stores membership ports in a
 * PostgreSQL smallint, so the kernel's ephemeral range (32768 and up) fails.
 */
async function freeLowPort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new ServerStartError('found no free loopback port between 20000 and 32000 for the Temporal server', 'spawn');
}

export async function temporalServerPorts(): Promise<TemporalServerPorts> {
  const names = ['frontend', 'frontendHttp', 'frontendMembership', 'history', 'historyMembership', 'matching', 'matchingMembership', 'worker', 'workerMembership', 'metrics'] as const;
  const ports = {} as TemporalServerPorts;
  const taken = new Set<number>();
  for (const n of names) taken.add((ports[n] = await freeLowPort(taken)));
  return ports;
}

function serverConfig(pg: PostgresServer, p: TemporalServerPorts, dynamicConfigFile: string): string {
  const store = (db: string, conns: number) => `      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "127.0.0.1:${pg.port}"
        connectProtocol: tcp
        user: ${pg.user}
        password: ""
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http === undefined ? '' : `\n      httpPort: ${http}`}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
${store('temporal', 20)}
    visibility:
${store('temporal_visibility', 5)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${p.metrics}"
services:
  frontend:
${service(p.frontend, p.frontendMembership, p.frontendHttp)}
  history:
${service(p.history, p.historyMembership)}
  matching:
${service(p.matching, p.matchingMembership)}
  worker:
${service(p.worker, p.workerMembership)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${p.frontend}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "${dynamicConfigFile}"
  pollInterval: 10s
`;
}

/** The dynamic config the compose file mounts (deploy/compose/temporal/dynamicconfig/firebreak.yaml). */
const dynamicConfig = `frontend.enableUpdateWorkflowExecution:
  - value: true
frontend.enableUpdateWorkflowExecutionAsyncAccepted:
  - value: true
`;

/** gRPC's status code ALREADY_EXISTS. */
const grpcAlreadyExists = 6;

async function registerNamespace(address: string, namespace: string, deadline: number): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    for (;;) {
      try {
        await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
      } catch (e) {
        // Registered by an earlier start on the same PostgreSQL: nothing to do. Anything else: the cluster is still starting.
        if (!(isGrpcServiceError(e) && Number(e.code) === grpcAlreadyExists)) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
      }
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

/** Starts `temporal-server` (every service in one process) on `pg`, and registers `namespace` once it answers. */
export async function startTemporalServer(
  tools: TemporalServerTools,
  pg: PostgresServer,
  o: Common & { ports?: TemporalServerPorts; namespace?: string },
): Promise<TemporalClusterServer> {
  const ports = o.ports ?? (await temporalServerPorts());
  const configDir = join(o.workDir, 'temporal-config');
  await mkdir(configDir, { recursive: true });
  const configFile = join(configDir, 'server.yaml');
  await writeFile(configFile, serverConfig(pg, ports, join(configDir, 'dynamicconfig.yaml')));
  await writeFile(join(configDir, 'dynamicconfig.yaml'), dynamicConfig);
  const address = `127.0.0.1:${ports.frontend}`;
  const namespace = o.namespace ?? 'default';
  const readyTimeoutMs = o.readyTimeoutMs ?? 120_000;
  const started = Date.now();
  const process = await startProcess(
    {
      name: 'Temporal server',
      command: tools.temporalServer,
      args: ['--config-file', configFile, '--allow-no-auth', 'start'],
      cwd: configDir,
      port: ports.frontend,
      logFile: join(o.workDir, 'temporal-server.log'),
      readyTimeoutMs,
      ready: async () => {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
          return true;
        } finally {
          await connection.close();
        }
      },
    },
    o.ownerId,
  );
  try {
    await registerNamespace(address, namespace, started + readyTimeoutMs);
  } catch (e) {
    await process.stop();
    throw new ServerStartError(`the Temporal server at ${address} answers but namespace ${namespace} could not be registered: ${e instanceof Error ? e.message : String(e)}`, 'unhealthy');
  }
  return { process, address, namespace };
}
