// Hostile input to intake, through the HTTP server to the dev server: names
// that break Kubernetes' or AWS's rules never reach a runbook (stored as
// unrouted with the reason, no incident), and payloads built to make the
// answer huge or the store overflow are refused with a small 400.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../src/incidents/ids.ts';
import type { AlertSource } from '../../src/intake/alert.ts';
import { normaliseBody } from '../../src/intake/normalise.ts';
import { correlationKeyFor } from '../../src/intake/router.ts';
import type { IntakeService } from '../../src/intake/service.ts';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import { temporalClient, uniqueName } from '../support/servers.ts';
import { fixtureJson, postAlert, startTestIntake, testPolicies } from './helpers.ts';

let client: Client;
let url: string;
let service: IntakeService;
let policies: RunbookPolicy[];

beforeAll(async () => {
  client = await temporalClient();
  policies = testPolicies(uniqueName('hostile').toLowerCase()).all;
  // No worker: an incident that is started exists on the dev server all the same.
  ({ url, service } = await startTestIntake({ client, taskQueue: uniqueName('hostile-no-worker'), policies }));
});

type Path = readonly (string | number)[];

/** Sets the field at `path` of a parsed fixture. */
function set(root: unknown, path: Path, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}

/**
 * Where each source's fixture names the pod and its namespace, and the fields
 * made unique for each payload: the alert's id (so its records are its own)
 * and, for the generic alert, its principal (its correlation key would be the control's).
 */
/** The sources whose alerts name pods (an Inspector finding names an image: its names are in inspector.test.ts). */
type PodSource = Exclude<AlertSource, 'inspector'>;

const sources: Record<PodSource, { fixture: string; pod: Path; namespace: Path; fresh: Path[] }> = {
  falco: { fixture: 'falco/release-agent-escape.json', pod: ['output_fields', 'k8s.pod.name'], namespace: ['output_fields', 'k8s.ns.name'], fresh: [['uuid']] },
  guardduty: {
    fixture: 'guardduty/eks-runtime-host-mount.json',
    pod: ['detail', 'resource', 'kubernetesDetails', 'kubernetesWorkloadDetails', 'name'],
    namespace: ['detail', 'resource', 'kubernetesDetails', 'kubernetesWorkloadDetails', 'namespace'],
    fresh: [['detail', 'id']],
  },
  alertmanager: { fixture: 'alertmanager/firing.json', pod: ['alerts', 0, 'labels', 'pod'], namespace: ['alerts', 0, 'labels', 'namespace'], fresh: [['alerts', 0, 'fingerprint']] },
  generic: { fixture: 'generic/leaked-key.json', pod: ['entities', 'pod'], namespace: ['entities', 'namespace'], fresh: [['id'], ['entities', 'principal']] },
};

/** The source's fixture, fresh, with these fields set. */
async function payloadOf(source: PodSource, fields: [Path, unknown][] = []): Promise<string> {
  const p = await fixtureJson(sources[source].fixture);
  for (const path of sources[source].fresh) set(p, path, uniqueName(source));
  for (const [path, value] of fields) set(p, path, value);
  return JSON.stringify(p);
}

/** Whether any of the test runbooks has an incident for this alert's correlation key on the dev server. */
async function incidentsFor(source: AlertSource, body: string): Promise<string[]> {
  const [alert] = normaliseBody(source, body, new Date().toISOString());
  const found: string[] = [];
  for (const p of policies) {
    const id = incidentIdFor(p.id, correlationKeyFor(alert!));
    try {
      await client.workflow.getHandle(id).describe();
      found.push(id);
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
    }
  }
  return found;
}

/** Posts the body; expects its first alert stored as unrouted for an invalid name, and no incident. */
async function expectRefusedName(source: AlertSource, body: string, says: string): Promise<void> {
  const r = await postAlert(url, source, body);
  expect(r.status).toBe(200);
  const outcome = r.body.alerts?.[0] as { alertId: string; unrouted?: string; incidents: unknown[]; problems?: string[] };
  expect(outcome).toMatchObject({ unrouted: 'invalid-name', incidents: [] });
  expect(outcome.problems?.join('\n')).toContain(says);
  const stored = (await service.unrouted.list()).filter((s) => s.alert.id === outcome.alertId);
  expect(stored.map((s) => s.reason)).toEqual(['invalid-name']);
  expect(stored[0]?.alert.problems?.join('\n')).toContain(says);
  expect(await incidentsFor(source, body)).toEqual([]);
}

const kubernetesHostile = ['..', '.', 'a/b', 'Storefront-X7K2P', 'a'.repeat(300)];
const everySource: PodSource[] = ['falco', 'guardduty', 'alertmanager', 'generic'];

describe('an alert naming a pod that breaks Kubernetes\' rule', () => {
  describe.each(everySource)('from %s', (source) => {
    it.each(kubernetesHostile.map((n) => [n.length > 40 ? `${n.length} characters` : JSON.stringify(n), n]))(
      'with pod name %s is stored as unrouted with the reason and starts no incident',
      async (_, name) => {
        await expectRefusedName(source, await payloadOf(source, [[sources[source].pod, name]]), 'pod name');
      },
    );

    it('with its valid pod name still routes and opens an incident (control)', async () => {
      const body = await payloadOf(source);
      const r = await postAlert(url, source, body);
      expect(r.status).toBe(200);
      expect(r.body.alerts?.[0]?.unrouted).toBeUndefined();
      expect(r.body.alerts?.[0]?.incidents[0]?.new).toBe(true);
      expect(await incidentsFor(source, body)).toHaveLength(1);
    });
  });
});

