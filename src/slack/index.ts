/**
 * The Slack app as a process role: connects to Temporal, loads the runbook
 * policies `/incident` offers, and serves Slack (HTTP or Socket Mode).
 */
import type { Logger } from 'pino';
import { workflowCatalog } from '../../workflows/catalog.ts';
import { slackApi } from '../wiring/clients.ts';
import type { Config } from '../config/index.ts';
import { loadRunbooks } from '../runbooks/loader.ts';
import { connectClient } from '../wiring/temporal.ts';
import { SlackConfigError, slackConfigProblem, startSlackApp, type RunningSlackApp } from './app.ts';
import { ApproverGroups } from './groups.ts';

export { SlackConfigError, slackConfigProblem, startSlackApp, type RunningSlackApp } from './app.ts';

/** Group names policies may use: the static lists and the Slack user groups (members are read at start of an incident). */
export function approverGroupNames(config: Pick<Config, 'FIREBREAK_APPROVER_GROUPS' | 'FIREBREAK_SLACK_USERGROUPS'>): Record<string, string[]> {
  return { ...Object.fromEntries(Object.keys(config.FIREBREAK_SLACK_USERGROUPS).map((name) => [name, []])), ...config.FIREBREAK_APPROVER_GROUPS };
}

/** Starts the Slack app from configuration; its message names any variable the chosen mode is missing. */
export async function startSlack(config: Config, log: Logger, opts: { port?: number } = {}): Promise<RunningSlackApp> {
  const problem = slackConfigProblem(config);
  if (problem !== undefined) throw new SlackConfigError(problem);
  const runbooks = await loadRunbooks(config.FIREBREAK_RUNBOOKS_DIR, { catalog: workflowCatalog, groups: approverGroupNames(config) });
  const policies = runbooks.map((r) => r.policy);
  const temporal = await connectClient(config);
  try {
    const app = await startSlackApp({
      config,
      temporal,
      taskQueue: config.FIREBREAK_TASK_QUEUE,
      runbooks: () => Promise.resolve({ policies, catalog: workflowCatalog }),
      groups: new ApproverGroups(config, slackApi(config)),
      log,
      ...(opts.port === undefined ? {} : { port: opts.port }),
    });
    return {
      ...app,
      stop: async () => {
        await app.stop();
        await temporal.connection.close();
      },
    };
  } catch (e) {
    await temporal.connection.close();
    throw e;
  }
}
