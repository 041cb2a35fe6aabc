/**
 * The workflow bundle a drill's worker runs, cached on disk: bundling takes
 * about 2 s, most of a short drill. The key hashes everything the bundle is
 * built from — workflow code imports only workflows/, domain/ and the SDK
 * (lint enforces it), so those folders and the lockfile — and a stale bundle
 * is never used. The cache is next to the tools cache; deleting it is safe.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot, toolsRoot } from '../sandbox/tools.ts';
import { workflowsPath } from '../worker/paths.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

async function bundleKey(): Promise<string> {
  const files = [...(await filesUnder(path.join(repoRoot, 'workflows'))), ...(await filesUnder(path.join(repoRoot, 'domain'))), path.join(repoRoot, 'package-lock.json')].sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(path.relative(repoRoot, f)).update('\0').update(await readFile(f)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export async function drillWorkflowBundle(): Promise<{ code: string }> {
  const dir = path.join(path.dirname(toolsRoot()), 'drill-bundles');
  const file = path.join(dir, `workflows-${await bundleKey()}.js`);
  try {
    return { code: await readFile(file, 'utf8') };
  } catch {
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
    await mkdir(dir, { recursive: true });
    // Written whole, then renamed: a concurrent drill never reads half a bundle.
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, code);
    await rename(partial, file);
    return { code };
  }
}
