import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateSummary, runbookSummary } from '../../src/cli/commands/runbooks.ts';
import { loadRunbookFile } from '../../src/runbooks/index.ts';

const ctx = { catalog: { 'test-workflow': { steps: ['collect', 'isolate', 'delete'] } }, groups: { oncall: ['slack:U024BE7LH'] } };
const file = path.join(import.meta.dirname, 'fixtures', 'valid', 'test-runbook.yaml');

describe('what runbooks list shows of a policy', () => {
  it('summarises each step’s gate: approvers, required count, two-person rule, timeout and what happens then', async () => {
    const summary = runbookSummary(await loadRunbookFile(file, ctx), 'runbooks/test-runbook.yaml');
    expect(summary).toMatchObject({
      id: 'test-runbook',
      version: 3,
      title: 'Test runbook',
      workflow: 'test-workflow',
      file: 'runbooks/test-runbook.yaml',
      steps: [
        { id: 'collect', gate: 'none' },
        { id: 'isolate', gate: 'approval 2 of [slack:U024BE7LH, group:oncall] two-person, 30m → escalate to [#security, group:oncall]' },
        { id: 'delete', gate: 'approval 1 of [cli:alice, slack:W0123ABCD], 1h30m → deny' },
      ],
      rollback: 'approval 1 of [group:oncall], 90s → proceed',
    });
  });

  it('shows which steps run without approval for which alerts', async () => {
    const summary = runbookSummary(await loadRunbookFile(file, ctx), 'runbooks/test-runbook.yaml');
    expect(summary.autoContain).toEqual([
      'isolate without approval when source falco, rules [Terminal shell in container], severity ≥ critical',
    ]);
  });

  it('summarises an ungated step as none', () => {
    expect(gateSummary('none')).toBe('none');
  });
});
