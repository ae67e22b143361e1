/**
 * Workflow introspection tools: `list_workflows`, `get_workflow`, `list_steps`.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import { type ListWorkflowsFilter, type Step, type Workflow, WORKFLOW_STATUSES } from "../backends/backend.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import { applicationName, stepShape, workflowId, workflowShape } from "./_schemas.ts";
import { timeArg } from "./_time.ts";
import { answerBytes, byteLength, clip, clipFields, largestFitting, prefixBound } from "../core/budget.ts";
import { cursorAfter, decodeCursor, encodeCursor, type PageCursor, queryKey } from "./_cursor.ts";
import { isoTime, pairs, stepLine, workflowLine } from "./_render.ts";
import { normalizeStep, normalizeWorkflow } from "./_normalize.ts";

/** Default and largest page of `list_workflows`. */
export const LIST_LIMIT = { default: 20, max: 500 } as const;

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
  start_time: timeArg("Only workflows created at or after this time"),
  end_time: timeArg("Only workflows created at or before this time"),
  status: statusArg,
  application_version: z.string().min(1).max(512).optional().describe("Only workflows of this application version."),
  forked_from: z.string().min(1).max(1024).optional().describe("Only workflows forked from this workflow id."),
  queue_name: z.string().min(1).max(512).optional().describe("Only workflows on this queue."),
  limit: z.number().int().min(1).max(LIST_LIMIT.max).default(LIST_LIMIT.default).describe(
    `Page size (default ${LIST_LIMIT.default}, at most ${LIST_LIMIT.max}).`,
  ),
  cursor: z.string().min(1).max(4096).optional().describe(
    "Continue after the previous page: pass its next_cursor, with the same filters.",
  ),
  offset: z.number().int().min(0).max(10_000_000).optional().describe(
    "Workflows to skip (prefer cursor: offsets shift when workflows arrive).",
  ),
  sort_desc: z.boolean().optional().describe("Newest first (default false: oldest first)."),
  workflow_id_prefix: z.string().min(1).max(1024).optional().describe("Only workflow ids starting with this."),
  load_input: z.boolean().optional().describe("Include each workflow's input (default false; can be large)."),
  load_output: z.boolean().optional().describe("Include each workflow's output (default false; can be large)."),
  executor_id: z.string().min(1).max(512).optional().describe("Only workflows last run by this executor."),
  queues_only: z.boolean().optional().describe("Only workflows that are on a queue."),
});

type ListArgs = z.output<typeof listInput>;

