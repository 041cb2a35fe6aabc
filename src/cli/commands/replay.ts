import { resolve } from 'node:path';
import { Option, type Command, type CommanderError } from 'commander';
import { getConfig } from '../../config/index.ts';
import type { RecordedHistory } from '../../replay/histories.ts';
import type { ReplayFailure } from '../../replay/replay.ts';
import { TemporalUnreachableError } from '../../wiring/temporal.ts';
import { note, out, outJson, SilentFailure } from '../io.ts';

/** `replay`'s own exit codes, as deploy pipelines read them. */
export const replayExit = { replayed: 0, nondeterminism: 1, cannotReplay: 2 } as const;

/** Open incidents: the ones a deploy can break. */
export const defaultReplayQuery = 'ExecutionStatus = "Running"';

/** A progress line on stderr every this many histories. */
const progressEvery = 25;

interface ReplayOpts {
  fromServer?: boolean;
  workflowId?: string[];
  query?: string;
  workflows?: string;
  json?: boolean;
}

function cannotReplay(message: string): never {
  note(`firebreak replay: ${message}`);
  throw new SilentFailure(replayExit.cannotReplay);
}

function describe(f: ReplayFailure): string {
  const where = f.eventId === undefined ? '' : ` at event ${f.eventId}${f.eventType ? ` (${f.eventType})` : ''}`;
  const what = f.kind === 'nondeterminism' ? `NONDETERMINISM  ${f.workflowId} (workflow ${f.workflowType}, ${f.source}) diverged${where}` : `REPLAY FAILED  ${f.workflowId} (workflow ${f.workflowType}, ${f.source})${where}`;
  return `${what}: ${f.message}`;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      'Replay recorded workflow histories against the current workflow code: exits 0 when every one replays, 1 when the code is nondeterministic for one (an open incident would fail after the deploy), 2 when histories cannot be read or fetched.',
    )
    .argument('[files...]', 'history files (JSON of `temporal workflow show --output json`, History.toJSON, or scripts/capture-histories.ts)')
    .addOption(new Option('--from-server', 'fetch the histories from Temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)'))
    .addOption(new Option('--workflow-id <id...>', 'with --from-server: these incidents (their latest runs)'))
    .addOption(new Option('--query <query>', `with --from-server: the workflows this visibility query matches (default: ${defaultReplayQuery})`))
    .addOption(new Option('--workflows <module>', 'replay against this workflows module instead of the worker\'s (e.g. a candidate build\'s workflows/index.ts)'))
    .addOption(new Option('--json', 'print the report as JSON'))
    // Usage errors are exit 2 here, not the CLI's usual 1: 1 means "nondeterministic" to a pipeline.
    .exitOverride((e: CommanderError) => {
      throw e.exitCode === 0 ? e : new SilentFailure(replayExit.cannotReplay);
    })
    .action(async (files: string[], opts: ReplayOpts) => {
      if (opts.fromServer && files.length > 0) cannotReplay('give history files or --from-server, not both.');
      if (!opts.fromServer && files.length === 0) cannotReplay('nothing to replay: give history files, or --from-server [--workflow-id ID… | --query Q].');
      if (!opts.fromServer && (opts.workflowId !== undefined || opts.query !== undefined)) cannotReplay('--workflow-id and --query select histories on the server: add --from-server.');
      if (opts.workflowId !== undefined && opts.query !== undefined) cannotReplay('give --workflow-id or --query, not both.');

      const { HistoryFileError, historiesById, historiesByQuery, readHistoryFile } = await import('../../replay/histories.ts');
      const { replayHistories } = await import('../../replay/replay.ts');
      const [{ createLogger }, { installRuntime }] = await Promise.all([import('../../log.ts'), import('../../worker/runtime.ts')]);
      // The replay worker logs its state changes at INFO: not this command's output.
      const config = getConfig();
      installRuntime(config.FIREBREAK_LOG_LEVEL, createLogger(config));
      let total: number | undefined;
      let histories: AsyncIterable<RecordedHistory> | Iterable<RecordedHistory>;
      let close = (): Promise<void> => Promise.resolve();
      if (opts.fromServer) {
        const { connectClient } = await import('../../wiring/temporal.ts');
        let client;
        try {
          client = await connectClient(config);
        } catch (e) {
          if (e instanceof TemporalUnreachableError) cannotReplay(e.message);
          throw e;
        }
        const c = client;
        close = () => c.connection.close();
        histories = opts.workflowId ? historiesById(c, opts.workflowId) : historiesByQuery(c, opts.query ?? defaultReplayQuery);
        if (opts.workflowId) total = opts.workflowId.length;
      } else {
        // Every file is read before replay starts: an unreadable one is a usage error, not a half-done check.
        const read: RecordedHistory[] = [];
        for (const f of files) {
          try {
            read.push(await readHistoryFile(resolve(f)));
          } catch (e) {
            if (e instanceof HistoryFileError) cannotReplay(e.message);
            throw e;
          }
        }
        histories = read;
        total = read.length;
      }

      let report;
      try {
        report = await replayHistories(histories, {
          ...(opts.workflows ? { workflowsPath: resolve(opts.workflows) } : {}),
          onProgress: (done) => {
            if (done % progressEvery === 0) note(`replayed ${done}${total ? ` of ${total}` : ''} histories…`);
          },
        });
      } catch (e) {
        // Fetching from the server failed part-way (it went away, the query is invalid): the check did not happen.
        if (opts.fromServer) cannotReplay(`could not fetch histories from Temporal: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      } finally {
        await close();
      }

      const nondeterministic = report.failures.length;
      if (opts.json) outJson(report);
      else {
        for (const f of report.failures) out(describe(f));
        if (report.replayed === 0) out(`No histories to replay${opts.fromServer ? ` (query: ${opts.query ?? defaultReplayQuery})` : ''}.`);
        else if (nondeterministic === 0) out(`${report.replayed} histor${report.replayed === 1 ? 'y' : 'ies'} replayed against the current workflow code: all deterministic.`);
        else out(`${nondeterministic} of ${report.replayed} histories do not replay: a worker running this code would fail those incidents. Put the change behind patched() (docs/upgrades.md).`);
      }
      if (nondeterministic > 0) throw new SilentFailure(replayExit.nondeterminism);
    });
}
