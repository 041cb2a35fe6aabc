/**
 * The Slack app: Approve / Deny buttons on approval requests (Deny asks for a
 * reason in a modal) and the `/incident` command with its modal. Requests are
 * verified by Bolt (signing secret over HTTP at /slack/events, or Socket Mode
 * with the app-level token). Every click is acknowledged first (Slack wants an
 * answer within 3 s), then sent to the incident as the engine's `decide`
 * update with an id derived from the click, so a retried or double click
 * counts once; the engine's refusals come back to the clicker as an ephemeral
 * message saying why. The request message itself is redrawn by the engine
 * (through the notifier) with every vote and the outcome, whoever cast them.
 */
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger, type types } from '@slack/bolt';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import { decideUpdate, rejection, type DecideInput } from '../../workflows/engine/messages.ts';
import type { Config } from '../config/index.ts';
import type { RunbookPolicy } from '../runbooks/schema.ts';
import type { WorkflowCatalog } from '../runbooks/loader.ts';
import { parseTarget, prepareStart, severities, startIncident, StartError, TargetError } from '../start.ts';
import {
  approveActionId,
  denyActionId,
  denyModalCallbackId,
  incidentModalCallbackId,
  mrkdwn,
  parseButtonValue,
  truncate,
  type ApprovalButtonValue,
} from './blocks.ts';
import type { ApproverGroups } from './groups.ts';
import { slackWebClient } from '../clients.ts';

export interface SlackAppOptions {
  config: Pick<Config, 'SLACK_MODE' | 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_APP_TOKEN' | 'SLACK_API_URL' | 'FIREBREAK_SLACK_PORT' | 'FIREBREAK_SLACK_HOST'>;
  temporal: Client;
  taskQueue: string;
  /** The runbook policies `/incident` offers (loaded and validated), and the workflows they run. */
  runbooks: () => Promise<{ policies: readonly RunbookPolicy[]; catalog: WorkflowCatalog }>;
  groups: ApproverGroups;
  log: Logger;
  /** Overrides FIREBREAK_SLACK_PORT (tests listen on 0). */
  port?: number;
}

export interface RunningSlackApp {
  mode: 'http' | 'socket';
  /** The events URL in HTTP mode, e.g. http://127.0.0.1:3000/slack/events. */
  url?: string;
  stop(): Promise<void>;
}

/** Thrown at start when Slack's configuration is incomplete; names every missing variable. */
export class SlackConfigError extends Error {
  override readonly name = 'SlackConfigError';
}

/** The variables the configured mode needs that are not set. */
export function missingSlackVariables(c: SlackAppOptions['config']): string[] {
  if (c.SLACK_MODE === undefined) return ['SLACK_MODE'];
  const need = c.SLACK_MODE === 'http' ? (['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'] as const) : (['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN'] as const);
  return need.filter((k) => c[k] === undefined);
}

/** Why the Slack app cannot start with this configuration, naming every missing variable; undefined when it can. */
export function slackConfigProblem(c: SlackAppOptions['config']): string | undefined {
  const missing = missingSlackVariables(c);
  if (missing.length === 0) return undefined;
  return `The Slack app cannot start: set ${missing.join(', ')}. SLACK_MODE=http (Events API at /slack/events) needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; SLACK_MODE=socket needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN (see the README, "Slack").`;
}

