import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { toolPaths, toolsRoot } from '../../src/sandbox/tools.ts';
import { sandbox } from '../support/servers.ts';

const run = promisify(execFile);
const scratch = await mkdtemp(join(tmpdir(), 'firebreak-tools-test-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A PATH holding only the named commands, so that others (go) are missing. */
async function pathWith(commands: string[]): Promise<string> {
  const bin = join(scratch, `bin-${commands.join('-')}`);
  await mkdir(bin, { recursive: true });
  for (const c of commands) {
    const { stdout } = await run('sh', ['-c', `command -v ${c}`]);
    await symlink(stdout.trim(), join(bin, c));
  }
  return bin;
}

describe('the tools installer', () => {
  it('keeps its cache outside the repository, in the folder FIREBREAK_TOOLS_DIR names', () => {
    expect(toolsRoot({ FIREBREAK_TOOLS_DIR: '/srv/cache/fb' })).toBe('/srv/cache/fb');
    expect(toolsRoot({ XDG_CACHE_HOME: '/home/u/.cache' })).toBe('/home/u/.cache/firebreak/tools');
    expect(sandbox().tools.root.startsWith(process.cwd())).toBe(false);
  });

  it('keys each cache folder by the pinned versions', () => {
    const paths = toolPaths('/cache');
    expect(paths.kubeApiserver).toMatch(/^\/cache\/k8s-v1\.34\.4-[0-9a-f]{12}\/bin\/kube-apiserver$/);
    expect(paths.temporal).toMatch(/^\/cache\/python-[0-9a-f]{12}\/venv\/bin\/temporal$/);
    expect(paths.registry).toMatch(/^\/cache\/registry-v3\.1\.2-[0-9a-f]{12}\/bin\/registry$/);
    expect(paths.temporalServer).toMatch(/^\/cache\/temporal-server-v1\.32\.1-[0-9a-f]{12}\/bin\/temporal-server$/);
  });

  it('fails naming the registry folder to delete when the registry is missing from a cache marked complete', async () => {
    const cache = join(scratch, 'no-registry');
    const real = sandbox().tools;
    const broken = toolPaths(cache);
    await mkdir(cache, { recursive: true });
    // The real Python, Kubernetes and Temporal server sets, and a registry set marked complete without its binary.
    for (const tool of ['temporal', 'kubeApiserver', 'temporalServer'] as const) {
      const set = tool === 'temporal' ? dirname(dirname(dirname(real[tool]))) : dirname(dirname(real[tool]));
      await symlink(set, join(cache, basename(set)));
    }
    const registrySet = dirname(dirname(broken.registry));
    await mkdir(registrySet, { recursive: true });
    await writeFile(join(registrySet, '.complete'), 'test');

    const result = await run(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/install-tools.ts'], {
      env: { ...process.env, FIREBREAK_TOOLS_DIR: cache },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `firebreak tools: registry is missing at ${broken.registry} although its cache folder is marked complete. Delete ${registrySet} and run \`npm run tools\` again.`,
    );
  });

  it('fails naming go, and installs nothing, when the cache is empty and go is not on PATH', async () => {
    const empty = join(scratch, 'empty-cache');
    const path = await pathWith(['sh', 'python3']);
    const result = await run(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/install-tools.ts'], {
      env: { PATH: path, HOME: scratch, FIREBREAK_TOOLS_DIR: empty },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'go' was not found on PATH");
    expect(result.stderr).toContain('Install Go');
    expect(result.stderr).not.toContain("'python3'");
    expect(await readdir(empty).catch(() => [])).toEqual([]);
  });
});
