/**
 * Workflow introspection tools: `list_workflows`, `get_workflow`, `list_steps`.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../tool.ts";
import { type ListWorkflowsFilter, WORKFLOW_STATUSES } from "../backends/backend.ts";
import { applicationName, stepShape, workflowRef, workflowShape } from "./_schemas.ts";
import { isoTime, pairs, stepLine, workflowLine } from "./_render.ts";
import { normalizeStep, normalizeWorkflow } from "./_normalize.ts";

/** Default and largest page of `list_workflows`. */
export const LIST_LIMIT = { default: 20, max: 500 } as const;

const isoTimeArg = (what: string) =>
  z.string().min(1).max(64).transform((text, ctx) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) {
      ctx.addIssue({
        code: "custom",
        message: `must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z, got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  }).optional().describe(`${what} (ISO 8601, e.g. 2026-01-31T12:00:00Z).`);

const statusArg = z.preprocess(
  (v) => typeof v === "string" ? v.trim().toUpperCase() : v,
  z.enum(WORKFLOW_STATUSES, {
    error: () => `must be one of ${WORKFLOW_STATUSES.join(", ")}`,
  }),
).optional().describe(`Only workflows in this status: ${WORKFLOW_STATUSES.join(", ")}.`);

const listInput = z.strictObject({
  application_name: applicationName,
  workflow_uuids: z.array(z.string().min(1).max(1024)).max(500).optional().describe(
    "Only these workflow ids.",
  ),
  workflow_name: z.string().min(1).max(512).optional().describe("Only workflows of this workflow function name."),
  authenticated_user: z.string().min(1).max(512).optional().describe("Only workflows started by this user."),
  start_time: isoTimeArg("Only workflows created at or after this time"),
  end_time: isoTimeArg("Only workflows created at or before this time"),
  status: statusArg,
  application_version: z.string().min(1).max(512).optional().describe("Only workflows of this application version."),
  forked_from: z.string().min(1).max(1024).optional().describe("Only workflows forked from this workflow id."),
  queue_name: z.string().min(1).max(512).optional().describe("Only workflows on this queue."),
  limit: z.number().int().min(1).max(LIST_LIMIT.max).default(LIST_LIMIT.default).describe(
    `Page size (default ${LIST_LIMIT.default}, at most ${LIST_LIMIT.max}).`,
  ),
  offset: z.number().int().min(0).max(10_000_000).optional().describe(
    "Workflows to skip; pass next_offset from the previous page to continue.",
  ),
  sort_desc: z.boolean().optional().describe("Newest first (default false: oldest first)."),
  workflow_id_prefix: z.string().min(1).max(1024).optional().describe("Only workflow ids starting with this."),
  load_input: z.boolean().optional().describe("Include each workflow's input (default false; can be large)."),
  load_output: z.boolean().optional().describe("Include each workflow's output (default false; can be large)."),
  executor_id: z.string().min(1).max(512).optional().describe("Only workflows last run by this executor."),
  queues_only: z.boolean().optional().describe("Only workflows that are on a queue."),
});

/** `list_workflows`. */
export const listWorkflows = defineTool({
  name: "list_workflows",
  description: "List and filter an application's workflows (by status, name, time range, queue, user, " +
    "version, id prefix, executor, ...). Returns a page (default 20) oldest first unless sort_desc is true, " +
    "and next_offset when there are more. Typical use: status ERROR and sort_desc true to find recent " +
    "failures. Next: get_workflow for details, list_steps to see where it failed.",
  input: listInput,
  output: z.object({
    application: z.string(),
    workflows: z.array(workflowShape),
    count: z.number().int(),
    next_offset: z.number().int().optional().describe("Pass as offset to get the next page."),
  }),
  annotations: { title: "List workflows", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const { application_name, ...rest } = args;
    const filter: ListWorkflowsFilter = { ...rest, limit: args.limit + 1 };
    const rows = await ctx.backend.listWorkflows(application_name, filter, { signal: ctx.signal });
    const more = rows.length > args.limit;
    const workflows = rows.slice(0, args.limit).map(normalizeWorkflow);
    const out: {
      application: string;
      workflows: typeof workflows;
      count: number;
      next_offset?: number;
    } = { application: application_name, workflows, count: workflows.length };
    if (more) out.next_offset = (args.offset ?? 0) + workflows.length;
    return out;
  },
  render(r) {
    if (r.count === 0) return `No matching workflows in ${r.application}.`;
    const more = r.next_offset !== undefined ? `\nMore: call again with offset=${r.next_offset}.` : "";
    return `${r.count} workflow(s) in ${r.application}:\n${r.workflows.map(workflowLine).join("\n")}${more}`;
  },
});

/** `get_workflow`. */
export const getWorkflow = defineTool({
  name: "get_workflow",
  description: "Get one workflow's full record: status, name, input, output, error, times, queue, " +
    "executor, version, fork origin. Use it after list_workflows to look at one workflow; next, " +
    "list_steps shows each step's output or error.",
  input: workflowRef,
  output: z.object({ application: z.string(), workflow: workflowShape }),
  annotations: { title: "Get workflow", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const workflow = normalizeWorkflow(
      await ctx.backend.getWorkflow(args.application_name, args.workflow_id, { signal: ctx.signal }),
    );
    return { application: args.application_name, workflow };
  },
  render(r) {
    const w = r.workflow as Record<string, unknown>;
    const lines = [workflowLine(w)];
    const times = [
      isoTime(w.UpdatedAt) ? `updated ${isoTime(w.UpdatedAt)}` : "",
      pairs(w, ["ApplicationVersion", "ExecutorID", "AuthenticatedUser", "ForkedFrom"]),
    ].filter(Boolean).join("  ");
    if (times) lines.push(times);
    for (const k of ["Input", "Output", "Error"]) {
      if (w[k] !== undefined && w[k] !== null) lines.push(`${k}: ${String(w[k])}`);
    }
    return lines.join("\n");
  },
});

/** `list_steps`. */
export const listSteps = defineTool({
  name: "list_steps",
  description: "List a workflow's steps in order: step id (function_id), name, output or error, child " +
    "workflow, start and end times. Use it to find the step where a workflow failed or stopped; pass a " +
    "step id as start_step to fork_workflow to re-run from there.",
  input: workflowRef,
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    steps: z.array(stepShape),
    count: z.number().int(),
  }),
  annotations: { title: "List steps", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const raw = await ctx.backend.listSteps(args.application_name, args.workflow_id, { signal: ctx.signal });
    const steps = raw.map(normalizeStep);
    return { application: args.application_name, workflow_id: args.workflow_id, steps, count: steps.length };
  },
  render(r) {
    if (r.count === 0) return `Workflow ${r.workflow_id} has no recorded steps.`;
    return `${r.count} step(s) of ${r.workflow_id}:\n${r.steps.map(stepLine).join("\n")}`;
  },
});
