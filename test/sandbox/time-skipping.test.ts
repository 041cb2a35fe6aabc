import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { timeSkippingEnv, uniqueName } from '../support/servers.ts';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows.ts', import.meta.url));

describe('the Temporal time-skipping test server', () => {
  it('completes a one-hour timer in a few seconds of wall time', async () => {
    const env = await timeSkippingEnv();
    const taskQueue = uniqueName('timer');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath,
      activities: { echo: (t: string) => Promise.resolve(t) },
    });
    const oneHour = 60 * 60 * 1000;
    const wallStart = Date.now();
    const serverStart = await env.currentTimeMs();
    const slept = await worker.runUntil(
      env.client.workflow.execute('sleeper', { taskQueue, workflowId: uniqueName('sleeper'), args: [oneHour] }),
    );
    expect(slept).toBe(oneHour);
    expect((await env.currentTimeMs()) - serverStart).toBeGreaterThanOrEqual(oneHour);
    expect(Date.now() - wallStart).toBeLessThan(30_000);
  });
});