function boltLogger(log: Logger): BoltLogger {
  const out = log.child({ component: 'slack-app' });
  let level = LogLevel.INFO;
  const text = (msgs: unknown[]) => msgs.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...m: unknown[]) => out.debug(text(m)),
    info: (...m: unknown[]) => out.info(text(m)),
    warn: (...m: unknown[]) => out.warn(text(m)),
    error: (...m: unknown[]) => out.error(text(m)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** What the clicker is told when the engine refuses a vote, by the refusal's type. */
export function refusalText(type: string | undefined, v: { step: string; incidentId: string }, engineMessage: string): string {
  const step = `\`${mrkdwn(v.step)}\``;
  switch (type) {
    case rejection.notAnApprover:
      return `You are not an approver of step ${step} of incident \`${mrkdwn(v.incidentId)}\`; nothing changed. The request lists who may approve.`;
    case rejection.requesterCannotApprove:
      return `You requested this incident and step ${step} needs two-person approval: another approver must approve it. Nothing changed.`;
    case rejection.alreadyVoted:
      return `You have already voted on step ${step}; each approver votes once. Nothing changed.`;
    case rejection.notAwaitingDecision:
      return `Step ${step} is already decided (or no longer waiting for this request); nothing changed.`;
    case rejection.reasonRequired:
      return `A denial of step ${step} needs a reason.`;
    case rejection.incidentClosed:
      return `Incident \`${mrkdwn(v.incidentId)}\` is closed; nothing changed.`;
    default:
      return `Firebreak refused this: ${mrkdwn(engineMessage)}`;
  }
}

const buttonSchema = z.object({ value: z.string().max(2000) });

const reasonSchema = z
  .string({ error: 'Say why the step must not run.' })
  .trim()
  .min(3, 'Say why the step must not run (at least 3 characters).')
  .max(500, 'Keep the reason under 500 characters.');

const denyMetadata = z.object({ i: z.string(), s: z.string(), r: z.string(), c: z.string() });

/** The `/incident` modal's fields, validated; each problem is shown under its field. */
function incidentSubmission(runbookIds: readonly string[]) {
  return z.object({
    runbook: z.string({ error: 'Choose a runbook.' }).refine((id) => runbookIds.includes(id), 'Choose one of the listed runbooks.'),
    targets: z
      .string({ error: 'Name at least one target, e.g. pod:demo-shop/storefront-7d9c6b5f8-x7k2p.' })
      .transform((text, ctx) => {
        const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
        if (lines.length === 0) {
          ctx.addIssue({ code: 'custom', message: 'Name at least one target, e.g. pod:demo-shop/storefront-7d9c6b5f8-x7k2p.' });
          return z.NEVER;
        }
        const targets = [];
        for (const [i, line] of lines.entries()) {
          try {
            targets.push(parseTarget(line));
          } catch (e) {
            if (!(e instanceof TargetError)) throw e;
            ctx.addIssue({ code: 'custom', message: `Line ${i + 1}: ${JSON.stringify(e.text)}: ${e.problem}` });
          }
        }
        return targets;
      }),
    severity: z.enum(severities, { error: 'Choose a severity.' }),
    summary: z
      .string({ error: 'Say what happened.' })
      .trim()
      .min(1, 'Say what happened.')
      .max(500, 'Keep the summary under 500 characters.'),
  });
}

function incidentModal(policies: readonly RunbookPolicy[], initialTargets: string): types.ModalView {
  const option = (text: string, value: string): types.PlainTextOption => ({ text: { type: 'plain_text', text: truncate(text, 75) }, value });
  return {
    type: 'modal',
    callback_id: incidentModalCallbackId,
    title: { type: 'plain_text', text: 'Open an incident' },
    submit: { type: 'plain_text', text: 'Start' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'runbook',
        label: { type: 'plain_text', text: 'Runbook' },
        element: {
          type: 'static_select',
          action_id: 'value',
          placeholder: { type: 'plain_text', text: 'Choose a runbook' },
          options: policies.slice(0, 100).map((p) => option(`${p.title} (${p.id})`, p.id)),
        },
      },
      {
        type: 'input',
        block_id: 'targets',
        label: { type: 'plain_text', text: 'Targets' },
        hint: { type: 'plain_text', text: 'One kind:id per line: pod:<namespace>/<pod>, node:<name>, iam-user:<name>, access-key:<id>, role:<arn>, image:<digest>' },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          max_length: 3000,
          placeholder: { type: 'plain_text', text: 'pod:demo-shop/storefront-7d9c6b5f8-x7k2p' },
          ...(initialTargets === '' ? {} : { initial_value: truncate(initialTargets, 3000) }),
        },
      },
      {
        type: 'input',
        block_id: 'severity',
        label: { type: 'plain_text', text: 'Severity' },
        element: {
          type: 'static_select',
          action_id: 'value',
          initial_option: option('high', 'high'),
          options: severities.map((s) => option(s, s)),
        },
      },
      {
        type: 'input',
        block_id: 'summary',
        label: { type: 'plain_text', text: 'Summary' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500, placeholder: { type: 'plain_text', text: 'What happened, and how you know' } },
      },
    ],
  };
}

function denyModal(v: ApprovalButtonValue, channel: string): types.ModalView {
  return {
    type: 'modal',
    callback_id: denyModalCallbackId,
    private_metadata: JSON.stringify({ i: v.incidentId, s: v.step, r: v.requestId, c: channel }),
    title: { type: 'plain_text', text: 'Deny this step' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(`Deny step \`${mrkdwn(v.step)}\` of incident \`${mrkdwn(v.incidentId)}\`. The step will not run.`, 3000) } },
      {
        type: 'input',
        block_id: 'reason',
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 },
      },
    ],
  };
}

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '') as unknown;
  } catch {
    return undefined;
  }
}

