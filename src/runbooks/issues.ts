// zod's issues about a policy, as problems a person can act on: the field
// that is wrong (through unions), what was expected and what was there.
import { z } from 'zod';
import type { FieldPath } from '../text/field-path.ts';

type Issue = z.core.$ZodIssue;

/**
 * A gate is `"none"` or an approval gate; when an approval gate is wrong, zod
 * reports one union issue. Where exactly one alternative matches the shape of
 * the input (its issues are inside it, not about its type), report that
 * alternative's issues instead, so the problem names the field, e.g.
 * `steps[2].gate.timeout`.
 */
export function flattenIssues(issues: readonly Issue[], prefix: FieldPath): (Issue & { path: PropertyKey[] })[] {
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
export function messageFor(issue: Issue & { path: PropertyKey[] }): string {
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
export function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
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
export function allowedKeys(schema: z.ZodType, fieldPath: FieldPath): string[] | undefined {
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
