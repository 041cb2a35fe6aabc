/**
 * `firebreak scenario from-incident`: a recorded incident as a drill scenario
 * (docs/drills.md), to rehearse it again or against a changed policy.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { TimelineEvent } from '../../../workflows/engine/timeline.ts';
import { withClient } from '../client.ts';
import { note, out, UserError } from '../io.ts';

/** The events of a timeline JSON (`firebreak timeline --format json`) or of a scorecard (`drill run -o`). */
function eventsOf(text: string, file: string): TimelineEvent[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not JSON (${e instanceof Error ? e.message : String(e)}): give a timeline (firebreak timeline <incident> --format json) or a drill scorecard`);
  }
  const doc = data as { schema?: unknown; events?: unknown; timeline?: unknown } | null;
  const events = doc?.schema === 'firebreak.timeline/v1' ? doc.events : doc?.schema === 'firebreak.scorecard/v1' ? doc.timeline : undefined;
  if (!Array.isArray(events)) {
    throw new UserError(`${file} is neither a firebreak.timeline/v1 timeline nor a firebreak.scorecard/v1 scorecard (an event history is not read: export the timeline first)`);
  }
  return events as TimelineEvent[];
}

export function registerScenario(program: Command): void {
  const scenario = program.command('scenario').description('Drill scenarios made from what happened.');
  scenario
    .command('from-incident')
    .description(
      'Turn a recorded incident into a drill scenario: its alerts become injects at their offsets, its votes responder rules with their real delays, approvers who never answered unreachable responders, its targets the simulated world; identifiers are replaced by stable placeholders.',
    )
    .argument('<incident>', 'an incident id (read from Temporal), or a timeline JSON or drill scorecard file')
    .option('-o, --output <file>', 'write the scenario here instead of standard output')
    .option('--name <name>', 'the scenario name (lowercase, digits and dashes)', 'replayed-incident')
    .action(async (given: string, opts: { output?: string; name: string }) => {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(opts.name)) throw new UserError(`--name ${JSON.stringify(opts.name)}: expected a lowercase name such as leaked-ci-key-replay`);
      const lib = await import('../../drills/from-incident.ts');
      let events: TimelineEvent[];
      if (existsSync(given)) events = eventsOf(await readFile(given, 'utf8'), given);
      else {
        events = await withClient(async (client) => {
          const [{ loadTimeline }, { workflowsPath }] = await Promise.all([import('../../timeline/report.ts'), import('../../worker/paths.ts')]);
          return (await loadTimeline(client, given, { workflowsPath })).events;
        });
      }
      let made;
      try {
        made = lib.scenarioFromTimeline(events, { name: opts.name, source: existsSync(given) ? path.basename(given) : given });
      } catch (e) {
        if (e instanceof lib.FromIncidentError) throw new UserError(e.message);
        throw e;
      }
      const replaced = Object.entries(made.replaced).map(([kind, n]) => `${n} ${kind}`).join(', ') || 'nothing';
      if (opts.output === undefined) out(made.yaml.trimEnd());
      else {
        await writeFile(opts.output, made.yaml);
        note(`scenario written to ${opts.output}`);
      }
      note(`replaced by placeholders: ${replaced}; run it with: firebreak drill run ${opts.output ?? '<file>'}`);
    });
}
