// Hostile input to intake as a suite: for each source, 10,000 payloads made by
// fast-check (its real fixture mutated, prototype-pollution keys at every
// depth, random JSON, invalid UTF-8, wrong content types and tokens) are sent
// over real HTTP to the real intake server. None may get a 5xx (intake's only
// 503 says Temporal or the store failed, which is not backpressure: the storm
// must not cause it), the server must keep answering, memory must stay flat,
// and a valid alert sent after the storm still opens its incident.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../src/incidents/ids.ts';
import type { AlertSource } from '../../src/intake/alert.ts';
import { normaliseBody } from '../../src/intake/normalise.ts';
import { correlationKeyFor } from '../../src/intake/router.ts';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import { fixtureJson, startTestIntake, testPolicies, tokens } from '../intake/helpers.ts';
import { temporalClient, uniqueName } from '../support/servers.ts';
import { paths, polluteEverywhere, pollutant, setAt } from './hostile-json.ts';

// Intake runs in this process: a polluted prototype would show here.
const objectPrototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const seed = 16_003;
const numRuns = Number(process.env['FIREBREAK_FUZZ_RUNS'] ?? 10_000);
const inFlight = 16;

let client: Client;
let url: string;
let policies: RunbookPolicy[];

beforeAll(async () => {
  client = await temporalClient();
  policies = testPolicies(uniqueName('fuzz').toLowerCase()).all;
  // No worker: a started incident exists on the dev server all the same.
  ({ url } = await startTestIntake({ client, taskQueue: uniqueName('fuzz-no-worker'), policies }));
});

const fixtures: Record<AlertSource, string> = {
  falco: 'falco/release-agent-escape.json',
  guardduty: 'guardduty/eks-runtime-host-mount.json',
  alertmanager: 'alertmanager/firing.json',
  generic: 'generic/leaked-key.json',
  inspector: 'inspector/ecr-npm-package.json',
};

const c1 = fc.integer({ min: 0x80, max: 0x9f }).map((c) => String.fromCharCode(c));
const control = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.oneof(c1, control, fc.constant('\u2028'), fc.constant('\ufeff')), maxLength: 40 }),
  fc.integer({ min: 1_000, max: 50_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
  fc.constant('../../etc/passwd'),
  fc.constant('a'.repeat(254) + '.'),
  fc.integer({ min: 50, max: 3000 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown),
  fc.constant(undefined).map(() => pollutant()),
);

interface Request {
  body: string | Buffer;
  contentType?: string;
  token?: string;
}

function mutated(base: unknown): fc.Arbitrary<Request> {
  const all = paths(base);
  return fc
    .tuple(fc.array(fc.tuple(fc.nat(all.length - 1), hostileValue), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))
    .map(([changes, pollute, extra]) => {
      const doc = structuredClone(base) as Record<string | number, unknown>;
      for (const [i, value] of changes) setAt(doc, all[i]!, value);
      if (!Array.isArray(doc)) Object.assign(doc, extra);
      if (pollute) polluteEverywhere(doc);
      return { body: JSON.stringify(doc) ?? 'null' };
    });
}

function request(base: unknown): fc.Arbitrary<Request> {
  return fc.oneof(
    { weight: 6, arbitrary: mutated(base) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }).map((body) => ({ body })) },
    { weight: 1, arbitrary: fc.anything().map((v) => ({ body: JSON.stringify(v) ?? String(v) })) },
    // Invalid UTF-8 inside a JSON string.
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ body: Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc3, 0x28, 0xff, ...bytes]), Buffer.from('"}')]) })) },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', '', 'application/json; charset=utf-16').map((contentType) => ({ body: JSON.stringify(base), contentType })) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...Object.values(tokens))).map((token) => ({ body: JSON.stringify(base), token })) },
  );
}

async function send(source: AlertSource, r: Request): Promise<number> {
  const headers: Record<string, string> = { 'content-type': r.contentType ?? 'application/json', authorization: `Bearer ${r.token ?? tokens[source]}` };
  if (r.contentType === '') delete headers['content-type'];
  try {
    const res = await fetch(`${url}/v1/alerts/${source}`, { method: 'POST', headers, body: r.body });
    await res.arrayBuffer();
    return res.status;
  } catch {
    // A cut connection (the server refusing a body it will not read) is an answer too; a dead server shows in the liveness check.
    return 0;
  }
}

