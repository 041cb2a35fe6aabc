import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/worker/index.ts';
import { testDeps } from '../support/deps.ts';
import type { PreflightReport } from '../../workflows/preflight.ts';
import { sandbox, temporalClient, testAccountId, uniqueName } from '../support/servers.ts';

function config(taskQueue: string) {
  const info = sandbox();
  return { TEMPORAL_ADDRESS: info.temporalAddress, TEMPORAL_NAMESPACE: info.temporalNamespace, FIREBREAK_TASK_QUEUE: taskQueue };
}

describe('the worker on the Temporal dev server', () => {
  it('runs the preflight workflow from the bundled workflow code, its activities reaching Kubernetes and AWS', async () => {
    const taskQueue = uniqueName('preflight');
    const { worker, connection } = await createWorker({
      config: config(taskQueue),
      deps: await testDeps(),
    });
    const client = await temporalClient();
    try {
      const report = await worker.runUntil(
        client.workflow.execute('preflight', { taskQueue, workflowId: uniqueName('preflight') }),
      ) as PreflightReport;
      expect(report.ok).toBe(true);
      expect(report.checks).toEqual([
        expect.objectContaining({ system: 'kubernetes', ok: true, target: sandbox().kubeServer }),
        expect.objectContaining({ system: 'aws', ok: true, target: `account ${testAccountId}` }),
      ]);
    } finally {
      await connection.close();
    }
  });

  it('reports an unreachable system with what to fix instead of failing the workflow', async () => {
    const taskQueue = uniqueName('preflight');
    const { worker, connection } = await createWorker({
      config: config(taskQueue),
      deps: await testDeps({
        kube: undefined,
        sts: new STSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
      }),
    });
    const client = await temporalClient();
    try {
      const handle = await client.workflow.start('preflight', { taskQueue, workflowId: uniqueName('preflight') });
      const report = (await worker.runUntil(handle.result())) as PreflightReport;
      expect(report.ok).toBe(false);
      expect(report.checks[0]).toMatchObject({ system: 'kubernetes', ok: false, problem: expect.stringContaining('KUBECONFIG') });
      expect(report.checks[1]).toMatchObject({ system: 'aws', ok: false, problem: expect.stringContaining('credentials') });
      const history = await handle.fetchHistory();
      expect(history.events?.some((e) => e.workflowExecutionCompletedEventAttributes)).toBe(true);
    } finally {
      await connection.close();
    }
  });
});
