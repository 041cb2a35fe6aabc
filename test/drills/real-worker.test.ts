import { describe, expect, it } from 'vitest';
import { drillFailure } from '../../domain/failures.ts';
import { createWorker } from '../../src/worker/index.ts';
import { testDeps } from '../support/deps.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';

function config(taskQueue: string) {
  const info = sandbox();
  return { TEMPORAL_ADDRESS: info.temporalAddress, TEMPORAL_NAMESPACE: info.temporalNamespace, FIREBREAK_TASK_QUEUE: taskQueue };
}

describe('a real worker and drills', () => {
  it('refuses every activity of a drill incident that reaches it, before the activity runs', async () => {
    const taskQueue = uniqueName('real');
    const { worker, connection } = await createWorker({ config: config(taskQueue), deps: await testDeps() });
    const client = await temporalClient();
    try {
      const handle = await client.workflow.start('preflight', { taskQueue, workflowId: `credential-compromise.drill.${uniqueName('x')}` });
      await worker.runUntil(handle.result().catch(() => undefined));
      const history = await handle.fetchHistory();
      const failures = (history.events ?? []).flatMap((e) => (e.activityTaskFailedEventAttributes?.failure ? [e.activityTaskFailedEventAttributes.failure] : []));
      expect(failures.length).toBeGreaterThan(0);
      for (const f of failures) {
        expect(f.applicationFailureInfo?.type).toBe(drillFailure.refusedByRealWorker);
        expect(f.applicationFailureInfo?.nonRetryable).toBe(true);
        expect(f.message).toMatch(/reached a real worker, which refuses drills: run drills with `firebreak drill run`/);
      }
    } finally {
      await connection.close();
    }
  });
});
