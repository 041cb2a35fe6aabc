import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { getConfig } from '../../config/index.ts';
import type { AlertMatcher, Gate, LoadedRunbook, RunbookContext, RunbookProblem } from '../../runbooks/index.ts';
import { exit, note, out, outJson, SilentFailure, UserError } from '../io.ts';

export function registerRunbooks(program: Command): void {
  const runbooks = program
    .command('runbooks')
    .description('List and validate the runbook policies in FIREBREAK_RUNBOOKS_DIR.');

  runbooks
    .command('list')
    .description('List the runbook policies: id, version, title, workflow, and each step with its gate.')
    .addOption(new Option('--json', 'print the list as JSON'))
    .action(async (opts: { json?: boolean }) => {
      const { displayPath, findRunbookFiles, checkRunbooks } = await import('../../runbooks/index.ts');
      const dir = await runbooksDir();
      const files = await findRunbookFiles(dir);
      if (files.length === 0) {
        if (opts.json) out('[]');
        else out(`No runbook policies (*.yaml, *.yml) in ${displayPath(dir)} (FIREBREAK_RUNBOOKS_DIR).`);
        return;
      }
      const { runbooks: loaded, problems } = await checkRunbooks(files, await context());
      if (problems.length > 0) {
        await reportProblems(problems, files);
        throw new SilentFailure(exit.user);
      }
      const summaries = loaded.map((r) => runbookSummary(r, displayPath(r.file)));
      if (opts.json) {
        outJson(summaries);
        return;
      }
      for (const s of summaries) {
        out(`${s.id} v${s.version}  ${s.title}  (workflow ${s.workflow}, ${s.file})`);
        for (const step of s.steps) out(`  ${step.id}: ${step.gate}`);
        out(`  rollback: ${s.rollback}`);
        for (const rule of s.autoContain) out(`  auto-contain: ${rule}`);
      }
    });

  runbooks
    .command('validate')
    .description(
      'Validate runbook policies: schema, workflow steps, approver groups, unique ids. Prints every problem with file, field and line.',
    )
    .argument('[paths...]', 'policy files, or directories of them (default: every *.yaml and *.yml in FIREBREAK_RUNBOOKS_DIR)')
    .action(async (paths: string[]) => {
      const { displayPath, findRunbookFiles, checkRunbooks } = await import('../../runbooks/index.ts');
      let files: string[];
      if (paths.length === 0) {
        const dir = await runbooksDir();
        files = await findRunbookFiles(dir);
        if (files.length === 0) {
          out(`no policy files in ${displayPath(dir)}`);
          return;
        }
      } else {
        const kinds = await Promise.all(paths.map(async (p) => ({ p, kind: await kindOf(p) })));
        const missing = kinds.filter((k) => k.kind === undefined).map((k) => k.p);
        if (missing.length > 0) {
          throw new UserError(
            `${missing.length === 1 ? 'no such file or directory' : 'no such files or directories'}: ${missing.join(', ')}; give runbook policy files (.yaml) or directories that hold them.`,
          );
        }
        files = [];
        for (const { p, kind } of kinds) files.push(...(kind === 'dir' ? await findRunbookFiles(p) : [p]));
        if (files.length === 0) {
          throw new UserError(`no policy files (*.yaml, *.yml) in ${paths.join(', ')}; give runbook policy files or directories that hold them.`);
        }
      }
      const { runbooks: valid, problems } = await checkRunbooks(files, await context());
      for (const r of valid) out(`ok ${displayPath(r.file)} (${r.policy.id} v${r.policy.version})`);
      if (problems.length > 0) {
        await reportProblems(problems, files);
        throw new SilentFailure(exit.user);
      }
    });
}

/** What policies are checked against: the registered workflows and the configured approver groups. */
async function context(): Promise<RunbookContext> {
  const { workflowCatalog } = await import('../../../workflows/catalog.ts');
  return { catalog: workflowCatalog, groups: getConfig().FIREBREAK_APPROVER_GROUPS };
}

/** FIREBREAK_RUNBOOKS_DIR, which must be an existing directory. */
async function runbooksDir(): Promise<string> {
  const dir = getConfig().FIREBREAK_RUNBOOKS_DIR;
  const kind = await kindOf(dir);
  if (kind === undefined) {
    throw new UserError(
      `The runbooks directory ${dir} does not exist: create it, or set FIREBREAK_RUNBOOKS_DIR to the directory that holds the runbook policies.`,
    );
  }
  if (kind !== 'dir') {
    throw new UserError(`FIREBREAK_RUNBOOKS_DIR=${dir} is not a directory: set it to the directory that holds the runbook policies.`);
  }
  return dir;
}

async function kindOf(p: string): Promise<'dir' | 'file' | undefined> {
  const s = await stat(p).catch(() => undefined);
  return s === undefined ? undefined : s.isDirectory() ? 'dir' : 'file';
}

/** Every problem, one line each, then how many, on stderr. */
async function reportProblems(problems: readonly RunbookProblem[], checked: readonly string[]): Promise<void> {
  const { formatProblem, problemCount } = await import('../../runbooks/loader.ts');
  const files = new Set(problems.map((p) => p.file)).size;
  const fileCount = new Set(checked.map((f) => resolve(f))).size;
  const lines = problems.map(formatProblem);
  const count = problemCount(problems);
  lines.push(`${count} problem${count === 1 ? '' : 's'} in ${files} of ${fileCount} policy file${fileCount === 1 ? '' : 's'}`);
  note(lines.join('\n'));
}

/** What `runbooks list` shows of a policy (and prints with --json). */
export interface RunbookSummary {
  id: string;
  version: number;
  title: string;
  workflow: string;
  file: string;
  steps: { id: string; gate: string }[];
  rollback: string;
  autoContain: string[];
}

export function runbookSummary({ policy }: LoadedRunbook, file: string): RunbookSummary {
  return {
    id: policy.id,
    version: policy.version,
    title: policy.title,
    workflow: policy.workflow,
    file,
    steps: policy.steps.map((s) => ({ id: s.id, gate: gateSummary(s.gate) })),
    rollback: gateSummary(policy.rollback.gate),
    autoContain: policy.autoContain.map((rule) => `${rule.steps.join(', ')} without approval when ${matcherSummary(rule.when)}`),
  };
}

/** `approval 2 of [slack:U1, group:oncall] two-person, 30m → escalate to [#security]`, or `none`. */
export function gateSummary(gate: Gate): string {
  if (gate === 'none') return 'none';
  const escalation = gate.onTimeout === 'escalate' ? ` to [${gate.escalateTo.join(', ')}]` : '';
  return `approval ${gate.required} of [${gate.approvers.join(', ')}]${gate.twoPerson ? ' two-person' : ''}, ${gate.timeout.text} → ${gate.onTimeout}${escalation}`;
}

function matcherSummary(m: AlertMatcher): string {
  const parts = [`source ${m.source}`];
  if (m.rules !== undefined) parts.push(`rules [${m.rules.join(', ')}]`);
  if (m.findingTypes !== undefined) parts.push(`findingTypes [${m.findingTypes.join(', ')}]`);
  if (m.minSeverity !== undefined) parts.push(`severity ≥ ${m.minSeverity}`);
  if (m.labels !== undefined) parts.push(`labels {${Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(', ')}}`);
  return parts.join(', ');
}
