// Request bodies and answer shapes of the Conductor v2 read operations that
// issue 15 added (events, notifications, streams, aggregates, queues,
// schedules, versions, export): bodies carry only the spec's fields and no
// empty arrays (`conductor-v2.md` section 3.3), answers lose the explicit
// `null`s of v2's required-nullable fields (absent values are left out) and
// the `$schema` key.
import type {
  ApplicationVersion,
  Queue,
  Schedule,
  StepAggregate,
  StepAggregatesQuery,
  WorkflowAggregate,
  WorkflowAggregatesQuery,
  WorkflowEvent,
  WorkflowNotification,
  WorkflowStream,
} from "../backend.ts";
import { nonEmptyList, SEARCH_TIME_FIELDS, searchLists } from "../backend.ts";

/** The boolean fields of `WorkflowAggregatesBody`. */
const WORKFLOW_AGGREGATE_FLAGS = [
  "groupByStatus",
  "groupByWorkflowName",
  "groupByQueueName",
  "groupByExecutorId",
  "groupByAppVersion",
  "groupByApplicationName",
  "selectCount",
  "selectMinCreatedAt",
  "selectMaxQueueWaitMs",
  "selectMaxTotalLatencyMs",
] as const;
/** Its optional scalar filters (its list filters are a search's: `searchLists`). */
const WORKFLOW_AGGREGATE_SCALARS = ["wasForkedFrom", "hasParent", "timeBucketSizeMs", ...SEARCH_TIME_FIELDS] as const;

/**
 * The `WorkflowAggregatesBody` of a query: every group-by and select flag
 * (false when unset, as the official server sends them), and only the
 * filters that are set.
 */
export function workflowAggregatesBody(q: WorkflowAggregatesQuery): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of WORKFLOW_AGGREGATE_FLAGS) body[key] = q[key] ?? false;
  for (const key of WORKFLOW_AGGREGATE_SCALARS) if (q[key] !== undefined) body[key] = q[key];
  for (const [key, values] of searchLists(q)) body[key] = values;
  return body;
}

/** The `StepAggregatesBody` of a query. */
export function stepAggregatesBody(q: StepAggregatesQuery): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of ["groupByFunctionName", "groupByStatus", "selectCount", "selectMaxDurationMs"] as const) {
    body[key] = q[key] ?? false;
  }
  for (const key of ["timeBucketSizeMs", "completedAfter", "completedBefore"] as const) {
    if (q[key] !== undefined) body[key] = q[key];
  }
  for (const key of ["status", "stepName", "workflowIdPrefix"] as const) {
    const values = nonEmptyList(q[key]);
    if (values) body[key] = values;
  }
  return body;
}

/** `doc` without its `null` values (and `$schema`). */
export function withoutNulls(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (v !== null && v !== undefined && k !== "$schema") out[k] = v;
  return out;
}

function text(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
}

function num(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** An `Event` of the answer. */
export function eventOf(doc: Record<string, unknown>): WorkflowEvent {
  return { key: text(doc.key) ?? "", value: text(doc.value) ?? "" };
}

/** A `Notification` of the answer; a `null` topic (the default topic) is left out. */
export function notificationOf(doc: Record<string, unknown>): WorkflowNotification {
  const out: WorkflowNotification = { message: text(doc.message) ?? "", consumed: doc.consumed === true };
  const topic = text(doc.topic);
  if (topic !== undefined) out.topic = topic;
  const created = text(doc.createdAt);
  if (created !== undefined) out.createdAt = created;
  return out;
}

/** A `StreamEntry` of the answer, bounded to `maxValues` values (Conductor does not say whether it is closed). */
export function streamOf(doc: Record<string, unknown>, maxValues: number | undefined): WorkflowStream {
  const values = Array.isArray(doc.values) ? doc.values.map((v) => text(v) ?? JSON.stringify(v)) : [];
  const kept = maxValues !== undefined && values.length > maxValues ? values.slice(0, maxValues) : values;
  return { key: text(doc.key) ?? "", values: kept, valueCount: values.length };
}

function groupOf(v: unknown): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? null : String(x);
  return out;
}

/** A `WorkflowAggregate` of the answer. */
export function workflowAggregateOf(doc: Record<string, unknown>): WorkflowAggregate {
  const out: WorkflowAggregate = { group: groupOf(doc.group) };
  const count = num(doc.count);
  if (count !== undefined) out.count = count;
  const min = text(doc.minCreatedAt);
  if (min !== undefined) out.minCreatedAt = min;
  const wait = num(doc.maxQueueWaitMs);
  if (wait !== undefined) out.maxQueueWaitMs = wait;
  const latency = num(doc.maxTotalLatencyMs);
  if (latency !== undefined) out.maxTotalLatencyMs = latency;
  return out;
}

/** A `StepAggregate` of the answer. */
export function stepAggregateOf(doc: Record<string, unknown>): StepAggregate {
  const out: StepAggregate = { group: groupOf(doc.group) };
  const count = num(doc.count);
  if (count !== undefined) out.count = count;
  const duration = num(doc.maxDurationMs);
  if (duration !== undefined) out.maxDurationMs = duration;
  return out;
}

/** A `Queue` of the answer, without its nulls. */
export function queueOf(doc: Record<string, unknown>): Queue {
  return withoutNulls(doc) as unknown as Queue;
}

/** A `Schedule` of the answer, without its nulls. */
export function scheduleOf(doc: Record<string, unknown>): Schedule {
  return withoutNulls(doc) as unknown as Schedule;
}

/** An `ApplicationVersion` of the answer, without its nulls. */
export function versionOf(doc: Record<string, unknown>): ApplicationVersion {
  return withoutNulls(doc) as unknown as ApplicationVersion;
}
