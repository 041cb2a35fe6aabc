import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { isDrillActivity } from '../../domain/drills.ts';
import { drillFailure } from '../../domain/failures.ts';
import { createActivities, type ActivityDeps } from '../../activities/index.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import type { Config } from '../config/index.ts';
import { temporalAddress, temporalUnreachable } from '../wiring/temporal.ts';
import { timelineSinks } from '../timeline/sinks.ts';
import { workflowsPath } from './paths.ts';

export { workflowsPath };

export interface WorkerOptions {
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'FIREBREAK_TASK_QUEUE'>;
  deps: ActivityDeps;
  /** Overrides the task queue (drills and tests run their own). */
  taskQueue?: string;
  /** Receives every timeline event as it is recorded (default: dropped). */
  onTimelineEvent?: (event: TimelineEvent, incidentId: string, workflowType: string) => void;
}

/**
 * A real worker never acts for a drill: should a drill incident's activity
 * reach it (a drill started on a real task queue, a misrouted child), it is
 * refused before the activity runs, so a rehearsal cannot touch a real system.
 */
export const refuseDrills: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    execute: (input, next) => {
      if (isDrillActivity(ctx.info)) {
        throw ApplicationFailure.create({
          type: drillFailure.refusedByRealWorker,
          nonRetryable: true,
          message: `Activity ${ctx.info.activityType} of drill incident ${ctx.info.workflowExecution?.workflowId ?? '?'} reached a real worker, which refuses drills: run drills with \`firebreak drill run\`, whose worker acts on a simulated world.`,
        });
      }
      return next(input);
    },
  },
});

/**
 * Creates a worker that serves every workflow and activity on the task queue.
 * `worker.run()` resolves after a graceful shutdown: on SIGINT/SIGTERM the
 * worker stops polling, lets in-flight activities finish (up to 30 s) and exits.
 */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const address = temporalAddress(opts.config);
  const connection = await NativeConnection.connect({ address }).catch((e: unknown) => {
    throw temporalUnreachable(address, e);
  });
  try {
    const worker = await Worker.create({
      connection,
      namespace: opts.config.TEMPORAL_NAMESPACE,
      taskQueue: opts.taskQueue ?? opts.config.FIREBREAK_TASK_QUEUE,
      workflowsPath,
      activities: createActivities(opts.deps),
      sinks: timelineSinks(opts.onTimelineEvent ?? (() => undefined)),
      interceptors: { activity: [refuseDrills] },
      shutdownGraceTime: '30 seconds',
    });
    return { worker, connection };
  } catch (e) {
    await connection.close();
    throw e;
  }
}
