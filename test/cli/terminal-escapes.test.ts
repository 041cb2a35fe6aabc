/**
 * Text from alerts is attacker-chosen: a Falco `output` names files, and a
 * file name can hold ESC sequences that clear the responder's screen, OSC 8
 * hyperlinks that disguise where a link goes, a CR that hides what came
 * before it, and BEL. A real incident carries such a summary; every way the
 * CLI shows it (status, --json, the timeline in each format, to a file) must
 * show the characters as visible escapes, and JSON must stay valid and keep
 * the original text.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentStatus } from '../../workflows/engine/messages.ts';
import { runFirebreak } from '../support/cli.ts';
import { awaiting, engineOnDevServer, newWorld, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { sandbox, temporalClient } from '../support/servers.ts';

const world = newWorld();
const client = await temporalClient();
const scratch = await mkdtemp(join(tmpdir(), 'firebreak-cli-escapes-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** What a Falco rule's output looks like when the attacker named the file. */
const hostile =
  'Sensitive file opened (file=/tmp/\u001b[2J\u001b]8;;https://evil.example/\u0007/etc/shadow\u001b]8;;\u0007\rall clear\u0007 \u009b31mred)';
/** Any C0 control but TAB and LF, DEL, or a C1 control. */
// eslint-disable-next-line no-control-regex
const rawControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

let incidentId: string;
beforeAll(async () => {
  const taskQueue = await engineOnDevServer(world);
  const handle = await startIncident(
    client,
    taskQueue,
    testInput(testPolicy(), { trigger: { source: 'falco', severity: 'critical', summary: hostile, receivedAt: '2026-12-03T00:00:00.000Z' } }),
  );
  await waitForStatus(handle, awaiting('isolate'));
  incidentId = handle.workflowId;
});

const firebreak = (args: string[]) => runFirebreak(args, { TEMPORAL_ADDRESS: sandbox().temporalAddress });

describe('attacker-chosen text in CLI output', () => {
  it('status shows ESC, OSC 8, CR, BEL and C1 as visible escapes, never raw', async () => {
    const r = await firebreak(['status', incidentId]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(rawControl);
    expect(r.stdout).toContain(
      'trigger   falco critical: Sensitive file opened (file=/tmp/\\x1b[2J\\x1b]8;;https://evil.example/\\x07/etc/shadow\\x1b]8;;\\x07\\x0dall clear\\x07 \\u009b31mred)',
    );
  });

  it('status --json is valid JSON without raw controls, and parses back to the original text', async () => {
    const r = await firebreak(['status', incidentId, '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(rawControl);
    expect((JSON.parse(r.stdout) as IncidentStatus).trigger.summary).toBe(hostile);
  });

  it('the Markdown report carries the escapes, on standard output and in a file', async () => {
    const md = await firebreak(['timeline', incidentId, '--format', 'md']);
    expect(md.code).toBe(0);
    expect(md.stdout).not.toMatch(rawControl);
    expect(md.stdout).toContain('/tmp/\\x1b[2J\\x1b]8;;https://evil.example/\\x07/etc/shadow');

    const file = join(scratch, 'report.md');
    expect((await firebreak(['timeline', incidentId, '--format', 'md', '-o', file])).code).toBe(0);
    const written = await readFile(file, 'utf8');
    expect(written).not.toMatch(rawControl);
    expect(written).toContain('\\x0dall clear\\x07');
  });

  it('the JSON timeline stays valid and keeps the original text; CSV has no raw controls beyond its CRLF rows', async () => {
    const json = await firebreak(['timeline', incidentId, '--format', 'json']);
    expect(json.code).toBe(0);
    expect(json.stdout).not.toMatch(rawControl);
    const report = JSON.parse(json.stdout) as { events: { type: string; data: { summary?: string } }[] };
    expect(report.events.find((e) => e.type === 'alert.received')?.data.summary).toBe(hostile);

    const csv = await firebreak(['timeline', incidentId, '--format', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.replace(/\r\n/g, '\n')).not.toMatch(rawControl);
    expect(csv.stdout).toContain('\\x1b[2J');
  });
});
