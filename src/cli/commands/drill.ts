/**
 * `firebreak drill run | compare | list`: tabletop drills — a runbook against a
 * simulated world in virtual time, scored (docs/drills.md).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { summarise } from '../../drills/summary.ts';
import { note, out, outJson, SilentFailure, UserError } from '../io.ts';

/** Exit code when a drill fails its `pass` thresholds or a `--fail-if` rule: distinct from 1 (bad input) and 2 (system failure). */
export const exitDrillFailed = 3;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

async function scenariosDir(): Promise<string> {
  const { repoRoot } = await import('../../sandbox/tools.ts');
  return path.join(repoRoot, 'scenarios');
}

/** A path, or the name of a shipped scenario (scenarios/<name>.yaml). */
async function resolveScenario(given: string): Promise<string> {
  if (existsSync(given)) return given;
  const shipped = path.join(await scenariosDir(), `${given}.yaml`);
  if (/^[a-z0-9-]+$/.test(given) && existsSync(shipped)) return shipped;
  throw new UserError(`no scenario file ${given}${/^[a-z0-9-]+$/.test(given) ? ` and no shipped scenario of that name (see \`firebreak drill list\`)` : ''}`);
}

interface RunOptions {
  json?: boolean;
  output?: string;
  report?: 'md' | 'html';
  reportOutput?: string;
  policy?: string;
  runbooks?: string;
  quiet?: boolean;
}

export function registerDrill(program: Command): void {
  const drill = program.command('drill').description('Tabletop drills: a runbook against a simulated world in compressed time, scored.');

  drill
    .command('run')
    .description('Run a scenario: the real runbook and activities against the simulated world its file describes, on a time-skipping Temporal server of its own; prints the scorecard.')
    .argument('<scenario>', 'a scenario file, or the name of a shipped one (firebreak drill list)')
    .option('--json', 'print the scorecard as JSON (firebreak.scorecard/v1)')
    .option('-o, --output <file>', 'also write the scorecard JSON to this file')
    .addOption(new Option('--report <format>', 'write the after-action report').choices(['md', 'html']))
    .option('--report-output <file>', 'where --report goes (default: <scenario>-drill.<md|html> in the current directory)')
    .option('--policy <file>', "run this policy file instead of the shipped one of the scenario's runbook (to rehearse a policy change)")
    .option('--runbooks <dir>', 'the policy directory (default: the shipped runbooks/)')
    .option('--quiet', 'no progress lines on stderr')
    .addHelpText(
      'after',
      `
Nothing real is touched: the drill's worker has no credentials, acts only on the simulated
world, polls a drill task queue, and every connection beyond loopback is refused and counted
(realCalls, which must be 0). Real workers refuse a drill's activities.

Exit codes: 0 the drill passed its thresholds, ${exitDrillFailed} it failed them, 1 bad input, 2 a system failure.

Examples:
  firebreak drill run leaked-ci-key
  firebreak drill run scenarios/role-session-abuse.yaml --json -o before.json --report md
  firebreak drill run leaked-ci-key --policy my-credential-compromise.yaml -o after.json`,
    )
    .action(async (given: string, opts: RunOptions) => {
      const [{ loadScenario, ScenarioError }, run, setup, tools, report, { RunbookValidationError, formatProblem }, runtime, { createLogger }, { getConfig }] = await Promise.all([
        import('../../drills/load.ts'),
        import('../../drills/run.ts'),
        import('../../drills/policies.ts'),
        import('../../sandbox/tools.ts'),
        import('../../drills/report.ts'),
        import('../../runbooks/index.ts'),
        import('../../worker/runtime.ts'),
        import('../../log.ts'),
        import('../../config/index.ts'),
      ]);
      const file = await resolveScenario(given);
      const progress = opts.quiet ? () => undefined : (line: string) => note(line);
      let loaded;
      let policies;
      try {
        loaded = await loadScenario(file);
        policies = await setup.drillPolicies({ scenario: loaded.scenario, ...(opts.runbooks ? { runbooksDir: opts.runbooks } : {}), ...(opts.policy ? { policyFile: opts.policy } : {}) });
      } catch (e) {
        if (e instanceof ScenarioError || e instanceof setup.DrillSetupError) throw new UserError(e.message);
        if (e instanceof RunbookValidationError) throw new UserError(`the policy is not valid:\n${e.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
        throw e;
      }
      // The drill's worker bundles the workflows and runs on the old time-skipping server: the SDK's bundler statistics
      // and its warning about that server's capabilities are not this command's output, unless asked for with debug.
      const config = getConfig();
      const level = config.FIREBREAK_LOG_LEVEL === 'debug' || config.FIREBREAK_LOG_LEVEL === 'trace' ? config.FIREBREAK_LOG_LEVEL : 'error';
      runtime.installRuntime(level, createLogger(config));
      const testServerPath = await tools.ensureTemporalTestServer(progress);
      progress(`drill ${loaded.scenario.scenario.name}: runbook ${policies.policy.id}, horizon ${loaded.scenario.horizon / 60_000} min of virtual time`);
      let card;
      try {
        card = await run.runDrill({ loaded, ...policies, testServerPath, progress });
      } catch (e) {
        if (e instanceof run.WorldSetupError) throw new UserError(e.message);
        throw e;
      }
      if (opts.output !== undefined) await writeFile(opts.output, `${JSON.stringify(card, null, 2)}\n`);
      if (opts.report !== undefined) {
        const target = opts.reportOutput ?? `${card.scenario.name}-drill.${opts.report}`;
        await writeFile(target, opts.report === 'md' ? report.renderScorecardMarkdown(card) : report.renderScorecardHtml(card));
        progress(`report written to ${target}`);
      }
      if (opts.json) outJson(card);
      else for (const line of summarise(card)) out(line);
      if (!card.pass) throw new SilentFailure(exitDrillFailed);
    });

  drill
    .command('compare')
    .description('Compare two scorecards (before and after a policy change): each figure, its change, and the rules that fail.')
    .argument('<a>', 'the baseline scorecard JSON')
    .argument('<b>', 'the scorecard to judge')
    .option('--fail-if <rule>', "exit 3 when b is worse than a by more than a limit, e.g. 'timeToContain>+20%' or 'adversaryActionsAfterAlert>+0'; repeatable", collect)
    .option('--json', 'print the comparison as JSON')
    .action(async (a: string, b: string, opts: { failIf?: string[]; json?: boolean }) => {
      const lib = await import('../../drills/compare.ts');
      const read = async (f: string) => {
        let text: string;
        try {
          text = await readFile(f, 'utf8');
        } catch (e) {
          throw new UserError(`cannot read scorecard ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
        }
        return lib.readScorecard(text, f);
      };
      let comparison;
      try {
        const rules = (opts.failIf ?? []).map((r) => lib.parseFailRule(r));
        comparison = lib.compareScorecards(await read(a), await read(b), rules);
      } catch (e) {
        if (e instanceof lib.CompareError) throw new UserError(e.message);
        throw e;
      }
      if (opts.json) outJson(comparison);
      else for (const line of lib.renderComparison(comparison).trimEnd().split('\n')) out(line);
      if (comparison.failed.length > 0) throw new SilentFailure(exitDrillFailed);
    });

  drill
    .command('list')
    .description('The shipped scenarios (scenarios/*.yaml) with their runbook and title.')
    .action(async () => {
      const { loadScenario } = await import('../../drills/load.ts');
      const dir = await scenariosDir();
      for (const f of (await readdir(dir)).filter((n) => n.endsWith('.yaml')).sort()) {
        const { scenario } = await loadScenario(path.join(dir, f));
        out(`${scenario.scenario.name.padEnd(32)} ${scenario.scenario.runbook.padEnd(24)} ${scenario.scenario.title}`);
      }
    });
}
