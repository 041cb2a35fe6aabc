// What every Slack listener is given: the engine to talk to, the runbooks
// to offer, and a way to answer the person who clicked or typed.
import type { App } from '@slack/bolt';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { WorkflowCatalog } from '../../runbooks/loader.ts';
import type { RunbookPolicy } from '../../runbooks/schema.ts';
import type { ApproverGroups } from '../groups.ts';

export interface ListenerDeps {
  temporal: Client;
  taskQueue: string;
  /** The runbook policies `/incident` offers (loaded and validated), and the workflows they run. */
  runbooks: () => Promise<{ policies: readonly RunbookPolicy[]; catalog: WorkflowCatalog }>;
  groups: ApproverGroups;
  log: Logger;
  /** Tells one person something: ephemeral in the channel when there is one, else a direct message. Never throws. */
  tell: (channel: string | undefined, user: string, text: string) => Promise<void>;
}

/** A kind of Slack interaction: registers its listeners on the app. */
export type RegisterListeners = (app: App, deps: ListenerDeps) => void;

export function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '') as unknown;
  } catch {
    return undefined;
  }
}

export type ViewValues = Record<string, Record<string, { value?: string | null; selected_option?: { value?: string } | null }>>;

export function fieldOf(values: ViewValues, block: string): string | undefined {
  const v = values[block]?.['value'];
  return v?.selected_option?.value ?? v?.value ?? undefined;
}
