/**
 * `firebreak drill compare`: two scorecards side by side (before and after a
 * policy change), and the rules a CI job fails on (`--fail-if`).
 */
import { z } from 'zod';
import { parseDuration } from '../runbooks/schema.ts';
import { formatMs } from './scorecard.ts';
import { scorecardSchemaVersion, type Scorecard } from './scorecard-types.ts';

/** The figures compared, and whether each is a time. */
export const comparedFigures = {
  timeToFirstContainment: 'time',
  timeToFullContainment: 'time',
  adversaryActionsAfterAlert: 'count',
  missedExpectations: 'count',
  realCalls: 'count',
  waitingOnApprovalMs: 'time',
} as const;
export type Figure = keyof typeof comparedFigures;

const aliases: Record<string, Figure> = { timeToContain: 'timeToFullContainment', timeToFirstContain: 'timeToFirstContainment', waitingOnApproval: 'waitingOnApprovalMs' };

/** A scorecard file as compare reads it: only the fields it needs, any v1 file. */
const scorecardFile = z.looseObject({
  schema: z.literal(scorecardSchemaVersion),
  scenario: z.looseObject({ name: z.string() }),
  timeToFirstContainment: z.number().nullable(),
  timeToFullContainment: z.number().nullable(),
  adversaryActionsAfterAlert: z.number(),
  missedExpectations: z.number(),
  realCalls: z.number(),
  pass: z.boolean(),
  metrics: z.looseObject({ waitingOnApprovalMs: z.number() }),
});

export function readScorecard(text: string, shown: string): Scorecard {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new CompareError(`${shown} is not JSON (${e instanceof Error ? e.message : String(e)}): give a scorecard written by \`firebreak drill run --json -o <file>\``);
  }
  const parsed = scorecardFile.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new CompareError(`${shown} is not a ${scorecardSchemaVersion} scorecard: ${first.path.join('.') || '(top)'}: ${first.message}`);
  }
  return parsed.data as unknown as Scorecard;
}

export class CompareError extends Error {
  override name = 'CompareError';
}

export interface FailRule {
  text: string;
  figure: Figure;
  /** b − a must not exceed this (absolute, in ms or a count), or this share of a. */
  limit: { kind: 'percent' | 'absolute'; value: number };
}

/** `timeToContain>+20%`, `adversaryActionsAfterAlert>+0`, `timeToFirstContainment>+2m`. */
export function parseFailRule(text: string): FailRule {
  const m = /^\s*([A-Za-z]+)\s*>\s*\+?\s*([0-9.]+)\s*(%|ms|s|m|h)?\s*$/.exec(text);
  const name = m?.[1];
  const figure = name === undefined ? undefined : ((aliases[name] ?? (name in comparedFigures ? name : undefined)) as Figure | undefined);
  if (m === undefined || m === null || figure === undefined) {
    throw new CompareError(
      `--fail-if ${JSON.stringify(text)}: expected <figure>>+<limit>, e.g. 'timeToContain>+20%' or 'adversaryActionsAfterAlert>+0', with a figure among ${[...Object.keys(comparedFigures), ...Object.keys(aliases)].join(', ')}`,
    );
  }
  const unit = m[3];
  if (unit === '%') return { text, figure, limit: { kind: 'percent', value: Number(m[2]) } };
  if (unit !== undefined) {
    const ms = parseDuration(`${m[2]}${unit}`);
    if (ms === undefined) throw new CompareError(`--fail-if ${JSON.stringify(text)}: ${m[2]}${unit} is not a duration`);
    return { text, figure, limit: { kind: 'absolute', value: ms } };
  }
  return { text, figure, limit: { kind: 'absolute', value: Number(m[2]) } };
}

export interface FigureDelta {
  figure: Figure;
  a: number | null;
  b: number | null;
  /** b − a; null when either never happened. */
  delta: number | null;
  percent: number | null;
}

export interface Comparison {
  a: string;
  b: string;
  figures: FigureDelta[];
  pass: { a: boolean; b: boolean };
  failed: { rule: string; why: string }[];
}

function figureOf(s: Scorecard, f: Figure): number | null {
  return f === 'waitingOnApprovalMs' ? s.metrics.waitingOnApprovalMs : s[f];
}

export function compareScorecards(a: Scorecard, b: Scorecard, rules: readonly FailRule[]): Comparison {
  const figures = (Object.keys(comparedFigures) as Figure[]).map((figure) => {
    const va = figureOf(a, figure);
    const vb = figureOf(b, figure);
    const delta = va === null || vb === null ? null : vb - va;
    return { figure, a: va, b: vb, delta, percent: delta === null || va === 0 || va === null ? null : (delta / va) * 100 };
  });
  const failed: Comparison['failed'] = [];
  for (const rule of rules) {
    const d = figures.find((f) => f.figure === rule.figure)!;
    if (d.b === null && d.a !== null) {
      failed.push({ rule: rule.text, why: `${rule.figure} was ${show(rule.figure, d.a)} and now never happened` });
      continue;
    }
    if (d.delta === null) continue;
    const over = rule.limit.kind === 'percent' ? d.a !== 0 && d.percent !== null && d.percent > rule.limit.value : d.delta > rule.limit.value;
    const zeroToMore = rule.limit.kind === 'percent' && d.a === 0 && d.delta > 0;
    if (over || zeroToMore) failed.push({ rule: rule.text, why: `${rule.figure} went from ${show(rule.figure, d.a)} to ${show(rule.figure, d.b)}` });
  }
  return { a: a.scenario.name, b: b.scenario.name, figures, pass: { a: a.pass, b: b.pass }, failed };
}

export function show(f: Figure, v: number | null): string {
  if (v === null) return 'never';
  return comparedFigures[f] === 'time' ? formatMs(v) : String(v);
}

export function renderComparison(c: Comparison): string {
  const rows = c.figures.map((f) => {
    const delta = f.delta === null ? '—' : `${f.delta > 0 ? '+' : f.delta < 0 ? '−' : '±'}${show(f.figure, Math.abs(f.delta))}${f.percent === null ? '' : ` (${f.percent > 0 ? '+' : ''}${f.percent.toFixed(0)}%)`}`;
    return `| ${f.figure} | ${show(f.figure, f.a)} | ${show(f.figure, f.b)} | ${delta} |`;
  });
  const lines = [`| figure | a (${c.a}) | b (${c.b}) | change |`, '|---|---|---|---|', ...rows, `| pass | ${c.pass.a} | ${c.pass.b} | |`];
  if (c.failed.length > 0) lines.push('', ...c.failed.map((f) => `FAILED ${f.rule}: ${f.why}`));
  return `${lines.join('\n')}\n`;
}
