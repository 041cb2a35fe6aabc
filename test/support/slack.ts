/**
 * Firebreak's Slack side on real servers: the Slack Web API stub, an engine
 * worker on the dev server whose notices go to Slack (the real notifier and
 * Web API client, pointed at the stub), and the real Bolt app — over HTTP,
 * where requests to the app are signed as Slack signs them, or in Socket
 * Mode, connected to the stub's WebSocket with the app-level token.
 */
import { createHmac } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { SlackApi } from '../../activities/slack/index.ts';
import { slackWebClient } from '../../src/wiring/clients.ts';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import { startSlackApp } from '../../src/slack/app.ts';
import { ApproverGroups } from '../../src/slack/groups.ts';
import { slackNotifier } from '../../src/slack/notifier.ts';
import { engineTestSteps } from '../fixtures/engine-workflow.ts';
import { newWorld, startEngineWorker } from './engine.ts';
import { sandbox, temporalClient } from './servers.ts';
import { slackStub, stubAppToken, stubToken } from './slack-stub.ts';

export const signingSecret = 'test-signing-secret-0123456789abcdef';

export interface SlackHarnessOptions {
  policies?: readonly RunbookPolicy[];
  groups?: Record<string, string[]>;
  usergroups?: Record<string, string>;
  /** The app's request timeout (default its own, 10 s). */
  requestTimeoutMs?: number;
}

/** The engine and the Bolt app over HTTP (Events API at `url`). */
export async function slackHarness(o: SlackHarnessOptions = {}) {
  const { app, ...h } = await harness(o, 'http');
  return { ...h, url: app.url! };
}

/** The engine and the Bolt app in Socket Mode, connected to the stub (push envelopes with `stub.push`). */
export async function slackSocketHarness(o: SlackHarnessOptions = {}) {
  return harness(o, 'socket');
}

async function harness(o: SlackHarnessOptions, mode: 'http' | 'socket') {
  const stub = await slackStub();
  const log = pino({ level: 'silent' });
  const api = new SlackApi(slackWebClient({ token: stubToken, apiUrl: stub.url }));
  const world = newWorld();
  const connection = await NativeConnection.connect({ address: sandbox().temporalAddress });
  afterAll(() => connection.close());
  const { taskQueue } = await startEngineWorker(connection, world, { notifier: slackNotifier(api, log) });
  const client = await temporalClient();
  const app = await startSlackApp({
    config: {
      SLACK_MODE: mode,
      SLACK_BOT_TOKEN: stubToken,
      SLACK_SIGNING_SECRET: mode === 'http' ? signingSecret : undefined,
      SLACK_APP_TOKEN: mode === 'socket' ? stubAppToken : undefined,
      SLACK_API_URL: stub.url,
      FIREBREAK_SLACK_PORT: 3000,
      FIREBREAK_SLACK_HOST: '127.0.0.1',
    },
    port: 0,
    ...(o.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: o.requestTimeoutMs }),
    temporal: client,
    taskQueue,
    runbooks: () => Promise.resolve({ policies: o.policies ?? [], catalog: { engineTestWorkflow: { steps: engineTestSteps } } }),
    groups: new ApproverGroups({ FIREBREAK_APPROVER_GROUPS: o.groups ?? {}, FIREBREAK_SLACK_USERGROUPS: o.usergroups ?? {} }, api),
    log,
  });
  afterAll(() => app.stop());
  return { stub, api, world, taskQueue, client, app };
}

/** Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedPost {
  /** Seconds since the epoch; now by default. */
  timestamp?: number;
  /** Overrides the signature (a wrong one), or `null` to send none. */
  signature?: string | null;
  secret?: string;
}

/** POSTs a form body to the app as Slack does, signed unless told otherwise. */
export async function postToSlackApp(url: string, body: string, o: SignedPost = {}): Promise<{ status: number; body: string }> {
  const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (o.signature !== null) {
    headers['X-Slack-Request-Timestamp'] = String(timestamp);
    headers['X-Slack-Signature'] = o.signature ?? slackSignature(o.secret ?? signingSecret, timestamp, body);
  }
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}

function payload(p: object): string {
  return `payload=${encodeURIComponent(JSON.stringify(p))}`;
}

const team = { id: 'T00000001', domain: 'firebreak-test' };

interface Click {
  user: string;
  channel: string;
  messageTs: string;
  actionId: string;
  value: string;
  actionTs?: string;
}

/** A click on a button of a message, as Slack sends it over HTTP (block_actions, form-encoded). */
export function buttonClick(o: Click): string {
  return payload(buttonClickPayload(o));
}

/** The block_actions payload of a click (Socket Mode sends it as an `interactive` envelope's payload). */
export function buttonClickPayload(o: Click): Record<string, unknown> {
  const actionTs = o.actionTs ?? `${Date.now() / 1000}`;
  return {
    type: 'block_actions',
    team,
    user: { id: o.user, username: o.user.toLowerCase(), name: o.user.toLowerCase(), team_id: team.id },
    api_app_id: 'A00000001',
    token: 'verification-token-unused',
    container: { type: 'message', message_ts: o.messageTs, channel_id: o.channel, is_ephemeral: false },
    trigger_id: `trigger.${actionTs}`,
    channel: { id: o.channel, name: 'incident' },
    message: { type: 'message', ts: o.messageTs, text: 'approval', user: 'UBOTFIREBRK' },
    response_url: 'https://hooks.slack.invalid/actions/T00000001/1/x',
    actions: [{ type: 'button', action_id: o.actionId, block_id: 'approval', value: o.value, action_ts: actionTs, text: { type: 'plain_text', text: 'x' } }],
  };
}

type StateValues = Record<string, { value: { type: string; value?: string | null; selected_option?: { value: string } | null } }>;

/** A modal submitted, as Slack sends it (view_submission). */
export function viewSubmission(o: { user: string; callbackId: string; values: StateValues; privateMetadata?: string }): string {
  return payload({
    type: 'view_submission',
    team,
    user: { id: o.user, username: o.user.toLowerCase(), name: o.user.toLowerCase(), team_id: team.id },
    api_app_id: 'A00000001',
    token: 'verification-token-unused',
    trigger_id: `trigger.${Date.now()}`,
    view: {
      id: 'V00000001',
      team_id: team.id,
      type: 'modal',
      callback_id: o.callbackId,
      private_metadata: o.privateMetadata ?? '',
      state: { values: o.values },
      hash: '1.x',
      title: { type: 'plain_text', text: 'x' },
      blocks: [],
    },
  });
}

export const textValue = (value: string | null) => ({ value: { type: 'plain_text_input', value } });
export const selectValue = (value: string | null) => ({ value: { type: 'static_select', selected_option: value === null ? null : { value } } });

/** The `/incident` command, as Slack sends it over HTTP (form-encoded). */
export function slashCommand(o: { user: string; channel: string; text?: string }): string {
  return new URLSearchParams(slashCommandFields(o)).toString();
}

/** The `/incident` command's fields (Socket Mode sends them as a `slash_commands` envelope's payload). */
export function slashCommandFields(o: { user: string; channel: string; text?: string }): Record<string, string> {
  return {
    token: 'verification-token-unused',
    team_id: team.id,
    team_domain: team.domain,
    channel_id: o.channel,
    channel_name: 'security',
    user_id: o.user,
    user_name: o.user.toLowerCase(),
    command: '/incident',
    text: o.text ?? '',
    api_app_id: 'A00000001',
    response_url: 'https://hooks.slack.invalid/commands/T00000001/1/x',
    trigger_id: `trigger.${Date.now()}`,
  };
}
