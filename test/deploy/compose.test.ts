import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { configVariables, parseConfig, secretVariables, type Config } from '../../src/config/index.ts';
import { intakeSourceVariables } from '../../src/config/schema.ts';

/*
 * The deployment files are read as text and checked statically: no Docker
 * engine is needed (or used) to run these tests.
 */

type Env = Record<string, string | undefined>;

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, unknown> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const repoRoot = new URL('../../', import.meta.url);
const readRepoFile = (path: string): string => readFileSync(new URL(path, repoRoot), 'utf8');

// `merge: true` resolves the `<<: *anchor` merge keys that Compose understands.
const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);
const firebreakServices = services.filter(([, service]) => service.build !== undefined);

/** Dockerfile instructions, comments dropped and continuation lines joined. */
function dockerfileInstructions(text: string): { keyword: string; args: string }[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*#/.test(line)) continue;
    if (/\\\s*$/.test(line)) {
      pending += line.replace(/\\\s*$/, ' ');
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  if (pending.trim() !== '') logical.push(pending);
  return logical
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^(\S+)\s*([\s\S]*)$/.exec(line);
      return { keyword: (match?.[1] ?? '').toUpperCase(), args: (match?.[2] ?? '').trim() };
    });
}

const instructions = dockerfileInstructions(readRepoFile('Dockerfile'));

/** The instructions of the final build stage (from its FROM on). */
function finalStage(): { keyword: string; args: string }[] {
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return lastFrom === -1 ? [] : instructions.slice(lastFrom);
}

/** The ENV the final stage of the image sets (`ENV KEY=value ...` or `ENV KEY value`). */
function imageEnvironment(): Env {
  const env: Env = {};
  for (const { args } of finalStage().filter((i) => i.keyword === 'ENV')) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
      const [key = '', ...rest] = args.split(/\s+/);
      env[key] = rest.join(' ');
      continue;
    }
    for (const pair of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const [, key = '', raw = ''] = pair;
      env[key] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
  }
  return env;
}

/** A host that exports nothing: the Firebreak services must still get a valid configuration. */
const emptyHost: Env = {};

/** What the file's header tells an operator to export before `docker compose up`. */
const operatorHost: Env = { POSTGRES_PASSWORD: 'password-from-the-host' };

/**
 * Compose variable interpolation: $$, $VAR, ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}.
 */
function interpolate(value: string, host: Env): string {
  const pattern = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  type Group = string | undefined;
  return value.replace(
    pattern,
    (_match, dollar: Group, braced: Group, op: Group, arg: Group, bare: Group) => {
      if (dollar !== undefined) return '$';
      const name = braced ?? bare ?? '';
      const current = host[name];
      const unset = current === undefined;
      const empty = unset || current === '';
      switch (op) {
        case ':-':
          return empty ? (arg ?? '') : current;
        case '-':
          return unset ? (arg ?? '') : current;
        case ':?':
        case '?':
          if (op === ':?' ? empty : unset) {
            throw new Error(`\${${name}} is required by docker-compose.yml: ${arg ?? ''}`);
          }
          return current ?? '';
        case ':+':
          return empty ? '' : (arg ?? '');
        case '+':
          return unset ? '' : (arg ?? '');
        default:
          return current ?? '';
      }
    },
  );
}

/** A service's environment as written in the file (list or map form), values uninterpolated. */
function rawEnvironment(service: Service): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  const { environment } = service;
  if (Array.isArray(environment)) {
    for (const entry of environment) {
      const eq = entry.indexOf('=');
      if (eq === -1) env[entry] = null;
      else env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } else if (environment !== undefined) {
    for (const [key, value] of Object.entries(environment)) {
      if (value === null || value === undefined) env[key] = null;
      else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[key] = String(value);
      else throw new Error(`environment.${key} must be a string, number or boolean`);
    }
  }
  return env;
}

/**
 * What every container of the image has before compose adds anything: what the
 * runtime sets, and what the image's ENV instructions set.
 */
const baseContainerEnvironment: Env = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOSTNAME: '0123456789ab',
  HOME: '/home/node',
  NODE_VERSION: '20.20.2',
  YARN_VERSION: '1.22.22',
  ...imageEnvironment(),
};

