// No call can starve the others: a server in-process (real MCP client over
// the SDK's InMemoryTransport) whose backend holds one workflow with 100,000
// steps. list_steps must answer within the answer budget, quickly, and a ping
// sent while it runs must not wait for it. An event-loop probe measures the
// longest stall of the whole file: the suite's "longest event-loop stall".
//
// The bounds here are generous (the machine is shared); bench/starvation.ts
// gives the exact figures.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { recordFigures, stopwatch } from "./_hardening.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { DEFAULTS } from "../src/config/mod.ts";
import type { Step } from "../src/backends/backend.ts";

const T0 = Date.UTC(2026, 0, 1);
/** Generous bounds: the targets on an idle machine are 2 s and 100 ms. */
const CALL_BOUND_MS = 10_000;
const PING_BOUND_MS = 1_000;

function steps(n: number, outputBytes = 20): Step[] {
  return Array.from({ length: n }, (_, i) => ({
    stepId: i,
    stepName: `charge_card_${i % 7}`,
    output: JSON.stringify(`r${i}`.padEnd(outputBytes, "x")),
    error: i === n - 3 ? "PaymentDeclined: card expired" : undefined,
    startedAt: new Date(T0 + i).toISOString(),
    completedAt: new Date(T0 + i + 1).toISOString(),
  }));
}

function backendWith(n: number): MemoryBackend {
  const b = new MemoryBackend();
  b.add({ workflowId: "huge", createdAt: new Date(T0).toISOString(), input: "[1]", output: '"done"' });
  b.steps.set("huge", steps(n));
  return b;
}

/** Measures the longest gap between timer ticks meant to be 5 ms apart while the server works. */
function stallProbe(): { start(): void; stop(): void; worst(): number } {
  let last = 0;
  let worst = 0;
  let id: ReturnType<typeof setInterval> | undefined;
  return {
    start() {
      last = performance.now();
      id = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last - 5);
        last = now;
      }, 5);
    },
    stop() {
      clearInterval(id);
    },
    worst: () => Math.max(0, Math.round(worst)),
  };
}

const bytesOf = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;
/** What the answer budget counts: the structured part's JSON plus the text. */
const budgetBytes = (res: { structuredContent?: unknown; content: unknown }) =>
  bytesOf(res.structuredContent) + new TextEncoder().encode(textOf(res)).length;

Deno.test("hardening: no call can starve the others", async (t) => {
  const elapsed = stopwatch();
  const probe = stallProbe();
  const figures: Record<string, number> = {};

  await t.step(
    "list_steps on 100,000 steps answers within the budget, and a ping meanwhile answers at once",
    async () => {
      await using mcp = await connectInProcess({ backend: backendWith(100_000), log: () => {} });
      probe.start();
      const started = performance.now();
      let done = false;
      const call = mcp.client.callTool({
        name: "list_steps",
        arguments: { application_name: "app", workflow_id: "huge" },
      })
        .finally(() => done = true);
      const pings: number[] = [];
      while (!done || pings.length === 0) {
        const s = performance.now();
        await mcp.client.ping();
        pings.push(performance.now() - s);
        await new Promise((r) => setTimeout(r, 2));
      }
      const res = await call as { isError?: boolean; structuredContent?: Record<string, unknown>; content: unknown };
      const callMs = performance.now() - started;
      probe.stop();
      assert(!res.isError, textOf(res));
      const out = res.structuredContent!;
      assert(budgetBytes(res) <= DEFAULTS.maxResultBytes, `answer is ${budgetBytes(res)} bytes`);
      assert((out.count as number) > 50, `kept ${out.count} steps`);
      assertEquals((out.steps as Step[])[0].stepId, 0);
      assertEquals(out.failing_step, 99_997, "the failing step is found among all steps, not only the kept ones");
      assertStringIncludes(String(out.note), "answer budget");
      const worstPing = Math.max(...pings);
      assert(callMs < CALL_BOUND_MS, `list_steps took ${Math.round(callMs)} ms`);
      assert(worstPing < PING_BOUND_MS, `a ping waited ${Math.round(worstPing)} ms`);
      figures["list_steps on 100k steps (ms)"] = Math.round(callMs);
      figures["worst ping meanwhile (ms)"] = Math.round(worstPing);
    },
  );

  await t.step(
    "get_workflow with include_steps keeps the workflow and the longest prefix of steps that fits",
    async () => {
      await using mcp = await connectInProcess({ backend: backendWith(5_000), log: () => {} });
      probe.start();
      const res = await mcp.client.callTool({
        name: "get_workflow",
        arguments: { application_name: "app", workflow_id: "huge", include_steps: true },
      }).finally(() => probe.stop()) as {
        isError?: boolean;
        structuredContent?: Record<string, unknown>;
        content: unknown;
      };
      assert(!res.isError, textOf(res));
      const out = res.structuredContent!;
      assert(budgetBytes(res) <= DEFAULTS.maxResultBytes, `answer is ${budgetBytes(res)} bytes`);
      assertEquals((out.workflow as Record<string, unknown>).output, '"done"');
      const kept = (out.steps as Step[]).length;
      assert(kept > 50 && kept < 5_000, `kept ${kept} steps`);
      assertEquals((out.steps as Step[]).map((s) => s.stepId), [...Array(kept).keys()]);
      assertEquals(out.failing_step, 4_997);
      assertStringIncludes(String(out.note), `Showing the first ${kept} steps`);
      assertStringIncludes(String(out.note), "list_steps");
      // The longest prefix: one more step would not fit.
      const one = JSON.stringify((out.steps as Step[])[0]);
      assert(budgetBytes(res) + one.length > DEFAULTS.maxResultBytes, "a step more would still have fitted");
    },
  );

  await t.step("list_steps keeps the longest prefix that fits: one step more would not", async () => {
    for (const n of [200, 8_000]) {
      await using mcp = await connectInProcess({ backend: backendWith(n), log: () => {} });
      probe.start();
      const res = await mcp.client.callTool({
        name: "list_steps",
        arguments: { application_name: "app", workflow_id: "huge" },
      }).finally(() => probe.stop()) as { structuredContent?: Record<string, unknown>; content: { text: string }[] };
      const out = res.structuredContent!;
      const kept = out.count as number;
      assertEquals((out.steps as Step[]).length, kept);
      const next = JSON.stringify(steps(n)[kept]).length + res.content[0].text.split("\n")[1].length;
      assert(budgetBytes(res) <= DEFAULTS.maxResultBytes, `n=${n}: ${budgetBytes(res)} bytes`);
      assert(budgetBytes(res) + next > DEFAULTS.maxResultBytes, `n=${n}: room left`);
    }
  });

  const stall = probe.worst();
  assert(stall < PING_BOUND_MS, `the event loop stalled for ${stall} ms`);
  await recordFigures("starvation", {
    secretLeaks: 0, // no secrets are handed out here
    sweptBytes: 0,
    secretsLookedFor: 0,
    stallMs: stall,
    extra: figures,
    durationMs: elapsed(),
  });
});
