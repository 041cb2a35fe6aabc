/**
 * `firebreak route --source <source> <file>`: what intake would do with an
 * alert, without starting anything; and `firebreak alerts unrouted`: the
 * alerts intake accepted that matched no runbook.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { getConfig } from '../../config/index.ts';
import type { UnroutedRecord } from '../../intake/service.ts';
import { printableLine } from '../../text/terminal.ts';
import { parseDuration } from '../../runbooks/schema.ts';
import { note, out, outJson, positiveInt, UserError } from '../io.ts';
import { readProblem } from '../../text/errno.ts';
import { RunbookValidationError } from '../../runbooks/loader.ts';
import { alertSources, type AlertSource } from '../../../domain/vocabulary.ts';


function describeEntities(entities: Record<string, string | string[]>): string {
  const parts = Object.entries(entities).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`);
  return parts.length === 0 ? '(none)' : parts.join(' ');
}

export function registerIntake(program: Command): void {
  program
    .command('route')
    .description('Show how intake would route an alert payload (normalised alert, runbook, correlation key, auto-containment) without starting anything.')
    .addOption(new Option('--source <source>', 'the endpoint the payload would be posted to').choices(alertSources).makeOptionMandatory())
    .option('--runbooks <dir>', 'policy directory (default: FIREBREAK_RUNBOOKS_DIR)')
    .option('--json', 'print the result as JSON')
    .argument('<file>', 'the payload, as the source sends it (JSON)')
    .action(async (file: string, opts: { source: AlertSource; runbooks?: string; json?: boolean }) => {
      const config = getConfig();
      const [{ normaliseBody, InvalidPayloadError }, { routeAlert, unroutedReasonOf }, { loadPoliciesForRouting }] = await Promise.all([
        import('../../intake/normalise.ts'),
        import('../../intake/router.ts'),
        import('../../intake/policies.ts'),
      ]);
      let body: string;
      try {
        body = await readFile(file, 'utf8');
      } catch (e) {
        throw new UserError(`cannot read ${file}: ${readProblem(e, 'file')}`);
      }
      let alerts;
      try {
        // As intake normalises it: with the configured default cluster (FIREBREAK_DEFAULT_CLUSTER).
        alerts = normaliseBody(opts.source, body, new Date().toISOString(), { defaultCluster: config.FIREBREAK_DEFAULT_CLUSTER });
      } catch (e) {
        if (e instanceof InvalidPayloadError) {
          throw new UserError(
            `${file} is not a valid ${opts.source} payload (intake would answer 400):\n${e.problems.map((p) => `  ${p.path === '' ? '(body)' : p.path}: ${p.message}`).join('\n')}`,
          );
        }
        throw e;
      }
      const loaded = await loadPoliciesForRouting(opts.runbooks ?? config.FIREBREAK_RUNBOOKS_DIR, config.FIREBREAK_APPROVER_GROUPS).catch((e: unknown) => {
        throw e instanceof RunbookValidationError ? new UserError(e.message) : e;
      });
      for (const n of loaded.notes) note(`firebreak: note: ${n}`);
      const results = alerts.map((alert) => ({
        alert,
        routes: routeAlert(alert, loaded.policies).map((r) => ({
          runbook: r.policy.id,
          version: r.policy.version,
          workflow: r.policy.workflow,
          correlationKey: r.correlationKey,
          incidentId: r.incidentId,
          autoContain: r.autoContainSteps,
          targets: r.targets,
        })),
      }));
      if (opts.json) {
        outJson({ alerts: results });
        return;
      }
      results.forEach(({ alert, routes }, i) => {
        if (i > 0) out('');
        out(printableLine(`Alert ${alerts.length > 1 ? `${i + 1} of ${alerts.length} ` : ''}(${alert.source}, ${alert.status}, ${alert.severity})`));
        out(printableLine(`  id          ${alert.id}`));
        out(printableLine(`  rule        ${alert.rule}`));
        out(printableLine(`  summary     ${alert.summary}`));
        out(printableLine(`  time        ${alert.time}`));
        out(printableLine(`  entities    ${describeEntities({ ...alert.entities })}`));
        if (Object.keys(alert.labels).length > 0) out(printableLine(`  labels      ${describeEntities(alert.labels)}`));
        if (alert.problems !== undefined) {
          out(`Not routed: intake would store it as unrouted (${unroutedReasonOf(alert)}):`);
          for (const p of alert.problems) out(`  ${printableLine(p)}`);
          return;
        }
        if (routes.length === 0) {
          out(
            alert.status === 'resolved'
              ? 'No runbook matches: intake would store it as unrouted (firebreak alerts unrouted).'
              : 'No runbook matches: intake would accept it and store it as unrouted (firebreak alerts unrouted).',
          );
          return;
        }
        for (const r of routes) {
          out(printableLine(`Runbook ${r.runbook} v${r.version} (workflow ${r.workflow})`));
          out(printableLine(`  correlation key  ${r.correlationKey}`));
          out(printableLine(`  incident id      ${r.incidentId}`));
          out(printableLine(`  targets          ${r.targets.map((t) => `${t.kind}:${t.id}`).join(', ')}`));
          if (alert.status === 'resolved') out('  resolved         recorded on the open incident\'s timeline (stored as unrouted if none is open)');
          else {
            out(
              r.autoContain.length > 0
                ? `  auto-containment yes: ${r.autoContain.join(', ')} run${r.autoContain.length === 1 ? 's' : ''} without waiting for approval (when this alert opens the incident)`
                : '  auto-containment no: every gated step waits for a human',
            );
          }
        }
      });
    });

  const alertsCommand = program.command('alerts').description('Alerts intake accepted.');
  alertsCommand
    .command('unrouted')
    .description(
      'List the alerts intake stored because no runbook matched them, they were invalid (invalid-alert, invalid-name) or about nothing a runbook acts on (unsupported-finding), or a resolved alert found no open incident; newest last. The store keeps its newest records within a bound (docs/alerts.md).',
    )
    .addOption(new Option('--limit <n>', 'show at most the newest n records').default(50).argParser(positiveInt))
    .option('--since <when>', 'only records stored since then: a duration back from now ("30m", "2h", "7d") or an ISO 8601 time', sinceTime)
    .option('--json', 'print the records as JSON, raw payloads included')
    .action(async (opts: { limit: number; since?: number; json?: boolean }) => {
      const config = getConfig();
      const [{ unroutedFile }, { RequestLog }] = await Promise.all([import('../../intake/service.ts'), import('../../intake/store.ts')]);
      const store = new RequestLog<Omit<UnroutedRecord, 'storedAt'>>(unroutedFile(config.FIREBREAK_DATA_DIR));
      const all = await store.list();
      const since = opts.since;
      const matching = since === undefined ? all : all.filter((r) => Date.parse(r.storedAt) >= since);
      const records = matching.slice(-opts.limit);
      if (opts.json) {
        out(JSON.stringify(records, null, 2));
        return;
      }
      if (records.length === 0) {
        out(`No unrouted alerts${since === undefined ? '' : ` since ${new Date(since).toISOString()}`} (${store.file}).`);
        return;
      }
      for (const r of records) {
        out(printableLine(`${r.storedAt}  ${r.alert.source.padEnd(12)} ${r.alert.severity.padEnd(8)} ${r.alert.rule}  [${r.reason}]`));
        out(`  ${printableLine(r.alert.summary)}`);
        out(`  ${printableLine(`id ${r.alert.id}; entities ${describeEntities({ ...r.alert.entities })}`)}`);
        for (const p of r.alert.problems ?? []) out(`  problem: ${printableLine(p)}`);
      }
      const shown = records.length < matching.length ? `the newest ${records.length} of ${matching.length}` : String(records.length);
      out(`${shown} unrouted alert${matching.length === 1 ? '' : 's'} in ${store.file}${records.length < matching.length ? ' (--limit shows more)' : ''}`);
    });
}

/** `--since`: a duration back from now, or an ISO 8601 time; as epoch milliseconds. */
function sinceTime(value: string): number {
  const ms = parseDuration(value);
  if (ms !== undefined) return Date.now() - ms;
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) throw new UserError(`--since expects a duration such as "30m", "2h" or "7d", or an ISO 8601 time such as 2026-11-28T15:00:00Z; got "${printableLine(value)}"`);
  return t;
}
