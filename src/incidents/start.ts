/**
 * Starting an incident by hand: what `firebreak start` does (and what Slack's
 * `/incident` can reuse). `prepareStart` turns a request (a runbook id, targets
 * or a JSON start request, a mode, who asks) into the runbook workflow's input,
 * validated, without touching Temporal; `startIncident` opens the incident
 * with signal-with-start, so starting twice for the same targets joins the
 * open incident instead of opening a second one.
 *
 * The `--input` file is a JSON start request (`startRequestSchema`):
 *
 *   {
 *     "targets": [                                   // at least one
 *       { "kind": "pod", "id": "demo-shop/storefront-7d9c6b5f8-x7k2p",
 *         "attributes": { "cluster": "prod-eu" } },   // attributes: optional, string values
 *       { "kind": "access-key", "id": "AKIA…" }
 *     ],
 *     "severity": "critical",                        // optional: info | low | medium | high | critical (default high)
 *     "summary": "Leaked key found in a public repo", // optional (default "Started from the CLI by cli:<operator>")
 *     "mode": "dry-run"                              // optional: live | dry-run (default live)
 *   }
 *
 * `kind` is one of `targetKinds`; `id`, and the `node`, `container` and `account`
 * attributes, must follow the naming rule of the system they name
 * (domain/names.ts: RFC 1123 for Kubernetes, IAM's rules for AWS), or the start
 * is refused naming the rule. Unknown keys are rejected. Values given on
 * the command line (`--mode`, `--severity`, `--summary`) take precedence over
 * the file's.
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { accessKeyIdPattern, targetAttributeProblem, targetIdProblem } from '../../domain/names.ts';
import { groupName, policyFitProblem } from '../../domain/runbooks.ts';
import { modes, severities, targetKinds } from '../../domain/vocabulary.ts';
import { formatFieldPath } from '../text/field-path.ts';
import type { IncidentDocument, IncidentInput, Mode, Target, TriggerInfo } from '../../workflows/engine/types.ts';
import { correlationKeyForTargets } from './ids.ts';
import { openIncident, withChildPolicies } from './open.ts';
import { principal, type RunbookPolicy } from '../runbooks/schema.ts';
import type { WorkflowCatalog } from '../runbooks/loader.ts';

export { modes, severities, targetKinds } from '../../domain/vocabulary.ts';

const oneOf = (name: string, values: readonly string[]) => (issue: { input?: unknown }) =>
  `expected ${name} ${values.map((v) => JSON.stringify(v)).join(', ')}; got ${issue.input === undefined ? 'nothing' : JSON.stringify(issue.input)}`;

export const targetSchema = z
  .object({
    kind: z.enum(targetKinds, { error: oneOf('a target kind:', targetKinds) }),
    id: z
      .string({ error: 'expected the target id as a string, e.g. "demo-shop/storefront-7d9c6b5f8-x7k2p"' })
      .min(1, 'expected a non-empty target id')
      .max(1024, 'expected a target id of at most 1024 characters')
      .regex(/^\S+$/, 'expected a target id without spaces'),
    attributes: z.record(z.string(), z.string({ error: 'expected attribute values to be strings' })).optional(),
  })
  .strict()
  // Each id and named attribute by its system's rule: `pod:demo-shop/..` would resolve to the namespace's URL.
  .superRefine((t, ctx) => {
    const idProblem = targetIdProblem(t.kind, t.id);
    if (idProblem !== undefined) ctx.addIssue({ code: 'custom', path: ['id'], message: idProblem });
    for (const [name, value] of Object.entries(t.attributes ?? {})) {
      const problem = targetAttributeProblem(name, value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['attributes', name], message: problem });
    }
  });

/** The `--input` file: a JSON start request (see the comment at the top of this file). */
export const startRequestSchema = z
  .object({
    targets: z.array(targetSchema, { error: 'expected a list of targets [{"kind": …, "id": …}]' }).min(1, 'expected at least one target'),
    severity: z.enum(severities, { error: oneOf('a severity:', severities) }).optional(),
    summary: z.string().trim().min(1, 'expected a non-empty summary').max(500, 'expected a summary of at most 500 characters').optional(),
    mode: z.enum(modes, { error: oneOf('a mode:', modes) }).optional(),
  })
  .strict();