/** The environment a container receives, given what the host exports. */
function containerEnvironment(service: Service, host: Env, base: Env = {}): Env {
  const env: Env = { ...base };
  for (const [key, value] of Object.entries(rawEnvironment(service))) {
    if (value !== null) env[key] = interpolate(value, host);
    // A bare name (no value) passes the host's value through, if it has one.
    else if (host[key] !== undefined) env[key] = host[key];
  }
  return env;
}

/** The configuration a Firebreak container parses at start-up. */
const configOf = (service: Service, host: Env = emptyHost): Config =>
  parseConfig(containerEnvironment(service, host, baseContainerEnvironment));

function dependencies(service: Service): Record<string, string | undefined> {
  const deps = service.depends_on;
  if (deps === undefined) return {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']));
}

const commandText = (service: Service): string =>
  [service.entrypoint, service.command].flat().filter((part) => part !== undefined).join(' ');

/** Named-volume mounts of a service, as target path -> volume name. */
function namedVolumeMounts(service: Service): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of service.volumes ?? []) {
    let source: string | undefined;
    let target: string | undefined;
    if (typeof volume === 'string') {
      [source, target] = volume.split(':');
    } else if (volume.type === 'volume') {
      ({ source, target } = volume);
    }
    // Bind mounts start with a path; named volumes are plain names.
    if (source !== undefined && target !== undefined && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(source)) {
      mounts.set(target.replace(/\/+$/, ''), source);
    }
  }
  return mounts;
}

const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));

function servicesByImage(repository: string): [string, Service][] {
  return services.filter(([, service]) => service.image?.split(/[:@]/)[0] === repository);
}

/** The one compose service that runs the Temporal server. */
function temporalServer(): [string, Service] {
  const servers = servicesByImage('temporalio/server');
  expect(servers.map(([name]) => name), 'exactly one service runs temporalio/server').toHaveLength(1);
  return servers[0]!;
}

