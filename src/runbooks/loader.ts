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
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { runbookPolicy, type RunbookPolicy } from './schema.ts';

/** The step ids each runbook workflow knows, by workflow name (see workflows/catalog.ts). */
export type WorkflowCatalog = Record<string, { steps: readonly string[] }>;

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
      throw new RunbookValidationError([{ file: displayPath(dirOrPaths), path: '', message: readFailure(e, 'directory') }]);
    }
  } else files = dirOrPaths;
  const { runbooks, problems } = await checkRunbooks(files, ctx);
  if (problems.length > 0) throw new RunbookValidationError(problems);
  return runbooks;
}

// ---------------------------------------------------------------------------
// One file

type Position = { line: number; column: number } | Record<string, never>;
type FieldPath = readonly PropertyKey[];

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
    return { problems: [{ file: shown, path: '', message: readFailure(e, 'file') }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
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
    problems.push({ file: shown, path: formatPath(fieldPath), ...position, message });
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
    if (!schemaPaths.has(formatPath(fieldPath))) report(fieldPath, message);
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

/** The workflow exists, and the policy has exactly one entry per workflow step. */
function checkAgainstWorkflow(data: unknown, catalog: WorkflowCatalog, report: (p: FieldPath, message: string) => void): void {
  if (!isRecord(data) || typeof data['workflow'] !== 'string') return;
  const name = data['workflow'];
  const workflow = Object.hasOwn(catalog, name) ? catalog[name] : undefined;
  if (workflow === undefined) {
    const known = Object.keys(catalog).sort();
    report(
      ['workflow'],
      `unknown workflow "${name}"; known workflows: ${known.length === 0 ? 'none (no runbook workflow is registered yet)' : known.join(', ')}`,
    );
    return;
  }
  const rawSteps = data['steps'];
  if (!Array.isArray(rawSteps)) return;
  const known = new Set(workflow.steps);
  const covered = new Set<string>();
  rawSteps.forEach((step: unknown, i) => {
    if (!isRecord(step) || typeof step['id'] !== 'string') return;
    const id = step['id'];
    covered.add(id);
    if (!known.has(id)) {
      report(['steps', i, 'id'], `unknown step "${id}": workflow "${name}" has the steps ${workflow.steps.join(', ')}`);
    }
  });
  const missing = workflow.steps.filter((s) => !covered.has(s));
  if (missing.length > 0) {
    report(
      ['steps'],
      `no policy for step${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of workflow "${name}": every step needs an entry (gate: none if it runs without approval)`,
    );
  }
}

/** Every `group:<name>` in approvers and escalateTo is a defined group. */
function checkGroups(
  data: unknown,
  groups: RunbookContext['groups'],
  report: (p: FieldPath, message: string) => void,
): void {
  if (!isRecord(data)) return;
  const gates: { path: FieldPath; gate: unknown }[] = [];
  if (Array.isArray(data['steps'])) {
    data['steps'].forEach((step: unknown, i) => {
      if (isRecord(step)) gates.push({ path: ['steps', i, 'gate'], gate: step['gate'] });
    });
  }
  const rollback = data['rollback'];
  if (isRecord(rollback)) gates.push({ path: ['rollback', 'gate'], gate: rollback['gate'] });
  const defined = Object.keys(groups).sort();
  for (const { path: gatePath, gate } of gates) {
    if (!isRecord(gate)) continue;
    for (const field of ['approvers', 'escalateTo'] as const) {
      const list = gate[field];
      if (!Array.isArray(list)) continue;
      list.forEach((entry: unknown, j) => {
        if (typeof entry !== 'string' || !entry.startsWith('group:')) return;
        const group = entry.slice('group:'.length);
        if (Object.hasOwn(groups, group)) return;
        report(
          [...gatePath, field, j],
          `group "${group}" is not defined; ${
            defined.length === 0
              ? 'no approver groups are defined (set FIREBREAK_APPROVER_GROUPS)'
              : `defined groups: ${defined.join(', ')}`
          }`,
        );
      });
    }
  }
}

// ---------------------------------------------------------------------------
// zod issues → problems

type Issue = z.core.$ZodIssue;

/**
 * A gate is `"none"` or an approval gate; when an approval gate is wrong, zod
 * reports one union issue. Where exactly one alternative matches the shape of
 * the input (its issues are inside it, not about its type), report that
 * alternative's issues instead, so the problem names the field, e.g.
 * `steps[2].gate.timeout`.
 */
function flattenIssues(issues: readonly Issue[], prefix: FieldPath): (Issue & { path: PropertyKey[] })[] {
  const flat: (Issue & { path: PropertyKey[] })[] = [];
  for (const issue of issues) {
    const fullPath = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const plausible = issue.errors.filter(
        (branch) => !branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')),
      );
      const [only] = plausible;
      if (plausible.length === 1 && only !== undefined) {
        for (const i of flattenIssues(only, fullPath)) flat.push(i);
        continue;
      }
    }
    flat.push({ ...issue, path: fullPath });
  }
  return flat;
}

const durationExpectation = 'expected a duration such as "90s", "30m", "1h30m" or "2d"';
const escalationExpectation =
  'expected a Slack channel ("#security" or C…), a Slack user id (U…), "group:<name>" or "cli:<operator>"';

/** Messages that depend on where the issue is; the rest come from the schema or defaultMessage. */
function messageFor(issue: Issue & { path: PropertyKey[] }): string {
  const last = issue.path.at(-1);
  const parent = issue.path.at(-2);
  if (issue.code === 'invalid_type' && last === 'timeout' && issue.input !== undefined) {
    return `${durationExpectation}; got ${describe(issue.input)}${typeof issue.input === 'number' ? ' (a duration needs a unit)' : ''}`;
  }
  if (parent === 'escalateTo' && (issue.code === 'invalid_format' || issue.code === 'invalid_union' || issue.code === 'invalid_type')) {
    return `${escalationExpectation}; got ${describe(issue.input)}`;
  }
  const echoes = issue.code === 'invalid_union' || issue.code === 'invalid_format' || issue.code === 'invalid_value';
  if (echoes && issue.input !== undefined && !issue.message.includes('; got ')) return `${issue.message}; got ${describe(issue.input)}`;
  return issue.message;
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
};

/** Messages for the issues the schema leaves to zod's defaults. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = typeNames[issue.expected] ?? issue.expected;
      return issue.input === undefined ? `missing: expected ${expected}` : `expected ${expected}; got ${describe(issue.input)}`;
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v));
      return `expected ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}; got ${describe(issue.input)}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return `expected at least ${min} item${min === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return min === 1 ? 'expected a non-empty string' : `expected at least ${min} characters`;
      return `expected a number ${issue.inclusive === false ? '>' : '>='} ${min}; got ${describe(issue.input)}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') return `expected at most ${max} item${max === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return `expected at most ${max} characters`;
      return `expected a number ${issue.inclusive === false ? '<' : '<='} ${max}; got ${describe(issue.input)}`;
    }
    case 'invalid_format':
      return `expected a value matching ${issue.format === 'regex' && issue.pattern !== undefined ? issue.pattern : issue.format}; got ${describe(issue.input)}`;
    default:
      return undefined;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/** The keys the schema allows at a path, to suggest the right spelling of an unknown one. */
function allowedKeys(schema: z.ZodType, fieldPath: FieldPath): string[] | undefined {
  const candidates = unwrap(schema);
  for (const candidate of candidates) {
    if (fieldPath.length === 0) {
      if (candidate instanceof z.ZodObject) return Object.keys(candidate.shape);
      continue;
    }
    const [head, ...rest] = fieldPath;
    let next: z.ZodType | undefined;
    if (candidate instanceof z.ZodObject && typeof head === 'string') next = (candidate.shape as Record<string, z.ZodType>)[head];
    else if (candidate instanceof z.ZodArray && typeof head === 'number') next = candidate.element as z.ZodType;
    else if (candidate instanceof z.ZodRecord) next = candidate.valueType as z.ZodType;
    const found = next === undefined ? undefined : allowedKeys(next, rest);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The schemas a value at this place may match, without defaults, optionals, pipes and unions. */
function unwrap(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) return unwrap(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodPipe) return unwrap(schema.in as z.ZodType);
  if (schema instanceof z.ZodUnion) return (schema.options as readonly z.ZodType[]).flatMap(unwrap);
  return [schema];
}

// ---------------------------------------------------------------------------
// Field paths and positions

/** `['steps', 2, 'gate', 'timeout']` → `steps[2].gate.timeout`. */
function formatPath(fieldPath: FieldPath): string {
  let text = '';
  for (const segment of fieldPath) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else {
      const key = String(segment);
      text += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${text === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return text;
}

/** The deepest node of the document along the path (the value's own node when it exists). */
function nodeAlong(doc: Document, fieldPath: FieldPath): YamlNode | undefined {
  let node: unknown = doc.contents;
  let deepest: YamlNode | undefined = isYamlNode(node) ? node : undefined;
  for (const segment of fieldPath) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) break;
      next = isYamlNode(pair.value) && !(isScalar(pair.value) && pair.value.value === null) ? pair.value : pair.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    } else break;
    if (!isYamlNode(next)) break;
    deepest = next;
    node = next;
  }
  return deepest;
}

function positionOf(doc: Document, fieldPath: FieldPath, at: (offset: number) => Position): Position {
  const range = nodeAlong(doc, fieldPath)?.range;
  return range === undefined || range === null ? {} : at(range[0]);
}

/** Where a key of the mapping at `mapPath` is written. */
function keyPosition(doc: Document, mapPath: FieldPath, key: string, at: (offset: number) => Position): Position {
  const map = nodeAlong(doc, mapPath);
  if (isMap(map)) {
    const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    const range = isScalar(pair?.key) ? pair.key.range : undefined;
    if (range !== undefined && range !== null) return at(range[0]);
  }
  return positionOf(doc, mapPath, at);
}

function isYamlNode(value: unknown): value is YamlNode {
  return isMap(value) || isSeq(value) || isScalar(value);
}

function sortByPosition(problems: RunbookProblem[]): RunbookProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
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

// ---------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').trim();
}

function readFailure(e: unknown, kind: 'file' | 'directory'): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `no such ${kind}`;
  if (code === 'EISDIR') return 'is a directory, not a policy file';
  if (code === 'ENOTDIR') return 'is not a directory';
  if (code === 'EACCES') return `cannot read the ${kind}: permission denied`;
  return `cannot read the ${kind}: ${oneLine(e instanceof Error ? e.message : String(e))}`;
}