export type StartRequest = z.output<typeof startRequestSchema>;

/** An incident's documents travel in its workflow history: an OSV advisory is kilobytes, 256 KiB is ample. */
export const maxDocumentBytes = 256 * 1024;

/** A start that cannot proceed; the message says what to fix (the CLI prints it and exits 1). */
export class StartError extends Error {
  override readonly name = 'StartError';
}

/** A target that does not parse: the text as given and what is wrong with it, which the CLI and Slack each phrase. */
export class TargetError extends StartError {
  constructor(
    readonly text: string,
    readonly problem: string,
  ) {
    super(`--target ${JSON.stringify(text)}: ${problem}`);
  }
}

export interface PrepareStartOptions {
  /** The runbook policies to choose from, already loaded and validated. */
  policies: readonly RunbookPolicy[];
  /** The registered runbook workflows (workflows/catalog.ts; tests pass their own). */
  catalog: WorkflowCatalog;
  /** Named approver groups (`FIREBREAK_APPROVER_GROUPS`). */
  groups: Readonly<Record<string, readonly string[]>>;
  runbookId: string;
  /** The targets (parsed `--target` values); give these or `inputFile`, not both. */
  targets?: readonly Target[];
  /** The `--input` file: its name (for messages) and its text (a JSON start request). */
  inputFile?: { name: string; text: string };
  /** Overrides the start request's mode; default live. */
  mode?: Mode;
  /** Who asks: a principal such as `cli:alice`, barred from approving the incident's two-person steps. */
  requester: string;
  severity?: TriggerInfo['severity'];
  summary?: string;
  /** Documents the runbook reads (OSV advisories given with --advisory), sealed by it as evidence. */
  documents?: readonly IncidentDocument[];
  /** Where the request came from: `cli` (default) or `slack` (the `/incident` command). */
  source?: 'cli' | 'slack';
  /** When the request was received. */
  now: Date;
}

export interface PreparedStart {
  workflowType: string;
  correlationKey: string;
  input: Omit<IncidentInput, 'incidentId'>;
}

/**
 * Validates a start and builds the runbook workflow's input. The correlation
 * key is the sorted, de-duplicated `kind:id` of the targets; with the runbook
 * id it makes the incident id (`incidentIdFor`), so the same runbook on the
 * same targets, in any order, is the same incident.
 */
