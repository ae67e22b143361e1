/**
 * Workflow introspection tools: `list_workflows`, `get_workflow`, `list_steps`.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import type { Step, WorkflowSearch } from "../backends/backend.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import {
  applicationName,
  normalizeStep,
  normalizeWorkflow,
  stepShape,
  type StepView,
  workflowId,
  workflowShape,
  type WorkflowView,
} from "./_schemas.ts";
import { list, name, oneOrMany, timeWindowArgs, timeWindowOf, workflowStatus as status } from "./_filters.ts";
import { answerBytes, byteLength, clip, clipFields, largestFitting, prefixBound } from "../core/budget.ts";
import { createdMs, cursorAfter, decodeCursor, encodeCursor, type PageCursor, queryKey } from "./_cursor.ts";
import { pairs, stepLine, workflowLine } from "./_render.ts";

/** Default and largest page of `list_workflows`. */
export const LIST_LIMIT = { default: 20, max: 500 } as const;

const listInput = z.strictObject({
  application_name: applicationName,
  workflow_uuids: z.array(name(1024)).max(500).optional().describe("Only these workflow ids."),
  workflow_name: oneOrMany(name(512), "Only workflows of this workflow function name"),
  status: oneOrMany(status, "Only workflows in this status"),
  authenticated_user: oneOrMany(name(512), "Only workflows started by this user"),
  application_version: oneOrMany(name(512), "Only workflows of this application version"),
  executor_id: oneOrMany(name(512), "Only workflows last run by this executor"),
  queue_name: oneOrMany(name(512), "Only workflows on this queue"),
  forked_from: oneOrMany(name(1024), "Only workflows forked from this workflow id"),
  parent_workflow_id: oneOrMany(name(1024), "Only children of this workflow id"),
  workflow_id_prefix: oneOrMany(name(1024), "Only workflow ids starting with this"),
  schedule_name: oneOrMany(name(512), "Only workflows started by this schedule"),
  ...timeWindowArgs,
  has_parent: z.boolean().optional().describe("Only child workflows (true) or only top-level ones (false)."),
  was_forked_from: z.boolean().optional().describe("Only workflows a fork was made from (true), or none was (false)."),
  queues_only: z.boolean().optional().describe("Only workflows that are on a queue."),
  limit: z.number().int().min(1).max(LIST_LIMIT.max).default(LIST_LIMIT.default).describe(
    `Page size (default ${LIST_LIMIT.default}, at most ${LIST_LIMIT.max}).`,
  ),
  cursor: z.string().min(1).max(4096).optional().describe(
    "The previous page's next_cursor (same filters).",
  ),
  offset: z.number().int().min(0).max(10_000_000).optional().describe(
    "Workflows to skip (prefer cursor: offsets shift when workflows arrive).",
  ),
  sort_desc: z.boolean().optional().describe("Newest first (default false: oldest first)."),
  load_input: z.boolean().optional().describe("Include each workflow's input (default false; can be large)."),
  load_output: z.boolean().optional().describe("Include each workflow's output and error (default false)."),
});

type ListArgs = z.output<typeof listInput>;

/** The v2 search filter of `list_workflows`' arguments (the official server's argument names). */
function searchOf(args: ListArgs): WorkflowSearch {
  return {
    workflowIds: args.workflow_uuids,
    workflowName: list(args.workflow_name),
    status: list(args.status),
    user: list(args.authenticated_user),
    appVersion: list(args.application_version),
    executorId: list(args.executor_id),
    queueName: list(args.queue_name),
    forkedFrom: list(args.forked_from),
    parentWorkflowId: list(args.parent_workflow_id),
    workflowIdPrefix: list(args.workflow_id_prefix),
    scheduleName: list(args.schedule_name),
    ...timeWindowOf(args),
    hasParent: args.has_parent,
    wasForkedFrom: args.was_forked_from,
    queuesOnly: args.queues_only,
    sortDesc: args.sort_desc,
    loadInput: args.load_input,
    loadOutput: args.load_output,
  };
}

/** What `list_workflows` returns. */
interface ListResult {
  [key: string]: unknown;
  application: string;
  workflows: WorkflowView[];
  count: number;
  next_cursor?: string;
  next_offset?: number;
  note?: string;
}

