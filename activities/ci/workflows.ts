/**
 * GitHub Actions workflow files of local repository checkouts, for an action
 * advisory (e.g. tj-actions/changed-files, GHSA-mrrh-fwg8-r2c3): which files
 * `uses:` the action at an affected ref (steps and reusable-workflow jobs),
 * with line numbers, and which secrets each file references. Files are read
 * only inside their checkout (a symlink out of it is refused) and up to 1 MiB.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

export const maxWorkflowBytes = 1024 * 1024;
export const workflowDir = '.github/workflows';
/** What `secrets: inherit` hands a reusable workflow. */
export const allRepositorySecrets = 'all repository secrets';

export interface WorkflowUse {
  checkout: string;
  /** Relative to the checkout, e.g. `.github/workflows/ci.yml`. */
  file: string;
  /** 1-based line of the `uses:` value. */
  line: number;
  uses: string;
  ref: string;
  job?: string;
  /** Secrets the workflow file references, by name; `all repository secrets` for `secrets: inherit`. */
  secrets: string[];
}

export interface FindWorkflowUsesInput {
  checkouts: string[];
  /** owner/repo, case-insensitive; also matches owner/repo/sub/path. */
  action: string;
  /** Affected refs: tags, branches or full SHAs; empty = every ref. */
  refs: string[];
}

export class CiInputProblem extends Error {}

const actionPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const workflowFile = /^\.github\/workflows\/[^/\\]+\.ya?ml$/;
const fullSha = /^[0-9a-f]{40}$/i;

export function checkoutProblem(checkout: unknown): string | undefined {
  if (typeof checkout !== 'string' || checkout.length === 0 || checkout.includes('\0') || !isAbsolute(checkout)) return `checkout ${JSON.stringify(String(checkout).slice(0, 300))} is not an absolute directory path`;
  return undefined;
}

export function actionProblem(action: unknown): string | undefined {
  return typeof action === 'string' && actionPattern.test(action) ? undefined : `action ${JSON.stringify(String(action).slice(0, 200))} is not owner/repo`;
}

export function workflowFileProblem(file: unknown): string | undefined {
  return typeof file === 'string' && workflowFile.test(file) ? undefined : `file ${JSON.stringify(String(file).slice(0, 300))} is not a .github/workflows/*.yml or *.yaml path`;
}

/** The file's real path when it stays inside the checkout and is a regular file of at most 1 MiB; otherwise why not. */
export async function workflowPath(checkout: string, file: string): Promise<{ path: string } | { problem: string }> {
  let root: string;
  let real: string;
  try {
    root = await realpath(checkout);
  } catch {
    return { problem: `${checkout}: no such checkout directory` };
  }
  try {
    real = await realpath(join(root, file));
  } catch {
    return { problem: `${checkout}/${file}: not found (or a dangling symlink)` };
  }
  if (!real.startsWith(root + sep)) return { problem: `${checkout}/${file}: a symlink out of the checkout (to ${real}): not read` };
  const s = await stat(real);
  if (!s.isFile()) return { problem: `${checkout}/${file}: not a regular file` };
  if (s.size > maxWorkflowBytes) return { problem: `${checkout}/${file}: ${s.size} bytes, over the 1 MiB a workflow file may have: not read` };
  return { path: real };
}

/** The workflow files of a checkout, relative to it; empty when it has none. */
async function workflowFiles(checkout: string): Promise<string[]> {
  const dir = join(checkout, workflowDir);
  try {
    // Followed if a symlink: each file's real path is checked against the checkout after.
    if (!(await stat(dir)).isDirectory()) return [];
    return (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => `${workflowDir}/${n}`);
  } catch {
    return [];
  }
}

function secretsOf(text: string): Set<string> {
  const found = new Set<string>();
  for (const [, expr] of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
    for (const m of expr!.matchAll(/\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\bsecrets\s*\[\s*['"]([^'"]+)['"]\s*\]/g)) found.add(m[1] ?? m[2]!);
  }
  return found;
}

