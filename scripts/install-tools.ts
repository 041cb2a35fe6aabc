/**
 * `npm run tools`: installs (or confirms cached) every external tool the local
 * sandbox and the tests run, and prints where each one lives.
 */
import { ensureTools, ToolInstallError } from '../src/sandbox/tools.ts';

try {
  const paths = await ensureTools();
  for (const [name, path] of Object.entries(paths)) console.log(`${name.padEnd(20)} ${path}`);
} catch (e) {
  if (e instanceof ToolInstallError) {
    console.error(`firebreak tools: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