/** The query a cursor belongs to: the filters and the order, not the page size or payload flags. */
function listQuery(args: ListArgs): { q: string; prev: PageCursor | undefined } {
  const { limit: _l, offset: _o, cursor, load_input: _i, load_output: _u, ...filters } = args;
  const q = queryKey(filters);
  if (cursor === undefined) return { q, prev: undefined };
  const prev = decodeCursor(cursor);
  if (!prev) {
    throw new InvalidArgumentError("The cursor is not one this server issued.", {
      hint: "Pass next_cursor exactly as list_workflows returned it, or leave cursor out to start over.",
    });
  }
  if (prev.q !== q) {
    throw new InvalidArgumentError("The cursor belongs to a list_workflows call with other filters or order.", {
      hint: "Repeat the filters and sort_desc of the call that returned it (limit and load_* may change).",
    });
  }
  return { q, prev };
}

/** Builds the result for `page` of the query `query`, with the continuation of the kept page. */
function listResult(
  args: ListArgs,
  query: { q: string; prev: PageCursor | undefined },
  page: WorkflowView[],
  more: boolean,
  note?: string,
): ListResult {
  const { q, prev } = query;
  const out: ListResult = { application: args.application_name, workflows: page, count: page.length };
  if (more && page.length > 0) {
    const next = cursorAfter(page, prev, q);
    if (next) out.next_cursor = encodeCursor(next);
    if (!prev) out.next_offset = (args.offset ?? 0) + page.length;
  }
  if (note) out.note = note;
  return out;
}

/** `list_workflows`. */
export const listWorkflows = defineTool({
  name: "list_workflows",
  description: "List an application's workflows, filtered (status, name, time range such as start_time '1h', " +
    "queue, user, version, id prefix, executor, ...), a page at a time (default 20, oldest first " +
    "unless sort_desc) with next_cursor. For recent failures: status ERROR, start_time '24h', " +
    "sort_desc. Next: get_workflow, list_steps.",
  input: listInput,
  output: z.object({
    application: z.string(),
    workflows: z.array(workflowShape),
    count: z.number().int(),
    next_cursor: z.string().optional().describe("Pass as cursor, with the same filters, for the next page."),
    next_offset: z.number().int().optional().describe("Offset of the next page (when paging by offset)."),
    note: z.string().optional().describe("Why the page is shorter than asked, when it is."),
  }),
  annotations: { title: "List workflows", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const query = listQuery(args);
    const { prev } = query;
    if (prev && args.offset !== undefined) {
      throw new InvalidArgumentError("Pass either cursor or offset, not both.");
    }
    const filter: WorkflowSearch = { ...searchOf(args), limit: args.limit + 1 + (prev?.ids.length ?? 0) };
    if (prev) {
      // Continue at the cursor's creation time (inclusive) and skip what was already returned there.
      const at = new Date(prev.t).toISOString();
      if (args.sort_desc) filter.endTime = args.end_time && args.end_time < at ? args.end_time : at;
      else filter.startTime = args.start_time && args.start_time > at ? args.start_time : at;
    } else if (args.offset !== undefined) {
      filter.offset = args.offset;
    }
    // Each payload is clipped to maxFieldBytes: a backend that can reads no more of a large one.
    const opts = { signal: ctx.signal, payloadBytes: ctx.limits.maxFieldBytes };
    let rows = await ctx.backend.listWorkflows(args.application_name, filter, opts);
    if (prev) rows = rows.filter((w) => !(createdMs(w.createdAt) === prev.t && prev.ids.includes(w.workflowId)));
    const limit = args.limit;
    const page = rows.slice(0, limit).map((w) => clipWorkflow(normalizeWorkflow(w), ctx));
    return listResult(args, query, page, rows.length > limit);
  },
  fit(result, maxBytes, args) {
    const query = listQuery(args);
    const all = result.workflows;
    const asked = all.length;
    const withPage = (k: number): ListResult =>
      listResult(
        args,
        query,
        all.slice(0, k),
        true,
        `Showing ${k} of the ${asked} workflows of this page to stay within the ${maxBytes}-byte ` +
          "answer budget; continue with next_cursor, or ask for fewer fields (load_input/load_output false).",
      );
    const keep = largestFitting(prefixBound(all, maxBytes), (k) => answerBytes(withPage(k), renderList) <= maxBytes);
    return withPage(Math.max(1, keep));
  },
  render: renderList,
});

