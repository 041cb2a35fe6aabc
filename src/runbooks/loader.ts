/**
 * Reads runbook policies (`runbooks/*.yaml`) and validates them: the zod schema
 * of ./schema.ts, then the checks that need more than one file or something
 * outside the file: the workflow exists, the policy covers exactly the steps the
 * workflow has (no gate is implicit), every `group:<name>` is defined, and no two
 * files share an id. Every problem in every file is collected, each with its
 * file, field path and line:column, so one run shows everything to fix.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readProblem } from '../text/errno.ts';
import { formatFieldPath, type FieldPath } from '../text/field-path.ts';
import { checkAgainstWorkflow, checkGroups, isRecord } from './checks.ts';
import { allowedKeys, defaultMessage, flattenIssues, messageFor } from './issues.ts';
import { keyPosition, parseYamlWithPositions, positionOf, sortByPosition, type Position } from './positions.ts';
import { runbookPolicy, type RunbookPolicy } from './schema.ts';

/** The step ids each runbook workflow knows, by workflow name (see workflows/catalog.ts). */
export type WorkflowCatalog = Record<string, { steps: readonly string[]; dangerousUndo?: readonly string[] }>;

/** What a policy is checked against besides its schema. */
export interface RunbookContext {
  catalog: WorkflowCatalog;
  /** Named approver groups (`FIREBREAK_APPROVER_GROUPS`), referred to as `group:<name>`. */
  groups: Readonly<Record<string, readonly string[]>>;
}

export interface LoadedRunbook {
  /** Absolute path of the policy file. */
  file: string;
  policy: RunbookPolicy;
}

export interface RunbookProblem {
  /** The file, relative to the current directory when inside it. */
  file: string;
  /** Field path such as `steps[2].gate.timeout`; '' for the whole file. */
  path: string;
  line?: number;
  column?: number;
  message: string;
  /** Set on the entry that stands for the problems of a file left out beyond `maxProblemsPerFile`: how many. */
  more?: number;
}

/** Problems listed per file; the rest are counted. A hostile file can hold hundreds of thousands. */
export const maxProblemsPerFile = 50;

/** The largest policy file read. Real policies are a few KiB; parsing 50 MB of YAML takes gigabytes. */
export const maxPolicyFileBytes = 1024 * 1024;

/** How many problems a list stands for, counting those left out. */
export function problemCount(problems: readonly RunbookProblem[]): number {
  let n = 0;
  for (const p of problems) n += p.more ?? 1;
  return n;
}

