/**
 * Server-side aggregates: `get_workflow_aggregates` (every group-by and
 * select of v2's `WorkflowAggregatesBody`, time buckets and all its
 * filters) and `get_step_aggregates` (per step name and status: counts and
 * longest durations). Computed where the workflows are stored (Conductor's
 * executor, or SQL on the system database), so they are exact over any
 * number of workflows.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../core/tool.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import type { WorkflowAggregatesQuery } from "../backends/backend.ts";
import { applicationName } from "./_schemas.ts";
import {
  normalizeStepAggregate,
  normalizeWorkflowAggregate,
  stepAggregateShape,
  workflowAggregateShape,
} from "./_schemas_reads.ts";
import { timeArg } from "./_time.ts";
import { list, name, oneOrMany, timeWindowArgs, timeWindowOf, workflowStatus } from "./_filters.ts";

const flag = (what: string) => z.boolean().optional().describe(what);
const bucket = z.number().int().min(1).max(31_622_400_000).optional().describe(
  "Also group by creation time in buckets of this many ms (time_bucket: the bucket's start, epoch ms).",
);

const statusList = oneOrMany(workflowStatus, "Only these statuses");

const workflowInput = z.strictObject({
  application_name: applicationName,
  group_by_status: flag("Group by status."),
  group_by_name: flag("Group by workflow name."),
  group_by_queue_name: flag("Group by queue."),
  group_by_executor_id: flag("Group by executor."),
  group_by_application_version: flag("Group by application version."),
  group_by_application_name: flag("Group by application name."),
  select_count: flag("Count each group's workflows (the default)."),
  select_min_created_at: flag("The earliest creation time of each group."),
  select_max_queue_wait_ms: flag("The longest queue wait (dequeue minus creation) of each group."),
  select_max_total_latency_ms: flag("The longest creation-to-completion time of each group."),
  time_bucket_size_ms: bucket,
  status: statusList,
  name: oneOrMany(name(512), "Only workflows of this name"),
  app_version: oneOrMany(name(512), "Only this application version"),
  executor_id: oneOrMany(name(512), "Only workflows last run by this executor"),
  queue_name: oneOrMany(name(512), "Only workflows on this queue"),
  workflow_id_prefix: oneOrMany(name(1024), "Only workflow ids starting with this"),
  workflow_ids: z.array(name(1024)).min(1).max(500).optional().describe("Only these workflow ids."),
  user: oneOrMany(name(512), "Only workflows started by this user"),
  forked_from: oneOrMany(name(1024), "Only forks of this workflow id"),
  parent_workflow_id: oneOrMany(name(1024), "Only children of this workflow id"),
  schedule_name: oneOrMany(name(512), "Only workflows started by this schedule"),
  ...timeWindowArgs,
  was_forked_from: flag("Only workflows a fork was made from (true), or none was (false)."),
  has_parent: flag("Only child workflows (true), or only top-level ones (false)."),
});

/** The v2 aggregate query of `get_workflow_aggregates`' arguments (the official server's names). */
export function workflowAggregatesQuery(args: z.output<typeof workflowInput>): WorkflowAggregatesQuery {
  return {
    groupByStatus: args.group_by_status,
    groupByWorkflowName: args.group_by_name,
    groupByQueueName: args.group_by_queue_name,
    groupByExecutorId: args.group_by_executor_id,
    groupByAppVersion: args.group_by_application_version,
    groupByApplicationName: args.group_by_application_name,
    selectCount: args.select_count,
    selectMinCreatedAt: args.select_min_created_at,
    selectMaxQueueWaitMs: args.select_max_queue_wait_ms,
    selectMaxTotalLatencyMs: args.select_max_total_latency_ms,
    timeBucketSizeMs: args.time_bucket_size_ms,
    status: list(args.status),
    workflowName: list(args.name),
    appVersion: list(args.app_version),
    executorId: list(args.executor_id),
    queueName: list(args.queue_name),
    workflowIdPrefix: list(args.workflow_id_prefix),
    workflowIds: args.workflow_ids,
    user: list(args.user),
    forkedFrom: list(args.forked_from),
    parentWorkflowId: list(args.parent_workflow_id),
    scheduleName: list(args.schedule_name),
    ...timeWindowOf(args),
    wasForkedFrom: args.was_forked_from,
    hasParent: args.has_parent,
  };
}

function noGroup(): InvalidArgumentError {
  return new InvalidArgumentError("Set at least one group_by_* argument to true.", {
    hint: "For example group_by_status: true (counts by status), or group_by_name with group_by_status.",
  });
}

/** With no select_* set, the count (as DBOS's executor does). */
function withDefaultSelect<T extends WorkflowAggregatesQuery>(q: T): T {
  if (q.selectCount || q.selectMinCreatedAt || q.selectMaxQueueWaitMs || q.selectMaxTotalLatencyMs) return q;
  return { ...q, selectCount: true };
}

const groupText = (g: Record<string, string | null>) =>
  Object.entries(g).map(([k, v]) => `${k}=${v ?? "(none)"}`).join(" ");

