/**
 * `firebreak scenario from-incident`: a recorded incident's timeline turned
 * into a drill scenario. Its alerts become injects at their offsets, its
 * votes responder rules with their real delays (from the request, or from
 * the escalation that reached the voter), approvers who never answered
 * unreachable responders, its rollback request the scenario's rollback, and
 * its targets the simulated world. Account ids, access key ids, user and role
 * names and alert ids are replaced by stable placeholders, in the order they
 * first appear, everywhere they occur (summaries included).
 *
 * What a timeline does not hold is not invented: it keeps an alert's source,
 * rule, severity and summary, not its body, so a GuardDuty alert is injected
 * as the smallest finding that carries those, and any other as a generic
 * alert; the world holds only what the targets and the timeline
 * show (keys active, a login profile when the runbook found one), and the
 * scenario has no adversary.
 */
import { stringify } from 'yaml';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { simulatedWorkflows } from './policies.ts';

export class FromIncidentError extends Error {
  override readonly name = 'FromIncidentError';
}

const principalPattern = /^(slack|cli):[A-Za-z0-9._@-]+$/;

/** Stable placeholders for the identifiers of one incident. */
class Placeholders {
  readonly map = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  add(real: string, make: (n: number) => string): string {
    const known = this.map.get(real);
    if (known !== undefined) return known;
    const kind = make(0);
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    const placeholder = make(n);
    this.map.set(real, placeholder);
    return placeholder;
  }

