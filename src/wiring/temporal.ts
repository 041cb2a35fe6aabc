import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/index.ts';

export const defaultTemporalAddress = '127.0.0.1:7233';

export function temporalAddress(config: Pick<Config, 'TEMPORAL_ADDRESS'>): string {
  return config.TEMPORAL_ADDRESS ?? defaultTemporalAddress;
}

/** Raised when the Temporal frontend cannot be reached. */
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

/** The failure to connect to the frontend at `address` (a client's or a worker's connection), saying what to do. */
export function temporalUnreachable(address: string, cause: unknown): TemporalUnreachableError {
  return new TemporalUnreachableError(
    `Cannot reach Temporal at ${address} (${cause instanceof Error ? cause.message : String(cause)}). Start it with \`npm start\`, or set TEMPORAL_ADDRESS to your Temporal frontend.`,
  );
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
    throw temporalUnreachable(address, e);
  }
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}
