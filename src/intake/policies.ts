/**
 * Policies for a dry routing evaluation (`firebreak route`). Routing needs only
 * valid policies; a policy naming a workflow this version does not register is
 * still evaluated (with a note), so policies can be tested before their
 * workflow ships. The intake server itself loads them strictly (loadRunbooks).
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { workflowCatalog } from '../../workflows/catalog.ts';
import { checkRunbooks, findRunbookFiles, formatProblem, RunbookValidationError, displayPath, type WorkflowCatalog } from '../runbooks/loader.ts';
import type { RunbookPolicy } from '../runbooks/schema.ts';
import { readProblem } from '../text/errno.ts';

export async function loadPoliciesForRouting(
  dir: string,
  groups: Readonly<Record<string, readonly string[]>>,
): Promise<{ policies: RunbookPolicy[]; notes: string[] }> {
  let files: string[];
  try {
    files = await findRunbookFiles(dir);
  } catch (e) {
    throw new RunbookValidationError([{ file: displayPath(dir), path: '', message: `cannot read the policy directory: ${readProblem(e, 'directory')}` }]);
  }
  const catalog: WorkflowCatalog = { ...workflowCatalog };
  const notes: string[] = [];
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parse(await readFile(file, 'utf8'));
    } catch {
      continue; // checkRunbooks reports it
    }
    const d = doc as { id?: unknown; workflow?: unknown; steps?: unknown };
    if (typeof d.workflow !== 'string' || Object.hasOwn(workflowCatalog, d.workflow) || !Array.isArray(d.steps)) continue;
    catalog[d.workflow] = { steps: d.steps.map((s: { id?: unknown } | null) => s?.id).filter((id): id is string => typeof id === 'string') };
    notes.push(`${displayPath(file)}: workflow "${d.workflow}" is not registered in this version; intake would refuse to start with this policy (firebreak runbooks validate)`);
  }
  const { runbooks, problems } = await checkRunbooks(files, { catalog, groups });
  for (const p of problems) notes.push(`skipped: ${formatProblem(p)}`);
  if (files.length === 0) notes.push(`no policy files in ${displayPath(dir)}`);
  return { policies: runbooks.map((r) => r.policy), notes };
}
