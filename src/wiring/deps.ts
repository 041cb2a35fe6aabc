import type { Logger } from 'pino';
import type { ActivityDeps } from '../../activities/index.ts';
import { createClients, type ClientOverrides } from './clients.ts';
import type { Config } from '../config/index.ts';
import { createEvidenceStore } from './evidence.ts';

/** Everything the worker's activities use, built from configuration. */
export function createActivityDeps(config: Config, log: Logger, overrides: ClientOverrides = {}): ActivityDeps {
  return { ...createClients(config, log, overrides), evidence: createEvidenceStore(config, overrides) };
}
