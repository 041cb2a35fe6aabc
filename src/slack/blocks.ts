/**
 * Block Kit for Firebreak's Slack messages. Every field that came from an
 * alert or a person (summaries, target ids, reasons, evidence names, step
 * descriptions) goes through `mrkdwn()`: `&`, `<` and `>` are escaped, so
 * `<!channel>`, `<@U…>` or `<https://…|links>` arrive as text, never as
 * mentions or links; and every text is cut, with a marker, within the limits
 * Block Kit sets (a section's text 3000 characters, a header 150, 50 blocks).
 */
import type { types } from '@slack/bolt';
import type {
  ApprovalRequestedNotice,
  ApprovalUpdatedNotice,
  EscalationNotice,
  NoticeIncident,
  NoticeVote,
} from '../../activities/notify.ts';
import type { SlackMessage } from '../../activities/slack/index.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { describeEvent } from '../timeline/render.ts';

export const approveActionId = 'firebreak_approve';
export const denyActionId = 'firebreak_deny';
export const denyModalCallbackId = 'firebreak_deny_reason';
export const incidentModalCallbackId = 'firebreak_incident';

/** Block Kit limits (https://api.slack.com/reference/block-kit). */
export const limits = { section: 3000, header: 150, context: 2000, blocks: 50, fallback: 3000, buttonValue: 2000 } as const;

const truncatedMarker = '… [truncated]';

/** Escapes untrusted text for Slack mrkdwn: `&`, `<`, `>`. */
export function mrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts text to `max` characters with a marker, never inside an escape such as `&amp;`. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, max - truncatedMarker.length).replace(/&[a-z]{0,4}$/, '') + truncatedMarker;
}

/** Untrusted text, escaped and cut. */
export function safe(text: string, max: number = limits.section): string {
  return truncate(mrkdwn(text), max);
}

/** A principal or escalation target as Slack shows it: Slack users and channels as mentions, others as text. */
export function who(p: string): string {
  const user = /^slack:([UW][A-Z0-9]+)$/.exec(p);
  if (user) return `<@${user[1]}>`;
  if (/^C[A-Z0-9]+$/.test(p)) return `<#${p}>`;
  return `\`${mrkdwn(p)}\``;
}

/** An ISO time Slack shows in the reader's own time zone. */
export function when(iso: string): string {
  const seconds = Math.floor(new Date(iso).getTime() / 1000);
  return Number.isFinite(seconds) ? `<!date^${seconds}^{date_short_pretty} {time}|${mrkdwn(iso)}>` : mrkdwn(iso);
}

function section(text: string, blockId?: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, limits.section) }, ...(blockId ? { block_id: blockId } : {}) };
}

function context(text: string): types.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, limits.context) }] };
}

const drillNote = ':test_tube: *DRILL*: an exercise; nothing real is touched.';

function drillPrefix(incident: NoticeIncident): string {
  return incident.drill ? '[DRILL] ' : '';
}

/** A list, one line each, cut to fit a section, saying how many were left out. */
function lines(items: readonly string[], max = limits.section - 200): string {
  const out: string[] = [];
  let used = 0;
  for (const [i, item] of items.entries()) {
    if (used + item.length + 1 > max) {
      out.push(`… and ${items.length - i} more`);
      break;
    }
    out.push(item);
    used += item.length + 1;
  }
  return out.join('\n');
}

function incidentFacts(incident: NoticeIncident): string {
  return [
    `*Incident* \`${mrkdwn(incident.incidentId)}\``,
    `*Severity* ${incident.severity}`,
    `*Mode* ${incident.mode}`,
    `*Requested by* ${who(incident.requester)}`,
  ].join('  ·  ');
}

function footer(blocks: types.KnownBlock[], incident: NoticeIncident): types.KnownBlock[] {
  const out = incident.drill ? [...blocks, context(drillNote)] : blocks;
  return out.slice(0, limits.blocks);
}