export function prepareStart(o: PrepareStartOptions): PreparedStart {
  const policy = o.policies.find((p) => p.id === o.runbookId);
  if (policy === undefined) throw new StartError(unknownRunbookMessage(o.runbookId, o.policies.map((p) => p.id)));
  const workflow = Object.hasOwn(o.catalog, policy.workflow) ? o.catalog[policy.workflow] : undefined;
  if (workflow === undefined) {
    throw new StartError(
      `runbook "${policy.id}" runs workflow "${policy.workflow}", which this version of Firebreak does not register; validate the policy with \`firebreak runbooks validate\`.`,
    );
  }
  const policySteps = policy.steps.map((s) => s.id);
  const misfit = policyFitProblem(policySteps, workflow.steps);
  if (misfit !== undefined) {
    throw new StartError(
      `runbook "${policy.id}" gives gates for steps ${policySteps.join(', ')}, but workflow "${policy.workflow}" has the steps ${workflow.steps.join(', ')}; ${misfit}; validate the policy with \`firebreak runbooks validate\`.`,
    );
  }
  const undefinedGroups = referencedGroups(policy).filter((g) => !Object.hasOwn(o.groups, g));
  if (undefinedGroups.length > 0) {
    throw new StartError(
      `runbook "${policy.id}" names approver group${undefinedGroups.length === 1 ? '' : 's'} ${undefinedGroups.join(', ')}, which FIREBREAK_APPROVER_GROUPS does not define.`,
    );
  }
  const requester = principal.safeParse(o.requester);
  if (!requester.success) throw new StartError(`the requester ${JSON.stringify(o.requester)} is not a principal such as cli:alice.`);

  const request = readRequest(o);
  const targets = dedupeTargets(request.targets);
  // The same key an alert about these targets gets, so a CLI start and an alert join one incident.
  const correlationKey = correlationKeyForTargets(targets)!;
  const source = o.source ?? 'cli';
  const trigger: TriggerInfo = {
    source,
    severity: o.severity ?? request.severity ?? 'high',
    summary: o.summary ?? request.summary ?? `Started from ${source === 'cli' ? 'the CLI' : 'Slack'} by ${requester.data}`,
    receivedAt: o.now.toISOString(),
  };
  return {
    workflowType: policy.workflow,
    correlationKey,
    input: withChildPolicies({
      policy,
      groups: Object.fromEntries(Object.entries(o.groups).map(([name, members]) => [name, [...members]])),
      requester: requester.data,
      mode: o.mode ?? request.mode ?? 'live',
      trigger,
      targets,
      // Auto-containment rules match alerts; a person starting a runbook by hand goes through every gate.
      autoContainSteps: [],
      ...(o.documents === undefined || o.documents.length === 0 ? {} : { documents: [...o.documents] }),
    }, o.policies),
  };
}

/** Opens the incident, or joins the open one for the same runbook and targets (signal-with-start). */
export async function startIncident(
  client: Client,
  prepared: PreparedStart,
  taskQueue: string,
): Promise<{ incidentId: string; runId: string; workflowType: string }> {
  const { incidentId, runId } = await openIncident(client, { ...prepared, taskQueue });
  return { incidentId, runId, workflowType: prepared.workflowType };
}

/**
 * Parses `--target kind:id`, e.g. `pod:demo-shop/storefront-7d9c6b5f8-x7k2p` or
 * `role:arn:aws:iam::123456789012:role/x`. A bare access key id (`AKIA…`,
 * `ASIA…`) is an `access-key` target.
 */
