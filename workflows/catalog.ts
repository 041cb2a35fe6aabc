/**
 * The step ids of every runbook workflow, by workflow name. The runbook loader
 * checks each policy in runbooks/ against this: its `workflow` must be listed
 * here, and it must give exactly one entry (with its gate) per step, so no
 * step runs under an implicit gate.
 *
 * Each runbook workflow registers its step ids here when it is added, and
 * uses the same ids when it asks for a step's gate.
 *
 * Workflow code imports nothing but types from src/, so the type is inline
 * (it is the same shape as `WorkflowCatalog` in src/runbooks/loader.ts).
 */
/** The step ids of the container-escape runbook, as its policy (runbooks/container-escape.yaml) gates them. */
export const containerEscapeSteps = [
  'collect-evidence',
  'isolate-pod',
  'detach-from-rotation',
  'cordon-node',
  'offer-credential-compromise',
  'delete-pod',
] as const;

/** The step ids of the credential-compromise runbook, as its policy (runbooks/credential-compromise.yaml) gates them. */
export const credentialCompromiseSteps = [
  'triage',
  'collect-evidence',
  'deactivate-access-key',
  'revoke-user-sessions',
  'revoke-role-sessions',
  'delete-login-profile',
  'eradicate-access-keys',
  'eradicate-principals',
  'restore-policies',
] as const;

export const workflowCatalog: Record<string, { steps: readonly string[] }> = {
  containerEscape: { steps: containerEscapeSteps },
  credentialCompromise: { steps: credentialCompromiseSteps },
};
