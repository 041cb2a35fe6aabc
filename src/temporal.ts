import { Client, Connection } from '@temporalio/client';
import type { Config } from './config/index.ts';

export const defaultTemporalAddress = '127.0.0.1:7233';

export function temporalAddress(config: Pick<Config, 'TEMPORAL_ADDRESS'>): string {
  return config.TEMPORAL_ADDRESS ?? defaultTemporalAddress;
}

/** Raised when the Temporal frontend cannot be reached. */
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

/** A Temporal client for the configured frontend and namespace. */
export async function connectClient(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>,
): Promise<Client> {
  const address = temporalAddress(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5000 });
  } catch (e) {
    throw new TemporalUnreachableError(
      `Cannot reach Temporal at ${address} (${e instanceof Error ? e.message : String(e)}). Start it with \`npm start\`, or set TEMPORAL_ADDRESS to your Temporal frontend.`,
    );
  }
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}
