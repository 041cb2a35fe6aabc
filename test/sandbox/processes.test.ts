import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findOwnedProcesses, freePort, ServerStartError, startProcess } from '../../src/sandbox/processes.ts';
import { startSandbox } from '../../src/sandbox/servers.ts';
import { sandbox, uniqueName } from '../support/servers.ts';

const scratch = await mkdtemp(join(tmpdir(), 'firebreak-processes-test-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function script(name: string, body: string): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('starting a sandbox server', () => {
  it('fails naming the server, its port and its last log lines when it exits before it is ready', async () => {
    const crash = await script('crash.sh', 'echo "listening soon"\necho "fatal: bad flag --frobnicate" >&2\nexit 3');
    const port = await freePort();
    const started = startProcess(
      { name: 'fake-apiserver', command: crash, args: [], port, ready: () => Promise.resolve(false), readyTimeoutMs: 10_000 },
      uniqueName('vitest-crash'),
    );
    await expect(started).rejects.toBeInstanceOf(ServerStartError);
    await expect(started).rejects.toThrow(
      new RegExp(`fake-apiserver \\(.*crash\\.sh, port ${port}\\) exited before it was ready \\(exit code 3[\\s\\S]*fatal: bad flag --frobnicate`),
    );
  });

  it('stops a server that is not ready in time and says how long it waited', async () => {
    const hang = await script('hang.sh', 'echo "warming up"\nexec sleep 60');
    const owner = uniqueName('vitest-hang');
    const started = startProcess(
      { name: 'slowpoke', command: hang, args: [], port: 1, ready: () => Promise.resolve(false), readyTimeoutMs: 1500 },
      owner,
    );
    await expect(started).rejects.toThrow(/slowpoke .* was not ready within 2s[\s\S]*warming up/);
    expect(findOwnedProcesses(owner)).toEqual([]);
  });

  it('stops the servers it already started when another one fails', async () => {
    const owner = uniqueName('vitest-partial');
    const broken = await script('kube-apiserver', 'echo "error: etcd is unreachable" >&2\nexit 1');
    const tools = { ...sandbox().tools, kubeApiserver: broken };
    const workDir = join(scratch, 'partial');
    const attempt = startSandbox({ tools, ownerId: owner, workDir, moto: true, kubernetes: true });
    await expect(attempt).rejects.toThrow(/kube-apiserver .* exited before it was ready[\s\S]*etcd is unreachable/);
    expect(findOwnedProcesses(owner)).toEqual([]);
  });

  it('leaves no server running after a sandbox stops', async () => {
    const owner = uniqueName('vitest-stop');
    const sb = await startSandbox({ tools: sandbox().tools, ownerId: owner, moto: true });
    const pids = sb.processes().map((p) => p.pid);
    expect(pids).toHaveLength(1);
    expect(findOwnedProcesses(owner).map((p) => p.pid)).toEqual(pids);
    await sb.stop();
    expect(pids.filter(isRunning)).toEqual([]);
    expect(findOwnedProcesses(owner)).toEqual([]);
  });
});
