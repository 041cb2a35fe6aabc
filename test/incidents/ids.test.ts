import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import { incidentIdFor } from '../../src/incidents.ts';

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