/** What `list_workflows` returns. */
interface ListResult {
  [key: string]: unknown;
  application: string;
  workflows: Workflow[];
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
  page: Workflow[],
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
  description: "List and filter an application's workflows (by status, name, time range such as " +
    "start_time '1h', queue, user, version, id prefix, executor, ...). Returns a page (default 20) oldest " +
    "first unless sort_desc is true, and next_cursor when there are more. Typical use: status ERROR, " +
    "start_time '24h', sort_desc true to find recent failures (or summarize_workflows for counts and error " +
    "groups). Next: get_workflow for details, list_steps to see where it failed.",
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
    const { application_name: _a, cursor: _c, limit, offset, ...filters } = args;
    const filter: ListWorkflowsFilter = { ...filters, limit: limit + 1 + (prev?.ids.length ?? 0) };
    if (prev) {
      // Continue at the cursor's creation time (inclusive) and skip what was already returned there.
      const at = new Date(prev.t).toISOString();
      if (args.sort_desc) filter.end_time = args.end_time && args.end_time < at ? args.end_time : at;
      else filter.start_time = args.start_time && args.start_time > at ? args.start_time : at;
    } else if (offset !== undefined) {
      filter.offset = offset;
    }
    // Each payload is clipped to maxFieldBytes: a backend that can reads no more of a large one.
    const opts = { signal: ctx.signal, payloadBytes: ctx.limits.maxFieldBytes };
    let rows = await ctx.backend.listWorkflows(args.application_name, filter, opts);
    if (prev) rows = rows.filter((w) => !(Number(w.CreatedAt) === prev.t && prev.ids.includes(w.WorkflowUUID)));
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

const PAYLOAD_FIELDS = ["Input", "Output", "Error"] as const;

/** Clips a workflow's payload fields to the per-field budget. */
function clipWorkflow(w: Workflow, ctx: ToolContext): Workflow {
  return clipFields(w, PAYLOAD_FIELDS, ctx.limits.maxFieldBytes, "get_workflow with full: true shows all of it");
}

const getInput = z.strictObject({
  application_name: applicationName,
  workflow_id: workflowId,
  full: z.boolean().optional().describe(
    "Show Input, Output and Error whole instead of clipped to about 1 KB each (the answer stays within " +
      "its total budget: page through a large field with fields and byte_offset).",
  ),
  fields: z.array(z.enum(PAYLOAD_FIELDS)).min(1).max(3).optional().describe(
    "Only these payload fields (default all three), e.g. ['Error'].",
  ),
  byte_offset: z.number().int().min(0).optional().describe(
    "With one field in fields: start that field at this byte, to read a large value in parts.",
  ),
  include_steps: z.boolean().optional().describe(
    "Also return the steps (each clipped), with the failing step marked and child workflows linked.",
  ),
});

type GetArgs = z.output<typeof getInput>;

/** What `get_workflow` returns. */
interface GetResult {
  [key: string]: unknown;
  application: string;
  workflow: Workflow;
  parent_workflow_id?: string;
  steps?: Step[];
  failing_step?: number;
  child_workflow_ids?: string[];
  note?: string;
}

function selectPayload(w: Workflow, args: GetArgs, ctx: ToolContext, budget: number): Workflow {
  const out: Workflow = { ...w };
  for (const f of PAYLOAD_FIELDS) if (args.fields && !args.fields.includes(f)) delete out[f];
  if (args.byte_offset !== undefined) {
    if (!args.fields || args.fields.length !== 1) {
      throw new InvalidArgumentError("byte_offset needs exactly one field in fields, e.g. fields: ['Output'].");
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
  description: "Get one workflow's record: status, name, input, output, error, times, queue, executor, " +
    "version, fork origin and parent. Payloads are clipped to about 1 KB each unless full is true. With " +
    "include_steps: true it also returns the steps, marking the failing one: the fastest way to see why a " +
    "workflow failed. Next: fork_workflow from the failing step, or workflow_tree for its children.",
  input: getInput,
  output: z.object({
    application: z.string(),
    workflow: workflowShape,
    parent_workflow_id: z.string().optional().describe("The workflow that started this one, if any."),
    steps: z.array(stepShape).optional(),
    failing_step: z.number().int().optional().describe("function_id of the first step that failed."),
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
    const parent = raw.ParentWorkflowID ?? raw.parent_workflow_id;
    if (typeof parent === "string" && parent !== "") out.parent_workflow_id = parent;
    if (args.include_steps) {
      const raw = await ctx.backend.listSteps(args.application_name, args.workflow_id, opts);
      // Only the steps an answer could hold are prepared; the budget's fit cuts the rest with a note.
      const cap = stepCap(ctx);
      out.steps = raw.slice(0, cap).map((st) => clipStep(normalizeStep(st), ctx));
      const failing = firstFailing(raw);
      if (failing) out.failing_step = failing.function_id;
      const children = new Set<string>();
      for (const st of raw) {
        const c = st.child_workflow_id;
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
    isoTime(w.UpdatedAt) ? `updated ${isoTime(w.UpdatedAt)}` : "",
    pairs(w, ["ApplicationVersion", "ExecutorID", "AuthenticatedUser", "ForkedFrom"]),
    r.parent_workflow_id ? `parent ${r.parent_workflow_id}` : "",
  ].filter(Boolean).join("  ");
  if (times) lines.push(times);
  for (const k of PAYLOAD_FIELDS) {
    if (w[k] !== undefined && w[k] !== null) lines.push(`${k}: ${String(w[k])}`);
  }
  if (r.steps) {
    lines.push(`${r.steps.length} step(s):`);
    for (const st of r.steps) {
      lines.push(`${st.function_id === r.failing_step ? "FAILED " : ""}${stepLine(st)}`);
    }
  }
  if (r.child_workflow_ids) lines.push(`children: ${r.child_workflow_ids.join(", ")}`);
  if (r.note) lines.push(r.note);
  return lines.join("\n");
}

/** JSON bytes of the smallest step there is: `{"function_id":0,"function_name":""}`. */
const MIN_STEP_BYTES = 36;

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
function clipStep(st: Step, ctx: ToolContext): Step {
  return clipFields(st, ["output", "error"], ctx.limits.maxFieldBytes, "list_steps with full: true shows all");
}

/** `list_steps`. */
export const listSteps = defineTool({
  name: "list_steps",
  description: "List a workflow's steps in order: step id (function_id), name, output or error, child " +
    "workflow, start and end times. Use it to find the step where a workflow failed or stopped; pass a " +
    "step id as start_step to fork_workflow to re-run from there. Outputs are clipped to about 1 KB each " +
    "unless full is true.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_id: workflowId,
    full: z.boolean().optional().describe("Show outputs and errors whole (within the answer budget)."),
  }),
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    steps: z.array(stepShape),
    count: z.number().int(),
    failing_step: z.number().int().optional().describe("function_id of the first step that failed."),
    note: z.string().optional(),
  }),
  annotations: { title: "List steps", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const raw = await ctx.backend.listSteps(args.application_name, args.workflow_id, { signal: ctx.signal });
    // Only the steps an answer could hold are prepared; the budget's fit cuts the rest with a note.
    const steps = raw.slice(0, stepCap(ctx)).map(normalizeStep).map((st) => args.full ? st : clipStep(st, ctx));
    const failing = firstFailing(raw);
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      steps,
      count: steps.length,
      ...(failing ? { failing_step: failing.function_id } : {}),
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
  steps: Step[];
  count: number;
  failing_step?: number;
  note?: string;
}

function renderSteps(r: StepsResult): string {
  if (r.count === 0) return `Workflow ${r.workflow_id} has no recorded steps.`;
  const lines = [`${r.count} step(s) of ${r.workflow_id}:`];
  for (const st of r.steps) lines.push(`${st.function_id === r.failing_step ? "FAILED " : ""}${stepLine(st)}`);
  if (r.note) lines.push(r.note);
  return lines.join("\n");
}