function renderList(r: ListResult): string {
  if (r.count === 0) return `No matching workflows in ${r.application}.`;
  const lines = [`${r.count} workflow(s) in ${r.application}:`, ...r.workflows.map((w) => workflowLine(w))];
  if (r.note) lines.push(r.note);
  if (r.next_cursor) lines.push(`More: call again with the same filters and cursor=${r.next_cursor}`);
  return lines.join("\n");
}

const PAYLOAD_FIELDS = ["input", "output", "error"] as const;

/** Clips a workflow's payload fields to the per-field budget. */
function clipWorkflow(w: WorkflowView, ctx: ToolContext): WorkflowView {
  return clipFields(w, PAYLOAD_FIELDS, ctx.limits.maxFieldBytes, "get_workflow with full: true shows all of it");
}

const getInput = z.strictObject({
  application_name: applicationName,
  workflow_id: workflowId,
  full: z.boolean().optional().describe(
    "Whole input, output and error, not clipped to 1 KB (see byte_offset).",
  ),
  fields: z.array(z.enum(PAYLOAD_FIELDS)).min(1).max(3).optional().describe(
    "Only these payload fields (default all three), e.g. ['error'].",
  ),
  byte_offset: z.number().int().min(0).optional().describe(
    "With one field in fields: start it at this byte (read a large value in parts).",
  ),
  include_steps: z.boolean().optional().describe(
    "Also the steps (clipped), the failing one marked, children linked.",
  ),
});

type GetArgs = z.output<typeof getInput>;

/** What `get_workflow` returns. */
interface GetResult {
  [key: string]: unknown;
  application: string;
  workflow: WorkflowView;
  parent_workflow_id?: string;
  steps?: StepView[];
  failing_step?: number;
  child_workflow_ids?: string[];
  note?: string;
}

function selectPayload(w: WorkflowView, args: GetArgs, ctx: ToolContext, budget: number): WorkflowView {
  const out: WorkflowView = { ...w };
  for (const f of PAYLOAD_FIELDS) if (args.fields && !args.fields.includes(f)) delete out[f];
  if (args.byte_offset !== undefined) {
    if (!args.fields || args.fields.length !== 1) {
      throw new InvalidArgumentError("byte_offset needs exactly one field in fields, e.g. fields: ['output'].");
    }
    const f = args.fields[0];
    if (typeof out[f] === "string") {
      const bytes = new TextEncoder().encode(out[f] as string);
      out[f] = new TextDecoder().decode(bytes.subarray(args.byte_offset)).replace(/^\uFFFD+/, "");
    }
  }
  const limit = args.full ? budget : ctx.limits.maxFieldBytes;
  const how = args.full || args.fields
    ? "continue with one field in fields and byte_offset"
    : "get_workflow with full: true shows all of it";
  return clipFields(out, PAYLOAD_FIELDS, limit, how);
}

