export { createSupplyChainActivities, defaultScope, repositoryOf, splitAction } from './scope.ts';
export type { ActionScope, ScopeDeps, ScopeSettings, SupplyChainActivities } from './scope.ts';
export { supplyChainFailure } from './errors.ts';
export type * from './types.ts';