const get = (node: unknown, key: string): unknown => (isMap(node) ? node.get(key, true) : undefined);

interface RawUse {
  node: Node;
  uses: string;
  job: string;
}

/** Every `uses:` of a workflow document (step and job level), with the job it is in, and whether a job inherits all secrets. */
function usesOf(doc: ReturnType<typeof parseDocument>): { uses: RawUse[]; inherits: boolean } {
  const uses: RawUse[] = [];
  let inherits = false;
  const jobs = get(doc.contents, 'jobs');
  if (!isMap(jobs)) return { uses, inherits };
  for (const pair of jobs.items) {
    const job = isScalar(pair.key) ? String(pair.key.value) : '';
    const j = pair.value;
    const jobUses = get(j, 'uses');
    if (isScalar(jobUses) && typeof jobUses.value === 'string') uses.push({ node: jobUses, uses: jobUses.value, job });
    const secrets = get(j, 'secrets');
    if (isScalar(secrets) && secrets.value === 'inherit') inherits = true;
    const steps = get(j, 'steps');
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      const u = get(step, 'uses');
      if (isScalar(u) && typeof u.value === 'string') uses.push({ node: u, uses: u.value, job });
    }
  }
  return { uses, inherits };
}

/** `owner/repo[/path]@ref` → the action's owner/repo and the ref; undefined for local (`./`) and `docker://` uses. */
export function parseUses(uses: string): { action: string; ref: string } | undefined {
  const at = uses.lastIndexOf('@');
  if (at <= 0 || uses.startsWith('./') || uses.startsWith('docker://')) return undefined;
  const parts = uses.slice(0, at).split('/');
  if (parts.length < 2 || parts[0] === '' || parts[1] === '') return undefined;
  return { action: `${parts[0]}/${parts[1]}`, ref: uses.slice(at + 1).trim() };
}

const refMatches = (ref: string, refs: string[]): boolean => refs.length === 0 || refs.some((r) => r === ref || (fullSha.test(r) && r.toLowerCase() === ref.toLowerCase()));

export async function findWorkflowUses(input: FindWorkflowUsesInput): Promise<{ uses: WorkflowUse[]; scanned: number; problems: string[] }> {
  const problem = actionProblem(input.action) ?? input.checkouts.map(checkoutProblem).find((p) => p !== undefined);
  if (problem !== undefined) throw new CiInputProblem(problem);
  const action = input.action.toLowerCase();
  const out: WorkflowUse[] = [];
  const problems: string[] = [];
  let scanned = 0;
  for (const checkout of input.checkouts) {
    const files = await workflowFiles(checkout);
    if (files.length === 0) {
      try {
        await stat(checkout);
      } catch {
        problems.push(`${checkout}: no such checkout directory`);
      }
    }
    for (const file of files) {
      const where = await workflowPath(checkout, file);
      if ('problem' in where) {
        problems.push(where.problem);
        continue;
      }
      const text = await readFile(where.path, 'utf8');
      const lines = new LineCounter();
      const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
      if (doc.errors.length > 0) {
        problems.push(`${checkout}/${file}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]}): not scanned`);
        continue;
      }
      scanned++;
      const { uses, inherits } = usesOf(doc);
      const hits = uses.filter((u) => {
        const p = parseUses(u.uses);
        return p !== undefined && p.action.toLowerCase() === action && refMatches(p.ref, input.refs);
      });
      if (hits.length === 0) continue;
      const secrets = [...secretsOf(text)].sort();
      if (inherits) secrets.push(allRepositorySecrets);
      for (const h of hits) {
        out.push({ checkout, file, line: lines.linePos(h.node.range?.[0] ?? 0).line, uses: h.uses, ref: parseUses(h.uses)!.ref, ...(h.job === '' ? {} : { job: h.job }), secrets });
      }
    }
  }
  return { uses: out, scanned, problems };
}
