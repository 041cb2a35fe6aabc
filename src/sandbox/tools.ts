/**
 * The external tools that the local sandbox and the test suite run as real
 * servers: the Temporal CLI (dev server), the Temporal time-skipping test
 * server, moto (AWS), etcd, kube-apiserver, kubectl and an OCI registry
 * (distribution's `registry`).
 *
 * They are installed into a per-user cache outside the repository, one folder
 * per pinned version set, so a fresh clone and CI reuse what an earlier run
 * installed. Installation is idempotent and serialised by a lock so that two
 * processes never build the
 * same thing twice at once. A folder counts as installed only once its
 * `.complete` marker is written, after every step succeeded; an interrupted
 * install is wiped and redone by the next run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pythonDir = join(repoRoot, 'test', 'tools', 'python');
const k8sModuleDir = join(repoRoot, 'test', 'tools', 'k8s');
const registryModuleDir = join(repoRoot, 'test', 'tools', 'registry');
const temporalModuleDir = join(repoRoot, 'test', 'tools', 'temporal');

/** Kubernetes version that kube-apiserver reports; must match go.mod. */
export const kubernetesVersion = 'v1.34.4';

/** distribution (the OCI registry) version; must match test/tools/registry/go.mod. */
export const registryVersion = 'v3.1.2';

/** The real Temporal server (go.temporal.io/server) of the production suite; must match test/tools/temporal/go.mod. */
export const temporalServerVersion = 'v1.32.1';

export class ToolInstallError extends Error {
  override readonly name = 'ToolInstallError';
}

export interface ToolPaths {
  root: string;
  temporal: string;
  temporalTestServer: string;
  motoServer: string;
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
  registry: string;
  /** The real Temporal server, its SQL schema tool, and the module's PostgreSQL schema files (a directory). */
  temporalServer: string;
  temporalSqlTool: string;
  temporalSchemaDir: string;
}

export type Progress = (line: string) => void;

/**
 * The tools cache: `FIREBREAK_TOOLS_DIR` when set, else
 * `$XDG_CACHE_HOME/firebreak/tools` (default `~/.cache/firebreak/tools`).
 */
export function toolsRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const explicit = env['FIREBREAK_TOOLS_DIR'];
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  const cache = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(cache, 'firebreak', 'tools');
}

function fingerprint(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file.slice(repoRoot.length));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}

function pythonKey(): string {
  return `python-${fingerprint([join(pythonDir, 'requirements.txt')])}`;
}

function k8sKey(): string {
  return `k8s-${kubernetesVersion}-${fingerprint([
    join(k8sModuleDir, 'go.mod'),
    join(k8sModuleDir, 'go.sum'),
    join(k8sModuleDir, 'cmd', 'etcd', 'main.go'),
  ])}`;
}

function temporalServerKey(): string {
  return `temporal-server-${temporalServerVersion}-${fingerprint([join(temporalModuleDir, 'go.mod'), join(temporalModuleDir, 'go.sum')])}`;
}

function registryKey(): string {
  return `registry-${registryVersion}-${fingerprint([join(registryModuleDir, 'go.mod'), join(registryModuleDir, 'go.sum')])}`;
}

/** Where each tool lives in the cache (whether or not it is installed yet). */
export function toolPaths(root = toolsRoot()): ToolPaths {
  const venvBin = join(root, pythonKey(), 'venv', 'bin');
  const k8sBin = join(root, k8sKey(), 'bin');
  return {
    root,
    temporal: join(venvBin, 'temporal'),
    temporalTestServer: join(venvBin, 'temporal-test-server'),
    motoServer: join(venvBin, 'moto_server'),
    etcd: join(k8sBin, 'etcd'),
    kubeApiserver: join(k8sBin, 'kube-apiserver'),
    kubectl: join(k8sBin, 'kubectl'),
    registry: join(root, registryKey(), 'bin', 'registry'),
    temporalServer: join(root, temporalServerKey(), 'bin', 'temporal-server'),
    temporalSqlTool: join(root, temporalServerKey(), 'bin', 'temporal-sql-tool'),
    temporalSchemaDir: join(root, temporalServerKey(), 'schema', 'postgresql', 'v12'),
  };
}

