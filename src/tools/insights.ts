/**
 * Tools that answer an agent's usual questions in one call:
 * `summarize_workflows` ("what failed in the last hour, and why?"),
 * `list_queues` ("what is waiting where?") and `workflow_tree` ("what did this
 * workflow start?"). They work on any backend through the list, get and steps
 * operations, reading at most a bounded number of workflows.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import type { WorkflowSearch } from "../backends/backend.ts";
import { applicationName, normalizeStep, normalizeWorkflow, workflowId, type WorkflowView } from "./_schemas.ts";
import { timeArg } from "./_time.ts";
import { epochMs, errorMessage, head } from "./_render.ts";

/** Workflows read per page while scanning. */
const PAGE = 500;

/** Reads every workflow matching `filter`, oldest first, up to `cap`; says whether it stopped at the cap. */
async function scan(
  ctx: ToolContext,
  app: string,
  filter: WorkflowSearch,
  cap: number,
): Promise<{ rows: WorkflowView[]; capped: boolean }> {
  const rows: WorkflowView[] = [];
  const list = (limit: number, offset: number) =>
    ctx.backend.listWorkflows(app, { ...filter, limit, offset }, { signal: ctx.signal });
  for (;;) {
    const want = Math.min(PAGE, cap - rows.length);
    const page = await list(want, rows.length);
    rows.push(...page.map(normalizeWorkflow));
    await ctx.progress(rows.length, undefined, `read ${rows.length} workflows`);
    if (page.length < want) return { rows, capped: false };
    if (rows.length >= cap) return { rows, capped: (await list(1, rows.length)).length > 0 };
  }
}

