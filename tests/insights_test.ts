// summarize_workflows, list_queues and workflow_tree over the backend
// interface (an in-memory backend with the contract's list semantics).
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { normalizeError } from "../src/tools/insights.ts";

/** Epoch milliseconds as the ISO 8601 text v2 answers carry. */
const isoAt = (ms: number): string => new Date(ms).toISOString();

Deno.test("normalizeError() groups messages that differ only in ids, numbers and quoted values", () => {
  assertEquals(
    normalizeError("order 1234 for 'alice' failed (id 3f2b1c4d-1111-2222-3333-444455556666)"),
    normalizeError("order 99 for 'bob' failed (id 00000000-aaaa-bbbb-cccc-dddddddddddd)"),
  );
  assert(normalizeError("payment declined") !== normalizeError("payment timed out"));
});

/** 10,000 workflows in the last hour; 37 failed at the `charge` step with two different errors. */
function scenario(): MemoryBackend {
  const b = new MemoryBackend();
  const now = Date.now();
  for (let i = 0; i < 10_000; i++) {
    const failed = i % 270 === 5 && i < 37 * 270;
    const kind = Math.floor(i / 270) % 2 === 0 ? `card ${1000 + i} declined` : `gateway timeout after ${i} ms`;
    b.add({
      workflowId: `wf-${i}`,
      createdAt: isoAt(now - 3_000_000 + i * 100),
      updatedAt: isoAt(now - 3_000_000 + i * 100 + (i === 4242 ? 90_000 : 50 + (i % 7))),
      completedAt: isoAt(now - 3_000_000 + i * 100 + (i === 4242 ? 90_000 : 50 + (i % 7))),
      status: failed ? "ERROR" : "SUCCESS",
      workflowName: failed || i % 3 ? "checkout" : "refund",
      ...(failed
        ? { error: JSON.stringify({ name: "PaymentError", message: kind, stack: "at charge (/app/x.ts:1)" }) }
        : {}),
    });
    if (failed) {
      b.steps.set(`wf-${i}`, [
        { stepId: 0, stepName: "reserve", output: "'ok'" },
        { stepId: 1, stepName: "charge", error: kind },
      ]);
    }
  }
  return b;
}

Deno.test("summarize_workflows finds what failed and why, and where, in one call of under 4 KB", async () => {
  await using mcp = await connectInProcess({ backend: scenario(), log: () => {} });
  const res = await mcp.client.callTool({ name: "summarize_workflows", arguments: { application_name: "app" } });
  assert(!res.isError, textOf(res));
  const bytes = new TextEncoder().encode(JSON.stringify(res)).length;
  assert(bytes <= 4_096, `summary is ${bytes} bytes`);
  const out = res.structuredContent as Record<string, unknown>;
  assertEquals(out.total, 10_000);
  assertEquals((out.by_status as Record<string, number>).ERROR, 37);
  const errors = out.errors as { message: string; count: number; step?: { stepName: string } }[];
  assertEquals(errors.length, 2);
  assertEquals(errors.reduce((n, e) => n + e.count, 0), 37);
  assert(errors.some((e) => e.message.includes("declined")) && errors.some((e) => e.message.includes("timeout")));
  for (const e of errors) assertEquals(e.step?.stepName, "charge");
  // wf-4242 (a refund) took 90 s: the longest latency, by name, from the aggregate.
  assertEquals((out.slowest as Record<string, unknown>[])[0], { name: "refund", max_total_latency_ms: 90_000 });
  assertStringIncludes(textOf(res), "at step #1 charge");
});

