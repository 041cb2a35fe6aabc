// Approve and Deny on approval requests: Deny asks for a reason in a modal.
// Every click is acknowledged first (Slack wants an answer within 3 s), then
// sent to the incident as the engine's `decide` update with an id derived
// from the click, so a retried or double click counts once; the engine's
// refusals come back to the clicker as an ephemeral message saying why.
import type { types } from '@slack/bolt';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { decideUpdate, rejection, type DecideInput } from '../../../workflows/engine/messages.ts';
import { approveActionId, denyActionId, denyModalCallbackId, mrkdwn, parseButtonValue, truncate, type ApprovalButtonValue } from '../blocks.ts';
import { fieldOf, parseJson, type RegisterListeners } from './context.ts';

/** What the clicker is told when the engine refuses a vote, by the refusal's type. */
export function refusalText(type: string | undefined, v: { step: string; incidentId: string }, engineMessage: string): string {
  const step = `\`${mrkdwn(v.step)}\``;
  switch (type) {
    case rejection.notAnApprover:
      return `You are not an approver of step ${step} of incident \`${mrkdwn(v.incidentId)}\`; nothing changed. The request lists who may approve.`;
    case rejection.requesterCannotApprove:
      return `You requested this incident and step ${step} needs two-person approval: another approver must approve it. Nothing changed.`;
    case rejection.alreadyVoted:
      return `You have already voted on step ${step}; each approver votes once. Nothing changed.`;
    case rejection.notAwaitingDecision:
      return `Step ${step} is already decided (or no longer waiting for this request); nothing changed.`;
    case rejection.reasonRequired:
      return `A denial of step ${step} needs a reason.`;
    case rejection.incidentClosed:
      return `Incident \`${mrkdwn(v.incidentId)}\` is closed; nothing changed.`;
    default:
      return `Firebreak refused this: ${mrkdwn(engineMessage)}`;
  }
}

const buttonSchema = z.object({ value: z.string().max(2000) });

const reasonSchema = z
  .string({ error: 'Say why the step must not run.' })
  .trim()
  .min(3, 'Say why the step must not run (at least 3 characters).')
  .max(500, 'Keep the reason under 500 characters.');

const denyMetadata = z.object({ i: z.string(), s: z.string(), r: z.string(), c: z.string() });

function denyModal(v: ApprovalButtonValue, channel: string): types.ModalView {
  return {
    type: 'modal',
    callback_id: denyModalCallbackId,
    private_metadata: JSON.stringify({ i: v.incidentId, s: v.step, r: v.requestId, c: channel }),
    title: { type: 'plain_text', text: 'Deny this step' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(`Deny step \`${mrkdwn(v.step)}\` of incident \`${mrkdwn(v.incidentId)}\`. The step will not run.`, 3000) } },
      {
        type: 'input',
        block_id: 'reason',
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 },
      },
    ],
  };
}

export const registerApprovals: RegisterListeners = (app, o) => {
  const { log, tell } = o;
  /** Casts a vote; on refusal, tells the voter why. The update id makes a repeated click count once. */
  const decide = async (v: ApprovalButtonValue, user: string, channel: string | undefined, decision: DecideInput['decision'], reason?: string) => {
    const vote: DecideInput = { step: v.step, decision, actor: `slack:${user}`, requestId: v.requestId, ...(reason === undefined ? {} : { reason }) };
    const updateId = `slack:${v.requestId}:${user}:${decision}`;
    try {
      await o.temporal.workflow.getHandle(v.incidentId).executeUpdate(decideUpdate, { args: [vote], updateId });
      log.info({ incidentId: v.incidentId, step: v.step, actor: vote.actor, decision }, 'vote recorded from Slack');
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
        await tell(channel, user, refusalText(e.cause.type ?? undefined, v, e.cause.message));
      } else if (e instanceof WorkflowNotFoundError) {
        await tell(channel, user, `Incident \`${mrkdwn(v.incidentId)}\` is no longer running; nothing changed.`);
      } else {
        log.error({ err: e instanceof Error ? e.message : String(e), incidentId: v.incidentId }, 'could not send a Slack vote to the incident');
        await tell(channel, user, `Firebreak could not record your vote right now; try again, or use \`firebreak ${decision} ${mrkdwn(v.incidentId)} ${mrkdwn(v.step)}\`.`);
      }
    }
  };

  app.action({ action_id: approveActionId, type: 'block_actions' }, async ({ ack, body, action }) => {
    await ack();
    const parsed = buttonSchema.safeParse(action);
    const v = parsed.success ? parseButtonValue(parsed.data.value) : undefined;
    if (v === undefined) return log.warn({ action: action.action_id }, 'ignored a button whose value is not Firebreak’s');
    await decide(v, body.user.id, body.channel?.id, 'approve');
  });

  app.action({ action_id: denyActionId, type: 'block_actions' }, async ({ ack, body, action, client: bolt }) => {
    await ack();
    const parsed = buttonSchema.safeParse(action);
    const v = parsed.success ? parseButtonValue(parsed.data.value) : undefined;
    if (v === undefined || body.channel?.id === undefined) return log.warn({ action: action.action_id }, 'ignored a button whose value is not Firebreak’s');
    await bolt.views.open({ trigger_id: body.trigger_id, view: denyModal(v, body.channel.id) });
  });

  app.view(denyModalCallbackId, async ({ ack, view, body }) => {
    const meta = denyMetadata.safeParse(parseJson(view.private_metadata));
    const reason = reasonSchema.safeParse(fieldOf(view.state.values, 'reason'));
    if (!reason.success) {
      await ack({ response_action: 'errors', errors: { reason: reason.error.issues[0]?.message ?? 'Say why.' } });
      return;
    }
    await ack();
    if (!meta.success) return log.warn('ignored a deny modal without its incident');
    await decide({ incidentId: meta.data.i, step: meta.data.s, requestId: meta.data.r }, body.user.id, meta.data.c, 'deny', reason.data);
  });
};
