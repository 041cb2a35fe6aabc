/**
 * docs/upgrades.md's worked example, as written there: the same fix added to a
 * copy of the credential-compromise workflow without patched() breaks every
 * captured credential-compromise history, and behind patched() breaks none.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHistoryFile } from '../../src/replay/histories.ts';
import { replayHistories } from '../../src/replay/replay.ts';
import { capturedHistoryFiles, editedWorkflows, insertBefore, repoRoot } from './support.ts';

const doc = await readFile(path.join(repoRoot, 'docs/upgrades.md'), 'utf8');
/** The code block under `<!-- example: name -->` in the doc. */
function example(name: string): string {
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/upgrades.md has no "${name}" example`);
  return m[1]!;
}
const withImport = (edit: (s: string) => string) => (s: string) => edit(s.replace("import { proxyActivities } from '@temporalio/workflow';", example('import').trim()));
const histories = await Promise.all((await capturedHistoryFiles()).filter((f) => path.basename(f).startsWith('credential-compromise.')).map((f) => readHistoryFile(f)));

describe("docs/upgrades.md's worked example", () => {
  it('without patched(), every captured credential-compromise history fails to replay at its evidence capture', async () => {
    const workflowsPath = await editedWorkflows('credentialCompromise.ts', withImport(insertBefore('// 2. Evidence first', example('unpatched'))));
    const report = await replayHistories(histories, { workflowsPath });
    expect(report.failures.map((f) => f.kind)).toEqual(histories.map(() => 'nondeterminism'));
    expect(report.failures.every((f) => f.eventType === 'ActivityTaskScheduled')).toBe(true);
  });

  it('behind patched(), every captured credential-compromise history replays', async () => {
    const workflowsPath = await editedWorkflows('credentialCompromise.ts', withImport(insertBefore('// 2. Evidence first', example('patched'))));
    const report = await replayHistories(histories, { workflowsPath });
    expect(report.failures).toEqual([]);
    expect(report.replayed).toBe(histories.length);
  });
});
