/** What marks a tabletop drill, for the engine, the workers and every report. */

/** Drill workers poll only task queues named so; a real worker refuses any activity scheduled on one. */
export const drillTaskQueuePrefix = 'firebreak-drill-';

/** Drill incident ids carry this part, so no drill joins a live incident (or the reverse). */
export const drillIdPart = '.drill.';

/** A drill's incident: started by a drill, or by a person who said it is one (`source: drill`). */
export function isDrill(input: { drill?: unknown; trigger: { source: string } }): boolean {
  return input.drill !== undefined || input.trigger.source === 'drill';
}

/** Whether an activity belongs to a drill, from where Temporal scheduled it. */
export function isDrillActivity(info: { taskQueue: string; workflowExecution?: { workflowId: string } | undefined }): boolean {
  return info.taskQueue.startsWith(drillTaskQueuePrefix) || (info.workflowExecution?.workflowId.includes(drillIdPart) ?? false);
}
