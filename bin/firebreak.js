#!/usr/bin/env node
// The `firebreak` command. Firebreak runs its TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that its releases after January 2027 need
// Node 22; the pinned SDK works on Node 20 (see the README's pinned versions).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
