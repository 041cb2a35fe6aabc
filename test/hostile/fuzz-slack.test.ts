// Hostile requests to the Slack app as a suite: 10,000 made by fast-check and
// sent over real HTTP to the real Bolt receiver — correctly signed ones whose
// payloads are a real click, command or modal submission mutated
// (prototype-pollution keys at every depth, deep nesting, huge strings,
// broken JSON, invalid UTF-8), and forged ones (wrong, stale, missing or
// borrowed signatures). None may get a 5xx, the app must keep answering,
// memory must stay flat, no hostile request may vote, and the real
// approver's click after the storm still approves.
import fc from 'fast-check';
import v8 from 'node:v8';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { approveActionId } from '../../src/slack/blocks.ts';
import { statusQuery } from '../../workflows/engine/messages.ts';
import { awaiting, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { buttonClickPayload, postToSlackApp, signingSecret, slackHarness, slackSignature, slashCommandFields, type SignedPost } from '../support/slack.ts';
import { paths, polluteEverywhere, pollutant, setAt } from './hostile-json.ts';

// The app runs in this process: a polluted prototype would show here.
const objectPrototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const seed = 16_011;
const numRuns = Number(process.env['FIREBREAK_FUZZ_RUNS'] ?? 10_000);
// Bolt answers a signed request no listener acknowledges after 3 s (404): many at once keep the run short.
const inFlight = 128;
/** Signed requests come from someone who is not an approver: a vote of theirs would be a hole, not a mutation. */
const intruder = 'U0MALLORY';

const gate = { approvers: ['slack:U0BOB'], required: 1, twoPerson: false, timeout: '2h', onTimeout: 'deny' };
const policy = testPolicy({ isolate: gate, cordon: gate });

let h: Awaited<ReturnType<typeof slackHarness>>;
let handle: Awaited<ReturnType<typeof startIncident>>;
let click: Record<string, unknown>;

beforeAll(async () => {
  h = await slackHarness({ policies: [policy] });
  handle = await startIncident(h.client, h.taskQueue, testInput(policy, { requester: 'slack:U0ALICE' }));
  await waitForStatus(handle, awaiting('isolate'));
  const m = await h.stub.waitFor('the approval request', () => h.stub.messages.find((x) => x.text.includes(`(request ${handle.workflowId}#`)));
  const value = (m.blocks as { type: string; elements?: { value: string }[] }[]).find((b) => b.type === 'actions')!.elements![0]!.value;
  click = buttonClickPayload({ user: 'U0BOB', channel: m.channel, messageTs: m.ts, actionId: approveActionId, value });
}, 60_000);

const control = fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f).map((c) => String.fromCharCode(c));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.oneof(control, fc.constant('\u2028'), fc.constant('\ufeff')), maxLength: 40 }),
  fc.integer({ min: 1_000, max: 50_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
  // Deep nesting: deeper than any handler would walk.
  fc.integer({ min: 50, max: 3000 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown),
  fc.integer({ min: 50, max: 1000 }).map((d) => JSON.parse('{"a":'.repeat(d) + '1' + '}'.repeat(d)) as unknown),
  fc.constant(undefined).map(() => pollutant()),
  // The click's own fields where they do not belong: a request id, an action id, another incident's value.
  fc.constantFrom(approveActionId, 'x#0001', 'firebreak-approve', '{"incidentId":"../../x","step":"isolate"}'),
);

/** A document with a few values replaced at random paths, extra keys, and maybe pollution everywhere. */
function mutated(base: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const all = paths(base).filter((p) => p.length > 0);
  return fc
    .tuple(fc.array(fc.tuple(fc.nat(all.length - 1), hostileValue), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))
    .map(([changes, pollute, extra]) => {
      const doc = structuredClone(base) as Record<string | number, unknown>;
      for (const [i, value] of changes) setAt(doc, all[i]!, value);
      Object.assign(doc, extra);
      if (pollute) polluteEverywhere(doc);
      return doc;
    });
}

interface Hostile {
  body: string | Buffer;
  /** How it is signed: correctly (the default), or forged. */
  sign?: SignedPost;
  contentType?: string;
}

const asIntruder = (doc: Record<string, unknown>) => ({ ...doc, user: { id: intruder, username: 'mallory', name: 'mallory', team_id: 'T00000001' } });
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function hostileRequest(): fc.Arbitrary<Hostile> {
  const clickDoc = () => asIntruder(click);
  const command = slashCommandFields({ user: intruder, channel: 'C0SECURITY' });
  const stale = Math.floor(Date.now() / 1000) - 6 * 60;
  return fc.oneof(
    // A click, mutated, correctly signed, from someone who may not vote.
    { weight: 5, arbitrary: mutated(clickDoc()).map((doc) => ({ body: `payload=${encodeURIComponent(JSON.stringify(asIntruder(doc)))}` })) },
    // `/incident` with hostile text and fields.
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.oneof(fc.string({ maxLength: 200 }), hostileValue.map((v) => JSON.stringify(v) ?? '')), fc.dictionary(fc.constantFrom('command', 'channel_id', 'trigger_id', 'response_url', 'team_id'), fc.string({ maxLength: 60 })))
        .map(([text, fields]) => ({ body: form({ ...command, ...fields, user_id: intruder, text }) })),
    },
    // A modal submission or an event with a mutated shape.
    {
      weight: 1,
      arbitrary: mutated({ type: 'view_submission', user: { id: intruder }, view: { callback_id: 'firebreak-incident', private_metadata: '{}', state: { values: { a: { b: { type: 'plain_text_input', value: 'x' } } } } } }).map((doc) => ({
        body: `payload=${encodeURIComponent(JSON.stringify(doc))}`,
      })),
    },
    { weight: 1, arbitrary: mutated({ type: 'event_callback', event: { type: 'app_mention', user: intruder, text: 'hi' } }).map((doc) => ({ body: JSON.stringify(doc), contentType: 'application/json' })) },
    // Not JSON, not a form, not UTF-8.
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => ({ body: `payload=${s}` })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ body: Buffer.concat([Buffer.from('payload={"type":"block_actions","x":"'), Buffer.from([0xc3, 0x28, 0xff, ...bytes]), Buffer.from('"}')]) })) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }).map((body) => ({ body, contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'multipart/form-data; boundary=x', 'application/json', '').map((contentType) => ({ body: `payload=${encodeURIComponent(JSON.stringify(clickDoc()))}`, contentType })) },
    // Forged: the approver's real click, with a wrong, stale, missing or borrowed signature.
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.string({ maxLength: 80 }).map((signature): SignedPost => ({ signature })),
          fc.constant<SignedPost>({ signature: null }),
          fc.constant<SignedPost>({ timestamp: stale }),
          fc.integer({ min: -1e10, max: 1e10 }).map((timestamp): SignedPost => ({ timestamp })),
          fc.string({ minLength: 1, maxLength: 40 }).map((secret): SignedPost => ({ secret })),
          // A signature valid for another body, replayed on this one.
          fc.constant<SignedPost>({ signature: slackSignature(signingSecret, Math.floor(Date.now() / 1000), 'payload=%7B%7D') }),
        )
        .map((sign) => ({ body: `payload=${encodeURIComponent(JSON.stringify(click))}`, sign })),
    },
  );
}