/** `get_workflow`. */
export const getWorkflow = defineTool({
  name: "get_workflow",
  description: "One workflow's record: status, name, input, output, error, times, queue, executor, version, " +
    "fork origin, parent; payloads clipped to about 1 KB unless full. With include_steps it adds the " +
    "steps and marks the failing one: the fastest way to see why it failed. Next: fork_workflow from " +
    "that step, or workflow_tree.",
  input: getInput,
  output: z.object({
    application: z.string(),
    workflow: workflowShape,
    parent_workflow_id: z.string().optional().describe("The workflow that started this one, if any."),
    steps: z.array(stepShape).optional(),
    failing_step: z.number().int().optional().describe("stepId of the first step that failed."),
    child_workflow_ids: z.array(z.string()).optional().describe("Workflows this one started (from its steps)."),
    note: z.string().optional(),
  }),
  annotations: { title: "Get workflow", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const opts = { signal: ctx.signal };
    // Clipped payloads need only their start; full and byte_offset reads need the whole value.
    const whole = args.full || args.byte_offset !== undefined;
    const raw = normalizeWorkflow(
      await ctx.backend.getWorkflow(args.application_name, args.workflow_id, {
        ...opts,
        ...(whole ? {} : { payloadBytes: ctx.limits.maxFieldBytes }),
      }),
    );
    const out: GetResult = {
      application: args.application_name,
      workflow: selectPayload(raw, args, ctx, ctx.limits.maxResultBytes),
    };
    if (raw.parentWorkflowId) out.parent_workflow_id = raw.parentWorkflowId;
    if (args.include_steps) {
      const raw = await ctx.backend.listSteps(args.application_name, args.workflow_id, {}, opts);
      // Only the steps an answer could hold are prepared; the budget's fit cuts the rest with a note.
      const cap = stepCap(ctx);
      out.steps = raw.slice(0, cap).map((st) => clipStep(normalizeStep(st), ctx));
      const failing = firstFailing(raw);
      if (failing) out.failing_step = failing.stepId;
      const children = new Set<string>();
      for (const st of raw) {
        const c = st.childWorkflowId;
        if (typeof c === "string" && c !== "") children.add(c);
        if (children.size >= cap) break;
      }
      if (children.size) out.child_workflow_ids = [...children];
    }
    return out;
  },
  fit(result, maxBytes) {
    // The workflow record first: shrink its biggest payload (a few passes, each measured once) until the
    // answer without steps fits; then keep the longest prefix of the steps that still fits.
    const steps = result.steps;
    let r: GetResult = steps ? { ...result, steps: [] } : result;
    const clipped = `Clipped to stay within the ${maxBytes}-byte answer budget.`;
    for (let i = 0; i < 8; i++) {
      const over = answerBytes(r, renderGet) - maxBytes;
      if (over <= 0) break;
      const w = { ...r.workflow };
      const biggest = PAYLOAD_FIELDS.filter((f) => typeof w[f] === "string")
        .map((f) => ({ f, bytes: byteLength(String(w[f])) }))
        .sort((a, b) => b.bytes - a.bytes)[0];
      if (!biggest || biggest.bytes <= 256) break;
      const keep = Math.max(256, biggest.bytes - over / 2 - 512);
      w[biggest.f] = clip(String(w[biggest.f]), keep, "continue with one field in fields and byte_offset");
      r = { ...r, workflow: w, note: clipped };
    }
    if (!steps) return r;
    const base = r;
    const withSteps = (k: number): GetResult => {
      if (k === steps.length) return { ...base, steps };
      const note = `Showing the first ${k} steps to stay within the ${maxBytes}-byte answer budget: list_steps ` +
        "shows more.";
      return { ...base, steps: steps.slice(0, k), note: base.note ? `${base.note} ${note}` : note };
    };
    const keep = largestFitting(
      prefixBound(steps, maxBytes),
      (k) => answerBytes(withSteps(k), renderGet) <= maxBytes,
    );
    const fitted = withSteps(keep);
    const children = fitted.child_workflow_ids;
    if (keep > 0 || !children || answerBytes(fitted, renderGet) <= maxBytes) return fitted;
    const withChildren = (k: number): GetResult => ({
      ...fitted,
      child_workflow_ids: children.slice(0, k),
      note: `${fitted.note} Showing ${k} of ${children.length} child workflows: workflow_tree lists them.`,
    });
    return withChildren(
      largestFitting(prefixBound(children, maxBytes), (k) => answerBytes(withChildren(k), renderGet) <= maxBytes),
    );
  },
  render: renderGet,
});

function renderGet(r: GetResult): string {
  const w = r.workflow as Record<string, unknown>;
  const lines = [workflowLine(w)];
  const times = [
    w.updatedAt ? `updated ${w.updatedAt}` : "",
    pairs(w, ["appVersion", "executorId", "user", "forkedFrom"]),
    r.parent_workflow_id ? `parent ${r.parent_workflow_id}` : "",
  ].filter(Boolean).join("  ");
  if (times) lines.push(times);
  for (const k of PAYLOAD_FIELDS) {
    if (w[k] !== undefined && w[k] !== null) lines.push(`${k}: ${String(w[k])}`);
  }
  if (r.steps) {
    lines.push(`${r.steps.length} step(s):`);
    for (const st of r.steps) {
      lines.push(`${st.stepId === r.failing_step ? "FAILED " : ""}${stepLine(st)}`);
    }
  }
  if (r.child_workflow_ids) lines.push(`children: ${r.child_workflow_ids.join(", ")}`);
  if (r.note) lines.push(r.note);
  return lines.join("\n");
}

