/**
 * Recorded workflow histories, read from files or fetched from a Temporal
 * server, for replaying against the current workflow code.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { historyFromJson } from './proto-json.ts';

/** One history to replay: its workflow id, where it came from, and its events. */
export interface RecordedHistory {
  workflowId: string;
  /** The file it was read from, or `server` for one fetched from Temporal. */
  source: string;
  history: History;
}

/** A history file that cannot be read or is not a workflow history; its message says which file and why. */
export class HistoryFileError extends Error {
  override readonly name = 'HistoryFileError';
}

/**
 * The shape `scripts/capture-histories.ts` writes: the history with the
 * workflow id it ran under (a bare history does not carry it).
 */
export interface CapturedHistoryFile {
  workflowId: string;
  /** What the history shows, for a person reading the file list. */
  path?: string;
  history: unknown;
}

function hasEvents(value: unknown): value is { events: unknown[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { events?: unknown }).events);
}

/** The workflow id a bare history file stands for: its name without `.json` (and `.history`). */
export function workflowIdFromFileName(file: string): string {
  return path.basename(file).replace(/\.json$/i, '').replace(/\.history$/i, '');
}

/**
 * Reads a history file: JSON as `temporal workflow show --output json` writes
 * it, as `History.toJSON()`/`historyToJSON` produce it (both `{ "events": [...] }`),
 * or a captured file `{ workflowId, history }`.
 */
export async function readHistoryFile(file: string): Promise<RecordedHistory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new HistoryFileError(`Cannot read history file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}. Give the path of a JSON history (temporal workflow show --output json).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new HistoryFileError(`History file ${file} is not JSON (${(e as Error).message}): write it with \`temporal workflow show --workflow-id ID --output json > ${path.basename(file)}\`.`);
  }
  let workflowId = workflowIdFromFileName(file);
  let raw: unknown = parsed;
  if (typeof parsed === 'object' && parsed !== null && 'history' in parsed && typeof (parsed as CapturedHistoryFile).workflowId === 'string') {
    workflowId = (parsed as CapturedHistoryFile).workflowId;
    raw = (parsed as CapturedHistoryFile).history;
  }
  if (!hasEvents(raw) || raw.events.length === 0) {
    throw new HistoryFileError(`History file ${file} has no "events" list: it is not a workflow history (expected the JSON of \`temporal workflow show --output json\`).`);
  }
  try {
    return { workflowId, source: file, history: historyFromJson(raw) };
  } catch (e) {
    throw new HistoryFileError(`History file ${file} is not a valid workflow history (${(e as Error).message}).`);
  }
}

/** The workflow type a history started (its first event), or `?` when it does not say. */
export function workflowTypeOf(history: History): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
}

/** Histories of the given workflow ids (their latest runs), fetched one after the other. */
export async function* historiesById(client: Client, workflowIds: readonly string[]): AsyncIterable<RecordedHistory> {
  for (const workflowId of workflowIds) {
    yield { workflowId, source: 'server', history: await client.workflow.getHandle(workflowId).fetchHistory() };
  }
}

/** Histories of every workflow the visibility query matches. */
export async function* historiesByQuery(client: Client, query: string): AsyncIterable<RecordedHistory> {
  for await (const { workflowId, history } of client.workflow.list({ query }).intoHistories()) {
    // Decoded protobuf from the list API, typed loosely by the SDK.
    yield { workflowId, source: 'server', history: history as History };
  }
}