type ViewValues = Record<string, Record<string, { value?: string | null; selected_option?: { value?: string } | null }>>;

function fieldOf(values: ViewValues, block: string): string | undefined {
  const v = values[block]?.['value'];
  return v?.selected_option?.value ?? v?.value ?? undefined;
}

/** Builds the Bolt app (HTTP receiver or Socket Mode) and starts it. */
export async function startSlackApp(o: SlackAppOptions): Promise<RunningSlackApp> {
  const problem = slackConfigProblem(o.config);
  if (problem !== undefined) throw new SlackConfigError(problem);
  const c = o.config;
  const logger = boltLogger(o.log);
  const log = o.log.child({ component: 'slack-app' });
  const clientOptions = {
    ...(c.SLACK_API_URL === undefined ? {} : { slackApiUrl: c.SLACK_API_URL.endsWith('/') ? c.SLACK_API_URL : `${c.SLACK_API_URL}/` }),
  };
  // The app answers people; the activities post incident messages. Both use the same fail-fast client settings.
  const client = slackWebClient({ token: c.SLACK_BOT_TOKEN!, ...(c.SLACK_API_URL === undefined ? {} : { apiUrl: c.SLACK_API_URL }) });
  let receiver: HTTPReceiver | undefined;
  const app =
    c.SLACK_MODE === 'http'
      ? new App({
          token: c.SLACK_BOT_TOKEN!,
          receiver: (receiver = new HTTPReceiver({ signingSecret: c.SLACK_SIGNING_SECRET!, endpoints: '/slack/events', logger, processBeforeResponse: false })),
          clientOptions,
          logger,
        })
      : new App({
          token: c.SLACK_BOT_TOKEN!,
          appToken: c.SLACK_APP_TOKEN!,
          socketMode: true,
          clientOptions,
          // The Socket Mode client calls apps.connections.open at SLACK_API_URL too. It gets its own copy: it
          // sets a 100-retry policy on the options it is given, which Bolt would otherwise reuse for the
          // clients it hands our listeners (a views.open to an unreachable Slack would then retry for hours).
          installerOptions: { clientOptions: { ...clientOptions } },
          logger,
        });

  const tell = async (channel: string | undefined, user: string, text: string) => {
    try {
      if (channel !== undefined) await client.chat.postEphemeral({ channel, user, text });
      else await client.chat.postMessage({ channel: user, text });
    } catch (e) {
      log.warn({ err: e instanceof Error ? e.message : String(e), user }, 'could not tell the user in Slack');
    }
  };

  /** Casts a vote; on refusal, tells the voter why. The update id makes a repeated click count once. */
  const decide = async (v: ApprovalButtonValue, user: string, channel: string | undefined, decision: DecideInput['decision'], reason?: string) => {
    const vote: DecideInput = { step: v.step, decision, actor: `slack:${user}`, requestId: v.requestId, ...(reason === undefined ? {} : { reason }) };
    const updateId = `slack:${v.requestId}:${user}:${decision}`;
    try {
      await o.temporal.workflow.getHandle(v.incidentId).executeUpdate(decideUpdate, { args: [vote], updateId });
      log.info({ incidentId: v.incidentId, step: v.step, actor: vote.actor, decision }, 'vote recorded from Slack');
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
        await tell(channel, user, refusalText(e.cause.type ?? undefined, v, e.cause.message));
      } else if (e instanceof WorkflowNotFoundError) {
        await tell(channel, user, `Incident \`${mrkdwn(v.incidentId)}\` is no longer running; nothing changed.`);
      } else {
        log.error({ err: e instanceof Error ? e.message : String(e), incidentId: v.incidentId }, 'could not send a Slack vote to the incident');
        await tell(channel, user, `Firebreak could not record your vote right now; try again, or use \`firebreak ${decision} ${mrkdwn(v.incidentId)} ${mrkdwn(v.step)}\`.`);
      }
    }
  };

  app.action({ action_id: approveActionId, type: 'block_actions' }, async ({ ack, body, action }) => {
    await ack();
    const parsed = buttonSchema.safeParse(action);
    const v = parsed.success ? parseButtonValue(parsed.data.value) : undefined;
    if (v === undefined) return log.warn({ action: action.action_id }, 'ignored a button whose value is not Firebreak’s');
    await decide(v, body.user.id, body.channel?.id, 'approve');
  });

  app.action({ action_id: denyActionId, type: 'block_actions' }, async ({ ack, body, action, client: bolt }) => {
    await ack();
    const parsed = buttonSchema.safeParse(action);
    const v = parsed.success ? parseButtonValue(parsed.data.value) : undefined;
    if (v === undefined || body.channel?.id === undefined) return log.warn({ action: action.action_id }, 'ignored a button whose value is not Firebreak’s');
    await bolt.views.open({ trigger_id: body.trigger_id, view: denyModal(v, body.channel.id) });
  });

  app.view(denyModalCallbackId, async ({ ack, view, body }) => {
    const meta = denyMetadata.safeParse(parseJson(view.private_metadata));
    const reason = reasonSchema.safeParse(fieldOf(view.state.values, 'reason'));
    if (!reason.success) {
      await ack({ response_action: 'errors', errors: { reason: reason.error.issues[0]?.message ?? 'Say why.' } });
      return;
    }
    await ack();
    if (!meta.success) return log.warn('ignored a deny modal without its incident');
    await decide({ incidentId: meta.data.i, step: meta.data.s, requestId: meta.data.r }, body.user.id, meta.data.c, 'deny', reason.data);
  });

  app.command('/incident', async ({ ack, body, client: bolt }) => {
    await ack();
    const { policies } = await o.runbooks();
    if (policies.length === 0) {
      await tell(body.channel_id, body.user_id, 'No runbook policy is installed, so no incident can be started: add policies to FIREBREAK_RUNBOOKS_DIR.');
      return;
    }
    const initial = body.text.trim().split(/\s+/).filter((t) => t !== '').join('\n');
    await bolt.views.open({ trigger_id: body.trigger_id, view: incidentModal(policies, initial) });
  });

  app.view(incidentModalCallbackId, async ({ ack, view, body }) => {
    const { policies, catalog } = await o.runbooks();
    const values = view.state.values as ViewValues;
    const fields = Object.fromEntries(['runbook', 'targets', 'severity', 'summary'].map((b) => [b, fieldOf(values, b)]));
    const parsed = incidentSubmission(policies.map((p) => p.id)).safeParse(fields);
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const block = String(issue.path[0] ?? 'runbook');
        errors[block] = errors[block] === undefined ? issue.message : truncate(`${errors[block]} ${issue.message}`, 2000);
      }
      await ack({ response_action: 'errors', errors });
      return;
    }
    // Acknowledged now (Slack closes the modal); starting may wait on Slack user groups and Temporal.
    await ack();
    const user = body.user.id;
    try {
      const prepared = prepareStart({
        policies,
        catalog,
        groups: await o.groups.resolve(),
        runbookId: parsed.data.runbook,
        targets: parsed.data.targets,
        requester: `slack:${user}`,
        severity: parsed.data.severity,
        summary: parsed.data.summary,
        source: 'slack',
        now: new Date(),
      });
      const started = await startIncident(o.temporal, prepared, o.taskQueue);
      log.info({ incidentId: started.incidentId, requester: `slack:${user}` }, 'incident started from Slack');
      await tell(undefined, user, `Incident \`${mrkdwn(started.incidentId)}\` is open (or you joined it, if it was open for these targets): its channel, with the timeline and approval requests, is being created.`);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (!(e instanceof StartError)) log.error({ err: why }, 'could not start an incident from Slack');
      await tell(undefined, user, `Firebreak could not start the incident: ${mrkdwn(why)}`);
    }
  });

  app.error(async (e) => {
    log.error({ err: e.message }, 'Slack app error');
    return Promise.resolve();
  });

  if (receiver !== undefined) {
    const server = (await receiver.start({ port: o.port ?? c.FIREBREAK_SLACK_PORT, host: c.FIREBREAK_SLACK_HOST }));
    const { port } = server.address() as AddressInfo;
    const url = `http://${c.FIREBREAK_SLACK_HOST.includes(':') ? `[${c.FIREBREAK_SLACK_HOST}]` : c.FIREBREAK_SLACK_HOST}:${port}/slack/events`;
    log.info({ url }, 'Slack app listening');
    return { mode: 'http', url, stop: () => receiver.stop() };
  }
  await app.start();
  log.info('Slack app connected (Socket Mode)');
  return { mode: 'socket', stop: () => app.stop() as Promise<void> };
}
