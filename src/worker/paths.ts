import { fileURLToPath } from 'node:url';

/** The module the worker bundles (and history replays load): every workflow Firebreak runs. */
export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