Deno.test("summarize_workflows counts exactly from one aggregate, reading only the failures it groups", async () => {
  const b = scenario();
  const now = Date.now();
  // 60,000 workflows: more than the 10,000 the old scan stopped at.
  for (let i = 0; i < 50_000; i++) {
    b.add({ workflowId: `bulk-${i}`, createdAt: isoAt(now - 2_000_000 + (i % 1000)), workflowName: "bulk" });
  }
  await using mcp = await connectInProcess({ backend: b, log: () => {} });
  const res = await mcp.client.callTool({ name: "summarize_workflows", arguments: { application_name: "app" } });
  assert(!res.isError, textOf(res));
  const out = res.structuredContent as Record<string, unknown>;
  assertEquals(out.total, 60_000);
  assertEquals((out.by_status as Record<string, number>).SUCCESS, 60_000 - 37);
  assertEquals((out.by_name as Record<string, unknown>[]).find((n) => n.name === "bulk")?.total, 50_000);
  assertEquals(out.errors_examined, 37);
  assertEquals(b.aggregateQueries, 1, "one server-side aggregate");
  assertEquals(b.queries, 1, "one list call, for the failures");
});

Deno.test("list_queues counts enqueued and pending work per queue, with the oldest waiting", async () => {
  const b = new MemoryBackend();
  const now = Date.now();
  b.add({ workflowId: "a", createdAt: isoAt(now - 60_000), status: "ENQUEUED", queueName: "emails" });
  b.add({ workflowId: "b", createdAt: isoAt(now - 10_000), status: "ENQUEUED", queueName: "emails" });
  b.add({ workflowId: "c", createdAt: isoAt(now - 5_000), status: "PENDING", queueName: "emails" });
  b.add({ workflowId: "d", createdAt: isoAt(now - 5_000), status: "PENDING", queueName: "reports" });
  b.add({ workflowId: "e", createdAt: isoAt(now - 5_000), status: "PENDING" });
  await using mcp = await connectInProcess({ backend: b, log: () => {} });
  const res = await mcp.client.callTool({ name: "list_queues", arguments: { application_name: "app" } });
  const queues = (res.structuredContent as { queues: Record<string, unknown>[] }).queues;
  assertEquals(queues.map((q) => [q.queue_name, q.enqueued, q.pending, q.oldest_enqueued_id]), [
    ["emails", 2, 1, "a"],
    ["reports", 0, 1, undefined],
  ]);
  assert((queues[0].oldest_enqueued_age_ms as number) >= 60_000);
});

Deno.test("workflow_tree follows children through steps to a bounded depth", async () => {
  const b = new MemoryBackend();
  b.add({ workflowId: "root", createdAt: "1970-01-01T00:00:00.001Z", parentWorkflowId: "grandparent" });
  b.add({ workflowId: "c1", createdAt: "1970-01-01T00:00:00.002Z" });
  b.add({ workflowId: "c2", createdAt: "1970-01-01T00:00:00.003Z", status: "ERROR", error: "child broke" });
  b.add({ workflowId: "gc", createdAt: "1970-01-01T00:00:00.004Z" });
  b.steps.set("root", [
    { stepId: 0, stepName: "start", childWorkflowId: "c1" },
    { stepId: 1, stepName: "start", childWorkflowId: "c2" },
  ]);
  b.steps.set("c1", [{ stepId: 0, stepName: "start", childWorkflowId: "gc" }]);
  await using mcp = await connectInProcess({ backend: b, log: () => {} });
  const tree = async (
    depth: number,
  ) => (await mcp.client.callTool({
    name: "workflow_tree",
    arguments: { application_name: "app", workflow_id: "root", depth },
  }));
  const deep = (await tree(2)).structuredContent as { nodes: Record<string, unknown>[]; parent_workflow_id: string };
  assertEquals(deep.parent_workflow_id, "grandparent");
  assertEquals(deep.nodes.map((n) => [n.workflow_id, n.depth, n.parent ?? null]), [
    ["root", 0, null],
    ["c1", 1, "root"],
    ["c2", 1, "root"],
    ["gc", 2, "c1"],
  ]);
  assertEquals(deep.nodes[2].error, "child broke");
  const shallow = (await tree(1)).structuredContent as { nodes: unknown[] };
  assertEquals(shallow.nodes.length, 3);
});
