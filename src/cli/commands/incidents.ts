import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { closeUpdate, decideUpdate, rollbackUpdate, statusQuery, type IncidentStatus } from '../../../workflows/engine/messages.ts';
import type { StepState } from '../../../workflows/engine/types.ts';
import { operatorIdentity, withClient } from '../client.ts';
import { describeFailure, incidentFailure } from '../../timeline/outcome.ts';
import { exit, out, outJson, SilentFailure, UserError } from '../io.ts';
import { preflightWorkflow } from '../../../workflows/catalog.ts';

function describeStep(s: StepState): string {
  const votes = s.approvals.map((v) => `${v.actor}${v.reason ? ` ("${v.reason}")` : ''}`).join(', ');
  const gate = typeof s.gate === 'string' ? '' : ` (${s.approvals.length} of ${s.gate.required})`;
  const denial = s.denial ? `; denied by ${s.denial.actor}: ${s.denial.reason ?? ''}` : '';
  const deadline = s.deadline ? `; deadline ${s.deadline}` : '';
  return `${s.id}: ${s.status}${gate}${votes ? `; approved by ${votes}` : ''}${denial}${deadline}${s.escalated ? '; escalated' : ''}`;
}

function printStatus(s: IncidentStatus): void {
  out(`${s.incidentId}  ${s.runbook.title} (${s.runbook.id} v${s.runbook.version})`);
  out(`  phase     ${s.phase}${s.mode === 'dry-run' ? ' (dry-run)' : ''}${s.currentStep ? `, working on ${s.currentStep}` : ''}`);
  out(`  trigger   ${s.trigger.source} ${s.trigger.severity}: ${s.trigger.summary}`);
  out(`  requester ${s.requester}`);
  out(`  targets   ${s.targets.map((t) => `${t.kind}:${t.id}`).join(', ')}`);
  out(`  counts    ${s.counts.alerts} alert(s), ${s.counts.evidence} evidence, ${s.counts.actions} action(s), ${s.counts.failures} failure(s)`);
  for (const p of s.pendingApprovals) {
    out(`  PENDING   ${p.step}: ${p.approvals} of ${p.required} from ${p.approvers.join(', ')}${p.twoPerson ? ' (two-person)' : ''}${p.deadline ? `, by ${p.deadline}` : ''}`);
  }
  for (const step of s.steps) out(`  step      ${describeStep(step)}`);
}

