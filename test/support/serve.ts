// Moved to src/sandbox/serve.ts so scripts (bench:production) can use it too; tests keep importing it from here.
export { sandboxWorkerEnv, sharedServeEnv, spawnServe, type LogLine } from '../../src/sandbox/serve.ts';
