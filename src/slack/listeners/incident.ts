// `/incident`: opens a modal (runbook, targets, severity, summary), validates
// each field where Slack shows it, and starts the incident as the CLI does.
import type { types } from '@slack/bolt';
import { z } from 'zod';
import type { RunbookPolicy } from '../../runbooks/schema.ts';
import { parseTarget, prepareStart, severities, startIncident, StartError, TargetError } from '../../incidents/start.ts';
import { incidentModalCallbackId, mrkdwn, truncate } from '../blocks.ts';
import { fieldOf, type RegisterListeners, type ViewValues } from './context.ts';

/** The `/incident` modal's fields, validated; each problem is shown under its field. */
function incidentSubmission(runbookIds: readonly string[]) {
  return z.object({
    runbook: z.string({ error: 'Choose a runbook.' }).refine((id) => runbookIds.includes(id), 'Choose one of the listed runbooks.'),
    targets: z
      .string({ error: 'Name at least one target, e.g. pod:demo-shop/storefront-7d9c6b5f8-x7k2p.' })
      .transform((text, ctx) => {
        const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
        if (lines.length === 0) {
          ctx.addIssue({ code: 'custom', message: 'Name at least one target, e.g. pod:demo-shop/storefront-7d9c6b5f8-x7k2p.' });
          return z.NEVER;
        }
        const targets = [];
        for (const [i, line] of lines.entries()) {
          try {
            targets.push(parseTarget(line));
          } catch (e) {
            if (!(e instanceof TargetError)) throw e;
            ctx.addIssue({ code: 'custom', message: `Line ${i + 1}: ${JSON.stringify(e.text)}: ${e.problem}` });
          }
        }
        return targets;
      }),
    severity: z.enum(severities, { error: 'Choose a severity.' }),
    summary: z
      .string({ error: 'Say what happened.' })
      .trim()
      .min(1, 'Say what happened.')
      .max(500, 'Keep the summary under 500 characters.'),
  });
}

function incidentModal(policies: readonly RunbookPolicy[], initialTargets: string): types.ModalView {
  const option = (text: string, value: string): types.PlainTextOption => ({ text: { type: 'plain_text', text: truncate(text, 75) }, value });
  return {
    type: 'modal',
    callback_id: incidentModalCallbackId,
    title: { type: 'plain_text', text: 'Open an incident' },
    submit: { type: 'plain_text', text: 'Start' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'runbook',
        label: { type: 'plain_text', text: 'Runbook' },
        element: {
          type: 'static_select',
          action_id: 'value',
          placeholder: { type: 'plain_text', text: 'Choose a runbook' },
          options: policies.slice(0, 100).map((p) => option(`${p.title} (${p.id})`, p.id)),
        },
      },
      {
        type: 'input',
        block_id: 'targets',
        label: { type: 'plain_text', text: 'Targets' },
        hint: { type: 'plain_text', text: 'One kind:id per line: pod:<namespace>/<pod>, node:<name>, iam-user:<name>, access-key:<id>, role:<arn>, image:<digest>' },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          max_length: 3000,
          placeholder: { type: 'plain_text', text: 'pod:demo-shop/storefront-7d9c6b5f8-x7k2p' },
          ...(initialTargets === '' ? {} : { initial_value: truncate(initialTargets, 3000) }),
        },
      },
      {
        type: 'input',
        block_id: 'severity',
        label: { type: 'plain_text', text: 'Severity' },
        element: {
          type: 'static_select',
          action_id: 'value',
          initial_option: option('high', 'high'),
          options: severities.map((s) => option(s, s)),
        },
      },
      {
        type: 'input',
        block_id: 'summary',
        label: { type: 'plain_text', text: 'Summary' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500, placeholder: { type: 'plain_text', text: 'What happened, and how you know' } },
      },
    ],
  };
}

export const registerIncidentCommand: RegisterListeners = (app, o) => {
  const { log, tell } = o;
  app.command('/incident', async ({ ack, body, client: bolt }) => {
    await ack();
    const { policies } = await o.runbooks();
    if (policies.length === 0) {
      await tell(body.channel_id, body.user_id, 'No runbook policy is installed, so no incident can be started: add policies to FIREBREAK_RUNBOOKS_DIR.');
      return;
    }
    const initial = body.text.trim().split(/\s+/).filter((t) => t !== '').join('\n');
    await bolt.views.open({ trigger_id: body.trigger_id, view: incidentModal(policies, initial) });
  });

  app.view(incidentModalCallbackId, async ({ ack, view, body }) => {
    const { policies, catalog } = await o.runbooks();
    const values = view.state.values as ViewValues;
    const fields = Object.fromEntries(['runbook', 'targets', 'severity', 'summary'].map((b) => [b, fieldOf(values, b)]));
    const parsed = incidentSubmission(policies.map((p) => p.id)).safeParse(fields);
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const block = String(issue.path[0] ?? 'runbook');
        errors[block] = errors[block] === undefined ? issue.message : truncate(`${errors[block]} ${issue.message}`, 2000);
      }
      await ack({ response_action: 'errors', errors });
      return;
    }
    // Acknowledged now (Slack closes the modal); starting may wait on Slack user groups and Temporal.
    await ack();
    const user = body.user.id;
    try {
      const prepared = prepareStart({
        policies,
        catalog,
        groups: await o.groups.resolve(),
        runbookId: parsed.data.runbook,
        targets: parsed.data.targets,
        requester: `slack:${user}`,
        severity: parsed.data.severity,
        summary: parsed.data.summary,
        source: 'slack',
        now: new Date(),
      });
      const started = await startIncident(o.temporal, prepared, o.taskQueue);
      log.info({ incidentId: started.incidentId, requester: `slack:${user}` }, 'incident started from Slack');
      await tell(undefined, user, `Incident \`${mrkdwn(started.incidentId)}\` is open (or you joined it, if it was open for these targets): its channel, with the timeline and approval requests, is being created.`);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (!(e instanceof StartError)) log.error({ err: why }, 'could not start an incident from Slack');
      await tell(undefined, user, `Firebreak could not start the incident: ${mrkdwn(why)}`);
    }
  });
};