/** The pinned summary at the top of the incident channel; the live timeline is its thread. */
export function summaryMessage(incident: NoticeIncident): SlackMessage {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${drillPrefix(incident)}${incident.title}`, limits.header) } },
    section(incidentFacts(incident)),
    section(`*Summary*\n${safe(incident.summary, limits.section - 20)}`),
    section(`*Targets*\n${lines(incident.targets.map((t) => `• \`${mrkdwn(t)}\``))}`),
    context(`Runbook \`${mrkdwn(incident.runbook)}\`. The timeline follows in this thread. Approvals: the buttons here, or \`firebreak approve ${mrkdwn(incident.incidentId)} &lt;step&gt;\`.`),
  ];
  return {
    text: truncate(`${drillPrefix(incident)}Firebreak incident ${incident.incidentId}: ${mrkdwn(incident.title)} (${incident.severity})`, limits.fallback),
    blocks: footer(blocks, incident),
  };
}

/** What a button carries back: which incident, step and opening of the gate. */
export interface ApprovalButtonValue {
  incidentId: string;
  step: string;
  requestId: string;
}

export function buttonValue(v: ApprovalButtonValue): string {
  return JSON.stringify({ i: v.incidentId, s: v.step, r: v.requestId });
}

export function parseButtonValue(text: string): ApprovalButtonValue | undefined {
  try {
    const v = JSON.parse(text) as { i?: unknown; s?: unknown; r?: unknown };
    if (typeof v.i === 'string' && typeof v.s === 'string' && typeof v.r === 'string') return { incidentId: v.i, step: v.s, requestId: v.r };
  } catch {
    // not ours
  }
  return undefined;
}

function vote(v: NoticeVote): string {
  return `${who(v.actor)} at ${when(v.at)}${v.reason ? `: ${safe(v.reason, 500)}` : ''}`;
}

/**
 * The approval request: the incident, the step and exactly what it will act
 * on, the evidence already sealed (short hashes), who may approve and how many
 * approvals are needed, the deadline; Approve / Deny buttons while it is open,
 * and the outcome (who, when, reason) once it is settled.
 */
export function approvalMessage(r: ApprovalRequestedNotice, update?: ApprovalUpdatedNotice): SlackMessage {
  const { incident } = r;
  const needs = `${r.required} approval${r.required === 1 ? '' : 's'} needed${r.twoPerson ? ` (two-person: not ${who(incident.requester)}, who requested the incident)` : ''}`;
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${drillPrefix(incident)}Approval needed: ${incident.title}`, limits.header) } },
    section(incidentFacts(incident)),
    section(`*Summary*\n${safe(incident.summary, 1000)}`),
    section(`*Step* \`${mrkdwn(r.step)}\`: ${safe(r.description, 1500)}`),
    section(`*Will act on*\n${lines(incident.targets.map((t) => `• \`${mrkdwn(t)}\``))}`),
    section(
      `*Evidence sealed*\n${
        r.evidence.length === 0 ? '_none yet_' : lines(r.evidence.map((e) => `• ${safe(e.name, 200)} \`sha256:${e.sha256.slice(0, 12)}\``))
      }`,
    ),
    section(`*Approvers* ${r.to.length === 0 ? '_none configured_' : r.to.map(who).join(', ')}\n${needs}\n*Deadline* ${when(r.deadline)}`),
  ];
  const status = update?.status ?? 'awaiting-approval';
  if (update !== undefined && update.approvals.length > 0) {
    blocks.push(section(`*Approved by* (${update.approvals.length} of ${update.required})\n${lines(update.approvals.map((v) => `• ${vote(v)}`))}`));
  }
  if (status === 'awaiting-approval') {
    blocks.push({
      type: 'actions',
      block_id: truncate(`approval:${r.requestId}`, 255),
      elements: [
        { type: 'button', action_id: approveActionId, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: buttonValue(r) },
        { type: 'button', action_id: denyActionId, style: 'danger', text: { type: 'plain_text', text: 'Deny…' }, value: buttonValue(r) },
      ],
    });
  } else {
    blocks.push(section(outcome(update!)));
  }
  blocks.push(context(`Or from the CLI: \`firebreak approve ${mrkdwn(incident.incidentId)} ${mrkdwn(r.step)}\` · request ${mrkdwn(r.requestId)}`));
  const state = status === 'approved' ? 'Approved' : status === 'denied' ? 'Denied' : 'Approval needed';
  return {
    text: truncate(`${drillPrefix(incident)}${state}: ${mrkdwn(incident.title)}, step ${mrkdwn(r.step)} (request ${r.requestId})`, limits.fallback),
    blocks: footer(blocks, incident),
  };
}

