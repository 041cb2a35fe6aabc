import { Option, type Command } from 'commander';
import type { PreflightReport } from '../../../workflows/preflight.ts';
import { withClient } from '../client.ts';
import { exit, out, outJson, positiveInt, SilentFailure, UserError } from '../io.ts';
import { preflightWorkflow } from '../../../workflows/catalog.ts';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Check, through a running worker, that Firebreak can reach Temporal, Kubernetes and AWS.')
    .addOption(new Option('--json', 'print the report as JSON'))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for a worker').default(30).argParser(positiveInt))
    .action(async (opts: { json?: boolean; timeout: number }) => {
      await withClient(async (client, config) => {
        const handle = await client.workflow.start(preflightWorkflow, {
          taskQueue: config.FIREBREAK_TASK_QUEUE,
          workflowId: `preflight-${new Date().toISOString()}`,
          workflowExecutionTimeout: `${opts.timeout} seconds`,
        });
        let report: PreflightReport;
        try {
          report = (await handle.result()) as PreflightReport;
        } catch {
          throw new UserError(
            `No worker answered on task queue ${config.FIREBREAK_TASK_QUEUE} within ${opts.timeout}s: start one with \`npm start\` or \`firebreak serve\`.`,
          );
        }
        if (opts.json) outJson(report);
        else {
          for (const c of report.checks) {
            out(`${c.ok ? 'ok  ' : 'FAIL'} ${c.system.padEnd(10)} ${c.target}${c.identity ? ` as ${c.identity}` : ''}`);
            if (c.problem) out(`     ${c.problem}`);
          }
        }
        if (!report.ok) throw new SilentFailure(exit.user);
      });
    });
}