/** The status the app answered with; 0 when it cut the connection, -1 when it did not answer within 15 s. */
async function send(r: Hostile): Promise<number> {
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  const timestamp = r.sign?.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {};
  if (r.contentType !== '') headers['Content-Type'] = r.contentType ?? 'application/x-www-form-urlencoded';
  if (r.sign?.signature !== null) {
    headers['X-Slack-Request-Timestamp'] = String(timestamp);
    // Bolt verifies the body as decoded text, so invalid UTF-8 is signed as it decodes.
    headers['X-Slack-Signature'] = r.sign?.signature ?? slackSignature(r.sign?.secret ?? signingSecret, timestamp, body.toString('utf8'));
  }
  try {
    const res = await fetch(h.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
    await res.arrayBuffer();
    return res.status;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'TimeoutError') return -1;
    // A cut connection is an answer too; a dead app shows in the liveness check.
    return 0;
  }
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

describe(`the Slack app under ${numRuns} hostile requests (fast-check seed ${seed})`, () => {
  it('answers none with a 5xx, keeps answering, stays flat in memory, lets none vote, and still takes the approver’s real click', { timeout: 240_000 }, async () => {
    const requests = fc.sample(hostileRequest(), { seed, numRuns });
    gc();
    const before = process.memoryUsage();
    const started = Date.now();
    const fivexx: { index: number; status: number; request: string }[] = [];
    const unanswered: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < requests.length) {
          const index = next++;
          const status = await send(requests[index]!);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === -1) unanswered.push(String(requests[index]!.body).slice(0, 300));
          if (status >= 500) fivexx.push({ index, status, request: String(requests[index]!.body).slice(0, 300) });
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    // Bolt acknowledges before its listeners finish: let them.
    await new Promise((r) => setTimeout(r, 2_000));
    gc();
    const after = process.memoryUsage();
    console.log(`slack: ${numRuns} requests in ${seconds.toFixed(1)} s; rss ${mib(before.rss)} -> ${mib(after.rss)} MiB, heapUsed ${mib(before.heapUsed)} -> ${mib(after.heapUsed)} MiB (after a forced GC); answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);

    expect(fivexx, `seed ${seed}: 5xx answers (first counterexamples): ${JSON.stringify(fivexx.slice(0, 3))}`).toEqual([]);
    expect(unanswered.slice(0, 3), `seed ${seed}: ${unanswered.length} requests never answered`).toEqual([]);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectPrototypeKeys);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 2 ** 20);

    // Nobody voted: the gate waits as it did before the storm.
    expect((await handle.query(statusQuery)).pendingApprovals).toMatchObject([{ step: 'isolate', approvals: 0 }]);
    // The approver's real click, correctly signed, still approves.
    expect((await postToSlackApp(h.url, `payload=${encodeURIComponent(JSON.stringify(click))}`)).status).toBe(200);
    await waitForStatus(handle, (s) => !awaiting('isolate')(s), 30_000);
    const isolate = (await handle.query(statusQuery)).steps.find((x) => x.id === 'isolate');
    expect(['approved', 'running', 'succeeded']).toContain(isolate?.status);
    expect(isolate?.approvals.map((v) => v.actor)).toEqual(['slack:U0BOB']);
  });
});
