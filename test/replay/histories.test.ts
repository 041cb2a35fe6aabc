/**
 * The histories under test/histories/ (every runbook's main paths, captured by
 * `npm run histories:capture`) replay against the workflow code as it is now:
 * a change that would break an open incident fails `npm test` here.
 */
import { describe, expect, it } from 'vitest';
import { drillWorkflowBundle } from '../../src/drills/bundle.ts';
import { readHistoryFile, workflowTypeOf } from '../../src/replay/histories.ts';
import { replayHistories } from '../../src/replay/replay.ts';
import { capturedHistoryFiles } from './support.ts';

const files = await capturedHistoryFiles();
const histories = await Promise.all(files.map((f) => readHistoryFile(f)));

describe('the captured histories', () => {
  it('cover every runbook: approve-all, deny, timeout, rollback, dry-run and waiting on approval', () => {
    const paths = files.map((f) => f.split('/').pop()!.replace(/\.json$/, ''));
    for (const runbook of ['credential-compromise', 'container-escape', 'supply-chain']) {
      for (const path of ['approve-all', 'deny-all', 'timeout', 'rollback', 'dry-run', 'waiting-approval']) expect(paths).toContain(`${runbook}.${path}`);
    }
    expect(new Set(histories.map((h) => workflowTypeOf(h.history)))).toEqual(new Set(['credentialCompromise', 'containerEscape', 'supplyChain']));
  });

  it('every one replays against the current workflow code', async () => {
    // The drills' bundle: the worker's workflows, cached by their sources' hash.
    const report = await replayHistories(histories, { workflowBundle: await drillWorkflowBundle() });
    expect(report.failures).toEqual([]);
    expect(report.replayed).toBe(files.length);
  });
});