const completeMarker = '.complete';

function isComplete(dir: string): boolean {
  return existsSync(join(dir, completeMarker));
}

function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

interface Prerequisite {
  command: string;
  purpose: string;
  howToInstall: string;
}

const python3: Prerequisite = {
  command: 'python3',
  purpose: 'install the Temporal CLI, the Temporal test server and moto',
  howToInstall: 'Install Python 3.9 or newer with venv support (Debian/Ubuntu: `apt-get install python3 python3-venv`).',
};

const go: Prerequisite = {
  command: 'go',
  purpose: `build kube-apiserver, etcd and kubectl (Kubernetes ${kubernetesVersion}), the OCI registry (distribution ${registryVersion}) and the Temporal server (${temporalServerVersion}) from the Go module proxy`,
  howToInstall:
    'Install Go 1.24 or newer (https://go.dev/doc/install, or Debian: `apt-get install golang`), or point FIREBREAK_TOOLS_DIR at a cache that already holds these binaries.',
};

function missingPrerequisite(p: Prerequisite): string | undefined {
  if (which(p.command) !== undefined) return undefined;
  return `'${p.command}' was not found on PATH; it is needed to ${p.purpose}. ${p.howToInstall}`;
}

function commandPath(p: Prerequisite): string {
  const path = which(p.command);
  if (path === undefined) throw new ToolInstallError(missingPrerequisite(p));
  return path;
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Runs a command, streaming its output to a log file and a heartbeat to progress. */
async function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: string; what: string; progress: Progress },
): Promise<void> {
  const started = Date.now();
  const out = createWriteStream(opts.log, { flags: 'a' });
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const heartbeat = setInterval(() => {
    opts.progress(`  … still ${opts.what} (${formatDuration(Date.now() - started)} so far; log: ${opts.log})`);
  }, 30_000);
  try {
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      child.once('error', reject);
      child.once('close', resolvePromise);
    });
    if (code !== 0) {
      const tail = existsSync(opts.log) ? readFileSync(opts.log, 'utf8').split('\n').slice(-25).join('\n') : '';
      throw new ToolInstallError(
        `${opts.what} failed (exit ${code}) after ${formatDuration(Date.now() - started)}. Last lines of ${opts.log}:\n${tail}`,
      );
    }
    opts.progress(`  done ${opts.what} in ${formatDuration(Date.now() - started)}`);
  } finally {
    clearInterval(heartbeat);
    await new Promise<void>((r) => out.end(r));
  }
}

