/**
 * `npm run histories:capture`: runs every runbook's main paths on the test
 * servers and writes their sanitised histories to test/histories/ (or
 * FIREBREAK_HISTORIES_DIR), which `npm test` replays (test/replay/). Run it
 * after a deliberate change to what a runbook records (a new step, behind
 * patched()), review the diff, commit the files: histories of the old code
 * stay too, so open incidents keep being checked (docs/upgrades.md).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const run = spawnSync(process.execPath, [vitest, 'run', '--config', 'test/replay/capture/vitest.config.ts', ...process.argv.slice(2)], { cwd: repoRoot, stdio: 'inherit' });
process.exit(run.status ?? 2);
