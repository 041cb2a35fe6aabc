/**
 * The rule that a policy fits its workflow: exactly one entry per step of the
 * workflow, so no step runs under an implicit gate. The runbook loader, the
 * start path and the engine all check it through this one function, each
 * saying it in its own words.
 */
export interface PolicyFit {
  /** Workflow steps the policy gives no entry for. */
  missing: string[];
  /** Policy entries naming no step of the workflow, with their index in `steps`. */
  unknown: { index: number; id: string }[];
  /** Steps the policy gives more than one entry for. */
  twice: string[];
}

export function policyFit(policySteps: readonly string[], workflowSteps: readonly string[]): PolicyFit {
  return {
    missing: workflowSteps.filter((s) => !policySteps.includes(s)),
    unknown: policySteps.flatMap((id, index) => (workflowSteps.includes(id) ? [] : [{ index, id }])),
    twice: [...new Set(policySteps.filter((s, i) => policySteps.indexOf(s) !== i))],
  };
}

/** The fit's problems in one phrase, or undefined when the policy fits. */
export function policyFitProblem(policySteps: readonly string[], workflowSteps: readonly string[]): string | undefined {
  const fit = policyFit(policySteps, workflowSteps);
  const problems = [
    fit.missing.length > 0 ? `no policy for steps ${fit.missing.join(', ')}` : '',
    fit.unknown.length > 0 ? `unknown steps ${fit.unknown.map((u) => u.id).join(', ')}` : '',
    fit.twice.length > 0 ? `steps given twice ${fit.twice.join(', ')}` : '',
  ].filter(Boolean);
  return problems.length === 0 ? undefined : problems.join('; ');
}

/** The group a principal names (`group:oncall` → `oncall`), or undefined for a person or channel. */
export function groupName(principal: string): string | undefined {
  return principal.startsWith('group:') ? principal.slice('group:'.length) : undefined;
}

/** Principals with every `group:<name>` replaced by its members (an undefined group has none), each once. */
export function expandGroups(principals: readonly string[], groups: Readonly<Record<string, readonly string[]>>): string[] {
  return [
    ...new Set(
      principals.flatMap((p) => {
        const group = groupName(p);
        return group === undefined ? [p] : (groups[group] ?? []);
      }),
    ),
  ];
}
