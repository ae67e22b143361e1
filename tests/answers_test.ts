// Answers sized for an agent: cursor paging (stable under ties and new
// arrivals), per-field and per-result budgets that never break JSON, relative
// time filters, and get_workflow with its steps.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { encodeCursor } from "../src/tools/_cursor.ts";
import { hasStackTrace } from "./_hardening.ts";

/** Epoch milliseconds as the ISO 8601 text v2 answers carry. */
const isoAt = (ms: number): string => new Date(ms).toISOString();

const T0 = Date.UTC(2026, 10, 1);

async function withBackend(
  backend: MemoryBackend,
  fn: (
    call: (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>,
    raw: (
      name: string,
      args: Record<string, unknown>,
    ) => Promise<{ isError?: boolean; content: unknown; structuredContent?: unknown }>,
  ) => Promise<void>,
) {
  await using mcp = await connectInProcess({ backend, log: () => {} });
  const raw = async (name: string, args: Record<string, unknown>) =>
    await mcp.client.callTool({ name, arguments: args }) as {
      isError?: boolean;
      content: unknown;
      structuredContent?: unknown;
    };
  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await raw(name, args);
    assert(!res.isError, textOf(res));
    return res.structuredContent as Record<string, unknown>;
  };
  await fn(call, raw);
}

/** 30 workflows in 6 groups of 5 sharing a creation time. */
function tiedBackend(): MemoryBackend {
  const b = new MemoryBackend();
  for (let i = 0; i < 30; i++) b.add({ workflowId: `wf-${i}`, createdAt: isoAt(T0 + Math.floor(i / 5) * 1000) });
  return b;
}

async function walk(
  call: (n: string, a: Record<string, unknown>) => Promise<Record<string, unknown>>,
  args: Record<string, unknown>,
  between?: () => void,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const out = await call("list_workflows", { application_name: "app", ...args, ...(cursor ? { cursor } : {}) });
    ids.push(...(out.workflows as { workflowId: string }[]).map((w) => w.workflowId));
    cursor = out.next_cursor as string | undefined;
    if (!cursor) return ids;
    between?.();
  }
  throw new Error("too many pages");
}

Deno.test("list_workflows pages with a cursor: every workflow once, ties included", async () => {
  await withBackend(tiedBackend(), async (call) => {
    for (const sort_desc of [false, true]) {
      for (const limit of [1, 3, 4, 7]) {
        const ids = await walk(call, { limit, sort_desc });
        assertEquals(ids.length, 30, `limit ${limit} desc ${sort_desc}`);
        assertEquals(new Set(ids).size, 30);
      }
    }
  });
});

Deno.test("cursor paging is stable while new workflows arrive (offset paging is not)", async () => {
  const backend = tiedBackend();
  await withBackend(backend, async (call) => {
    let n = 0;
    const arrive = () => {
      for (let i = 0; i < 3; i++) backend.add({ workflowId: `new-${n++}`, createdAt: isoAt(T0 + 3_600_000 + n) });
    };
    const ids = await walk(call, { limit: 4, sort_desc: true }, arrive);
    const original = ids.filter((id) => id.startsWith("wf-"));
    assertEquals(original.length, 30);
    assertEquals(new Set(ids).size, ids.length, "no workflow twice");

    // The same walk by offset repeats workflows as new ones push the pages down.
    const byOffset: string[] = [];
    for (let offset = 0; offset < 30; offset += 4) {
      const out = await call("list_workflows", { application_name: "app", limit: 4, offset, sort_desc: true });
      byOffset.push(...(out.workflows as { workflowId: string }[]).map((w) => w.workflowId));
      arrive();
    }
    assert(new Set(byOffset).size < byOffset.length, "offset paging shows duplicates here");
  });
});

Deno.test("a cursor from other filters, or with an offset, is refused with a hint", async () => {
  await withBackend(tiedBackend(), async (call, raw) => {
    const first = await call("list_workflows", { application_name: "app", limit: 2, status: "SUCCESS" });
    const cursor = first.next_cursor as string;
    assert(cursor);
    const other = await raw("list_workflows", { application_name: "app", limit: 2, cursor });
    assertEquals(other.isError, true);
    assertStringIncludes(textOf(other), "other filters or order");
    const both = await raw("list_workflows", { application_name: "app", status: "SUCCESS", cursor, offset: 2 });
    assertStringIncludes(textOf(both), "either cursor or offset");
    const junk = await raw("list_workflows", { application_name: "app", cursor: "not-a-cursor" });
    assertStringIncludes(textOf(junk), "not one this server issued");
    const ok = await call("list_workflows", { application_name: "app", limit: 5, status: "SUCCESS", cursor });
    assertEquals((ok.workflows as unknown[]).length, 5);
  });
});

Deno.test("time filters accept durations ago, ISO 8601 and epoch ms", async () => {
  const b = new MemoryBackend();
  const now = Date.now();
  b.add({ workflowId: "old", createdAt: isoAt(now - 3 * 86_400_000) });
  b.add({ workflowId: "recent", createdAt: isoAt(now - 30 * 60_000) });
  await withBackend(b, async (call, raw) => {
    const ids = async (args: Record<string, unknown>) =>
      ((await call("list_workflows", { application_name: "app", ...args })).workflows as { workflowId: string }[])
        .map((w) => w.workflowId);
    assertEquals(await ids({ start_time: "1h" }), ["recent"]);
    assertEquals(await ids({ start_time: "7d", end_time: "2d" }), ["old"]);
    assertEquals(await ids({ start_time: now - 3_600_000 }), ["recent"]);
    assertEquals(await ids({ start_time: new Date(now - 3_600_000).toISOString() }), ["recent"]);
    const bad = await raw("list_workflows", { application_name: "app", start_time: "last tuesday" });
    assertStringIncludes(textOf(bad), "start_time: must be a duration ago (15m, 2h, 7d)");
  });
});

