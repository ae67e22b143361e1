/**
 * No call starves the others, in exact figures: `list_steps` of a workflow
 * with 100,000 steps (and `get_workflow` with `include_steps` of one with
 * 5,000), in-process over the SDK's InMemoryTransport with an in-memory
 * backend, while pings are sent back to back. Prints, per call, the median
 * and worst wall time of `runs` calls, the worst ping latency seen during
 * them, and the longest event-loop stall (a 5 ms timer's lateness). The
 * targets on an idle machine: the call under 2 s, a ping under 100 ms.
 * `tests/hardening_starvation_test.ts` checks the same with generous bounds.
 *
 * ```sh
 * deno run -A bench/starvation.ts --runs 10 --json starvation.json
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { connectInProcess } from "../tests/_mcp.ts";
import { MemoryBackend } from "../tests/fixtures/memory_backend.ts";
import type { Step } from "../src/backends/backend.ts";

/** The figures of one call kind. */
export interface StarvationFigures {
  /** What was called. */
  call: string;
  /** Steps of the workflow. */
  steps: number;
  /** Median and worst wall time of the call, ms. */
  medianMs: number;
  worstMs: number;
  /** Worst latency of a ping sent while a call ran, ms. */
  worstPingMs: number;
  /** Longest event-loop stall during the calls, ms. */
  stallMs: number;
  /** Steps in the answer. */
  keptSteps: number;
}

function backendWith(n: number): MemoryBackend {
  const b = new MemoryBackend();
  b.add({ workflowId: "huge", createdAt: new Date(Date.UTC(2026, 0, 1)).toISOString() });
  b.steps.set(
    "huge",
    Array.from({ length: n }, (_, i): Step => ({
      stepId: i,
      stepName: `step_${i % 7}`,
      output: JSON.stringify(`r${i}`.padEnd(20, "x")),
      startedAt: new Date(i).toISOString(),
      completedAt: new Date(i + 1).toISOString(),
    })),
  );
  return b;
}

/** Runs `runs` calls of `tool` against a workflow of `steps` steps, with pings meanwhile. */
export async function benchStarvation(
  tool: "list_steps" | "get_workflow",
  steps: number,
  runs: number,
): Promise<StarvationFigures> {
  await using mcp = await connectInProcess({ backend: backendWith(steps), log: () => {} });
  const args = {
    application_name: "app",
    workflow_id: "huge",
    ...(tool === "get_workflow" ? { include_steps: true } : {}),
  };
  const times: number[] = [];
  let worstPing = 0;
  let stall = 0;
  let kept = 0;
  for (let i = 0; i < runs; i++) {
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last - 5);
      last = now;
    }, 5);
    let done = false;
    const started = performance.now();
    const call = mcp.client.callTool({ name: tool, arguments: args }).finally(() => done = true);
    while (!done) {
      const s = performance.now();
      await mcp.client.ping();
      worstPing = Math.max(worstPing, performance.now() - s);
    }
    const res = await call as { structuredContent?: { steps?: unknown[] } };
    times.push(performance.now() - started);
    clearInterval(timer);
    kept = res.structuredContent?.steps?.length ?? 0;
  }
  times.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    call: tool,
    steps,
    medianMs: round(times[Math.floor(times.length / 2)]),
    worstMs: round(times.at(-1)!),
    worstPingMs: round(worstPing),
    stallMs: round(Math.max(0, stall)),
    keptSteps: kept,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { runs: { type: "string" }, json: { type: "string" } } });
  const runs = Number(values.runs ?? 10);
  const results = [
    await benchStarvation("list_steps", 100_000, runs),
    await benchStarvation("get_workflow", 5_000, runs),
  ];
  for (const r of results) {
    console.log(
      `${r.call} on ${r.steps} steps: median ${r.medianMs} ms, worst ${r.worstMs} ms (target < 2000); ` +
        `worst ping meanwhile ${r.worstPingMs} ms (target < 100); longest event-loop stall ${r.stallMs} ms; ` +
        `${r.keptSteps} steps kept`,
    );
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(results, null, 2) + "\n");
}
