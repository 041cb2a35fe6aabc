/** The scorecard in a few lines for a terminal (`firebreak drill run` without --json). */
import { formatMs } from './scorecard.ts';
import type { Scorecard } from './scorecard-types.ts';

export function summarise(c: Scorecard): string[] {
  const lines = [
    `DRILL ${c.scenario.name} — ${c.scenario.title}: ${c.pass ? 'PASS' : 'FAIL'}`,
    `  incident                 ${c.incidentId || '(none opened)'}`,
    `  virtual time             ${formatMs(c.virtualMs)} in ${(c.wallMs / 1000).toFixed(1)} s of wall time`,
    `  first contained          ${formatMs(c.timeToFirstContainment)} after the first alert`,
    `  fully contained          ${formatMs(c.timeToFullContainment)} after the first alert`,
    `  adversary after alert    ${c.adversaryActionsAfterAlert} succeeded (${c.adversary.length} tried)`,
    `  evidence                 ${c.evidence.sealed} sealed, ${c.evidence.sealedBeforeFirstChange ? 'before' : 'NOT before'} the first change`,
    `  real calls               ${c.realCalls}`,
  ];
  for (const g of c.metrics.gates) {
    lines.push(`  gate ${g.step.padEnd(20)} ${g.outcome ?? 'open'} after ${formatMs(g.waitMs)}${g.decidedBy.length > 0 ? ` by ${g.decidedBy.join(', ')}` : ''}${g.escalations > 0 ? `, escalated ${g.escalations}×` : ''}`);
  }
  if (c.rollback !== null) {
    lines.push(`  rollback                 ${c.rollback.restored ? 'restored the world' : `left: ${c.rollback.residue.join('; ') || '(did not finish)'}`}`);
    for (const line of c.rollback.leftOnPurpose) lines.push(`    on purpose             ${line}`);
  }
  for (const e of c.expectations) lines.push(`  ${e.met ? 'met   ' : 'MISSED'} ${e.text}: ${e.detail}`);
  for (const t of c.thresholds) lines.push(`  ${t.met ? 'ok    ' : 'FAILED'} ${t.name} ${t.threshold} (was ${t.name.startsWith('time') ? formatMs(t.value) : String(t.value ?? 'never')})`);
  return lines;
}