/** Serialises installers across processes with a lock directory holding the owner's pid. */
async function withLock<T>(dir: string, progress: Progress, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  await mkdir(dirname(lock), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // The owner has created the lock but not yet written its pid.
      }
      if (Number.isInteger(owner) && !isAlive(owner)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        progress(`  waiting for another process (pid ${owner}) installing ${dir}`);
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Installs `dir` with `build(dir)` unless it is complete already. */
async function installOnce(dir: string, what: string, progress: Progress, build: (dir: string) => Promise<void>) {
  if (isComplete(dir)) {
    progress(`✓ ${what}: cached in ${dir}`);
    return;
  }
  await withLock(dir, progress, async () => {
    if (isComplete(dir)) return;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    progress(`→ ${what}: installing into ${dir}`);
    const started = Date.now();
    await build(dir);
    await writeFile(join(dir, completeMarker), new Date().toISOString());
    progress(`✓ ${what}: installed in ${formatDuration(Date.now() - started)}`);
  });
}

async function installPython(root: string, progress: Progress): Promise<void> {
  const dir = join(root, pythonKey());
  await installOnce(dir, 'Python tools (temporal CLI, temporal test server, moto)', progress, async (dir) => {
    const python = commandPath(python3);
    const log = join(dir, 'install.log');
    const venv = join(dir, 'venv');
    await run(python, ['-m', 'venv', venv], { log, what: 'creating the Python venv', progress });
    const pip = join(venv, 'bin', 'pip');
    await run(
      pip,
      ['install', '--disable-pip-version-check', '--no-input', '-r', join(pythonDir, 'requirements.txt')],
      { log, what: 'installing pinned Python packages (pip)', progress },
    );
  });
}

async function installKubernetes(root: string, progress: Progress): Promise<void> {
  const dir = join(root, k8sKey());
  await installOnce(dir, `Kubernetes ${kubernetesVersion} (kube-apiserver, etcd, kubectl)`, progress, async (dir) => {
    const goPath = commandPath(go);
    const log = join(dir, 'build.log');
    const bin = join(dir, 'bin');
    progress(
      '  building from Go modules; a cold build downloads ~300 MB of modules and compiles for 10–25 minutes on 2 cores',
    );
    const versionFlags = [
      `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
      `-X k8s.io/component-base/version.gitMajor=${kubernetesVersion.split('.')[0]!.slice(1)}`,
      `-X k8s.io/component-base/version.gitMinor=${kubernetesVersion.split('.')[1]}`,
      '-X k8s.io/component-base/version.gitTreeState=clean',
    ].join(' ');
    const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
    await run(goPath, ['mod', 'download'], { cwd: k8sModuleDir, env, log, what: 'downloading Go modules', progress });
    for (const [name, pkg] of [
      ['etcd', './cmd/etcd'],
      ['kube-apiserver', 'k8s.io/kubernetes/cmd/kube-apiserver'],
      ['kubectl', 'k8s.io/kubernetes/cmd/kubectl'],
    ] as const) {
      await run(goPath, ['build', '-trimpath', '-ldflags', versionFlags, '-o', join(bin, name), pkg], {
        cwd: k8sModuleDir,
        env,
        log,
        what: `compiling ${name}`,
        progress,
      });
    }
  });
}

async function installRegistry(root: string, progress: Progress): Promise<void> {
  const dir = join(root, registryKey());
  await installOnce(dir, `OCI registry (distribution ${registryVersion})`, progress, async (dir) => {
    const goPath = commandPath(go);
    const log = join(dir, 'build.log');
    // -mod=readonly: go.sum pins every module; a mismatch fails the build rather than updating it.
    const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
    await run(goPath, ['mod', 'download'], { cwd: registryModuleDir, env, log, what: 'downloading Go modules (registry)', progress });
    await run(
      goPath,
      [
        'build',
        '-trimpath',
        '-o',
        join(dir, 'bin', 'registry'),
        'github.com/distribution/distribution/v3/cmd/registry',
      ],
      { cwd: registryModuleDir, env, log, what: 'compiling registry', progress },
    );
  });
}

async function installTemporalServer(root: string, progress: Progress): Promise<void> {
  const dir = join(root, temporalServerKey());
  await installOnce(dir, `Temporal server ${temporalServerVersion} (temporal-server, temporal-sql-tool, PostgreSQL schemas)`, progress, async (dir) => {
    const goPath = commandPath(go);
    const log = join(dir, 'build.log');
    progress('  building from Go modules; a cold build downloads ~400 MB of modules and compiles for 5–15 minutes on 2 cores');
    const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
    await run(goPath, ['mod', 'download'], { cwd: temporalModuleDir, env, log, what: 'downloading Go modules (Temporal server)', progress });
    for (const [name, pkg] of [
      ['temporal-server', 'go.temporal.io/server/cmd/server'],
      ['temporal-sql-tool', 'go.temporal.io/server/cmd/tools/sql'],
    ] as const) {
      await run(goPath, ['build', '-trimpath', '-o', join(dir, 'bin', name), pkg], { cwd: temporalModuleDir, env, log, what: `compiling ${name}`, progress });
    }
    // The schema files ship in the module, not in the binaries: copied next to them, at the same version.
    const moduleDir = spawnSync(goPath, ['list', '-m', '-f', '{{.Dir}}', 'go.temporal.io/server'], { cwd: temporalModuleDir, env, encoding: 'utf8' }).stdout.trim();
    if (moduleDir === '' || !existsSync(join(moduleDir, 'schema', 'postgresql', 'v12'))) {
      throw new ToolInstallError(`could not find the PostgreSQL schemas of go.temporal.io/server ${temporalServerVersion} in the module cache (go list -m said "${moduleDir}")`);
    }
    await cp(join(moduleDir, 'schema', 'postgresql'), join(dir, 'schema', 'postgresql'), { recursive: true });
  });
}

/** The time-skipping test server only (drills need nothing else): installs the Python tools when missing. */
export async function ensureTemporalTestServer(progress: Progress = (l) => console.error(l)): Promise<string> {
  const paths = toolPaths();
  if (!isComplete(join(paths.root, pythonKey()))) {
    const problem = missingPrerequisite(python3);
    if (problem !== undefined) throw new ToolInstallError(`Cannot install the Temporal test server into ${paths.root}: ${problem}`);
    await mkdir(paths.root, { recursive: true });
    await installPython(paths.root, progress);
  }
  return paths.temporalTestServer;
}

/**
 * Installs every tool that is missing and returns their paths. The real
 * Temporal server is for the production test suite: `firebreak local` runs on
 * the dev server and passes `temporalServer: false`, so a first `npm start`
 * does not wait for it to build.
 */
export async function ensureTools(progress: Progress = (l) => console.error(l), o: { temporalServer?: boolean } = {}): Promise<ToolPaths> {
  const withServer = o.temporalServer ?? true;
  const paths = toolPaths();
  // Name every missing prerequisite before installing anything.
  const needed = [
    ...(isComplete(join(paths.root, pythonKey())) ? [] : [python3]),
    ...([k8sKey(), registryKey(), ...(withServer ? [temporalServerKey()] : [])].every((k) => isComplete(join(paths.root, k))) ? [] : [go]),
  ];
  const problems = needed.map(missingPrerequisite).filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    throw new ToolInstallError(
      `Cannot install the tools into ${paths.root}:\n${problems.map((p) => `  - ${p}`).join('\n')}\nThen run \`npm run tools\` again.`,
    );
  }
  await mkdir(paths.root, { recursive: true });
  await installPython(paths.root, progress);
  await installKubernetes(paths.root, progress);
  await installRegistry(paths.root, progress);
  if (withServer) await installTemporalServer(paths.root, progress);
  const { root: _root, temporalSchemaDir, temporalServer, temporalSqlTool, ...others } = paths;
  const binaries = withServer ? { ...others, temporalServer, temporalSqlTool } : others;
  if (withServer && !existsSync(join(temporalSchemaDir, 'temporal', 'versioned'))) {
    throw new ToolInstallError(`The Temporal server's schemas are missing at ${temporalSchemaDir} although its cache folder is marked complete. Delete ${join(paths.root, temporalServerKey())} and run \`npm run tools\` again.`);
  }
  for (const [name, path] of Object.entries<string>(binaries)) {
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile()) {
      // The folder holding the `.complete` marker: deleting less leaves the cache marked complete.
      const set = [k8sKey(), registryKey(), temporalServerKey()].map((k) => join(paths.root, k)).find((d) => path.startsWith(d)) ?? join(paths.root, pythonKey());
      throw new ToolInstallError(
        `${name} is missing at ${path} although its cache folder is marked complete. Delete ${set} and run \`npm run tools\` again.`,
      );
    }
  }
  return paths;
}
