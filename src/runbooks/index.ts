// Runbook policies: their schema and the loader that reads and validates them.
export {
  checkRunbooks,
  displayPath,
  findRunbookFiles,
  formatProblem,
  loadRunbookFile,
  loadRunbooks,
  RunbookValidationError,
  type LoadedRunbook,
  type RunbookContext,
  type RunbookProblem,
  type WorkflowCatalog,
} from './loader.ts';
export {
  alertMatcher,
  alertSource,
  approvalGate,
  gate,
  parseDuration,
  principal,
  runbookPolicy,
  stepPolicy,
  type AlertMatcher,
  type ApprovalGate,
  type Gate,
  type RunbookPolicy,
  type StepPolicy,
} from './schema.ts';