/** `get_workflow_aggregates`. */
export const getWorkflowAggregates = defineTool({
  name: "get_workflow_aggregates",
  description: "Counts and latencies of an application's workflows, computed server-side (exact at any scale): " +
    "group by status, name, queue, executor, version or application (at least one group_by_*), " +
    "optionally per time bucket; select count, earliest creation, longest queue wait or total " +
    "latency; filter like list_workflows. E.g. group_by_status and group_by_name with start_time " +
    "'24h'.",
  input: workflowInput,
  output: z.object({
    application: z.string(),
    aggregates: z.array(workflowAggregateShape),
    count: z.number().int().describe("Groups returned."),
  }),
  annotations: { title: "Get workflow aggregates", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const q = withDefaultSelect(workflowAggregatesQuery(args));
    if (
      !q.groupByStatus && !q.groupByWorkflowName && !q.groupByQueueName && !q.groupByExecutorId &&
      !q.groupByAppVersion && !q.groupByApplicationName && q.timeBucketSizeMs === undefined
    ) throw noGroup();
    const rows = await ctx.backend.getWorkflowAggregates(args.application_name, q, { signal: ctx.signal });
    const aggregates = rows.map(normalizeWorkflowAggregate);
    return { application: args.application_name, aggregates, count: aggregates.length };
  },
  render(r) {
    if (r.count === 0) return `No workflows of ${r.application} match.`;
    return [
      `${r.count} group(s) of ${r.application}'s workflows:`,
      ...r.aggregates.map((a) =>
        [
          groupText(a.group),
          a.count !== undefined ? `count=${a.count}` : "",
          a.minCreatedAt ? `first=${a.minCreatedAt}` : "",
          a.maxQueueWaitMs !== undefined ? `max_queue_wait=${a.maxQueueWaitMs}ms` : "",
          a.maxTotalLatencyMs !== undefined ? `max_latency=${a.maxTotalLatencyMs}ms` : "",
        ].filter(Boolean).join("  ")
      ),
    ].join("\n");
  },
});

/** `get_step_aggregates`. */
export const getStepAggregates = defineTool({
  name: "get_step_aggregates",
  description: "Count and time an application's steps server-side: group by step name (group_by_function_name) " +
    "and/or status (SUCCESS, ERROR), optionally per completion time bucket; select count and longest " +
    "duration. Finds the step that fails most or is slowest; then list_workflows and list_steps.",
  input: z.strictObject({
    application_name: applicationName,
    group_by_function_name: flag("Group by step name."),
    group_by_status: flag("Group by step status (SUCCESS or ERROR)."),
    select_count: flag("Count each group's steps (the default)."),
    select_max_duration_ms: flag("The longest duration of each group."),
    time_bucket_size_ms: bucket.describe(
      "Also group by completion time in buckets of this many ms (time_bucket: the bucket's start).",
    ),
    status: z.union([z.enum(["SUCCESS", "ERROR"]), z.array(z.enum(["SUCCESS", "ERROR"])).min(1).max(2)]).optional()
      .describe("Only steps with this status (SUCCESS or ERROR)."),
    step_name: oneOrMany(name(512), "Only steps of this name"),
    workflow_id_prefix: oneOrMany(name(1024), "Only steps of workflows whose id starts with this"),
    completed_after: timeArg("Completed at or after"),
    completed_before: timeArg("Completed at or before"),
  }),
  output: z.object({
    application: z.string(),
    aggregates: z.array(stepAggregateShape),
    count: z.number().int().describe("Groups returned."),
  }),
  annotations: { title: "Get step aggregates", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    if (!args.group_by_function_name && !args.group_by_status && args.time_bucket_size_ms === undefined) {
      throw new InvalidArgumentError("Set group_by_function_name or group_by_status (or time_bucket_size_ms).", {
        hint: "For example group_by_function_name and group_by_status: true for failures per step.",
      });
    }
    const selectCount = args.select_count || !args.select_max_duration_ms;
    const rows = await ctx.backend.getStepAggregates(args.application_name, {
      groupByFunctionName: args.group_by_function_name,
      groupByStatus: args.group_by_status,
      selectCount,
      selectMaxDurationMs: args.select_max_duration_ms,
      timeBucketSizeMs: args.time_bucket_size_ms,
      status: list(args.status),
      stepName: list(args.step_name),
      workflowIdPrefix: list(args.workflow_id_prefix),
      completedAfter: args.completed_after,
      completedBefore: args.completed_before,
    }, { signal: ctx.signal });
    const aggregates = rows.map(normalizeStepAggregate);
    return { application: args.application_name, aggregates, count: aggregates.length };
  },
  render(r) {
    if (r.count === 0) return `No steps of ${r.application} match.`;
    return [
      `${r.count} group(s) of ${r.application}'s steps:`,
      ...r.aggregates.map((a) =>
        [
          groupText(a.group),
          a.count !== undefined ? `count=${a.count}` : "",
          a.maxDurationMs !== undefined ? `max_duration=${a.maxDurationMs}ms` : "",
        ].filter(Boolean).join("  ")
      ),
    ].join("\n");
  },
});
