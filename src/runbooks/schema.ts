/**
 * The schema of a runbook policy (`runbooks/*.yaml`). A policy says which
 * alerts start a runbook, which of its steps wait for whose approval and for
 * how long, what happens on timeout, which containment runs without waiting,
 * and who may roll the incident back. The policy travels in the workflow input,
 * so an incident's history pins the exact policy it ran under.
 */
import { z } from 'zod';
import { severities, triggerSources } from '../../domain/vocabulary.ts';

const durationUnits = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses "90s", "30m", "1h30m", "2d" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * durationUnits[m[2] as keyof typeof durationUnits];
    consumed = re.lastIndex;
  }
  return consumed === text.length && text.length > 0 && total > 0 ? total : undefined;
}

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as "90s", "30m", "1h30m" or "2d"; got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return { text, ms };
});

/**
 * Who may approve: a Slack user id (`U024BE7LH`), a named group from
 * configuration (`group:security-oncall`), or a CLI operator identity
 * (`cli:alice`). Normalised to `slack:U…`, `group:…`, `cli:…`.
 */
export const principal = z
  .string()
  .transform((s, ctx) => {
    if (/^[UW][A-Z0-9]{2,}$/.test(s)) return `slack:${s}`;
    if (/^(slack:[UW][A-Z0-9]{2,}|group:[a-z0-9][a-z0-9._-]*|cli:[A-Za-z0-9._@-]+)$/.test(s)) return s;
    ctx.addIssue({
      code: 'custom',
      message: `expected a Slack user id (U…), "group:<name>" or "cli:<operator>"; got ${JSON.stringify(s)}`,
    });
    return z.NEVER;
  });

/** Where an escalation goes: approver principals, or a Slack channel (`#security` or `C…`). */
const escalationTarget = z.union([
  z.string().regex(/^(#[a-z0-9][a-z0-9_-]*|C[A-Z0-9]{2,})$/),
  principal,
]);

export const approvalGate = z
  .object({
    approvers: z
      .array(principal)
      .min(1, 'expected at least one approver')
      // The same person written twice (U… and slack:U…) counts once.
      .transform((list) => [...new Set(list)]),
    required: z.number().int().min(1).default(1),
    twoPerson: z.boolean().default(false),
    timeout: duration,
    onTimeout: z.enum(['escalate', 'deny', 'proceed']),
    escalateTo: z.array(escalationTarget).default([]),
  })
  .strict()
  .superRefine((g, ctx) => {
    if (g.onTimeout === 'escalate' && g.escalateTo.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['escalateTo'], message: 'required when onTimeout is "escalate"' });
    }
    const individuals = g.approvers.filter((a) => !a.startsWith('group:'));
    if (g.approvers.length > 0 && !g.approvers.some((a) => a.startsWith('group:')) && g.required > individuals.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `requires ${g.required} approvals but only ${individuals.length} distinct approver${individuals.length === 1 ? ' is' : 's are'} listed`,
      });
    }
  });

export const gate = z.union([z.literal('none'), approvalGate], {
  error: 'expected "none" or an approval gate { approvers, required, twoPerson, timeout, onTimeout, escalateTo }',
});

export const stepPolicy = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a step id in kebab-case, e.g. "isolate-pod"'),
    description: z.string().min(1),
    gate,
  })
  .strict();

export const alertSource = z.enum(triggerSources);

/** Which alerts a trigger or auto-containment rule matches. All given fields must match. */
export const alertMatcher = z
  .object({
    source: alertSource,
    /** Falco rule names, Alertmanager alertnames, generic rule ids, Inspector vulnerability ids (CVE-…, GHSA-…, MAL-…). */
    rules: z.array(z.string().min(1)).optional(),
    /** GuardDuty finding types, e.g. "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS". */
    findingTypes: z.array(z.string().min(1)).optional(),
    /** Lowest severity that matches. */
    minSeverity: z.enum(severities).optional(),
    /** Alertmanager/generic labels that must all be equal. */
    labels: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const runbookPolicy = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a runbook id in kebab-case'),
    version: z.number().int().min(1),
    title: z.string().min(1),
    summary: z.string().min(1),
    /** The workflow that runs this runbook (its steps are checked against it). */
    workflow: z.string().min(1),
    triggers: z.array(alertMatcher).default([]),
    steps: z.array(stepPolicy).min(1),
    autoContain: z
      .array(
        z
          .object({
            when: alertMatcher,
            /** Steps whose gate is skipped when the triggering alert matches `when`. */
            steps: z.array(z.string()).min(1),
          })
          .strict(),
      )
      .default([]),
    rollback: z
      .object({
        gate,
        /**
         * Steps whose changes a rollback keeps: their undo is never run, and
         * the timeline says so (a digest stays blocked for good; a rotated
         * credential is never put back).
         */
        keep: z.array(z.string()).default([]),
      })
      .strict(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const ids = new Set<string>();
    p.steps.forEach((s, i) => {
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${s.id}"` });
      ids.add(s.id);
    });
    p.rollback.keep.forEach((id, i) => {
      if (!ids.has(id)) ctx.addIssue({ code: 'custom', path: ['rollback', 'keep', i], message: `names step "${id}", which this policy does not define (steps: ${[...ids].join(', ')})` });
    });
    p.autoContain.forEach((rule, i) =>
      rule.steps.forEach((id, j) => {
        if (!ids.has(id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['autoContain', i, 'steps', j],
            message: `names step "${id}", which this policy does not define (steps: ${[...ids].join(', ')})`,
          });
        }
      }),
    );
  });

export type RunbookPolicy = z.output<typeof runbookPolicy>;
export type StepPolicy = z.output<typeof stepPolicy>;
export type ApprovalGate = z.output<typeof approvalGate>;
export type Gate = z.output<typeof gate>;
export type AlertMatcher = z.output<typeof alertMatcher>;