/** Groups error messages that differ only in ids, numbers and quoted values. */
export function normalizeError(message: string): string {
  return message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>")
    .replace(/\b[0-9a-f]{16,}\b/gi, "<hex>")
    .replace(/(["'`])(?:(?!\1).){0,200}\1/g, "<value>")
    .replace(/\b\d+(\.\d+)?\b/g, "<n>")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);
}

const FAILED = new Set(["ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]);

/** `summarize_workflows`. */
export const summarizeWorkflows = defineTool({
  name: "summarize_workflows",
  description: "Summarize an application's workflows in a time window (default: the last hour) in one " +
    "call: counts by status and by workflow name, the most common errors grouped by message with counts, " +
    "example ids and the step that failed, and the slowest workflows. Use it first for questions like " +
    "'what failed in the last hour and why?'; then get_workflow (include_steps: true) on an example id.",
  input: z.strictObject({
    application_name: applicationName,
    start_time: timeArg("Window start (default 1h ago)"),
    end_time: timeArg("Window end (default now)"),
    workflow_name: z.string().min(1).max(512).optional().describe("Only this workflow function."),
    max_workflows: z.number().int().min(1).max(50_000).default(10_000).describe(
      "Read at most this many workflows (default 10000); the answer says when it stopped there.",
    ),
    top: z.number().int().min(1).max(20).default(5).describe("How many error groups and slowest workflows."),
  }),
  output: z.object({
    application: z.string(),
    window: z.object({ start: z.string(), end: z.string().optional() }),
    scanned: z.number().int().describe("Workflows read."),
    capped: z.boolean().describe("True when max_workflows stopped the scan: counts are a lower bound."),
    by_status: z.record(z.string(), z.number().int()),
    by_name: z.array(z.object({ name: z.string(), total: z.number().int(), failed: z.number().int() })),
    errors: z.array(z.object({
      message: z.string().describe("A representative message of the group."),
      count: z.number().int(),
      example_ids: z.array(z.string()),
      step: z.object({ stepId: z.number().int(), stepName: z.string() }).optional()
        .describe("The step that failed, in the first example."),
    })),
    slowest: z.array(z.object({
      workflow_id: z.string(),
      name: z.string(),
      status: z.string(),
      duration_ms: z.number().int(),
    })),
  }),
  annotations: { title: "Summarize workflows", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const start = args.start_time ?? new Date(Date.now() - 3_600_000).toISOString();
    const window: WorkflowSearch = {
      startTime: start,
      endTime: args.end_time,
      workflowName: args.workflow_name ? [args.workflow_name] : undefined,
    };
    const { rows, capped } = await scan(ctx, args.application_name, window, args.max_workflows);
    // Some backends list errors only with outputs loaded: read the failed ones again, with them.
    const missing = rows.filter((w) => FAILED.has(w.status) && !w.error);
    if (missing.length > 0) {
      const errors = new Map<string, string | undefined>();
      for (const status of new Set(missing.map((w) => w.status))) {
        const failed = await scan(ctx, args.application_name, {
          ...window,
          status: [status],
          loadOutput: true,
        }, args.max_workflows);
        for (const w of failed.rows) errors.set(w.workflowId, w.error);
      }
      for (const w of missing) if (errors.get(w.workflowId)) w.error = errors.get(w.workflowId);
    }

    const byStatus: Record<string, number> = {};
    const byName = new Map<string, { total: number; failed: number }>();
    const groups = new Map<string, { message: string; ids: string[]; count: number }>();
    for (const w of rows) {
      byStatus[w.status] = (byStatus[w.status] ?? 0) + 1;
      const name = String(w.workflowName ?? "?");
      const n = byName.get(name) ?? { total: 0, failed: 0 };
      n.total++;
      if (FAILED.has(w.status)) n.failed++;
      byName.set(name, n);
      if (FAILED.has(w.status)) {
        const message = errorMessage(w.error) || "(no error message)";
        const key = `${name}\u0000${normalizeError(message)}`;
        const g = groups.get(key) ?? { message, ids: [], count: 0 };
        g.count++;
        if (g.ids.length < 3) g.ids.push(w.workflowId);
        groups.set(key, g);
      }
    }
    const errors = [];
    for (const g of [...groups.values()].sort((a, b) => b.count - a.count).slice(0, args.top)) {
      const group: {
        message: string;
        count: number;
        example_ids: string[];
        step?: { stepId: number; stepName: string };
      } = { message: head(g.message, 300), count: g.count, example_ids: g.ids };
      try {
        const steps = (await ctx.backend.listSteps(args.application_name, g.ids[0], {}, { signal: ctx.signal }))
          .map(normalizeStep);
        const failing = steps.find((s) => s.error);
        if (failing) group.step = { stepId: failing.stepId, stepName: failing.stepName };
      } catch {
        // the step is a courtesy; the group stands without it
      }
      errors.push(group);
    }
    const slowest = rows
      .filter((w) => w.createdAt && w.updatedAt && w.status !== "ENQUEUED")
      .map((w) => ({
        workflow_id: w.workflowId,
        name: String(w.workflowName ?? "?"),
        status: w.status,
        duration_ms: Math.max(0, epochMs(w.updatedAt) - epochMs(w.createdAt)),
      }))
      .filter((w) => Number.isFinite(w.duration_ms))
      .sort((a, b) => b.duration_ms - a.duration_ms)
      .slice(0, args.top);
    return {
      application: args.application_name,
      window: { start, ...(args.end_time ? { end: args.end_time } : {}) },
      scanned: rows.length,
      capped,
      by_status: byStatus,
      by_name: [...byName.entries()].map(([name, v]) => ({ name, ...v }))
        .sort((a, b) => b.failed - a.failed || b.total - a.total).slice(0, 10),
      errors,
      slowest,
    };
  },
  render(r) {
    const lines = [
      `${r.scanned}${r.capped ? "+" : ""} workflow(s) in ${r.application} since ${r.window.start}: ` +
      (Object.entries(r.by_status).map(([s, n]) => `${n} ${s}`).join(", ") || "none"),
    ];
    if (r.by_name.length) {
      lines.push(
        `by name: ${r.by_name.map((n) => `${n.name} ${n.total}${n.failed ? ` (${n.failed} failed)` : ""}`).join(", ")}`,
      );
    }
    for (const e of r.errors) {
      const step = e.step ? ` at step #${e.step.stepId} ${e.step.stepName}` : "";
      lines.push(`${e.count}x ${head(e.message, 160)}${step}; e.g. ${e.example_ids.join(", ")}`);
    }
    if (r.slowest.length) {
      lines.push(`slowest: ${r.slowest.map((s) => `${s.workflow_id} ${s.name} ${s.duration_ms} ms`).join(", ")}`);
    }
    if (r.capped) lines.push("Stopped at max_workflows: counts are a lower bound; narrow the window for exact ones.");
    return lines.join("\n");
  },
});

/** `list_queues`. */
export const listQueues = defineTool({
  name: "list_queues",
  description: "List an application's queues with how many workflows are ENQUEUED (waiting) and PENDING " +
    "(running) on each, and the age of the oldest waiting one. Use it when work seems stuck or slow; then " +
    "list_workflows with queue_name and status ENQUEUED to see what waits.",
  input: z.strictObject({ application_name: applicationName }),
  output: z.object({
    application: z.string(),
    queues: z.array(z.object({
      queue_name: z.string(),
      enqueued: z.number().int(),
      pending: z.number().int(),
      oldest_enqueued_age_ms: z.number().int().optional(),
      oldest_enqueued_id: z.string().optional(),
    })),
    capped: z.boolean().describe("True when there were too many workflows to count them all."),
  }),
  annotations: { title: "List queues", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const cap = 10_000;
    const queues = new Map<
      string,
      { queue_name: string; enqueued: number; pending: number; oldest?: { t: number; id: string } }
    >();
    let capped = false;
    for (const status of ["ENQUEUED", "PENDING"] as const) {
      const res = await scan(ctx, args.application_name, { status: [status], queuesOnly: true }, cap);
      capped ||= res.capped;
      for (const w of res.rows) {
        if (!w.queueName) continue;
        const name = w.queueName;
        const q = queues.get(name) ?? { queue_name: name, enqueued: 0, pending: 0 };
        if (status === "ENQUEUED") {
          q.enqueued++;
          const t = epochMs(w.createdAt);
          if (Number.isFinite(t) && (!q.oldest || t < q.oldest.t)) q.oldest = { t, id: w.workflowId };
        } else q.pending++;
        queues.set(name, q);
      }
    }
    const now = Date.now();
    return {
      application: args.application_name,
      queues: [...queues.values()].sort((a, b) => b.enqueued - a.enqueued).map((q) => ({
        queue_name: q.queue_name,
        enqueued: q.enqueued,
        pending: q.pending,
        ...(q.oldest ? { oldest_enqueued_age_ms: Math.max(0, now - q.oldest.t), oldest_enqueued_id: q.oldest.id } : {}),
      })),
      capped,
    };
  },
  render(r) {
    if (r.queues.length === 0) return `No workflows are waiting or running on a queue in ${r.application}.`;
    return [
      `${r.queues.length} active queue(s) in ${r.application}:`,
      ...r.queues.map((q) =>
        `${q.queue_name}  ${q.enqueued} enqueued  ${q.pending} pending` +
        (q.oldest_enqueued_age_ms !== undefined
          ? `  oldest waiting ${Math.round(q.oldest_enqueued_age_ms / 1000)} s (${q.oldest_enqueued_id})`
          : "")
      ),
    ].join("\n");
  },
});

/** `workflow_tree`. */
export const workflowTree = defineTool({
  name: "workflow_tree",
  description: "Show a workflow's parent and the tree of child workflows it started (through its steps), " +
    "to a bounded depth, with each one's status and error. Use it to find which child failed in a " +
    "parent/child workflow; then get_workflow on that child.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_id: workflowId,
    depth: z.number().int().min(1).max(5).default(2).describe("Levels of children to follow (default 2)."),
    max_nodes: z.number().int().min(1).max(200).default(50).describe("Stop after this many workflows."),
  }),
  output: z.object({
    application: z.string(),
    root: z.string(),
    parent_workflow_id: z.string().optional(),
    nodes: z.array(z.object({
      workflow_id: z.string(),
      parent: z.string().optional(),
      depth: z.number().int(),
      name: z.string(),
      status: z.string(),
      error: z.string().optional(),
    })),
    truncated: z.boolean(),
  }),
  annotations: { title: "Workflow tree", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const opts = { signal: ctx.signal };
    const nodes: {
      workflow_id: string;
      parent?: string;
      depth: number;
      name: string;
      status: string;
      error?: string;
    }[] = [];
    const seen = new Set<string>();
    const queue: { id: string; parent?: string; depth: number }[] = [{ id: args.workflow_id, depth: 0 }];
    let parentOfRoot: string | undefined;
    let truncated = false;
    while (queue.length) {
      const { id, parent, depth } = queue.shift()!;
      if (seen.has(id)) continue;
      if (nodes.length >= args.max_nodes) {
        truncated = true;
        break;
      }
      seen.add(id);
      const w = normalizeWorkflow(await ctx.backend.getWorkflow(args.application_name, id, opts));
      if (depth === 0 && w.parentWorkflowId) parentOfRoot = w.parentWorkflowId;
      nodes.push({
        workflow_id: id,
        ...(parent ? { parent } : {}),
        depth,
        name: String(w.workflowName ?? "?"),
        status: w.status,
        ...(w.error ? { error: head(errorMessage(w.error), 200) } : {}),
      });
      if (depth >= args.depth) continue;
      const steps = (await ctx.backend.listSteps(args.application_name, id, {}, opts)).map(normalizeStep);
      for (const child of new Set(steps.map((s) => s.childWorkflowId).filter((c): c is string => !!c))) {
        queue.push({ id: child, parent: id, depth: depth + 1 });
      }
    }
    return {
      application: args.application_name,
      root: args.workflow_id,
      ...(parentOfRoot ? { parent_workflow_id: parentOfRoot } : {}),
      nodes,
      truncated,
    };
  },
  render(r) {
    const lines = r.parent_workflow_id ? [`parent: ${r.parent_workflow_id}`] : [];
    for (const n of r.nodes) {
      lines.push(
        `${"  ".repeat(n.depth)}${n.workflow_id}  ${n.status}  ${n.name}${n.error ? `  error: ${n.error}` : ""}`,
      );
    }
    if (r.truncated) lines.push("(more workflows not shown: raise max_nodes or start from a child)");
    return lines.join("\n");
  },
});
