import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { getConfig, type Config } from '../config/index.ts';
import { connectClient } from '../wiring/temporal.ts';
import { UserError } from './io.ts';

/** The identity the CLI acts as: from configuration, never from the command line. */
export function operatorIdentity(config: Pick<Config, 'FIREBREAK_OPERATOR'>): string {
  if (config.FIREBREAK_OPERATOR === undefined) {
    throw new UserError(
      'FIREBREAK_OPERATOR is not set: set it to your operator name (e.g. FIREBREAK_OPERATOR=alice); your decisions are recorded as cli:<name>.',
    );
  }
  return `cli:${config.FIREBREAK_OPERATOR}`;
}

/**
 * Runs a command against Temporal and closes the connection after it, turning
 * the expected failures (no such incident, a refused update) into one-line
 * user errors.
 */
export async function withClient<T>(fn: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = getConfig();
  const client = await connectClient(config);
  try {
    return await fn(client, config);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) {
      throw new UserError(`No open incident "${e.workflowId ?? '?'}": see \`firebreak list\` for incident ids.`);
    }
    if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
      throw new UserError(e.cause.message);
    }
    throw e;
  } finally {
    await client.connection.close();
  }
}
