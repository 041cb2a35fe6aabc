export { supplyChainFailure } from '../../domain/failures.ts';