Deno.test("the default list of 10,000 matching workflows stays under 16 KB", async () => {
  const b = new MemoryBackend();
  for (let i = 0; i < 10_000; i++) {
    b.add({
      workflowId: crypto.randomUUID(),
      createdAt: isoAt(T0 + i),
      updatedAt: isoAt(T0 + i + 5),
      status: "ERROR",
      workflowName: "process_order",
      queueName: "orders",
      appVersion: "a1b2c3d4e5f6",
      executorId: crypto.randomUUID(),
      error: `PaymentDeclined: card ${i} expired`.repeat(5),
    });
  }
  await withBackend(b, async (_call, raw) => {
    const res = await raw("list_workflows", { application_name: "app", status: "ERROR" });
    const bytes = new TextEncoder().encode(JSON.stringify(res)).length;
    assert(bytes <= 16_384, `default answer is ${bytes} bytes`);
    assertEquals((res.structuredContent as { count: number }).count, 20);
  });
});

Deno.test("list_workflows drops trailing workflows to fit the budget, with a cursor to the rest", async () => {
  const b = new MemoryBackend();
  for (let i = 0; i < 200; i++) {
    b.add({ workflowId: `wf-${i}`, createdAt: isoAt(T0 + i), input: "x".repeat(900 + i), output: "y".repeat(900) });
  }
  await withBackend(b, async (call, raw) => {
    const res = await raw("list_workflows", {
      application_name: "app",
      limit: 200,
      load_input: true,
      load_output: true,
    });
    const bytes = new TextEncoder().encode(JSON.stringify(res)).length;
    assert(bytes <= 24_576 + 200, `answer is ${bytes} bytes`); // the envelope adds a few bytes
    const out = res.structuredContent as Record<string, unknown>;
    assert((out.count as number) < 200 && (out.count as number) > 3);
    assertStringIncludes(String(out.note), "answer budget");
    const all = await walk(call, { limit: 200, load_input: true, load_output: true });
    assertEquals(all.length, 200);
    assertEquals(new Set(all).size, 200);
  });
});

Deno.test("get_workflow clips a 1 MB output with a marker and can read it all in parts", async () => {
  const b = new MemoryBackend();
  const big = Array.from({ length: 1_048_576 / 16 }, (_, i) => `chunk-${String(i).padStart(9, "0")}|`).join("");
  b.add({ workflowId: "big", createdAt: isoAt(T0), output: big, input: "[ 1 ]" });
  await withBackend(b, async (call, raw) => {
    const res = await raw("get_workflow", { application_name: "app", workflow_id: "big" });
    const bytes = new TextEncoder().encode(JSON.stringify(res)).length;
    assert(bytes < 8_192, `default get_workflow is ${bytes} bytes`);
    const wf = (res.structuredContent as { workflow: Record<string, string> }).workflow;
    assertMatch(wf.output, /…\[truncated \d+ of 1048576 bytes; get_workflow with full: true shows all of it\]$/);
    assertEquals(wf.input, "[ 1 ]");

    const full = await raw("get_workflow", { application_name: "app", workflow_id: "big", full: true });
    assert(new TextEncoder().encode(JSON.stringify(full)).length <= 24_576 + 200, "full is still bounded");

    let got = "";
    for (let i = 0; i < 200 && got.length < big.length; i++) {
      const part = await call("get_workflow", {
        application_name: "app",
        workflow_id: "big",
        fields: ["output"],
        full: true,
        byte_offset: got.length,
      });
      const text = (part.workflow as Record<string, string>).output;
      got += text.replace(/…\[truncated \d+ of \d+ bytes; [^\]]*\]$/, "");
    }
    assertEquals(got, big, "the parts add up to the whole output");
  });
});

Deno.test("get_workflow with include_steps marks the failing step and links children", async () => {
  const b = new MemoryBackend();
  b.add({ workflowId: "p", createdAt: isoAt(T0), status: "ERROR", error: "boom", parentWorkflowId: "gp" });
  b.steps.set("p", [
    { stepId: 0, stepName: "start_child", childWorkflowId: "c1", output: "'ok'" },
    { stepId: 1, stepName: "charge", error: "card declined" },
  ]);
  await withBackend(b, async (call, raw) => {
    const out = await call("get_workflow", { application_name: "app", workflow_id: "p", include_steps: true });
    assertEquals(out.failing_step, 1);
    assertEquals(out.child_workflow_ids, ["c1"]);
    assertEquals(out.parent_workflow_id, "gp");
    assertEquals((out.steps as unknown[]).length, 2);
    const text = textOf(await raw("get_workflow", { application_name: "app", workflow_id: "p", include_steps: true }));
    assertStringIncludes(text, "FAILED #1  charge  error: card declined");
  });
});

Deno.test("a forged cursor with a time out of a Date's range gets a clean error, not a stack trace", async () => {
  await withBackend(tiedBackend(), async (call, raw) => {
    const first = await call("list_workflows", { application_name: "app", limit: 5 });
    const real = JSON.parse(atob(String(first.next_cursor).replace(/-/g, "+").replace(/_/g, "/")));
    for (const t of [8.64e15 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      const cursor = encodeCursor({ ...real, t });
      const res = await raw("list_workflows", { application_name: "app", limit: 5, cursor });
      assertEquals(res.isError, true, `t=${t}`);
      assertStringIncludes(textOf(res), "The cursor is not one this server issued.");
      assert(!hasStackTrace(textOf(res)) && !textOf(res).includes("Internal error"), textOf(res));
    }
  });
});