/** An exact version tag (1.2.3, 16.13, v2.49.1, optionally with a -variant suffix) or a digest. */
function isPinned(image: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return true;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon === -1) return false;
  const tag = image.slice(colon + 1);
  return /^v?\d+\.\d+(\.\d+)?(-[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(tag);
}

describe('docker-compose.yml, the production-shaped stack', () => {
  it('defines the worker, intake and slack Firebreak services, built from the repository', () => {
    expect(firebreakServices.map(([name]) => name).sort()).toEqual(['intake', 'slack', 'worker']);
  });

  it('runs each Firebreak service with exactly the role it is named after', () => {
    for (const [name, service] of firebreakServices) {
      expect(configOf(service).FIREBREAK_ROLES, name).toEqual([name]);
    }
  });

  it('pins every image to an exact version or digest, never latest or a bare major', () => {
    const unpinned = services
      .filter(([, service]) => service.image !== undefined || service.build === undefined)
      .filter(([, service]) => service.image === undefined || !isPinned(service.image))
      .map(([name, service]) => `${name}: ${service.image ?? '(no image)'}`);
    expect(unpinned).toEqual([]);
    expect(services.filter(([, service]) => service.image !== undefined).length).toBeGreaterThan(0);
  });

  it('runs the Temporal server and admin-tools of the version the production tests build (test/tools/temporal/go.mod)', () => {
    const built = /^require go\.temporal\.io\/server v(\S+)$/m.exec(readRepoFile('test/tools/temporal/go.mod'))?.[1];
    expect(built, 'go.temporal.io/server in test/tools/temporal/go.mod').toBeDefined();
    const tags = [...servicesByImage('temporalio/server'), ...servicesByImage('temporalio/admin-tools')].map(([name, service]) => [name, service.image!.split(':')[1]]);
    expect(tags.length).toBe(3);
    for (const [name, tag] of tags) expect(tag, name).toBe(built);
  });

  it('configures the Firebreak services only with variables the config schema declares', () => {
    const known = new Set(configVariables);
    const unknown = firebreakServices.flatMap(([name, service]) =>
      Object.keys(rawEnvironment(service))
        .filter((key) => !known.has(key))
        .map((key) => `${name}: ${key}`),
    );
    expect(unknown).toEqual([]);
  });

  it('gives every Firebreak service a valid configuration when the host exports nothing', () => {
    for (const [name, service] of firebreakServices) {
      expect(() => configOf(service, emptyHost), name).not.toThrow();
    }
  });

  it('takes secrets only from the host environment, never as values written in the file', () => {
    const literal = firebreakServices.flatMap(([name, service]) =>
      Object.entries(rawEnvironment(service))
        .filter(([key]) => secretVariables.has(key))
        .filter(([key, value]) => value !== null && value !== `\${${key}:-}` && value !== `\${${key}}`)
        .map(([key, value]) => `${name}: ${key}=${value ?? ''}`),
    );
    expect(literal).toEqual([]);
  });

  it('hands the Slack mode and tokens the host exports to the slack service', () => {
    const host: Env = {
      SLACK_MODE: 'http',
      SLACK_BOT_TOKEN: 'xoxb-1-from-the-host',
      SLACK_SIGNING_SECRET: 'signing-secret-from-the-host',
    };
    const slack = compose.services.slack;
    expect(slack, 'a slack service').toBeDefined();
    const config = configOf(slack!, host);
    expect(config.SLACK_MODE).toBe('http');
    expect(config.SLACK_BOT_TOKEN).toBe(host.SLACK_BOT_TOKEN);
    expect(config.SLACK_SIGNING_SECRET).toBe(host.SLACK_SIGNING_SECRET);
  });

  it('makes the intake service listen on every interface of its container, so the published port reaches it', () => {
    const intake = compose.services.intake;
    expect(intake, 'an intake service').toBeDefined();
    expect(configOf(intake!).FIREBREAK_INTAKE_HOST).toBe('0.0.0.0');
  });

  it('hands the alert-source credentials the host exports to the intake service', () => {
    const host: Env = { FIREBREAK_INTAKE_FALCO_TOKEN: 'falco-token-from-the-host', FIREBREAK_INTAKE_GENERIC_HMAC_SECRET: 'generic-secret-from-the-host' };
    const config = configOf(compose.services.intake!, host);
    expect(config.FIREBREAK_INTAKE_FALCO_TOKEN).toBe(host.FIREBREAK_INTAKE_FALCO_TOKEN);
    expect(config.FIREBREAK_INTAKE_GENERIC_HMAC_SECRET).toBe(host.FIREBREAK_INTAKE_GENERIC_HMAC_SECRET);
  });

  it.each(intakeSourceVariables)('hands the %s source\'s token, HMAC secret and auth choice the host exports to the intake service', (source) => {
    const host: Env = {
      [`FIREBREAK_INTAKE_${source}_AUTH`]: 'hmac',
      [`FIREBREAK_INTAKE_${source}_TOKEN`]: `${source.toLowerCase()}-token-from-the-host`,
      [`FIREBREAK_INTAKE_${source}_HMAC_SECRET`]: `${source.toLowerCase()}-secret-from-the-host`,
    };
    const config = configOf(compose.services.intake!, host) as unknown as Env;
    for (const [name, value] of Object.entries(host)) expect(config[name], name).toBe(value);
  });

  it('points every Firebreak service at the compose service that runs the Temporal server', () => {
    const [serverName, server] = temporalServer();
    const frontendPort = containerEnvironment(server, operatorHost).FRONTEND_GRPC_PORT ?? '7233';
    for (const [name, service] of firebreakServices) {
      const address = configOf(service).TEMPORAL_ADDRESS;
      expect(address, `${name} sets TEMPORAL_ADDRESS`).toBeDefined();
      if (address === undefined) continue;
      const colon = address.lastIndexOf(':');
      expect({ host: address.slice(0, colon), port: address.slice(colon + 1) }, name).toEqual({
        host: serverName,
        port: frontendPort,
      });
    }
  });

  it('creates the Temporal namespace the Firebreak services use before starting them', () => {
    const creators = servicesByImage('temporalio/admin-tools').filter(([, service]) =>
      /operator namespace create/.test(commandText(service)),
    );
    expect(creators.map(([name]) => name), 'one service creates the namespace').toHaveLength(1);
    const [creatorName, creator] = creators[0]!;
    const created = containerEnvironment(creator, operatorHost).NAMESPACE;
    for (const [name, service] of firebreakServices) {
      expect(configOf(service).TEMPORAL_NAMESPACE, name).toBe(created);
      expect(dependencies(service)[creatorName], name).toBe('service_completed_successfully');
    }
  });

  it('runs the Temporal server on PostgreSQL, not SQLite or in memory', () => {
    const [, server] = temporalServer();
    const env = rawEnvironment(server);
    expect(['postgres12', 'postgres12_pgx']).toContain(env.DB);
    const seeds = env.POSTGRES_SEEDS ?? '';
    const postgres = compose.services[seeds];
    expect(postgres?.image, `POSTGRES_SEEDS (${seeds}) names the PostgreSQL service`).toMatch(/^postgres:/);
    expect(commandText(server)).not.toMatch(/start-dev|sqlite/i);
  });

  it('starts the Temporal server only after its PostgreSQL schema has been set up', () => {
    const [, server] = temporalServer();
    const serverEnv = rawEnvironment(server);
    const setups = Object.entries(dependencies(server))
      .filter(([, condition]) => condition === 'service_completed_successfully')
      .map(([name]) => compose.services[name])
      .filter((service): service is Service => service !== undefined)
      .filter((service) => /temporal-sql-tool[\s\S]*update-schema/.test(commandText(service)));
    expect(setups, 'a completed schema job the server depends on').toHaveLength(1);
    const setupEnv = rawEnvironment(setups[0]!);
    expect(setupEnv.SQL_PLUGIN).toBe(serverEnv.DB);
    expect(setupEnv.SQL_HOST).toBe(serverEnv.POSTGRES_SEEDS);
  });

  it("keeps PostgreSQL's data on a named volume", () => {
    const postgres = servicesByImage('postgres');
    expect(postgres).toHaveLength(1);
    const volume = namedVolumeMounts(postgres[0]![1]).get('/var/lib/postgresql/data');
    expect(volume).toBeDefined();
    expect(declaredVolumes.has(volume!)).toBe(true);
  });

  it('keeps the evidence store (FIREBREAK_DATA_DIR) of every Firebreak service on a named volume', () => {
    for (const [name, service] of firebreakServices) {
      const dataDir = configOf(service).FIREBREAK_DATA_DIR.replace(/\/+$/, '');
      expect(dataDir.startsWith('/'), `${name}: FIREBREAK_DATA_DIR is an absolute path`).toBe(true);
      const volume = namedVolumeMounts(service).get(dataDir);
      expect(volume, `${name}: a named volume at ${dataDir}`).toBeDefined();
      expect(declaredVolumes.has(volume!), `${name}: volume ${volume} is declared`).toBe(true);
    }
  });
});

describe('Dockerfile, the production image', () => {
  it('builds every stage on a Node 20 base image pinned to an exact version', () => {
    const stageNames = new Set<string>();
    const bases: string[] = [];
    for (const { keyword, args } of instructions) {
      if (keyword !== 'FROM') continue;
      const words = args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = words[0] ?? '';
      const alias = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      if (!stageNames.has(image)) bases.push(image);
      if (alias !== undefined) stageNames.add(alias);
    }
    expect(bases.length).toBeGreaterThan(0);
    for (const image of bases) {
      expect(image, 'an exact node:20.x.y tag, or a digest').toMatch(
        /^node:20\.\d+\.\d+(-[a-z0-9.-]+)?(@sha256:[a-f0-9]{64})?$|^node@sha256:[a-f0-9]{64}$/,
      );
    }
  });

  it('runs the application as a non-root user', () => {
    const users = finalStage().filter((i) => i.keyword === 'USER');
    expect(users.length, 'a USER instruction in the final stage').toBeGreaterThan(0);
    const [user = '', group] = users.at(-1)!.args.split(':');
    expect(['root', '0']).not.toContain(user);
    expect(['root', '0']).not.toContain(group ?? 'unset');
  });

  it('installs production dependencies only, from the lockfile', () => {
    const installs = finalStage()
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
      .filter((args) => /\bnpm\s+(ci|install|i)\b/.test(args));
    expect(installs.length).toBeGreaterThan(0);
    for (const run of installs) {
      expect(run).toMatch(/\bnpm\s+ci\b/);
      expect(run).toMatch(/--omit=dev\b/);
    }
  });

  it('starts `firebreak serve` by default', () => {
    const last = (keyword: string): unknown => {
      const found = finalStage().filter((i) => i.keyword === keyword).at(-1);
      return found === undefined ? undefined : JSON.parse(found.args);
    };
    expect(last('ENTRYPOINT')).toEqual(['node', 'bin/firebreak.js']);
    expect(last('CMD')).toEqual(['serve']);
  });
});