async function incidentOpened(source: AlertSource, body: string): Promise<boolean> {
  const [alert] = normaliseBody(source, body, new Date().toISOString());
  for (const p of policies) {
    try {
      await client.workflow.getHandle(incidentIdFor(p.id, correlationKeyFor(alert!))).describe();
      return true;
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
    }
  }
  return false;
}

// Without a forced GC heapUsed is mostly uncollected garbage; vitest's workers lack --expose-gc, so turn it on here.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

describe.each(Object.keys(fixtures) as AlertSource[])(`intake under ${numRuns} hostile payloads (fast-check seed ${seed})`, (source) => {
  it(`${source}: no 5xx, the server still answers, memory stays flat, and a valid alert still opens its incident`, { timeout: 120_000 }, async () => {
    const base = await fixtureJson(fixtures[source]);
    const payloads = fc.sample(request(base), { seed, numRuns });
    gc();
    const before = process.memoryUsage();
    const started = Date.now();
    const fivexx: { index: number; status: number; request: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < payloads.length) {
          const index = next++;
          const status = await send(source, payloads[index]!);
          if (status >= 500) fivexx.push({ index, status, request: String(payloads[index]!.body).slice(0, 500) });
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    gc();
    const after = process.memoryUsage();
    console.log(`${source}: ${numRuns} payloads in ${seconds.toFixed(1)} s; rss ${mib(before.rss)} -> ${mib(after.rss)} MiB, heapUsed ${mib(before.heapUsed)} -> ${mib(after.heapUsed)} MiB (after a forced GC)`);

    expect(fivexx, `seed ${seed}: 5xx answers (first counterexamples): ${JSON.stringify(fivexx.slice(0, 3))}`).toEqual([]);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(objectPrototypeKeys);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 2 ** 20);
    expect(seconds).toBeLessThan(60);

    const healthy = await fetch(`${url}/healthz`);
    expect(healthy.status).toBe(200);
    const fresh = structuredClone(base);
    freshen(source, fresh);
    const text = JSON.stringify(fresh);
    // Control: no payload of the storm opened this alert's incident already.
    expect(await incidentOpened(source, text)).toBe(false);
    expect(await send(source, { body: text })).toBeLessThan(300);
    expect(await incidentOpened(source, text)).toBe(true);
  });
});

/** Makes the valid alert's identity its own, so its incident is this test's; a source without an entry does not compile. */
const fresheners: Record<AlertSource, (p: Record<string, unknown>, u: string) => void> = {
  falco(p, u) {
    p['uuid'] = u;
    (p['output_fields'] as Record<string, unknown>)['k8s.pod.name'] = u.toLowerCase();
  },
  guardduty(p, u) {
    const d = p['detail'] as Record<string, unknown>;
    d['id'] = u;
    // Its incident is the pod's.
    const r = d['resource'] as Record<string, Record<string, Record<string, unknown>>>;
    r['kubernetesDetails']!['kubernetesWorkloadDetails']!['name'] = u.toLowerCase();
  },
  alertmanager(p, u) {
    const a = (p['alerts'] as Record<string, unknown>[])[0]!;
    a['fingerprint'] = u;
    (a['labels'] as Record<string, unknown>)['pod'] = u.toLowerCase();
  },
  generic(p, u) {
    p['id'] = u;
    (p['entities'] as Record<string, unknown>)['principal'] = u;
  },
  inspector(p, u) {
    // Inspector's incident is the image's: a digest of its own.
    const digest = `sha256:${createHash('sha256').update(u).digest('hex')}`;
    p['id'] = u;
    const d = p['detail'] as Record<string, unknown>;
    d['findingArn'] = `arn:aws:inspector2:eu-west-1:123456789012:finding/${u}`;
    for (const r of d['resources'] as Record<string, Record<string, Record<string, unknown>>>[]) r['details']!['awsEcrContainerImage']!['imageHash'] = digest;
  },
};

function freshen(source: AlertSource, p: Record<string, unknown>): void {
  fresheners[source](p, uniqueName(source));
}
