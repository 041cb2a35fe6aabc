/**
 * A local Slack Web API for the tests and the chaos script
 * (scripts/chaos-slack.ts): a real HTTP server on loopback that answers the
 * methods Firebreak calls with the response shapes Slack documents (https://api.slack.com/methods), keeps the state they change
 * (channels, members, messages, pins), records every call, and can be told to
 * fail the next call of a method — with an `ok: false` error, or with HTTP 429
 * and a Retry-After header, as Slack does — or be told to be down for a while
 * (`outage`: every Web API call answered 429 or 5xx until it recovers). Point
 * a WebClient's `slackApiUrl` at `url`.
 *
 * It also speaks Socket Mode (https://api.slack.com/apis/connections/socket):
 * `apps.connections.open`, called with the app-level token, answers a
 * one-use `ws://` URL on this server; a client that connects there is sent
 * `hello`, can be pushed envelopes, and every acknowledgement it sends back is
 * recorded.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export interface StubCall {
  method: string;
  args: Record<string, unknown>;
  /** Milliseconds since the epoch when the call arrived. */
  at: number;
  /** The token the call was made with (Authorization header or `token` field), if any. */
  token?: string;
  /** What the stub answered: 200 with ok true/false, 429, or a 5xx during an outage. */
  status: number;
  ok: boolean;
  /** Answered by an outage, not by the method: nothing it asked for was done. */
  outage?: boolean;
  /** Carried out, then answered with a server error (`failNext` with `carriedOut`): Slack did it, the caller cannot know. */
  carriedOut?: boolean;
}

/** What a call gets during an outage: 429 with Retry-After, or a server error. */
export type OutageAnswer = 429 | 500 | 502 | 503 | 504;

export interface OutageOptions {
  /**
   * The answers, in turn: a list cycled through call by call (default 429,
   * 503, 500, 502: alternating rate limits and server errors), or one per method.
   */
  answers?: readonly OutageAnswer[] | ((method: string) => OutageAnswer);
  /** Retry-After of a 429, in seconds (default 5). */
  retryAfterSeconds?: number;
  /** Recover by itself after this long (default: until `recover()`). */
  durationMs?: number;
}

export interface StubMessage {
  ts: string;
  channel: string;
  text: string;
  blocks: unknown[];
  threadTs?: string;
  user: string;
}

interface Channel {
  id: string;
  name: string;
  members: Set<string>;
  archived: boolean;
}

type Failure = ({ status: 429; retryAfter: number } | { error: string } | { status: 500 | 502 | 503 | 504; carriedOut: true }) & {
  when?: (args: Record<string, unknown>) => boolean;
};

export const stubBotUserId = 'UBOTFIREBRK';
export const stubToken = 'xoxb-test-token-for-the-stub';
/** The app-level token (connections:write) Socket Mode connects with. */
export const stubAppToken = 'xapp-1-A00000001-1790000000-test-app-token-for-the-stub';
export const stubAppId = 'A00000001';

/** An envelope pushed to the app over Socket Mode. */
export interface SocketEnvelope {
  envelope_id: string;
  type: 'interactive' | 'slash_commands' | 'events_api';
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
}

/** What the app sent back for an envelope: its id and, when it answered with one, a response payload. */
export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
  /** Milliseconds since the epoch when the acknowledgement arrived. */
  at: number;
}

const isAck = (m: unknown): m is Omit<SocketAck, 'at'> =>
  typeof m === 'object' && m !== null && typeof (m as { envelope_id?: unknown }).envelope_id === 'string' &&
  ((m as { payload?: unknown }).payload === undefined || typeof (m as { payload?: unknown }).payload === 'object');

