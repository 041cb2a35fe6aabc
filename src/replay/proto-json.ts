/**
 * Workflow histories to and from JSON (proto3 JSON, as `temporal workflow
 * show --output json` writes it). The SDK's historyFromJSON/historyToJSON
 * fail in this install ("type must be a Type"): @temporalio/common and
 * @temporalio/proto each get their own copy of protobufjs 8, and the JSON
 * codec of one refuses the other's types. This uses the codec of the copy
 * @temporalio/proto resolves, whichever it is, so it keeps working once npm
 * dedupes them.
 */
import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils.js';

interface ProtoType {
  fromObject(value: unknown): unknown;
}
interface ProtoJson {
  fromJson(type: ProtoType, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
  toJson(type: ProtoType, message: unknown): unknown;
}

const require = createRequire(import.meta.url);
const fromProto = createRequire(require.resolve('@temporalio/proto'));
const protojson = fromProto('protobufjs/ext/protojson') as ProtoJson;
const { patchProtobufRoot } = fromProto('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot: <T>(root: T) => T & { lookupType(name: string): ProtoType } };
const historyType = patchProtobufRoot(fromProto('@temporalio/proto') as Record<string, unknown>).lookupType('temporal.api.history.v1.History');

type Json = Record<string, unknown>;

// Older tools write enum values in PascalCase without their prefix ("WorkflowExecutionStarted"); proto3 JSON spells them in full.
function constantCase(s: string): string {
  return s.replace(/[^\b][A-Z]/g, (m) => `${m[0]}_${m[1]}`).toUpperCase();
}
function fullEnum(obj: Json | undefined, field: string, prefix: string): Json {
  const v = obj?.[field];
  return typeof v === 'string' && !v.startsWith(prefix) ? { [field]: `${prefix}_${constantCase(v)}` } : {};
}

function fixEvent(e: Json): Json {
  const attrsKey = Object.keys(e).find((k) => k.endsWith('EventAttributes'));
  if (attrsKey === undefined) return e;
  const attrs = e[attrsKey] as Json;
  const taskQueue = attrs['taskQueue'] as Json | undefined;
  const childFailure = attrs['childWorkflowExecutionFailureInfo'] as Json | undefined;
  return {
    ...e,
    ...fullEnum(e, 'eventType', 'EVENT_TYPE'),
    [attrsKey]: {
      ...attrs,
      ...(taskQueue ? { taskQueue: { ...taskQueue, ...fullEnum(taskQueue, 'kind', 'TASK_QUEUE_KIND') } } : {}),
      ...fullEnum(attrs, 'parentClosePolicy', 'PARENT_CLOSE_POLICY'),
      ...fullEnum(attrs, 'workflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY'),
      ...fullEnum(attrs, 'initiator', 'CONTINUE_AS_NEW_INITIATOR'),
      ...fullEnum(attrs, 'retryState', 'RETRY_STATE'),
      ...(childFailure ? { childWorkflowExecutionFailureInfo: { ...childFailure, ...fullEnum(childFailure, 'retryState', 'RETRY_STATE') } } : {}),
    },
  };
}

/**
 * A history from its JSON: proto3 JSON (timestamps as text), or the object a
 * protobufjs message's `toJSON()` gives (timestamps as `{ seconds, nanos }`).
 * Unknown fields (a newer server's) are ignored.
 */
export function historyFromJson(json: { events: unknown[] }): History {
  const first = json.events[0] as Json | undefined;
  if (first !== undefined && typeof first['eventTime'] === 'object' && first['eventTime'] !== null) {
    return historyType.fromObject(json) as History;
  }
  return protojson.fromJson(historyType, { events: (json.events as Json[]).map(fixEvent) }, { ignoreUnknownFields: true }) as History;
}

/** A history as proto3 JSON, the shape `temporal workflow show --output json` writes. */
export function historyToJson(history: History): unknown {
  return protojson.toJson(historyType, historyType.fromObject(history));
}
