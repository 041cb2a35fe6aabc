// Every workflow the worker registers. The worker bundles this file.
export { preflight } from './preflight.ts';
export { containerEscape } from './containerEscape.ts';
export { credentialCompromise } from './credentialCompromise.ts';
export { supplyChain } from './supplyChain.ts';