/** JSON bytes of the smallest step there is: `{"stepId":0,"stepName":""}` (and a comma). */
const MIN_STEP_BYTES = 27;

/** More steps than any answer within the budget can hold: preparing more would be wasted work. */
function stepCap(ctx: ToolContext): number {
  return Math.floor(ctx.limits.maxResultBytes / MIN_STEP_BYTES) + 1;
}

/** The first step that failed, normalized, looked for among all of `raw` without normalizing the rest. */
function firstFailing(raw: readonly Step[]): Step | undefined {
  const st = raw.find((s) => s.error !== undefined && s.error !== null && s.error !== "");
  if (!st) return undefined;
  const n = normalizeStep(st);
  return n.error !== undefined && n.error !== "" ? n : undefined;
}

/** Clips a step's output and error to the per-field budget. */
function clipStep(st: StepView, ctx: ToolContext): StepView {
  return clipFields(st, ["output", "error"], ctx.limits.maxFieldBytes, "list_steps with full: true shows all");
}

/** `list_steps`. */
export const listSteps = defineTool({
  name: "list_steps",
  description: "A workflow's steps in order: stepId, name, output or error, child workflow, times. Use it to " +
    "find where a workflow failed or stopped; pass a stepId as start_step to fork_workflow. Outputs " +
    "clipped to about 1 KB unless full; page long workflows with limit and offset.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_id: workflowId,
    full: z.boolean().optional().describe("Outputs and errors whole (within the budget)."),
    limit: z.number().int().min(1).max(100_000).optional().describe("Most steps to return (default all)."),
    offset: z.number().int().min(0).max(10_000_000).optional().describe("Steps to skip."),
  }),
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    steps: z.array(stepShape),
    count: z.number().int(),
    failing_step: z.number().int().optional().describe("stepId of the first step that failed."),
    note: z.string().optional(),
  }),
  annotations: { title: "List steps", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const page = { limit: args.limit, offset: args.offset };
    const raw = await ctx.backend.listSteps(args.application_name, args.workflow_id, page, { signal: ctx.signal });
    // Only the steps an answer could hold are prepared; the budget's fit cuts the rest with a note.
    const steps = raw.slice(0, stepCap(ctx)).map(normalizeStep).map((st) => args.full ? st : clipStep(st, ctx));
    const failing = firstFailing(raw);
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      steps,
      count: steps.length,
      ...(failing ? { failing_step: failing.stepId } : {}),
    };
  },
  fit(result, maxBytes) {
    // One pass: bound the prefix by the steps' own sizes, then search it; the note says how to see the rest.
    const all = result.steps;
    const withSteps = (k: number): StepsResult => ({
      ...result,
      steps: all.slice(0, k),
      count: k,
      note: `Showing the first ${k} of ${all.length} steps to stay within the ${maxBytes}-byte answer budget; ` +
        "call without full: true for clipped outputs.",
    });
    const keep = largestFitting(prefixBound(all, maxBytes), (k) => answerBytes(withSteps(k), renderSteps) <= maxBytes);
    return withSteps(Math.max(1, keep));
  },
  render: renderSteps,
});

/** What `list_steps` returns. */
interface StepsResult {
  [key: string]: unknown;
  application: string;
  workflow_id: string;
  steps: StepView[];
  count: number;
  failing_step?: number;
  note?: string;
}

function renderSteps(r: StepsResult): string {
  if (r.count === 0) return `Workflow ${r.workflow_id} has no recorded steps.`;
  const lines = [`${r.count} step(s) of ${r.workflow_id}:`];
  for (const st of r.steps) lines.push(`${st.stepId === r.failing_step ? "FAILED " : ""}${stepLine(st)}`);
  if (r.note) lines.push(r.note);
  return lines.join("\n");
}