export function parseTarget(text: string): Target {
  if (accessKeyIdPattern.test(text)) return { kind: 'access-key', id: text };
  const colon = text.indexOf(':');
  const kind = colon === -1 ? '' : text.slice(0, colon);
  const id = colon === -1 ? '' : text.slice(colon + 1);
  const example = 'e.g. --target pod:demo-shop/storefront-7d9c6b5f8-x7k2p';
  if (colon === -1) throw new TargetError(text, `expected kind:id, ${example}; kinds: ${targetKinds.join(', ')}`);
  if (!(targetKinds as readonly string[]).includes(kind)) {
    throw new TargetError(text, `unknown kind ${JSON.stringify(kind)}; expected one of ${targetKinds.join(', ')} (${example})`);
  }
  const parsed = targetSchema.safeParse({ kind, id });
  if (!parsed.success) throw new TargetError(text, parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}

/** Why a runbook id cannot be started, listing what can be; `where` says where policies were looked for. */
export function unknownRunbookMessage(runbookId: string, available: readonly string[], where?: { dir: string; skipped?: number }): string {
  const skipped = where?.skipped ?? 0;
  const broken =
    skipped === 0
      ? ''
      : `${skipped} policy file${skipped === 1 ? ' has problems and was' : 's have problems and were'} skipped (if "${runbookId}" is among them, fix it: \`firebreak runbooks validate\`)`;
  const ids = [...new Set(available)].sort();
  if (ids.length > 0) return `unknown runbook "${runbookId}"; available runbooks: ${ids.join(', ')}${broken === '' ? '' : `; ${broken}`}.`;
  if (where === undefined) return `unknown runbook "${runbookId}": no runbook policies are loaded.`;
  if (skipped > 0) return `unknown runbook "${runbookId}": no valid runbook policy in ${where.dir} (FIREBREAK_RUNBOOKS_DIR); ${broken}.`;
  return `unknown runbook "${runbookId}": no runbook policies are installed in ${where.dir} (FIREBREAK_RUNBOOKS_DIR); add policy files (*.yaml) there or point FIREBREAK_RUNBOOKS_DIR at them.`;
}

/** Parses and validates a JSON start request (the `--input` file); StartError names the field of every problem. */
export function parseStartRequest(file: { name: string; text: string }): StartRequest {
  let data: unknown;
  try {
    data = JSON.parse(file.text);
  } catch (e) {
    throw new StartError(
      `${file.name}: not valid JSON (${e instanceof Error ? e.message : String(e)}); expected a start request such as {"targets": [{"kind": "pod", "id": "demo-shop/storefront-7d9c6b5f8-x7k2p"}]}`,
    );
  }
  const parsed = startRequestSchema.safeParse(data);
  if (!parsed.success) throw new StartError(formatIssues(file.name, parsed.error.issues));
  return parsed.data;
}

// ---------------------------------------------------------------------------

function readRequest(o: PrepareStartOptions): StartRequest {
  if ((o.targets === undefined) === (o.inputFile === undefined)) {
    throw new StartError(
      o.targets === undefined
        ? 'say what the incident acts on: --target kind:id (repeatable) or --input file.json'
        : '--target and --input cannot be used together: give the targets one way',
    );
  }
  if (o.targets !== undefined) {
    const parsed = startRequestSchema.safeParse({ targets: o.targets });
    if (!parsed.success) {
      if (o.targets.length === 0) throw new StartError('say what the incident acts on: at least one --target kind:id');
      throw new StartError(formatIssues('targets', parsed.error.issues));
    }
    return parsed.data;
  }
  return parseStartRequest(o.inputFile!);
}

/** One line per issue: `request.json: targets[0].kind: expected …`. */
function formatIssues(source: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...issue.path, key], message: `unknown key "${key}"` }));
      if (issue.code === 'invalid_type' && issue.path.length === 0) {
        return [{ path: issue.path, message: 'expected a start request object such as {"targets": [{"kind": "pod", "id": "…"}]}' }];
      }
      return [{ path: issue.path, message: issue.message }];
    })
    .map(({ path, message }) => `${source}: ${path.length === 0 ? '' : `${formatFieldPath(path)}: `}${message}`)
    .join('\n');
}

function targetName(t: Target): string {
  return `${t.kind}:${t.id}`;
}

/** Drops repeated targets; the same target twice with different attributes is a mistake to fix. */
function dedupeTargets(targets: readonly Target[]): Target[] {
  const byName = new Map<string, Target>();
  for (const t of targets) {
    const name = targetName(t);
    const seen = byName.get(name);
    if (seen === undefined) byName.set(name, t);
    else if (JSON.stringify(sortedAttributes(seen)) !== JSON.stringify(sortedAttributes(t))) {
      throw new StartError(`target ${name} is given twice with different attributes: give it once.`);
    }
  }
  return [...byName.values()];
}

function sortedAttributes(t: Target): [string, string][] {
  return Object.entries(t.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The `group:<name>` names a policy's gates refer to. */
function referencedGroups(policy: RunbookPolicy): string[] {
  const gates = [...policy.steps.map((s) => s.gate), policy.rollback.gate];
  const names = new Set<string>();
  for (const gate of gates) {
    if (gate === 'none') continue;
    for (const p of [...gate.approvers, ...gate.escalateTo]) {
      const group = groupName(p);
      if (group !== undefined) names.add(group);
    }
  }
  return [...names].sort();
}
