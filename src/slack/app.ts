/**
 * The Slack app: Bolt with the HTTP receiver (signing secret, /slack/events)
 * or Socket Mode (app-level token), and its listeners, one module per kind
 * under listeners/: approvals (Approve / Deny buttons and the deny modal) and
 * the `/incident` command with its modal. The request message itself is
 * redrawn by the engine (through the notifier) with every vote and the
 * outcome, whoever cast them.
 */
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Client } from '@temporalio/client';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { RunbookPolicy } from '../runbooks/schema.ts';
import type { WorkflowCatalog } from '../runbooks/loader.ts';
import type { ApproverGroups } from './groups.ts';
import { slackWebClient } from '../wiring/clients.ts';
import { registerApprovals } from './listeners/approvals.ts';
import { registerIncidentCommand } from './listeners/incident.ts';
import { guardSlackRequests, slackBodyLimit } from './request-guard.ts';

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
  /** How long a request may take to arrive, headers and body (default 10 s: Slack sends a few KiB at once). */
  requestTimeoutMs?: number;
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

/**
 * What the HTTP receiver answers when Bolt itself cannot read a request (a
 * signed body of the wrong shape: `actions` not a list, `team` null). Errors
 * of Firebreak's listeners never come here (they go to `app.error`), so this
 * is the client's fault: 400, where Bolt would say 500 and Slack would retry.
 */
function refuseUnreadable(log: Logger): (a: { error: Error; response: ServerResponse }) => Promise<boolean> {
  return (a) => {
    if (a.response.headersSent) {
      log.warn({ err: a.error.message }, 'a Slack request failed after it was acknowledged');
    } else {
      log.warn({ err: a.error.message }, 'refused a Slack request of a shape Bolt cannot read');
      a.response.writeHead(400, { 'content-type': 'text/plain' }).end('not a Slack request Firebreak can read\n');
    }
    return Promise.resolve(false);
  };
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
  const eventsPath = '/slack/events';
  const app =
    c.SLACK_MODE === 'http'
      ? new App({
          token: c.SLACK_BOT_TOKEN!,
          receiver: (receiver = new HTTPReceiver({ signingSecret: c.SLACK_SIGNING_SECRET!, endpoints: eventsPath, logger, processBeforeResponse: false, bodyLimit: slackBodyLimit, processEventErrorHandler: refuseUnreadable(log) })),
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

  const deps = { temporal: o.temporal, taskQueue: o.taskQueue, runbooks: o.runbooks, groups: o.groups, log, tell };
  for (const register of [registerApprovals, registerIncidentCommand]) register(app, deps);

  app.error(async (e) => {
    log.error({ err: e.message }, 'Slack app error');
    return Promise.resolve();
  });

  if (receiver !== undefined) {
    receiver.requestListener = guardSlackRequests(receiver.requestListener, { path: eventsPath, onError: (e) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'Slack request failed') });
    const requestTimeout = o.requestTimeoutMs ?? 10_000;
    // A client that dribbles its request is cut off (408) once the timeout passes, checked every second.
    const server = await receiver.start({ port: o.port ?? c.FIREBREAK_SLACK_PORT, host: c.FIREBREAK_SLACK_HOST }, { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: 1_000 });
    const { port } = server.address() as AddressInfo;
    const url = `http://${c.FIREBREAK_SLACK_HOST.includes(':') ? `[${c.FIREBREAK_SLACK_HOST}]` : c.FIREBREAK_SLACK_HOST}:${port}/slack/events`;
    log.info({ url }, 'Slack app listening');
    return { mode: 'http', url, stop: () => receiver.stop() };
  }
  await app.start();
  log.info('Slack app connected (Socket Mode)');
  return { mode: 'socket', stop: () => app.stop() as Promise<void> };
}
