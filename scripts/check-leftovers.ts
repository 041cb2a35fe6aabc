/**
 * Run after the test suite (by .ci/run): fails if a server started by the test
 * harness is still running, or if the tests left the work tree dirty.
 */
import { execFileSync } from 'node:child_process';
import { findOwnedProcesses, testRunOwnerPrefix } from '../src/sandbox/processes.ts';

const problems: string[] = [];
const leftovers = findOwnedProcesses(testRunOwnerPrefix);
for (const p of leftovers) problems.push(`server still running after the tests: pid ${p.pid} (${p.owner}): ${p.command}`);

const status = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim();
if (status !== '') problems.push(`the tests left the work tree changed (git status --porcelain):\n${status}`);

if (problems.length > 0) {
  console.error(`check-leftovers: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('check-leftovers: no harness server is running and the work tree is clean.');
