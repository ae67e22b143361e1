/**
 * Per-call overhead: `get_workflow` and `list_workflows` through the server
 * (spawned under the README's flags, over stdio) against a canned Conductor
 * emulator on loopback, minus the emulator's own latency measured in the
 * same run with the same HTTP request sent directly. Direct and via-MCP
 * calls alternate. Then throughput with 32 calls in flight on one
 * connection, against the same request sent directly 32 at a time.
 *
 * @module
 */
import { RpcProcess, type ToolCallResult } from "./_rpc.ts";
import { CANNED, CANNED_WORKFLOW_ID, startCannedConductor } from "./_canned_conductor.ts";
import { type Figure, ratioOf, since, summarize } from "./_stats.ts";
import { oursConductorMode } from "./_systems.ts";

/** Options of {@linkcode benchCallOverhead}. */
export interface CallOverheadOptions {
  /** Timed calls of each tool, each way. */
  calls: number;
  /** Calls per throughput burst. */
  burst: number;
  /** Calls in flight during a burst. */
  inFlight: number;
  /** Progress lines. */
  log: (line: string) => void;
}

/** Fails on an `isError` result, with its text. */
export function checkResult(tool: string, result: ToolCallResult): ToolCallResult {
  if (result.isError) {
    throw new Error(`${tool} failed: ${(result.content ?? []).map((c) => c.text ?? "").join(" ").slice(0, 500)}`);
  }
  return result;
}

/** Runs `total` calls of `call`, `inFlight` at a time; resolves with calls per second. */
export async function throughput(total: number, inFlight: number, call: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const start = performance.now();
  const worker = async () => {
    while (started < total) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  return total / (since(start) / 1000);
}

/** Measures per-call overhead and throughput. */
export async function benchCallOverhead(opts: CallOverheadOptions): Promise<Figure[]> {
  await using conductor = await startCannedConductor();
  await using server = new RpcProcess(oursConductorMode({ home: conductor.home, conductorUrl: conductor.baseUrl }));
  await server.initialize();
  await server.request("tools/list");
  const args = {
    list_workflows: { application_name: CANNED.app },
    get_workflow: { application_name: CANNED.app, workflow_id: CANNED_WORKFLOW_ID },
  };
  const viaMcp = {
    list_workflows: async () =>
      checkResult("list_workflows", await server.callTool("list_workflows", args.list_workflows)),
    get_workflow: async () => checkResult("get_workflow", await server.callTool("get_workflow", args.get_workflow)),
  };
  const direct = { list_workflows: conductor.listWorkflowsDirect, get_workflow: conductor.getWorkflowDirect };
  const first = await viaMcp.list_workflows();
  if ((first.structuredContent as { count?: number }).count !== 20) throw new Error("list_workflows did not list 20");

  // Warm up both paths (JIT, connection pools), untimed.
  const warmup = Math.min(200, Math.max(20, opts.calls));
  for (let i = 0; i < warmup; i++) {
    for (const tool of ["list_workflows", "get_workflow"] as const) {
      await direct[tool]();
      await viaMcp[tool]();
    }
  }

  const times = {
    list_workflows: { direct: [] as number[], mcp: [] as number[] },
    get_workflow: { direct: [] as number[], mcp: [] as number[] },
  };
  type Tool = keyof typeof args;
  const tools: Tool[][] = [["list_workflows", "get_workflow"], ["get_workflow", "list_workflows"]];
  const ways: ("mcp" | "direct")[][] = [["direct", "mcp"], ["mcp", "direct"]];
  for (let i = 0; i < opts.calls; i++) {
    // Alternate which tool and which way go first, so that neither always follows the other.
    for (const tool of tools[i % 2]) {
      for (const way of ways[(i >> 1) % 2]) {
        const start = performance.now();
        await (way === "mcp" ? viaMcp[tool]() : direct[tool]());
        times[tool][way].push(since(start));
      }
    }
  }

  const figures: Figure[] = [];
  for (const tool of ["get_workflow", "list_workflows"] as const) {
    const mcp = summarize(times[tool].mcp);
    const raw = summarize(times[tool].direct);
    const overhead = mcp.p50 - raw.p50;
    opts.log(
      `${tool}: via MCP p50 ${mcp.p50.toFixed(2)} ms (p95 ${mcp.p95.toFixed(2)}), direct p50 ${
        raw.p50.toFixed(2)
      } ms (p95 ${raw.p95.toFixed(2)}): overhead ${overhead.toFixed(2)} ms`,
    );
    figures.push({
      id: `call_overhead.${tool}`,
      figure: `Per-call overhead, ${tool} (via MCP minus direct HTTP)`,
      unit: "ms",
      ours: overhead,
      oursP95: mcp.p95 - raw.p95,
      baselineName: "direct HTTP",
      baseline: raw.p50,
      baselineP95: raw.p95,
      ratio: ratioOf(mcp.p50, raw.p50),
      target: "<= 1 ms",
      met: overhead <= 1,
      detail: { via_mcp: mcp, direct: raw, calls: opts.calls },
    });
  }

  // Throughput: bursts through the server and straight to the emulator, alternating.
  const rates = { mcp: [] as number[], direct: [] as number[] };
  const bursts = 3;
  for (let b = 0; b < bursts; b++) {
    for (const way of (b % 2 ? ["mcp", "direct"] : ["direct", "mcp"]) as ("mcp" | "direct")[]) {
      const call = way === "mcp" ? viaMcp.list_workflows : direct.list_workflows;
      rates[way].push(await throughput(opts.burst, opts.inFlight, call));
    }
  }
  const mcpRate = summarize(rates.mcp).p50;
  const directRate = summarize(rates.direct).p50;
  opts.log(
    `throughput, ${opts.inFlight} in flight: via MCP ${mcpRate.toFixed(0)} calls/s, direct ${directRate.toFixed(0)}`,
  );
  figures.push({
    id: "call_overhead.throughput_32",
    figure: `Throughput, list_workflows, ${opts.inFlight} calls in flight on one connection`,
    unit: "calls/s",
    ours: mcpRate,
    baselineName: "direct HTTP",
    baseline: directRate,
    ratio: ratioOf(mcpRate, directRate),
    target: "(reported)",
    detail: { calls_per_burst: opts.burst, bursts, rates },
  });
  if (server.stderr.trim()) opts.log(`server stderr: ${server.stderr.trim().slice(-500)}`);
  return figures;
}