function outcome(u: ApprovalUpdatedNotice): string {
  switch (u.settledBy) {
    case 'timeout-proceed':
      return ':hourglass: *No decision by the deadline*: the policy lets the step proceed.';
    case 'timeout-deny':
      return ':hourglass: *No decision by the deadline*: denied by the policy.';
    case 'rolled-back':
      return ':leftwards_arrow_with_hook: *Not decided*: the incident was rolled back.';
    default:
      if (u.status === 'denied' && u.denial) return `:x: *Denied* by ${vote(u.denial)}`;
      return `:white_check_mark: *Approved* (${u.approvals.length} of ${u.required}).`;
  }
}

/** An escalation: the step still waits, now for the escalation's audience too. */
export function escalationMessage(n: EscalationNotice): SlackMessage {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${drillPrefix(n.incident)}Escalation: ${n.incident.title}`, limits.header) } },
    section(incidentFacts(n.incident)),
    section(
      `Step \`${mrkdwn(n.step)}\` got no decision by its deadline. It is denied at ${when(n.deadline)} unless approved: use the request in the incident channel${
        n.room ? ` <#${n.room.channel}>` : ''
      } or \`firebreak approve ${mrkdwn(n.incidentId)} ${mrkdwn(n.step)}\`.`,
    ),
    section(`*Summary*\n${safe(n.incident.summary, 1000)}`),
  ];
  return {
    text: truncate(`${drillPrefix(n.incident)}Escalation: ${mrkdwn(n.incident.title)}, step ${mrkdwn(n.step)} awaits a decision`, limits.fallback),
    blocks: footer(blocks, n.incident),
  };
}

/** One line of the live timeline, marked with the event's id (a retried batch skips lines already posted). */
export function timelineLine(e: TimelineEvent): string {
  const seq = `#${String(e.seq).padStart(4, '0')}`;
  const time = e.at.slice(11, 19);
  const by = e.actor === undefined ? '' : ` · ${who(e.actor)}`;
  const step = e.step === undefined ? '' : ` · \`${mrkdwn(e.step)}\``;
  return `\`${seq}\` ${time}Z${step}${by} · ${safe(describeEvent(e), 1200)}`;
}

/** Events per timeline message when many arrive at once. */
export const eventsPerMessage = 20;

/** Timeline events as thread messages: one per event, or several events per message when many arrive together. */
export function timelineMessages(incident: NoticeIncident, events: readonly TimelineEvent[]): { message: SlackMessage; ids: string[] }[] {
  const out: { message: SlackMessage; ids: string[] }[] = [];
  for (let i = 0; i < events.length; i += eventsPerMessage) {
    const chunk = events.slice(i, i + eventsPerMessage);
    const body = lines(chunk.map(timelineLine), limits.section - 100);
    const blocks: types.KnownBlock[] = [section(`${incident.drill ? '*[DRILL]* ' : ''}${body}`)];
    out.push({
      message: {
        text: truncate(`${drillPrefix(incident)}${chunk.map((e) => `${e.id} ${mrkdwn(describeEvent(e))}`).join('\n')}`, limits.fallback),
        blocks: footer(blocks, incident),
      },
      ids: chunk.map((e) => e.id),
    });
  }
  return out;
}