/** One line per problem: `runbooks/foo.yaml:12:7: steps[2].gate.timeout: expected …`. */
export function formatProblem(p: RunbookProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return `${where}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/** Raised with every problem found in every file checked. */
export class RunbookValidationError extends Error {
  override readonly name = 'RunbookValidationError';
  constructor(readonly problems: readonly RunbookProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** A path as printed to a person: relative to the current directory when inside it. */
export function displayPath(file: string): string {
  const absolute = path.resolve(file);
  const relative = path.relative(process.cwd(), absolute);
  if (relative === '') return '.';
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative;
}

const policyFile = /\.ya?ml$/i;

/** The policy files (`*.yaml`, `*.yml`) directly inside a directory, sorted by name. */
export async function findRunbookFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || !policyFile.test(entry.name)) continue;
    const file = path.resolve(dir, entry.name);
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(file).catch(() => undefined))?.isFile())) files.push(file);
  }
  return files.sort();
}

/**
 * Checks policy files together (ids must be unique across them). Returns the
 * policies that passed every check and the problems of the others; never throws
 * for a problem in a file.
 */
export async function checkRunbooks(
  files: readonly string[],
  ctx: RunbookContext,
): Promise<{ runbooks: LoadedRunbook[]; problems: RunbookProblem[] }> {
  const runbooks: LoadedRunbook[] = [];
  const problems: RunbookProblem[] = [];
  const firstFileById = new Map<string, string>();
  // A file named twice (say, itself and its directory) is checked once, not reported as its own duplicate.
  for (const absolute of new Set(files.map((f) => path.resolve(f)))) {
    const shown = displayPath(absolute);
    const checked = await checkFile(absolute, shown, ctx);
    if (checked.id !== undefined) {
      const other = firstFileById.get(checked.id.value);
      if (other === undefined) firstFileById.set(checked.id.value, shown);
      else {
        checked.problems.push({
          file: shown,
          path: 'id',
          ...checked.id.position,
          message: `"${checked.id.value}" is also the id of ${other}: each runbook policy needs its own id`,
        });
      }
    }
    if (checked.problems.length === 0 && checked.policy !== undefined) runbooks.push({ file: absolute, policy: checked.policy });
    // A loop, not push(...list): spreading a long list into arguments overflows the stack.
    for (const p of capped(sortByPosition(checked.problems), shown)) problems.push(p);
  }
  return { runbooks, problems };
}

/** Loads and validates one policy file; throws RunbookValidationError listing every problem. */
export async function loadRunbookFile(file: string, ctx: RunbookContext): Promise<LoadedRunbook> {
  const { runbooks, problems } = await checkRunbooks([file], ctx);
  const [loaded] = runbooks;
  if (problems.length > 0 || loaded === undefined) throw new RunbookValidationError(problems);
  return loaded;
}

/**
 * Loads and validates every policy file in a directory (`*.yaml`, `*.yml`), or
 * the given files; throws RunbookValidationError listing every problem in every file.
 */
export async function loadRunbooks(dirOrPaths: string | readonly string[], ctx: RunbookContext): Promise<LoadedRunbook[]> {
  let files: readonly string[];
  if (typeof dirOrPaths === 'string') {
    try {
      files = await findRunbookFiles(dirOrPaths);
    } catch (e) {
      throw new RunbookValidationError([{ file: displayPath(dirOrPaths), path: '', message: readProblem(e, 'directory') }]);
    }
  } else files = dirOrPaths;
  const { runbooks, problems } = await checkRunbooks(files, ctx);
  if (problems.length > 0) throw new RunbookValidationError(problems);
  return runbooks;
}

// ---------------------------------------------------------------------------
// One file


interface CheckedFile {
  policy?: RunbookPolicy;
  /** The policy's id when it has one, valid or not, for the duplicate check. */
  id?: { value: string; position: Position };
  problems: RunbookProblem[];
}

async function checkFile(file: string, shown: string, ctx: RunbookContext): Promise<CheckedFile> {
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > maxPolicyFileBytes) {
      return {
        problems: [
          {
            file: shown,
            path: '',
            message: `the file is ${formatBytes(size)}; a policy file may be at most ${formatBytes(maxPolicyFileBytes)} (policies are a few KiB): is this the right file?`,
          },
        ],
      };
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { problems: [{ file: shown, path: '', message: readProblem(e, 'file') }] };
  }
  const { doc, at } = parseYamlWithPositions(text);
  if (doc.errors.length > 0) {
    // One error per line: the parser's further errors on a line are usually echoes of its first.
    const seenLines = new Set<number>();
    const problems: RunbookProblem[] = [];
    for (const e of doc.errors) {
      const position = at(e.pos[0]);
      if ('line' in position && seenLines.has(position.line)) continue;
      if ('line' in position) seenLines.add(position.line);
      const message =
        e.code === 'MULTIPLE_DOCS'
          ? 'a policy file holds one YAML document: remove the "---" separator or split the file'
          : oneLine(e.message);
      problems.push({ file: shown, path: '', ...position, message: `YAML syntax error: ${message}` });
    }
    return { problems };
  }
  if (doc.contents === null) {
    return {
      problems: [
        {
          file: shown,
          path: '',
          message: 'the file is empty: expected a runbook policy (id, version, title, summary, workflow, steps, rollback)',
        },
      ],
    };
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (e) {
    return { problems: [{ file: shown, path: '', message: `cannot read the YAML: ${oneLine(e instanceof Error ? e.message : String(e))}` }] };
  }

  const problems: RunbookProblem[] = [];
  const report = (fieldPath: FieldPath, message: string, position = positionOf(doc, fieldPath, at)) => {
    problems.push({ file: shown, path: formatFieldPath(fieldPath), ...position, message });
  };

  const parsed = runbookPolicy.safeParse(data, { error: defaultMessage, reportInput: true });
  if (!parsed.success) {
    for (const issue of flattenIssues(parsed.error.issues, [])) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const allowed = allowedKeys(runbookPolicy, issue.path);
          report(
            [...issue.path, key],
            `unknown key "${key}"${allowed === undefined ? '' : `; expected one of: ${allowed.join(', ')}`}`,
            keyPosition(doc, issue.path, key, at),
          );
        }
      } else report(issue.path, messageFor(issue));
    }
  }

  const schemaPaths = new Set(problems.map((p) => p.path));
  const reportUnlessSchemaDid = (fieldPath: FieldPath, message: string) => {
    if (!schemaPaths.has(formatFieldPath(fieldPath))) report(fieldPath, message);
  };
  checkAgainstWorkflow(data, ctx.catalog, reportUnlessSchemaDid);
  checkGroups(data, ctx.groups, reportUnlessSchemaDid);

  const rawId = isRecord(data) && typeof data['id'] === 'string' ? data['id'] : undefined;
  return {
    ...(parsed.success && problems.length === 0 ? { policy: parsed.data } : {}),
    ...(rawId === undefined ? {} : { id: { value: rawId, position: positionOf(doc, ['id'], at) } }),
    problems,
  };
}

/** The first `maxProblemsPerFile` problems, then one entry counting the rest. */
function capped(problems: RunbookProblem[], shown: string): RunbookProblem[] {
  if (problems.length <= maxProblemsPerFile) return problems;
  const more = problems.length - maxProblemsPerFile;
  return [
    ...problems.slice(0, maxProblemsPerFile),
    { file: shown, path: '', message: `${more} more problems not listed (the first ${maxProblemsPerFile} are): fix those and validate again`, more },
  ];
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

function oneLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').trim();
}
