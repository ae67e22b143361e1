// The shapes of the read tools of issue 15, in Conductor v2's names
// (conductor-v2.md section 3.1): Event, Notification, StreamEntry (plus
// `closed` and `valueCount`), WorkflowAggregate, StepAggregate, Queue,
// Schedule, ApplicationVersion. Absent values are left out. Values that carry
// application data (event values, messages, stream values, schedule
// contexts, exported workflows) are marked with `payload(...)` so private
// mode hides them. Each shape has a normalizer that keeps only its fields,
// each of its kind, and drops nulls.
import { z } from "zod";
import { payload } from "../core/private.ts";
import { normalizerOf } from "./_schemas.ts";

const text = z.string();
const int = z.number().int();
const num = z.number();
const time = (what: string) => z.string().describe(`${what} (ISO 8601).`).optional();

export const eventShape = z.object({
  key: text.describe("Event key (setEvent)."),
  value: payload(text.describe("The value, as readable text.")),
});

export const notificationShape = z.object({
  topic: text.describe("Topic; absent for the default topic.").optional(),
  message: payload(text.describe("The message, as readable text.")),
  createdAt: time("Sent"),
  consumed: z.boolean().describe("Whether the workflow has received it (recv)."),
});

export const streamShape = z.object({
  key: text.describe("Stream key."),
  values: payload(z.array(text).describe("The first values, in order, as readable text.")),
  valueCount: int.describe("How many values the stream holds.").optional(),
  closed: z.boolean().describe("Whether the stream was closed (system-database mode; absent when unknown).")
    .optional(),
});

const group = z.record(z.string(), z.string()).describe(
  "The group's values by dimension (status, name, queue_name, executor_id, application_version, " +
    "application_name, time_bucket as epoch ms text); a dimension the group has no value for is left out.",
);

export const workflowAggregateShape = z.object({
  group,
  count: int.describe("Workflows in the group.").optional(),
  minCreatedAt: time("Earliest creation"),
  maxQueueWaitMs: int.describe("Longest wait on a queue, in ms.").optional(),
  maxTotalLatencyMs: int.describe("Longest creation-to-completion time, in ms.").optional(),
});

export const stepAggregateShape = z.object({
  group: z.record(z.string(), z.string()).describe(
    "The group's values (function_name, status SUCCESS or ERROR, time_bucket as epoch ms text).",
  ),
  count: int.describe("Steps in the group.").optional(),
  maxDurationMs: int.describe("Longest step duration, in ms.").optional(),
});

export const queueShape = z.object({
  name: text,
  concurrency: int.describe("Most workflows running at once across all workers.").optional(),
  workerConcurrency: int.describe("Most running at once per worker.").optional(),
  rateLimitMax: int.describe("Most workflows started per rate-limit period.").optional(),
  rateLimitPeriodSecs: num.describe("Rate-limit period, in seconds.").optional(),
  priorityEnabled: z.boolean().optional(),
  partitionQueue: z.boolean().describe("Whether the queue is partitioned.").optional(),
  pollingIntervalSecs: num.optional(),
  applicationName: text.optional(),
  partitionConcurrency: int.describe("Most running at once per partition.").optional(),
  partitionWorkerConcurrency: int.optional(),
  partitionRateLimitMax: int.optional(),
  partitionRateLimitPeriodSecs: num.optional(),
});

export const scheduleShape = z.object({
  scheduleId: text,
  scheduleName: text.describe("Name; pass it as schedule_name to get_schedule."),
  workflowName: text.describe("The workflow it starts."),
  workflowClass: text.optional(),
  cronExpression: text,
  status: text.describe("ACTIVE or PAUSED."),
  context: payload(text.describe("The context passed to each run, as readable text.").optional()),
  lastFiredAt: time("Last fired"),
  automaticBackfill: z.boolean().optional(),
  cronTimezone: text.optional(),
  applicationName: text.optional(),
});

export const versionShape = z.object({
  versionId: text,
  versionName: text.describe("Version name, as workflows record it in appVersion."),
  versionTimestamp: time("Became the latest; the newest is the current version"),
  createdAt: time("Registered"),
});

/** An event as tools return it. */
export type EventView = z.output<typeof eventShape>;
/** A notification as tools return it. */
export type NotificationView = z.output<typeof notificationShape>;
/** A stream as tools return it. */
export type StreamView = z.output<typeof streamShape>;
/** A workflow aggregate row as tools return it. */
export type WorkflowAggregateView = z.output<typeof workflowAggregateShape>;
/** A step aggregate row as tools return it. */
export type StepAggregateView = z.output<typeof stepAggregateShape>;
/** A queue as tools return it. */
export type QueueView = z.output<typeof queueShape>;
/** A schedule as tools return it. */
export type ScheduleView = z.output<typeof scheduleShape>;
/** A version as tools return it. */
export type VersionView = z.output<typeof versionShape>;

/** An event in the shape tools return. */
export const normalizeEvent: (raw: object) => EventView = normalizerOf(eventShape);
/** A notification in the shape tools return. */
export const normalizeNotification: (raw: object) => NotificationView = normalizerOf(notificationShape);
/** A stream in the shape tools return. */
export const normalizeStream: (raw: object) => StreamView = normalizerOf(streamShape);
/** A workflow aggregate row in the shape tools return. */
export const normalizeWorkflowAggregate: (raw: object) => WorkflowAggregateView = normalizerOf(
  workflowAggregateShape,
);
/** A step aggregate row in the shape tools return. */
export const normalizeStepAggregate: (raw: object) => StepAggregateView = normalizerOf(stepAggregateShape);
/** A queue in the shape tools return. */
export const normalizeQueue: (raw: object) => QueueView = normalizerOf(queueShape);
/** A schedule in the shape tools return. */
export const normalizeSchedule: (raw: object) => ScheduleView = normalizerOf(scheduleShape);
/** A version in the shape tools return. */
export const normalizeVersion: (raw: object) => VersionView = normalizerOf(versionShape);
