import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { IncidentDocument, Target } from '../../../workflows/engine/types.ts';
import { Option, type Command } from 'commander';
import { getConfig, type Config } from '../../config/index.ts';
import { maxDocumentBytes, parseStartRequest, parseTarget, prepareStart, severities, startIncident, StartError, targetKinds, unknownRunbookMessage } from '../../incidents/start.ts';
import { note, out, outJson, UserError } from '../io.ts';
import { operatorIdentity, withClient } from '../client.ts';
import { readProblem } from '../../text/errno.ts';

interface StartOptions {
  target?: string[];
  advisory?: string[];
  cleanImage?: string[];
  input?: string;
  mode?: 'live' | 'dry-run';
  severity?: (typeof severities)[number];
  summary?: string;
  json?: boolean;
}

const examples = `
Examples:
  $ firebreak start container-escape --target pod:demo-shop/storefront-7d9c6b5f8-x7k2p --target node:sandbox-node-1
  $ firebreak start credential-compromise --target AKIAIOSFODNN7EXAMPLE
  $ firebreak start credential-compromise --target access-key:AKIAIOSFODNN7EXAMPLE --mode dry-run
  $ firebreak start credential-compromise --input request.json
  $ firebreak start supply-chain --advisory GHSA-mrrh-fwg8-r2c3.json
  $ firebreak start supply-chain --target package:pkg:npm/event-stream@3.3.6
  $ firebreak start supply-chain --target image:127.0.0.1:5000/shop/web@sha256:<64 hex> --clean-image 127.0.0.1:5000/shop/web@sha256:<64 hex>
  $ firebreak start supply-chain --target action:tj-actions/changed-files@v44

An --input file is a JSON start request:
  {"targets": [{"kind": "iam-user", "id": "demo-ci-deployer", "attributes": {"account": "123456789012"}}],
   "severity": "critical", "summary": "Key leaked in a public repo", "mode": "dry-run"}
(severity, summary, mode and attributes are optional; --mode, --severity and --summary override the file.)

The incident is requested by FIREBREAK_OPERATOR (recorded as cli:<name>), who then cannot approve its
two-person steps. Starting the same runbook again for the same targets joins the open incident.`;

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('Start a runbook on targets as FIREBREAK_OPERATOR, or join the incident already open for them.')
    .argument('<runbook>', 'runbook id (see `firebreak runbooks list`)')
    .addOption(
      new Option('--target <kind:id>', `what the incident acts on, repeatable; kind is one of ${targetKinds.join(', ')}; a bare AKIA…/ASIA… key id is an access-key`)
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        .conflicts('input'),
    )
    .addOption(new Option('--input <file>', 'a JSON start request (targets, severity, summary, mode) instead of --target').conflicts('target'))
    .addOption(
      new Option('--advisory <file>', 'an OSV JSON advisory the runbook matches (supply-chain); repeatable; its id becomes an advisory target').argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    )
    .addOption(
      new Option('--clean-image <image@digest>', 'a clean image to re-pin affected workloads of its repository to (supply-chain); repeatable').argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    )
    .addOption(
      new Option('--mode <mode>', 'live, or dry-run: real reads, Kubernetes writes sent with dryRun=All, AWS writes only recorded (default: live)').choices([
        'live',
        'dry-run',
      ]),
    )
    .addOption(new Option('--severity <level>', 'severity recorded on the timeline (default: high)').choices(severities))
    .option('--summary <text>', 'what happened, recorded on the timeline (default: "Started from the CLI by cli:<operator>")')
    .option('--json', 'print {incidentId, runId, workflowType} as JSON')
    .addHelpText('after', examples)
    .action(async (runbookId: string, opts: StartOptions) => {
      const config = getConfig();
      if (opts.target === undefined && opts.input === undefined && opts.advisory === undefined) {
        throw new UserError('say what the incident acts on: --target kind:id (repeatable), --advisory osv.json or --input file.json; see `firebreak start --help`.');
      }
      const requester = operatorIdentity(config);
      try {
        const advisories = await readAdvisories(opts.advisory ?? []);
        const clean = (opts.cleanImage ?? []).map((image) => ({ ...parseTarget(`image:${image}`), attributes: { use: 'clean' } }));
        const given = [...(opts.target?.map(parseTarget) ?? []), ...advisories.targets, ...clean];
        const targets = given.length === 0 ? undefined : given;
        const inputFile = opts.input === undefined ? undefined : { name: opts.input, text: await readInput(opts.input) };
        // The command's own arguments first: a malformed request is reported before the runbooks are read.
        if (inputFile !== undefined) parseStartRequest(inputFile);
        const { policies, catalog } = await loadPolicies(config, runbookId);
        const prepared = prepareStart({
          policies,
          catalog,
          groups: await approverGroups(config),
          runbookId,
          ...(targets === undefined ? {} : { targets }),
          ...(inputFile === undefined ? {} : { inputFile }),
          documents: advisories.documents,
          ...(opts.mode === undefined ? {} : { mode: opts.mode }),
          ...(opts.severity === undefined ? {} : { severity: opts.severity }),
          ...(opts.summary === undefined ? {} : { summary: opts.summary }),
          requester,
          now: new Date(),
        });
        const started = await withClient((client) => startIncident(client, prepared, config.FIREBREAK_TASK_QUEUE));
        if (opts.json) {
          outJson(started);
          return;
        }
        const { policy, mode } = prepared.input;
        out(`Incident ${started.incidentId} is open: ${policy.title} (${policy.id} v${policy.version})${mode === 'dry-run' ? ', dry-run' : ''}, requested by ${requester}.`);
        out(`Follow it: firebreak status ${started.incidentId}`);
      } catch (e) {
        if (e instanceof StartError) throw new UserError(e.message);
        throw e;
      }
    });
}