describe('an alert naming a namespace that breaks Kubernetes\' rule', () => {
  describe.each(everySource)('from %s', (source) => {
    // A namespace is a label: no dots at all, at most 63 characters.
    it.each([...kubernetesHostile, 'demo.shop', 'a'.repeat(64)].map((n) => [n.length > 40 ? `${n.length} characters` : JSON.stringify(n), n]))(
      'with namespace %s is stored as unrouted with the reason and starts no incident',
      async (_, name) => {
        await expectRefusedName(source, await payloadOf(source, [[sources[source].namespace, name]]), 'namespace');
      },
    );
  });
});

describe('an alert naming AWS identifiers that break AWS\'s rules', () => {
  const keys = ['..', '.', 'a/b', 'asiaqwertyuiopasdfgh', `AKIA${'A'.repeat(296)}`];
  // IAM allows dots and upper case in user and role names; these it does not.
  const principals = ['a/b', 'a b', 'x'.repeat(300), 'arn:aws:iam::123:role/x'];
  const label = (n: string) => (n.length > 40 ? `${n.length} characters` : JSON.stringify(n));
  /** The IAM access-key finding, about this key and role. */
  const keyFinding = async (accessKeyId: string, role: string): Promise<string> => {
    const p = await fixtureJson('guardduty/iam-credential-exfiltration.json');
    const key = ['detail', 'resource', 'accessKeyDetails'];
    for (const [path, value] of [[['detail', 'id'], uniqueName('gd')], [[...key, 'accessKeyId'], accessKeyId], [[...key, 'userName'], role]] as const) set(p, path, value);
    return JSON.stringify(p);
  };

  it.each(keys.map((k) => [label(k), k]))('GuardDuty with access key id %s is stored as unrouted and starts no incident', async (_, key) => {
    await expectRefusedName('guardduty', await keyFinding(key, uniqueName('node-role')), 'access key id');
  });

  it.each(principals.map((n) => [label(n), n]))('GuardDuty with role name %s is stored as unrouted and starts no incident', async (_, name) => {
    await expectRefusedName('guardduty', await keyFinding('ASIAQWERTYUIOPASDFGH', name), 'role');
  });

  it.each(keys.map((k) => [label(k), k]))('a generic alert with access key %s is stored as unrouted and starts no incident', async (_, key) => {
    await expectRefusedName('generic', await payloadOf('generic', [[['entities', 'accessKey'], key]]), 'access key id');
  });

  it.each(principals.map((n) => [label(n), n]))('a generic alert with principal %s is stored as unrouted and starts no incident', async (_, name) => {
    await expectRefusedName('generic', await payloadOf('generic', [[['entities', 'principal'], name]]), 'user');
  });

  it('a generic alert whose AWS target names an account that is not 12 digits is stored as unrouted', async () => {
    await expectRefusedName('generic', await payloadOf('generic', [[['entities', 'account'], '../123']]), 'account id');
  });
});

describe('a payload with thousands of problems', () => {
  it('is answered 400 with the first 20 problems and how many more there were, in a small body', async () => {
    const labels = Object.fromEntries(Array.from({ length: 9_000 }, (_, i) => [`k${i}`, i]));
    const res = await fetch(`${url}/v1/alerts/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer generic-token-0123456789abcdef` },
      body: await payloadOf('generic', [[['labels'], labels]]),
    });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text.length).toBeLessThan(4_000);
    const body = JSON.parse(text) as { problems: { path: string }[]; omittedProblems: number; message: string };
    expect(body.problems).toHaveLength(20);
    expect(body.problems[0]?.path).toBe('labels.k0');
    expect(body.omittedProblems).toBe(8_980);
    expect(body.message).toContain('8980 more');
  });

  it('of 250,000 empty alerts in 750 KB is refused at once with one problem naming the limit', async () => {
    const body = JSON.stringify({ version: '4', status: 'firing', alerts: Array.from({ length: 250_000 }, () => ({})) });
    const started = performance.now();
    const res = await fetch(`${url}/v1/alerts/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer alertmanager-token-0123456789' },
      body,
    });
    const text = await res.text();
    // Before the limit: a 73 MB answer after seconds of validation.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(400);
    expect(text.length).toBeLessThan(1_000);
    expect(JSON.parse(text)).toMatchObject({
      problems: [{ path: 'alerts', message: '250000 members; at most 10000 are accepted in one array or object' }],
      omittedProblems: 0,
    });
  });
});

describe('a deeply nested payload', () => {
  /** A Falco event with a loose field nested `levels` deep, written as text (JSON.stringify itself overflows). */
  const nested = async (levels: number): Promise<string> =>
    (await payloadOf('falco', [[['output_fields', 'evil.field'], 'DEEP']])).replace('"DEEP"', `${'['.repeat(levels)}"bottom"${']'.repeat(levels)}`);

  it('nested 4,500 levels in a loose field is refused 400 naming the limit, not 503 "retry"', async () => {
    const r = await postAlert(url, 'falco', await nested(4_500));
    expect(r.status).toBe(400);
    expect(r.body.problems).toEqual([{ path: expect.stringMatching(/^output_fields\.evil\.field(\[0\])+$/), message: 'nested more than 64 levels deep; at most 64 are accepted' }]);
  });

  it('nested as real payloads are (a GuardDuty finding, a loose field a few levels deep) is accepted (control)', async () => {
    const r = await postAlert(url, 'falco', await nested(20));
    expect(r.status).toBe(200);
    expect((await postAlert(url, 'guardduty', await payloadOf('guardduty'))).status).toBe(200);
  });
});
