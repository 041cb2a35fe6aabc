/** Captured histories and edited copies of the workflow code, for the replay tests. */
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const historiesDir = path.join(repoRoot, 'test/histories');

/** Every history file committed under test/histories/. */
export async function capturedHistoryFiles(): Promise<string[]> {
  return (await readdir(historiesDir)).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(historiesDir, f));
}

/**
 * A copy of workflows/ (and domain/, which workflow code imports) in a
 * temporary folder, with one file edited as a developer would; returns the
 * copy's workflows/index.ts to bundle. Removed after the test file.
 */
export async function editedWorkflows(file: string, edit: (source: string) => string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'firebreak-workflows-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  await cp(path.join(repoRoot, 'workflows'), path.join(dir, 'workflows'), { recursive: true });
  await cp(path.join(repoRoot, 'domain'), path.join(dir, 'domain'), { recursive: true });
  // The SDK resolves from the copy as from the repository.
  await symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  const target = path.join(dir, 'workflows', file);
  const before = await readFile(target, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`the edit changed nothing in workflows/${file}: its anchor text is gone`);
  await writeFile(target, after);
  return path.join(dir, 'workflows', 'index.ts');
}

/** Inserts `code` before the first line containing `anchor` (indented like it). */
export function insertBefore(anchor: string, code: string): (source: string) => string {
  return (source) => {
    const lines = source.split('\n');
    const at = lines.findIndex((l) => l.includes(anchor));
    if (at < 0) return source;
    const indent = /^\s*/.exec(lines[at]!)![0];
    lines.splice(at, 0, ...code.trim().split('\n').map((l) => indent + l));
    return lines.join('\n');
  };
}