export function registerIncidents(program: Command): void {
  program
    .command('list')
    .description('List incidents, newest first.')
    .option('--open', 'only incidents that are still open')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: { open?: boolean; json?: boolean; limit: string }) => {
      await withClient(async (client) => {
        const query = `WorkflowType != '${preflightWorkflow}'${opts.open ? " AND ExecutionStatus = 'Running'" : ''}`;
        const rows: { incidentId: string; runbook: string; status: string; started: string; closed?: string }[] = [];
        for await (const w of client.workflow.list({ query, pageSize: 100 })) {
          rows.push({
            incidentId: w.workflowId,
            runbook: w.type,
            status: w.status.name.toLowerCase(),
            started: w.startTime.toISOString(),
            ...(w.closeTime ? { closed: w.closeTime.toISOString() } : {}),
          });
          if (rows.length >= Number(opts.limit)) break;
        }
        if (opts.json) return outJson(rows);
        if (rows.length === 0) return out(opts.open ? 'No open incidents.' : 'No incidents.');
        for (const r of rows) out(`${r.status.padEnd(10)} ${r.started}  ${r.incidentId}  (${r.runbook})`);
      });
    });

  program
    .command('status')
    .description('Show an incident: phase, targets, steps, pending approvals.')
    .argument('<incident>', 'incident id (see `firebreak list`)')
    .option('--json', 'print JSON')
    .action(async (incident: string, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(incident);
        // A workflow that failed at its first line never registered its queries: say how it ended instead.
        const { status: workflowStatus } = await handle.describe();
        const failure = await incidentFailure(handle, workflowStatus.name);
        if (failure !== undefined) {
          if (!opts.json) throw new UserError(`Incident ${incident} ${describeFailure(failure)}`);
          outJson({ incidentId: incident, workflowStatus: workflowStatus.name.toLowerCase(), failure });
          throw new SilentFailure(exit.user);
        }
        const status = await handle.query(statusQuery);
        if (opts.json) outJson(status);
        else printStatus(status);
      });
    });

  for (const decision of ['approve', 'deny'] as const) {
    program
      .command(decision)
      .description(
        decision === 'approve'
          ? 'Approve a step awaiting a decision, as FIREBREAK_OPERATOR.'
          : 'Deny a step awaiting a decision, as FIREBREAK_OPERATOR (a reason is required).',
      )
      .argument('<incident>', 'incident id')
      .argument('<step>', 'step id (see `firebreak status`)')
      .addOption(
        decision === 'deny'
          ? new Option('--reason <text>', 'why (recorded on the timeline)').makeOptionMandatory()
          : new Option('--reason <text>', 'why (recorded on the timeline)'),
      )
      .option('--json', 'print the step state as JSON')
      .action(async (incident: string, step: string, opts: { reason?: string; json?: boolean }) => {
        await withClient(async (client, config) => {
          const actor = operatorIdentity(config);
          const state = await client.workflow.getHandle(incident).executeUpdate(decideUpdate, {
            args: [{ step, decision, actor, ...(opts.reason === undefined ? {} : { reason: opts.reason }) }],
          });
          if (opts.json) outJson(state);
          else out(describeStep(state));
        });
      });
  }

  program
    .command('rollback')
    .description("Roll back the incident's containment actions, newest first (gated by the runbook's rollback policy).")
    .argument('<incident>', 'incident id')
    .option('--reason <text>', 'why (recorded on the timeline)')
    .option('--json', 'print JSON')
    .action(async (incident: string, opts: { reason?: string; json?: boolean }) => {
      await withClient(async (client, config) => {
        const actor = operatorIdentity(config);
        const state = await client.workflow.getHandle(incident).executeUpdate(rollbackUpdate, {
          args: [{ actor, ...(opts.reason === undefined ? {} : { reason: opts.reason }) }],
        });
        if (opts.json) outJson(state);
        else out(state.status === 'awaiting-approval' ? `rollback awaits approval: ${describeStep(state)}` : `rollback ${state.status}`);
      });
    });

  program
    .command('close')
    .description('Close an incident once containment is confirmed; it can no longer be rolled back.')
    .argument('<incident>', 'incident id')
    .option('--reason <text>', 'why (recorded on the timeline)')
    .action(async (incident: string, opts: { reason?: string }) => {
      await withClient(async (client, config) => {
        const actor = operatorIdentity(config);
        const status = await client.workflow.getHandle(incident).executeUpdate(closeUpdate, {
          args: [{ actor, ...(opts.reason === undefined ? {} : { reason: opts.reason }) }],
        });
        out(`${status.incidentId} closed`);
      });
    });

  program
    .command('timeline')
    .description('Export an incident timeline: Markdown or HTML post-incident report, JSON (firebreak.timeline/v1) or CSV.')
    .argument('<incident>', 'incident id')
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'html', 'json', 'csv']).default('md'))
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('--from-history', 'rebuild from the event history even if a worker answers')
    .action(async (incident: string, opts: { format: 'md' | 'html' | 'json' | 'csv'; output?: string; fromHistory?: boolean }) => {
      await withClient(async (client, config) => {
        const [{ loadTimeline, IncidentNotFoundError }, render, { renderHtml }, { workflowsPath }, { createLogger }, { installRuntime }] = await Promise.all([
          import('../../timeline/report.ts'),
          import('../../timeline/render.ts'),
          import('../../timeline/render-html.ts'),
          import('../../worker/paths.ts'),
          import('../../log.ts'),
          import('../../worker/runtime.ts'),
        ]);
        // Rebuilding from history bundles the workflows; the SDK logs the bundler's output at INFO, which is not this command's output.
        installRuntime(config.FIREBREAK_LOG_LEVEL, createLogger(config));
        let report;
        try {
          report = await loadTimeline(client, incident, { workflowsPath, preferHistory: opts.fromHistory ?? false });
        } catch (e) {
          if (e instanceof IncidentNotFoundError) throw new UserError(e.message);
          throw e;
        }
        const renderers = { md: render.renderMarkdown, html: renderHtml, json: render.renderJson, csv: render.renderCsv };
        const text = renderers[opts.format](report);
        if (opts.output === undefined) process.stdout.write(text);
        else {
          await writeFile(opts.output, text, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'EEXIST') throw new UserError(`${opts.output} exists already: choose another file name.`);
            throw e;
          });
          out(`wrote ${report.events.length} events (${report.source}) to ${opts.output}`);
        }
      });
    });
}
