// `npm run histories:capture`: the repository's test setup (real servers), running only the capture file.
import { defineConfig } from 'vitest/config';
import base from '../../../vitest.config.ts';

export default defineConfig({ ...base, test: { ...base.test, include: ['test/replay/capture/*.capture.ts'], testTimeout: 180_000, fileParallelism: false } });
