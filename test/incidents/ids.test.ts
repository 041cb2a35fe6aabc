import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import { correlationKeyForTargets, incidentIdFor } from '../../src/incidents/ids.ts';
import { normaliseBody } from '../../src/intake/normalise.ts';
import { correlationKeyFor } from '../../src/intake/router.ts';
import { parseTarget } from '../../src/incidents/start.ts';

const dir = await mkdtemp(join(tmpdir(), 'firebreak-ids-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('incident ids', () => {
  it('are the same for the same runbook and correlation key, and differ otherwise', () => {
    const id = incidentIdFor('container-escape', 'prod-eu:demo-shop:storefront-x7k2p');
    expect(id).toMatch(/^container-escape\.prod-eu:demo-shop:storefront-x7k2p-[0-9a-f]{8}$/);
    expect(incidentIdFor('container-escape', 'prod-eu:demo-shop:storefront-x7k2p')).toBe(id);
    expect(incidentIdFor('container-escape', 'prod-eu:demo-shop:storefront-q9m4d')).not.toBe(id);
    expect(incidentIdFor('supply-chain', 'prod-eu:demo-shop:storefront-x7k2p')).not.toBe(id);
  });

  it('start the readable part with a name when the key has no cluster or account', () => {
    expect(incidentIdFor('container-escape', '-:demo-shop:storefront-x7k2p')).toMatch(/^container-escape\.demo-shop:storefront-x7k2p-[0-9a-f]{8}$/);
    expect(incidentIdFor('credential-compromise', '-:AKIAIOSFODNN7EXAMPLE')).toMatch(/^credential-compromise\.akiaiosfodnn7example-[0-9a-f]{8}$/);
    expect(incidentIdFor('container-escape', '-:demo-shop:storefront-x7k2p')).not.toBe(incidentIdFor('container-escape', 'demo-shop:storefront-x7k2p'));
  });

  it('keep keys apart that differ only in characters the readable part drops', () => {
    expect(incidentIdFor('r', 'a/b')).not.toBe(incidentIdFor('r', 'a b'));
  });

  it('are accepted by the evidence store, whatever the correlation key holds', async () => {
    const store = new LocalEvidenceStore(dir);
    for (const key of ['arn:aws:iam::123456789012:role/deployer', '../../etc/passwd', 'ns/pod with spaces', 'É'.repeat(200)]) {
      const incidentId = incidentIdFor('credential-compromise', key);
      const ref = await store.seal({ incidentId, name: 'probe', content: key, mediaType: 'text/plain' });
      expect(ref.incidentId).toBe(incidentId);
    }
  });
});

describe('correlation', () => {
  it('gives an alert about a pod and `firebreak start` on that pod the same incident', async () => {
    const body = await readFile('test/intake/fixtures/falco/release-agent-escape.json', 'utf8');
    const [alert] = normaliseBody('falco', body, '2026-11-28T14:22:06.000Z');
    const fromAlert = incidentIdFor('container-escape', correlationKeyFor(alert!));
    const fromCli = incidentIdFor('container-escape', correlationKeyForTargets([parseTarget('pod:demo-shop/storefront-7d9c6b5f8-x7k2p')])!);
    expect(fromCli).toBe(fromAlert);
  });
});
