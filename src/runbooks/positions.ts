// Where in a policy file a field is written, so each problem carries its line:column.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { FieldPath } from '../text/field-path.ts';
import type { RunbookProblem } from './loader.ts';

export type Position = { line: number; column: number } | Record<string, never>;

/** Parses YAML keeping where each node is written (duplicate keys are errors): the document and offset → line:column. */
export function parseYamlWithPositions(text: string): { doc: Document; at: (offset: number) => Position } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  return {
    doc,
    at: (offset) => {
      const { line, col } = lineCounter.linePos(offset);
      return { line, column: col };
    },
  };
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

export function positionOf(doc: Document, fieldPath: FieldPath, at: (offset: number) => Position): Position {
  const range = nodeAlong(doc, fieldPath)?.range;
  return range === undefined || range === null ? {} : at(range[0]);
}

/** Where a key of the mapping at `mapPath` is written. */
export function keyPosition(doc: Document, mapPath: FieldPath, key: string, at: (offset: number) => Position): Position {
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

export function sortByPosition(problems: RunbookProblem[]): RunbookProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}