/** OSV advisory files: each advisory's id a target (the same advisory joins one incident), the file a document the runbook seals. */
async function readAdvisories(files: readonly string[]): Promise<{ targets: Target[]; documents: IncidentDocument[] }> {
  const { parseOsv, AdvisoryInputError } = await import('../../../activities/sbom/index.ts');
  const targets: Target[] = [];
  const documents: IncidentDocument[] = [];
  for (const file of files) {
    const text = await readInput(file, maxDocumentBytes);
    try {
      for (const a of parseOsv(text, file)) targets.push(parseTarget(`advisory:${a.id}`));
    } catch (e) {
      if (e instanceof AdvisoryInputError) throw new UserError(`--advisory ${e.message}`);
      throw e;
    }
    documents.push({ name: basename(file), kind: 'osv-advisory', text });
  }
  return { targets, documents };
}

/** The static approver groups, joined by their Slack user groups' members when FIREBREAK_SLACK_USERGROUPS maps any. */
async function approverGroups(config: Config): Promise<Record<string, string[]>> {
  if (Object.keys(config.FIREBREAK_SLACK_USERGROUPS).length === 0) return config.FIREBREAK_APPROVER_GROUPS;
  const [{ ApproverGroups }, { slackApi }] = await Promise.all([import('../../slack/groups.ts'), import('../../wiring/clients.ts')]);
  return new ApproverGroups(config, slackApi(config)).resolveOrStatic((message) => note(`warning: ${message}`));
}

/**
 * The valid policies of FIREBREAK_RUNBOOKS_DIR. A policy file with problems is
 * skipped rather than blocking every start (an incident is no time to fix an
 * unrelated runbook); it only matters when it is the one asked for.
 */
async function loadPolicies(config: Config, runbookId: string) {
  const [{ checkRunbooks, displayPath, findRunbookFiles }, { workflowCatalog }] = await Promise.all([
    import('../../runbooks/index.ts'),
    import('../../../workflows/catalog.ts'),
  ]);
  const dir = config.FIREBREAK_RUNBOOKS_DIR;
  let files: string[];
  try {
    files = await findRunbookFiles(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(
        `unknown runbook "${runbookId}": no runbook policies are installed: the runbooks directory ${displayPath(dir)} ${code === 'ENOENT' ? 'does not exist' : 'is not a directory'}; set FIREBREAK_RUNBOOKS_DIR to the directory that holds the runbook policies.`,
      );
    }
    throw e;
  }
  const { runbooks, problems } = await checkRunbooks(files, { catalog: workflowCatalog, groups: config.FIREBREAK_APPROVER_GROUPS });
  const policies = runbooks.map((r) => r.policy);
  if (!policies.some((p) => p.id === runbookId)) {
    const skipped = new Set(problems.map((p) => p.file)).size;
    throw new UserError(unknownRunbookMessage(runbookId, policies.map((p) => p.id), { dir: displayPath(dir), skipped }));
  }
  return { policies, catalog: workflowCatalog };
}

async function readInput(file: string, maxBytes?: number): Promise<string> {
  const option = maxBytes === undefined ? '--input' : '--advisory';
  try {
    if (maxBytes !== undefined && (await stat(file)).size > maxBytes) {
      throw new UserError(`${option} ${file} is over ${maxBytes / 1024} KiB: an OSV advisory is kilobytes; give the advisory itself, not a database export.`);
    }
    return await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `cannot read ${option} ${file}: ${readProblem(e, 'file')}; give ${maxBytes === undefined ? 'a JSON start request file' : 'an OSV JSON advisory file'} (see \`firebreak start --help\`).`,
    );
  }
}
