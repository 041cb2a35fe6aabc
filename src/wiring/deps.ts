import type { Logger } from 'pino';
import type { ActivityDeps } from '../../activities/index.ts';
import { createClients, sbomS3Client, type ClientOverrides } from './clients.ts';
import { loadScope } from '../config/scope.ts';
import type { Config } from '../config/index.ts';
import { createEvidenceStore } from './evidence.ts';

/** Everything the worker's activities use, built from configuration. */
export function createActivityDeps(config: Config, log: Logger, overrides: ClientOverrides = {}): ActivityDeps {
  const supplyChainScope = loadScope(config.FIREBREAK_SUPPLY_CHAIN_SCOPE);
  return {
    ...createClients(config, log, overrides),
    evidence: createEvidenceStore(config, overrides),
    supplyChainScope,
    ...(supplyChainScope.sbomSources.some((s) => 's3' in s) ? { sbomS3: sbomS3Client(config, overrides) } : {}),
  };
}
