// The checks of a policy that need more than its schema: the workflow it
// names exists and fits it (domain/runbooks.ts, the rule the engine checks
// too), and every approver group it names is defined.
import { groupName, policyFit } from '../../domain/runbooks.ts';
import type { FieldPath } from '../text/field-path.ts';
import type { RunbookContext, WorkflowCatalog } from './loader.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The workflow exists, and the policy has exactly one entry per workflow step. */
export function checkAgainstWorkflow(data: unknown, catalog: WorkflowCatalog, report: (p: FieldPath, message: string) => void): void {
  if (!isRecord(data) || typeof data['workflow'] !== 'string') return;
  const name = data['workflow'];
  const workflow = Object.hasOwn(catalog, name) ? catalog[name] : undefined;
  if (workflow === undefined) {
    const known = Object.keys(catalog).sort();
    report(
      ['workflow'],
      `unknown workflow "${name}"; known workflows: ${known.length === 0 ? 'none (no runbook workflow is registered yet)' : known.join(', ')}`,
    );
    return;
  }
  const rawSteps = data['steps'];
  if (!Array.isArray(rawSteps)) return;
  const entries = rawSteps.flatMap((step: unknown, i) => (isRecord(step) && typeof step['id'] === 'string' ? [{ i, id: step['id'] }] : []));
  const fit = policyFit(
    entries.map((e) => e.id),
    workflow.steps,
  );
  for (const u of fit.unknown) {
    report(['steps', entries[u.index]!.i, 'id'], `unknown step "${u.id}": workflow "${name}" has the steps ${workflow.steps.join(', ')}`);
  }
  const rollback = isRecord(data['rollback']) ? data['rollback'] : {};
  const keep = Array.isArray(rollback['keep']) ? rollback['keep'] : [];
  const gate = rollback['gate'];
  const twoPerson = isRecord(gate) && gate['twoPerson'] === true;
  const undone = (workflow.dangerousUndo ?? []).filter((s) => !keep.includes(s));
  if (undone.length > 0 && !twoPerson) {
    report(
      ['rollback'],
      `rolling back step${undone.length === 1 ? '' : 's'} ${undone.join(', ')} would put a leaked credential back: list ${undone.length === 1 ? 'it' : 'them'} in rollback.keep, or make the rollback gate two-person (twoPerson: true, required: 2)`,
    );
  }
  const { missing } = fit;
  if (missing.length > 0) {
    report(
      ['steps'],
      `no policy for step${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of workflow "${name}": every step needs an entry (gate: none if it runs without approval)`,
    );
  }
}

/** Every `group:<name>` in approvers and escalateTo is a defined group. */
export function checkGroups(
  data: unknown,
  groups: RunbookContext['groups'],
  report: (p: FieldPath, message: string) => void,
): void {
  if (!isRecord(data)) return;
  const gates: { path: FieldPath; gate: unknown }[] = [];
  if (Array.isArray(data['steps'])) {
    data['steps'].forEach((step: unknown, i) => {
      if (isRecord(step)) gates.push({ path: ['steps', i, 'gate'], gate: step['gate'] });
    });
  }
  const rollback = data['rollback'];
  if (isRecord(rollback)) gates.push({ path: ['rollback', 'gate'], gate: rollback['gate'] });
  const defined = Object.keys(groups).sort();
  for (const { path: gatePath, gate } of gates) {
    if (!isRecord(gate)) continue;
    for (const field of ['approvers', 'escalateTo'] as const) {
      const list = gate[field];
      if (!Array.isArray(list)) continue;
      list.forEach((entry: unknown, j) => {
        const group = typeof entry === 'string' ? groupName(entry) : undefined;
        if (group === undefined || Object.hasOwn(groups, group)) return;
        report(
          [...gatePath, field, j],
          `group "${group}" is not defined; ${
            defined.length === 0
              ? 'no approver groups are defined (set FIREBREAK_APPROVER_GROUPS)'
              : `defined groups: ${defined.join(', ')}`
          }`,
        );
      });
    }
  }
}
