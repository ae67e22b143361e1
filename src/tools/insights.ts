/**
 * Tools that answer an agent's usual questions in one call:
 * `summarize_workflows` ("what failed in the last hour, and why?"),
 * `list_queues` ("what is waiting where?") and `workflow_tree` ("what did this
 * workflow start?"). Counts come from server-side aggregates (exact over any
 * number of workflows); only the few workflows an answer shows are read.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../core/tool.ts";
import { applicationName, normalizeStep, normalizeWorkflow, workflowId } from "./_schemas.ts";
import { normalizeQueue, queueShape, type QueueView } from "./_schemas_reads.ts";
import { queueLimits } from "./configuration.ts";
import { timeArg } from "./_time.ts";
import { epochMs, errorMessage, head } from "./_render.ts";

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

/** The latest failures read, with their errors, to group the errors of the summary. */
const ERROR_SAMPLE = 200;

/** `summarize_workflows`. */
export const summarizeWorkflows = defineTool({
  name: "summarize_workflows",
  description: "One-call summary of a time window (default: last hour): exact counts by status and name, the " +
    "commonest errors of the latest failures (grouped by message, with counts, example ids and " +
    "failing step), the longest latency per name. Use it first for 'what failed and why?'; then " +
    "get_workflow (include_steps).",
  input: z.strictObject({
    application_name: applicationName,
    start_time: timeArg("Window start (default 1h ago)"),
    end_time: timeArg("Window end (default now)"),
    workflow_name: z.string().min(1).max(512).optional().describe("Only this workflow function."),
    top: z.number().int().min(1).max(20).default(5).describe("How many error groups and slowest names."),
  }),
  output: z.object({
    application: z.string(),
    window: z.object({ start: z.string(), end: z.string().optional() }),
    total: z.number().int().describe("Workflows in the window (exact)."),
    by_status: z.record(z.string(), z.number().int()),
    by_name: z.array(z.object({ name: z.string(), total: z.number().int(), failed: z.number().int() })),
    errors: z.array(z.object({
      message: z.string().describe("A representative message of the group."),
      count: z.number().int().describe("Failures with this message among the examined ones."),
      example_ids: z.array(z.string()),
      step: z.object({ stepId: z.number().int(), stepName: z.string() }).optional()
        .describe("The step that failed, in the first example."),
    })),
    errors_examined: z.number().int().describe("Latest failures whose errors were grouped (of by_status's)."),
    slowest: z.array(z.object({
      name: z.string(),
      max_total_latency_ms: z.number().int().describe("Longest creation-to-completion time."),
    })),
  }),
  annotations: { title: "Summarize workflows", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const app = args.application_name;
    const opts = { signal: ctx.signal };
    const start = args.start_time ?? new Date(Date.now() - 3_600_000).toISOString();
    const filter = {
      startTime: start,
      endTime: args.end_time,
      workflowName: args.workflow_name ? [args.workflow_name] : undefined,
    };
    // One server-side aggregate (exact counts by status and name, and the longest latencies) and, at the same
    // time, the latest failures with their errors, to group them: only those are read.
    const [groups, failures] = await Promise.all([
      ctx.backend.getWorkflowAggregates(app, {
        ...filter,
        groupByStatus: true,
        groupByWorkflowName: true,
        selectCount: true,
        selectMaxTotalLatencyMs: true,
      }, opts),
      ctx.backend.listWorkflows(app, {
        ...filter,
        status: [...FAILED],
        loadOutput: true,
        sortDesc: true,
        limit: ERROR_SAMPLE,
      }, { ...opts, payloadBytes: ctx.limits.maxFieldBytes }).then((rows) => rows.map(normalizeWorkflow)),
    ]);
    const byStatus: Record<string, number> = {};
    const byName = new Map<string, { total: number; failed: number; latency?: number }>();
    let total = 0;
    for (const g of groups) {
      const status = g.group.status ?? "?";
      const name = g.group.name ?? "?";
      const count = g.count ?? 0;
      total += count;
      byStatus[status] = (byStatus[status] ?? 0) + count;
      const n = byName.get(name) ?? { total: 0, failed: 0 };
      n.total += count;
      if (FAILED.has(status)) n.failed += count;
      if (g.maxTotalLatencyMs !== undefined) n.latency = Math.max(n.latency ?? 0, g.maxTotalLatencyMs);
      byName.set(name, n);
    }
    await ctx.progress(1, 2, `counted ${total} workflows, read ${failures.length} failures`);
    const grouped = new Map<string, { message: string; ids: string[]; count: number }>();
    for (const w of failures) {
      const message = errorMessage(w.error) || "(no error message)";
      const key = `${w.workflowName ?? "?"}\u0000${normalizeError(message)}`;
      const g = grouped.get(key) ?? { message, ids: [], count: 0 };
      g.count++;
      if (g.ids.length < 3) g.ids.push(w.workflowId);
      grouped.set(key, g);
    }
    const errors = [];
    for (const g of [...grouped.values()].sort((a, b) => b.count - a.count).slice(0, args.top)) {
      const group: {
        message: string;
        count: number;
        example_ids: string[];
        step?: { stepId: number; stepName: string };
      } = { message: head(g.message, 300), count: g.count, example_ids: g.ids };
      try {
        const steps = (await ctx.backend.listSteps(app, g.ids[0], {}, opts)).map(normalizeStep);
        const failing = steps.find((s) => s.error);
        if (failing) group.step = { stepId: failing.stepId, stepName: failing.stepName };
      } catch {
        // the step is a courtesy; the group stands without it
      }
      errors.push(group);
    }
    await ctx.progress(2, 2, `grouped the errors into ${grouped.size} group(s)`);
    const slowest = [...byName.entries()]
      .filter(([, v]) => v.latency !== undefined)
      .map(([name, v]) => ({ name, max_total_latency_ms: v.latency! }))
      .sort((a, b) => b.max_total_latency_ms - a.max_total_latency_ms)
      .slice(0, args.top);
    return {
      application: app,
      window: { start, ...(args.end_time ? { end: args.end_time } : {}) },
      total,
      by_status: byStatus,
      by_name: [...byName.entries()].map(([name, v]) => ({ name, total: v.total, failed: v.failed }))
        .sort((a, b) => b.failed - a.failed || b.total - a.total).slice(0, 10),
      errors,
      errors_examined: failures.length,
      slowest,
    };
  },
  render(r) {
    const lines = [
      `${r.total} workflow(s) in ${r.application} since ${r.window.start}: ` +
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
    const failed = Object.entries(r.by_status).filter(([s]) => FAILED.has(s)).reduce((n, [, c]) => n + c, 0);
    if (r.errors_examined < failed) {
      lines.push(`Errors grouped from the latest ${r.errors_examined} of ${failed} failures.`);
    }
    if (r.slowest.length) {
      lines.push(`slowest: ${r.slowest.map((s) => `${s.name} ${s.max_total_latency_ms} ms`).join(", ")}`);
    }
    return lines.join("\n");
  },
});

/** Queues whose oldest waiting workflow is looked up by id. */
const OLDEST_LOOKUPS = 20;

/** `list_queues`. */
export const listQueues = defineTool({
  name: "list_queues",
  description: "An application's queues: configuration (concurrency, worker concurrency, rate limit, " +
    "partitioning) and what is on each now, counted server-side: ENQUEUED (waiting), PENDING " +
    "(running), age of the oldest waiting. Use it when work seems stuck; then get_queue, or " +
    "list_workflows with queue_name and status ENQUEUED.",
  input: z.strictObject({ application_name: applicationName }),
  output: z.object({
    application: z.string(),
    queues: z.array(z.object({
      queue_name: z.string(),
      enqueued: z.number().int(),
      pending: z.number().int(),
      oldest_enqueued_age_ms: z.number().int().optional(),
      oldest_enqueued_id: z.string().optional(),
      config: queueShape.optional().describe("The queue's configuration (absent for a queue DBOS has no record of)."),
    })),
  }),
  annotations: { title: "List queues", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const app = args.application_name;
    const opts = { signal: ctx.signal };
    const [configs, groups] = await Promise.all([
      ctx.backend.listQueues(app, opts),
      ctx.backend.getWorkflowAggregates(app, {
        groupByQueueName: true,
        groupByStatus: true,
        selectCount: true,
        selectMinCreatedAt: true,
        status: ["ENQUEUED", "PENDING"],
      }, opts),
    ]);
    type Row = { queue_name: string; enqueued: number; pending: number; oldest?: number; config?: QueueView };
    const queues = new Map<string, Row>();
    const row = (name: string) => {
      const q = queues.get(name) ?? { queue_name: name, enqueued: 0, pending: 0 };
      queues.set(name, q);
      return q;
    };
    for (const c of configs) row(c.name).config = normalizeQueue(c);
    for (const g of groups) {
      const name = g.group.queue_name;
      if (!name) continue;
      const q = row(name);
      if (g.group.status === "ENQUEUED") {
        q.enqueued += g.count ?? 0;
        const t = epochMs(g.minCreatedAt);
        if (Number.isFinite(t)) q.oldest = Math.min(q.oldest ?? t, t);
      } else q.pending += g.count ?? 0;
    }
    const sorted = [...queues.values()].sort((a, b) =>
      b.enqueued - a.enqueued || b.pending - a.pending || (a.queue_name < b.queue_name ? -1 : 1)
    );
    const now = Date.now();
    const out = [];
    for (const [i, q] of sorted.entries()) {
      let oldestId: string | undefined;
      if (q.enqueued > 0 && i < OLDEST_LOOKUPS) {
        const [w] = await ctx.backend.listWorkflows(app, {
          queueName: [q.queue_name],
          status: ["ENQUEUED"],
          limit: 1,
        }, opts);
        oldestId = w?.workflowId;
      }
      out.push({
        queue_name: q.queue_name,
        enqueued: q.enqueued,
        pending: q.pending,
        ...(q.oldest !== undefined ? { oldest_enqueued_age_ms: Math.max(0, now - q.oldest) } : {}),
        ...(oldestId ? { oldest_enqueued_id: oldestId } : {}),
        ...(q.config ? { config: q.config } : {}),
      });
    }
    return { application: app, queues: out };
  },
  render(r) {
    if (r.queues.length === 0) return `Application ${r.application} has no queues and nothing queued.`;
    return [
      `${r.queues.length} queue(s) in ${r.application}:`,
      ...r.queues.map((q) =>
        `${q.queue_name}  ${q.enqueued} enqueued  ${q.pending} pending` +
        (q.oldest_enqueued_age_ms !== undefined
          ? `  oldest waiting ${Math.round(q.oldest_enqueued_age_ms / 1000)} s` +
            (q.oldest_enqueued_id ? ` (${q.oldest_enqueued_id})` : "")
          : "") +
        (q.config ? `  ${queueLimits(q.config)}` : "")
      ),
    ].join("\n");
  },
});

/** `workflow_tree`. */
export const workflowTree = defineTool({
  name: "workflow_tree",
  description: "A workflow's parent and the tree of children it started, to a bounded depth, with each one's " +
    "status and error: finds which child failed; then get_workflow on it.",
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
