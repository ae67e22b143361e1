/**
 * An application's configuration as DBOS records it: `list_schedules`,
 * `get_schedule`, `list_application_versions`, `get_queue` (with what waits
 * on it). `list_queues` is in `insights.ts`.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import { clip } from "../core/budget.ts";
import type { Queue } from "../backends/backend.ts";
import { applicationName } from "./_schemas.ts";
import {
  normalizeQueue,
  normalizeSchedule,
  normalizeVersion,
  queueShape,
  type QueueView,
  scheduleShape,
  type ScheduleView,
  versionShape,
} from "./_schemas_reads.ts";
import { pairs } from "./_render.ts";

function clipContext(s: ScheduleView, ctx: ToolContext): ScheduleView {
  return s.context === undefined
    ? s
    : { ...s, context: clip(s.context, ctx.limits.maxFieldBytes, "get_schedule shows one schedule's context") };
}

function scheduleLine(s: ScheduleView): string {
  return [
    s.scheduleName,
    s.status,
    `'${s.cronExpression}'`,
    `-> ${s.workflowName}`,
    pairs(s, ["cronTimezone", "lastFiredAt"]),
    s.context !== undefined ? `context ${s.context}` : "",
  ].filter(Boolean).join("  ");
}

/** `list_schedules`. */
export const listSchedules = defineTool({
  name: "list_schedules",
  description: "An application's workflow schedules: name, workflow, cron, status (ACTIVE, PAUSED), last " +
    "firing, context. Filter by status, workflow_name, schedule_name_prefix. Use it to see what runs " +
    "on a timer, or why a scheduled workflow did not run.",
  input: z.strictObject({
    application_name: applicationName,
    status: z.preprocess(
      (v) => typeof v === "string" ? v.trim().toUpperCase() : v,
      z.enum(["ACTIVE", "PAUSED"]),
    ).optional().describe("Only ACTIVE or only PAUSED schedules."),
    workflow_name: z.string().min(1).max(512).optional().describe("Only schedules of this workflow."),
    schedule_name_prefix: z.string().min(1).max(512).optional().describe("Only names starting with this."),
    load_context: z.boolean().optional().describe("Include each schedule's context (default true)."),
  }),
  output: z.object({
    application: z.string(),
    schedules: z.array(scheduleShape),
    count: z.number().int(),
  }),
  annotations: { title: "List schedules", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const rows = await ctx.backend.listSchedules(args.application_name, {
      status: args.status,
      workflowName: args.workflow_name,
      scheduleNamePrefix: args.schedule_name_prefix,
      loadContext: args.load_context,
    }, { signal: ctx.signal });
    const schedules = rows.map(normalizeSchedule).map((s) => clipContext(s, ctx));
    return { application: args.application_name, schedules, count: schedules.length };
  },
  render(r) {
    if (r.count === 0) return `Application ${r.application} has no matching schedules.`;
    return [`${r.count} schedule(s) of ${r.application}:`, ...r.schedules.map(scheduleLine)].join("\n");
  },
});

/** `get_schedule`. */
export const getSchedule = defineTool({
  name: "get_schedule",
  description: "One schedule by name, with its context: workflow, cron, time zone, status, last firing, " +
    "automatic backfill. Its runs: list_workflows with schedule_name.",
  input: z.strictObject({
    application_name: applicationName,
    schedule_name: z.string().min(1).max(512).describe("Schedule name, as list_schedules returns it."),
  }),
  output: z.object({ application: z.string(), schedule: scheduleShape }),
  annotations: { title: "Get schedule", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const s = await ctx.backend.getSchedule(args.application_name, args.schedule_name, { signal: ctx.signal });
    return { application: args.application_name, schedule: clipContext(normalizeSchedule(s), ctx) };
  },
  render(r) {
    return scheduleLine(r.schedule);
  },
});

/** `list_application_versions`. */
export const listApplicationVersions = defineTool({
  name: "list_application_versions",
  description: "An application's registered versions, newest (current) first: name (a workflow's appVersion), " +
    "when it became latest, when registered. Fork or resume onto another with application_version.",
  input: z.strictObject({ application_name: applicationName }),
  output: z.object({
    application: z.string(),
    versions: z.array(versionShape),
    count: z.number().int(),
  }),
  annotations: { title: "List application versions", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const versions = (await ctx.backend.listApplicationVersions(args.application_name, { signal: ctx.signal }))
      .map(normalizeVersion);
    return { application: args.application_name, versions, count: versions.length };
  },
  render(r) {
    if (r.count === 0) return `Application ${r.application} has no registered versions.`;
    return [
      `${r.count} version(s) of ${r.application} (newest first):`,
      ...r.versions.map((v, i) =>
        `${v.versionName}${i === 0 ? " (latest)" : ""}  ${pairs(v, ["versionTimestamp", "createdAt"])}`
      ),
    ].join("\n");
  },
});

/** A queue's limits, in one line. */
export function queueLimits(q: QueueView | Queue): string {
  return pairs(q as Record<string, unknown>, [
    "concurrency",
    "workerConcurrency",
    "rateLimitMax",
    "rateLimitPeriodSecs",
    "partitionConcurrency",
    "partitionWorkerConcurrency",
    "partitionRateLimitMax",
  ]) + (q.partitionQueue ? " partitioned" : "");
}

/** `get_queue`. */
export const getQueue = defineTool({
  name: "get_queue",
  description: "One queue's configuration (concurrency, worker concurrency, rate limit, partitioning, polling) " +
    "and what is on it: ENQUEUED (waiting) and PENDING (running) workflows, and the oldest waiting " +
    "one's creation time. Use it when a queue seems stuck.",
  input: z.strictObject({
    application_name: applicationName,
    queue_name: z.string().min(1).max(512).describe("Queue name, as list_queues returns it."),
  }),
  output: z.object({
    application: z.string(),
    queue: queueShape,
    enqueued: z.number().int(),
    pending: z.number().int(),
    oldest_enqueued_at: z.string().optional().describe("Creation time of the oldest waiting workflow (ISO 8601)."),
  }),
  annotations: { title: "Get queue", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const opts = { signal: ctx.signal };
    const queue = normalizeQueue(await ctx.backend.getQueue(args.application_name, args.queue_name, opts));
    const rows = await ctx.backend.getWorkflowAggregates(args.application_name, {
      groupByStatus: true,
      selectCount: true,
      selectMinCreatedAt: true,
      queueName: [args.queue_name],
      status: ["ENQUEUED", "PENDING"],
    }, opts);
    const of = (s: string) => rows.find((r) => r.group.status === s);
    const oldest = of("ENQUEUED")?.minCreatedAt;
    return {
      application: args.application_name,
      queue,
      enqueued: of("ENQUEUED")?.count ?? 0,
      pending: of("PENDING")?.count ?? 0,
      ...(oldest ? { oldest_enqueued_at: oldest } : {}),
    };
  },
  render(r) {
    return `${r.queue.name}  ${queueLimits(r.queue)}\n${r.enqueued} enqueued, ${r.pending} pending` +
      (r.oldest_enqueued_at ? `; oldest waiting since ${r.oldest_enqueued_at}` : "");
  },
});
