/** Reading a scenario file: YAML, validated, every problem with its line; injects read from their files. */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readProblem } from '../text/errno.ts';
import { formatFieldPath } from '../text/field-path.ts';
import { allowedKeys, defaultMessage, flattenIssues, messageFor } from '../runbooks/issues.ts';
import { keyPosition, parseYamlWithPositions, positionOf, type Position } from '../runbooks/positions.ts';
import type { LoadedInject } from './director.ts';
import { scenarioSchema, type Scenario } from './scenario.ts';

export const maxScenarioBytes = 4 * 1024 * 1024;
/** An inject's file: alerts are small; a storm is `repeat`, not a big file. */
export const maxInjectFileBytes = 1024 * 1024;

export class ScenarioError extends Error {
  constructor(readonly problems: string[]) {
    super(`the scenario is not valid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ScenarioError';
  }
}

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
  injects: LoadedInject[];
}

async function readLimited(file: string, limit: number, what: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    throw new ScenarioError([`${file}: ${readProblem(e, 'file')}`]);
  }
  if (size > limit) throw new ScenarioError([`${file}: the ${what} is ${size} bytes; at most ${limit} are read: is this the right file?`]);
  return readFile(file, 'utf8');
}

/** Parses and validates a scenario's text; `shown` names it in problems. */
export function parseScenario(text: string, shown: string): Scenario {
  const { doc, at } = parseYamlWithPositions(text);
  if (doc.errors.length > 0) {
    throw new ScenarioError(doc.errors.slice(0, 10).map((e) => `${shown}:${at(e.pos[0]).line ?? '?'}: YAML syntax error: ${e.message.split('\n')[0]}`));
  }
  const parsed = scenarioSchema.safeParse(doc.toJS(), { error: defaultMessage, reportInput: true });
  if (parsed.success) return parsed.data;
  const problem = (fieldPath: PropertyKey[], message: string, p: Position | object) => {
    const where = 'line' in p ? `${shown}:${p.line}:${p.column}` : shown;
    const field = formatFieldPath(fieldPath);
    return `${where}: ${field === '' ? '' : `${field}: `}${message}`;
  };
  // As the policy loader does: an unknown key is named where it is, with the keys that would be read there.
  const problems = flattenIssues(parsed.error.issues, [])
    .flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => {
            const allowed = allowedKeys(scenarioSchema, issue.path);
            return problem([...issue.path, key], `unknown key "${key}"${allowed === undefined ? '' : `; expected one of: ${allowed.join(', ')}`}`, keyPosition(doc, issue.path, key, at));
          })
        : [problem(issue.path, messageFor(issue), positionOf(doc, issue.path, at))],
    )
    .slice(0, 50);
  throw new ScenarioError(problems);
}

/** Each inject as delivered: repeats expanded, files read (relative to the scenario). */
export async function loadInjects(s: Scenario, dir: string): Promise<LoadedInject[]> {
  const out: LoadedInject[] = [];
  for (const i of s.injects) {
    const body = i.file === undefined ? JSON.stringify(i.alert) : await readLimited(path.resolve(dir, i.file), maxInjectFileBytes, 'alert file');
    for (let n = 0; n < i.repeat; n += 1) {
      const at = i.at + n * (i.every ?? 0);
      if (at > s.horizon) break;
      out.push({ at, source: i.source, body, routes: i.routes });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

export async function loadScenario(file: string): Promise<LoadedScenario> {
  const absolute = path.resolve(file);
  const text = await readLimited(absolute, maxScenarioBytes, 'scenario file');
  const scenario = parseScenario(text, file);
  return { file: absolute, scenario, injects: await loadInjects(scenario, path.dirname(absolute)) };
}