  /** Every known identifier in the text replaced, longest first so one never eats part of another. */
  scrub(text: string): string {
    let out = text;
    for (const real of [...this.map.keys()].sort((a, b) => b.length - a.length)) out = out.split(real).join(this.map.get(real));
    return out;
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const minutesUp = (ms: number) => `${Math.max(1, Math.ceil(ms / 60_000))}m`;
/** An offset as the scenario writes it: whole seconds. */
const offset = (ms: number) => `${Math.max(0, Math.round(ms / 1000))}s`;

const guardDutySeverity = { critical: 9, high: 8, medium: 5, low: 2, info: 0 } as const;

/** The smallest GuardDuty finding (as EventBridge delivers it) that intake reads as the alert the timeline recorded. */
function guardDutyFinding(a: { account: string; id: string; type: string; severity: keyof typeof guardDutySeverity; summary: string; at: string; key: string | undefined; principal: string | undefined; assumedRole: boolean }) {
  return {
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: a.account,
    detail: {
      accountId: a.account,
      region: 'us-east-1',
      id: a.id,
      type: a.type,
      title: a.summary,
      severity: guardDutySeverity[a.severity],
      updatedAt: a.at,
      resource: {
        resourceType: 'AccessKey',
        accessKeyDetails: { accessKeyId: a.key ?? null, userName: a.principal ?? null, userType: a.assumedRole ? 'AssumedRole' : 'IAMUser' },
      },
    },
  };
}

export interface ScenarioFromIncident {
  yaml: string;
  /** How many identifiers were replaced, by kind (never the values). */
  replaced: Record<string, number>;
}

export function scenarioFromTimeline(events: readonly TimelineEvent[], o: { name: string; source: string }): ScenarioFromIncident {
  const opened = events.find((e) => e.type === 'incident.opened');
  if (opened?.type !== 'incident.opened') throw new FromIncidentError(`${o.source} has no incident.opened event: give a whole timeline (firebreak timeline <incident> --format json).`);
  // Only incidents on what the simulated world has (AWS principals and keys) make a scenario that runs.
  const foreign = opened.data.targets.filter((t) => !/^(access-key|iam-user|role):/.test(t));
  if (foreign.length > 0) {
    throw new FromIncidentError(
      `the incident acts on ${foreign.map((t) => t.split(':')[0]).join(', ')} targets, which the simulated world does not have yet (it simulates AWS IAM, STS and CloudTrail, for ${simulatedWorkflows.join(', ')}): no scenario made.`,
    );
  }
  const p = new Placeholders();
  const users = new Set<string>();
  const roles = new Set<string>();
  const keys = new Map<string, string>(); // key → user
  let account: string | undefined;
  for (const t of opened.data.targets) {
    const [kind, ...rest] = t.split(':');
    const id = rest.join(':');
    if (kind === 'iam-user') users.add(p.add(id, (n) => `user-${n || ''}`));
    else if (kind === 'role') roles.add(p.add(id.startsWith('arn:') ? (id.split('/').at(-1) ?? id) : id, (n) => `role-${n || ''}`));
  }
  for (const t of opened.data.targets) {
    const [kind, ...rest] = t.split(':');
    const id = rest.join(':');
    if (kind === 'access-key') {
      const placeholder = p.add(id, (n) => `${id.slice(0, 4)}PLACEHOLDER${n === 0 ? '' : pad(n, 5)}`);
      keys.set(placeholder, [...users][0] ?? '');
    }
  }
  // Account ids wherever they appear (ARNs, summaries).
  for (const e of events) {
    for (const m of JSON.stringify(e.data).matchAll(/\b\d{12}\b/g)) account ??= p.add(m[0], (n) => `1111222233${pad(n, 2)}`);
  }
  account ??= '111122223300';

  const alerts = events.filter((e) => e.type === 'alert.received' || e.type === 'alert.repeated');
  const first = alerts[0] ?? opened;
  const t0 = Date.parse(first.at);
  const since = (e: TimelineEvent) => Date.parse(e.at) - t0;
  const key = [...keys.keys()][0];
  const user = [...users][0];
  const role = [...roles][0];
  const entities = { account, ...(user !== undefined ? { principal: user } : role !== undefined ? { principal: role } : {}), ...(key === undefined ? {} : { accessKey: key }) };

  const injects: Record<string, unknown>[] = [];
  let seen = 0;
  for (const e of alerts) {
    const deliveries = e.type === 'alert.repeated' ? Math.max(1, e.data.count - seen) : 1;
    seen = e.type === 'alert.repeated' ? e.data.count : seen + 1;
    const alertId = e.data.alertId === undefined ? undefined : p.add(e.data.alertId, (n) => `alert-${n || ''}`);
    const severity = e.type === 'alert.received' ? e.data.severity : 'high';
    const rule = e.type === 'alert.received' && e.data.rule !== undefined ? p.scrub(e.data.rule) : undefined;
    const summary = p.scrub(e.data.summary);
    const alert =
      e.data.source === 'guardduty' && rule !== undefined
        ? guardDutyFinding({ account, id: alertId ?? `replayed-${injects.length + 1}`, type: rule, severity, summary, at: e.at, key, principal: user ?? role, assumedRole: user === undefined && role !== undefined })
        : {
            ...(alertId === undefined ? {} : { id: alertId }),
            severity,
            ...(rule === undefined ? {} : { rule }),
            summary,
            ...(role !== undefined && user === undefined ? { labels: { userType: 'AssumedRole' } } : {}),
            entities,
          };
    const source = e.data.source === 'guardduty' && rule !== undefined ? 'guardduty' : 'generic';
    injects.push({ at: offset(since(e)), source, alert, ...(deliveries > 1 ? { repeat: deliveries, every: '1s' } : {}) });
  }

  // Responders: each vote with its delay; approvers asked and never heard from are unreachable.
  const rules = new Map<string, Record<string, unknown>[]>();
  const asked = new Set<string>();
  for (const e of events) {
    if (e.type === 'approval.requested') for (const a of e.data.approvers) if (principalPattern.test(a)) asked.add(a);
    if ((e.type !== 'approval.granted' && e.type !== 'approval.denied') || e.actor === undefined || !principalPattern.test(e.actor) || e.step === undefined) continue;
    const request = events.filter((x) => x.type === 'approval.requested' && x.step === e.step && x.seq < e.seq).at(-1);
    if (request === undefined) continue;
    const escalation = events.filter((x) => x.type === 'approval.escalated' && x.step === e.step && x.seq > request.seq && x.seq < e.seq).at(-1);
    const from = escalation ?? request;
    const rule = {
      step: e.step,
      decision: e.type === 'approval.granted' ? 'approve' : 'deny',
      after: offset(Date.parse(e.at) - Date.parse(from.at)),
      ...(escalation === undefined ? {} : { onEscalation: true }),
    };
    rules.set(e.actor, [...(rules.get(e.actor) ?? []), rule]);
  }
  const rolledBack = events.find((e) => e.type === 'rollback.requested');
  const responders = [
    ...[...rules].map(([id, decide]) => ({ id, decide })),
    ...[...asked].filter((a) => !rules.has(a)).map((id) => ({ id, unreachable: true })),
  ];

  const loginProfileGone = events.some((e) => e.step === 'delete-login-profile' && (e.type === 'approval.requested' || e.type === 'action.started'));
  const world = {
    aws: {
      accountId: account,
      users: [...users].map((name) => ({
        name,
        accessKeys: [...keys].filter(([, u]) => u === name).map(([id]) => ({ id, status: 'Active' })),
        loginProfile: loginProfileGone,
      })),
      roles: [...roles].map((name) => ({ name })),
    },
  };

  // Outcomes as recorded: each step that took effect, by the time it did.
  const expect: Record<string, unknown>[] = [];
  for (const e of events) {
    if (e.type !== 'action.succeeded' || e.step === undefined || expect.some((x) => x['step'] === e.step)) continue;
    if (rolledBack !== undefined && e.seq > rolledBack.seq) continue;
    expect.push({ step: e.step, within: minutesUp(since(e) + 60_000) });
  }
  const last = events.at(-1) ?? opened;
  const scenario = {
    version: 1,
    scenario: {
      name: o.name,
      title: `Replay of ${p.scrub(opened.data.runbook)} incident (${o.source.split('/').at(-1) ?? o.source})`,
      runbook: opened.data.runbook,
      description: 'Made by firebreak scenario from-incident: identifiers are placeholders; alerts rebuilt from their timeline entries; no adversary.',
    },
    horizon: minutesUp(since(last) + 10 * 60_000),
    world,
    injects,
    responders,
    ...(rolledBack?.actor === undefined || !principalPattern.test(rolledBack.actor) ? {} : { rollback: { at: offset(since(rolledBack)), by: rolledBack.actor } }),
    expect: [...expect, { noRealCalls: true }],
  };
  const replaced: Record<string, number> = {};
  for (const v of p.map.values()) {
    const kind = /^user-/.test(v) ? 'users' : /^role-/.test(v) ? 'roles' : /PLACEHOLDER/.test(v) ? 'access keys' : /^alert-/.test(v) ? 'alert ids' : 'accounts';
    replaced[kind] = (replaced[kind] ?? 0) + 1;
  }
  return { yaml: `# ${scenario.scenario.description}\n${stringify(scenario)}`, replaced };
}