/** Arguments as Slack receives them: form fields, JSON-encoded objects decoded. */
function parseArgs(body: string, contentType: string | undefined): Record<string, unknown> {
  if (contentType?.includes('application/json')) return JSON.parse(body || '{}') as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    out[k] = /^[[{]/.test(v) ? (() => { try { return JSON.parse(v) as unknown; } catch { return v; } })() : v;
  }
  return out;
}

/** A form field as text ('' when absent or not text). */
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class SlackStub {
  readonly calls: StubCall[] = [];
  readonly messages: StubMessage[] = [];
  private readonly channels = new Map<string, Channel>();
  private readonly pins = new Map<string, Set<string>>();
  private readonly usergroups = new Map<string, string[]>();
  private readonly unknownUsers = new Set<string>();
  private readonly failures = new Map<string, Failure[]>();
  private outageState: { answer: (method: string) => OutageAnswer; retryAfter: number; until: number } | undefined;
  private seq = 0;
  private clock = 1_790_000_000;
  /** Every envelope pushed over Socket Mode, and every acknowledgement the app sent back. */
  readonly envelopes: (SocketEnvelope & { at: number })[] = [];
  readonly acks: SocketAck[] = [];
  /** Messages from the app that are not acknowledgements of a pushed envelope (there should be none). */
  readonly strayMessages: string[] = [];
  /** Socket Mode connections accepted so far (each was sent `hello`). */
  socketConnections = 0;
  private readonly sockets = new Set<WebSocket>();
  private readonly tickets = new Set<string>();
  private wss: WebSocketServer | undefined;
  url = '';
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void (async () => {
        const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
        const args = parseArgs(await readBody(req), req.headers['content-type']);
        const token = req.headers.authorization?.replace(/^Bearer /, '') ?? (typeof args['token'] === 'string' ? args['token'] : undefined);
        const call: StubCall = { method, args, at: Date.now(), status: 200, ok: true, ...(token === undefined ? {} : { token }) };
        this.calls.push(call);
        const down = this.outageAnswer(method);
        if (down !== undefined) {
          call.status = down.status;
          call.ok = false;
          call.outage = true;
          if (down.status === 429) {
            res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(down.retryAfter) });
            res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
          } else {
            // Slack's edge answers server errors with a page, not the API's JSON.
            res.writeHead(down.status, { 'Content-Type': 'text/html' });
            res.end(`<html><body>${down.status} Service unavailable</body></html>`);
          }
          return;
        }
        const pending = this.failures.get(method) ?? [];
        const index = pending.findIndex((f) => f.when === undefined || f.when(args));
        const failure = index === -1 ? undefined : pending.splice(index, 1)[0];
        if (failure !== undefined && 'carriedOut' in failure) {
          // As when Slack's edge times out after the message was posted.
          this.answer(method, args);
          call.status = failure.status;
          call.ok = false;
          call.carriedOut = true;
          res.writeHead(failure.status, { 'Content-Type': 'text/html' });
          res.end(`<html><body>${failure.status} Gateway timeout</body></html>`);
          return;
        }
        if (failure !== undefined && 'status' in failure) {
          call.status = 429;
          call.ok = false;
          res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(failure.retryAfter) });
          res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
          return;
        }
        let answer: Record<string, unknown>;
        if (failure !== undefined) answer = { ok: false, error: failure.error };
        else if (method === 'apps.connections.open') answer = this.connectionsOpen(token);
        else if (req.headers.authorization !== `Bearer ${stubToken}` && args['token'] !== stubToken) answer = { ok: false, error: 'invalid_auth' };
        else answer = this.answer(method, args);
        call.ok = answer['ok'] === true;
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(answer));
      })();
    });
    const wss = (this.wss = new WebSocketServer({ noServer: true }));
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'ws://stub');
      const ticket = url.searchParams.get('ticket') ?? '';
      // A ticket from apps.connections.open is good for one connection, as Slack's are.
      if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  /** Socket Mode connections open now. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /**
   * Sends an envelope to the connected app as Slack does (`interactive` for
   * clicks and modal submissions, `slash_commands` for commands) and returns
   * its envelope id. Fails when no app is connected.
   */
  push(type: SocketEnvelope['type'], payload: Record<string, unknown>, o: { acceptsResponsePayload?: boolean } = {}): string {
    const [ws] = this.sockets;
    if (ws === undefined) throw new Error('Slack stub: no Socket Mode connection to push an envelope to');
    const envelope: SocketEnvelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      accepts_response_payload: o.acceptsResponsePayload ?? type !== 'events_api',
    };
    this.envelopes.push({ ...envelope, at: Date.now() });
    ws.send(JSON.stringify(envelope));
    return envelope.envelope_id;
  }

  /** Waits for the app's acknowledgement of an envelope (Slack wants it within 3 s). */
  ackOf(envelopeId: string, timeoutMs = 3_000): Promise<SocketAck> {
    return this.waitFor(`the acknowledgement of envelope ${envelopeId}`, () => this.acks.find((a) => a.envelope_id === envelopeId), timeoutMs);
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    this.socketConnections += 1;
    ws.on('message', (data: RawData) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      let m: unknown;
      try {
        m = JSON.parse(text);
      } catch {
        m = undefined;
      }
      if (isAck(m) && this.envelopes.some((e) => e.envelope_id === m.envelope_id)) {
        this.acks.push({ envelope_id: m.envelope_id, ...(m.payload === undefined ? {} : { payload: m.payload }), at: Date.now() });
      } else {
        this.strayMessages.push(text);
      }
    });
    ws.on('close', () => this.sockets.delete(ws));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.size,
        debug_info: { host: 'applink-stub', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: stubAppId },
      }),
    );
  }

  /** apps.connections.open: only an app-level token may open a connection; a bot token is the wrong type. */
  private connectionsOpen(token: string | undefined): Record<string, unknown> {
    if (token === stubToken) return { ok: false, error: 'not_allowed_token_type' };
    if (token !== stubAppToken) return { ok: false, error: 'invalid_auth' };
    const ticket = randomUUID();
    this.tickets.add(ticket);
    const { port } = this.server!.address() as AddressInfo;
    return { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${stubAppId}` };
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => (this.wss === undefined ? resolve() : this.wss.close(() => resolve())));
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  /**
   * The next call of `method` (whose arguments satisfy `when`, if given) fails:
   * `{ error: 'channel_not_found' }`, `{ status: 429, retryAfter: 1 }`, or
   * `{ status: 503, carriedOut: true }` (done, then answered 503).
   */
  failNext(method: string, failure: Failure): void {
    const list = this.failures.get(method) ?? [];
    list.push(failure);
    this.failures.set(method, list);
  }

  /**
   * Slack goes down: every Web API call is answered 429 (with Retry-After) or
   * 5xx and changes nothing, until `recover()` or `durationMs` has passed.
   * Socket Mode connections already open stay open.
   */
  outage(o: OutageOptions = {}): void {
    const answers = o.answers ?? [429, 503, 500, 502];
    let turn = 0;
    const answer = typeof answers === 'function' ? answers : () => answers[turn++ % answers.length]!;
    this.outageState = { answer, retryAfter: o.retryAfterSeconds ?? 5, until: o.durationMs === undefined ? Infinity : Date.now() + o.durationMs };
  }

  /** Slack is back: calls are answered by their methods again. */
  recover(): void {
    this.outageState = undefined;
  }

  /** Calls the methods carried out (what Slack accepted, whatever it answered), of `method` when given. */
  accepted(method?: string): StubCall[] {
    return this.calls.filter((c) => (c.ok || c.carriedOut === true) && (method === undefined || c.method === method));
  }

  private outageAnswer(method: string): { status: OutageAnswer; retryAfter: number } | undefined {
    const o = this.outageState;
    if (o === undefined) return undefined;
    if (Date.now() >= o.until) {
      this.outageState = undefined;
      return undefined;
    }
    return { status: o.answer(method), retryAfter: o.retryAfter };
  }

  /** A channel that exists before the test (e.g. an escalation channel). */
  addChannel(name: string, o: { botIsMember?: boolean } = {}): string {
    const id = `C${String(++this.seq).padStart(8, '0')}`;
    this.channels.set(id, { id, name, members: new Set(o.botIsMember === false ? [] : [stubBotUserId]), archived: false });
    return id;
  }

  /** A user id Slack does not know (deleted, or a typo in a policy): invites answer user_not_found. */
  forgetUser(id: string): void {
    this.unknownUsers.add(id);
  }

  addUsergroup(id: string, users: string[]): void {
    this.usergroups.set(id, users);
  }

  channelByName(name: string): { id: string; name: string; members: string[] } | undefined {
    const c = [...this.channels.values()].find((x) => x.name === name);
    return c && { id: c.id, name: c.name, members: [...c.members] };
  }

  pinned(channel: string): string[] {
    return [...(this.pins.get(channel) ?? [])];
  }

  callsOf(method: string): StubCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Waits until `find` returns something (polling every 50 ms), or fails after `timeoutMs`. */
  async waitFor<T>(what: string, find: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined && found !== false) return found;
      if (Date.now() > deadline) {
        throw new Error(`Slack stub: ${what} did not happen within ${timeoutMs} ms; calls: ${this.calls.map((c) => `${c.method}${c.ok ? '' : '(failed)'}`).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private nextTs(): string {
    this.clock += 1;
    return `${this.clock}.${String(++this.seq).padStart(6, '0')}`;
  }

  /** A channel argument as Slack accepts it: an id, a #name, or a user id (the app's DM with them). */
  private resolve(channel: unknown): Channel | undefined {
    if (typeof channel !== 'string') return undefined;
    if (/^[UW][A-Z0-9]+$/.test(channel)) {
      const id = `D${channel.slice(1)}`;
      if (!this.channels.has(id)) this.channels.set(id, { id, name: id, members: new Set([stubBotUserId, channel]), archived: false });
      return this.channels.get(id);
    }
    return this.channels.get(channel) ?? [...this.channels.values()].find((c) => `#${c.name}` === channel || c.name === channel);
  }

  private answer(method: string, a: Record<string, unknown>): Record<string, unknown> {
    const channelInfo = (c: Channel) => ({ id: c.id, name: c.name, is_channel: true, is_archived: c.archived, is_member: c.members.has(stubBotUserId), created: this.clock });
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://firebreak-test.slack.com/', team: 'Firebreak Test', user: 'firebreak', team_id: 'T00000001', user_id: stubBotUserId, bot_id: 'B00000001' };
      case 'conversations.create': {
        const name = str(a['name']);
        if (!/^[a-z0-9_-]{1,80}$/.test(name)) return { ok: false, error: 'invalid_name_specials' };
        if ([...this.channels.values()].some((c) => c.name === name)) return { ok: false, error: 'name_taken' };
        const id = this.addChannel(name);
        return { ok: true, channel: channelInfo(this.channels.get(id)!) };
      }
      case 'conversations.list': {
        const list = [...this.channels.values()].filter((c) => c.id.startsWith('C') && !(a['exclude_archived'] === 'true' && c.archived));
        return { ok: true, channels: list.map(channelInfo), response_metadata: { next_cursor: '' } };
      }
      case 'conversations.join': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        c.members.add(stubBotUserId);
        return { ok: true, channel: channelInfo(c) };
      }
      case 'conversations.invite': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        if (!c.members.has(stubBotUserId)) return { ok: false, error: 'not_in_channel' };
        const users = str(a['users']).split(',').filter((u) => u !== '');
        if (users.some((u) => this.unknownUsers.has(u))) return { ok: false, error: 'user_not_found' };
        if (users.length === 1 && c.members.has(users[0]!)) return { ok: false, error: 'already_in_channel' };
        for (const u of users) c.members.add(u);
        return { ok: true, channel: channelInfo(c) };
      }
      case 'chat.postMessage': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        if (c.archived) return { ok: false, error: 'is_archived' };
        if (!c.members.has(stubBotUserId)) return { ok: false, error: 'not_in_channel' };
        const ts = this.nextTs();
        const threadTs = typeof a['thread_ts'] === 'string' ? a['thread_ts'] : undefined;
        const m: StubMessage = { ts, channel: c.id, text: str(a['text']), blocks: (a['blocks'] as unknown[]) ?? [], user: stubBotUserId, ...(threadTs ? { threadTs } : {}) };
        this.messages.push(m);
        return { ok: true, channel: c.id, ts, message: { type: 'message', user: stubBotUserId, text: m.text, ts, ...(threadTs ? { thread_ts: threadTs } : {}) } };
      }
      case 'chat.update': {
        const m = this.messages.find((x) => x.channel === a['channel'] && x.ts === a['ts']);
        if (m === undefined) return { ok: false, error: 'message_not_found' };
        m.text = typeof a['text'] === 'string' ? a['text'] : m.text;
        m.blocks = (a['blocks'] as unknown[]) ?? m.blocks;
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
      }
      case 'chat.postEphemeral': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        return { ok: true, message_ts: this.nextTs() };
      }
      case 'conversations.history': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        const messages = this.messages.filter((m) => m.channel === c.id && m.threadTs === undefined).reverse();
        return { ok: true, messages: messages.map((m) => ({ type: 'message', user: m.user, text: m.text, ts: m.ts })), has_more: false };
      }
      case 'conversations.replies': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        const thread = this.messages.filter((m) => m.channel === c.id && (m.ts === a['ts'] || m.threadTs === a['ts']));
        if (thread.length === 0) return { ok: false, error: 'thread_not_found' };
        return { ok: true, messages: thread.map((m) => ({ type: 'message', user: m.user, text: m.text, ts: m.ts, thread_ts: a['ts'] })), has_more: false };
      }
      case 'pins.add': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        const set = this.pins.get(c.id) ?? new Set<string>();
        if (set.has(String(a['timestamp']))) return { ok: false, error: 'already_pinned' };
        set.add(String(a['timestamp']));
        this.pins.set(c.id, set);
        return { ok: true };
      }
      case 'pins.list': {
        const c = this.resolve(a['channel']);
        if (c === undefined) return { ok: false, error: 'channel_not_found' };
        const items = [...(this.pins.get(c.id) ?? [])].flatMap((ts) => {
          const m = this.messages.find((x) => x.channel === c.id && x.ts === ts);
          return m === undefined ? [] : [{ type: 'message', channel: c.id, message: { type: 'message', user: m.user, text: m.text, ts: m.ts } }];
        });
        return { ok: true, items };
      }
      case 'views.open':
        return { ok: true, view: { id: `V${String(++this.seq).padStart(8, '0')}`, ...(a['view'] as object) } };
      case 'usergroups.users.list': {
        const users = this.usergroups.get(String(a['usergroup']));
        return users === undefined ? { ok: false, error: 'no_such_subteam' } : { ok: true, users };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
