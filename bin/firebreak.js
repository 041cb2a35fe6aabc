#!/usr/bin/env node
// The `firebreak` command. Firebreak runs its TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that its releases after January 2027 need
// Node 22; the pinned SDK works on Node 20 (see the README's pinned versions).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
// The command is over: exit once its output is flushed, even if a library left a timer behind (Bolt retries
// its token check for half an hour when Slack is unreachable, which would keep a failed start alive).
process.exitCode = code;
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
