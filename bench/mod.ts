/**
 * The benchmarks of dbos-mcp, side by side with what they are compared
 * with, in one run on this machine (`deno task bench`):
 *
 * 1. cold start, spawn to the `tools/list` answer, against the floor (a
 *    minimal one-tool server on the same SDK and Deno) and the Node peer
 *    (`@modelcontextprotocol/server-everything`);
 * 2. per-call overhead of `get_workflow` and `list_workflows` against a
 *    canned Conductor emulator, minus the emulator's own latency, and
 *    throughput with 32 calls in flight;
 * 3. answer size of `list_workflows` with 10,000 matching workflows and of
 *    `get_workflow` with a 1 MB output;
 * 4. memory after start, after 5,000 calls and after 5,000 more;
 * 5. cost growth of `list_workflows` in system-database mode at 1k, 10k and
 *    100k workflows;
 * 6. the first run with an empty Deno cache in each mode, time to the
 *    `tools/list` answer and bytes downloaded, against the floor spawned the
 *    same way (needs the npm registry);
 * 7. the HTTP/1.1 front end against `Deno.serve` (round trip, throughput),
 *    an MCP `ping` over Streamable HTTP, and how long an unfinished request
 *    head holds a connection.
 *
 * Prints one Markdown table (figure, ours, baseline, ratio, target, met) on
 * stdout, progress on stderr, and writes the same as JSON with `--json FILE`.
 * `--smoke` uses tiny sizes (for CI: it keeps the benchmarks working, its
 * figures mean nothing). `--only a,b` runs some sections: cold_start,
 * call_overhead, answer_size, memory, growth, tools_list (the size of the
 * `tools/list` answer, in bytes and bytes per tool), first_run, http.
 *
 * ```sh
 * deno task bench --json bench.json
 * deno run -A bench/mod.ts --smoke
 * ```
 *
 * @module
 */
import { benchColdStart } from "./cold_start.ts";
import { benchCallOverhead } from "./call_overhead.ts";
import { benchAnswerSize } from "./answer_size.ts";
import { benchMemory } from "./memory.ts";
import { benchGrowth } from "./growth.ts";
import { benchToolsListSize } from "./tools_list_size.ts";
import { benchFirstRun } from "./first_run.ts";
import { benchHttpTransport } from "./http_transport.ts";
import { type BenchReport, describeMachine, formatTable, machineLine } from "./_report.ts";
import type { Figure } from "./_stats.ts";

/** The sections, in the order they run and appear in the table. */
export const SECTIONS = [
  "cold_start",
  "call_overhead",
  "answer_size",
  "memory",
  "growth",
  "tools_list",
  "first_run",
  "http",
] as const;

/** One of {@linkcode SECTIONS}. */
export type Section = typeof SECTIONS[number];

/** The sizes of a run. */
export interface BenchSizes {
  /** Cold starts of each system, and untimed ones first. */
  coldStart: { runs: number; warmup: number };
  /** Timed calls of each tool each way; calls per throughput burst; calls in flight. */
  callOverhead: { calls: number; burst: number; inFlight: number };
  /** Matching workflows; bytes of the large output. */
  answerSize: { workflows: number; outputBytes: number };
  /** Calls between the memory readings; `--timeout` of the leak-check server (default: the server's). */
  memory: { calls: number; requestTimeoutMs?: number };
  /** Database sizes; timed calls of each kind per size. */
  growth: { sizes: [number, number, number]; calls: number };
  /** First runs of each mode and of the floor, each with a fresh Deno cache. */
  firstRun: { runs: number };
  /** Timed HTTP round trips of each server; requests per throughput burst. */
  http: { calls: number; burst: number };
}

/** The sizes of `deno task bench`. */
export const FULL_SIZES: BenchSizes = {
  coldStart: { runs: 40, warmup: 2 },
  callOverhead: { calls: 1_000, burst: 2_000, inFlight: 32 },
  answerSize: { workflows: 10_000, outputBytes: 1_048_576 },
  memory: { calls: 5_000 },
  growth: { sizes: [1_000, 10_000, 100_000], calls: 200 },
  firstRun: { runs: 3 },
  http: { calls: 2_000, burst: 4_000 },
};

/** The sizes of `--smoke`: enough to run every path once or twice. */
export const SMOKE_SIZES: BenchSizes = {
  coldStart: { runs: 3, warmup: 1 },
  callOverhead: { calls: 50, burst: 200, inFlight: 32 },
  answerSize: { workflows: 10_000, outputBytes: 1_048_576 },
  memory: { calls: 250, requestTimeoutMs: 1_000 },
  growth: { sizes: [100, 300, 1_000], calls: 10 },
  firstRun: { runs: 1 },
  http: { calls: 50, burst: 200 },
};

/** Options of {@linkcode runBench}. */
export interface RunBenchOptions {
  /** Tiny sizes. */
  smoke?: boolean;
  /** Only these sections (default all). */
  only?: readonly Section[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Runs the benchmarks and returns the report. */
export async function runBench(opts: RunBenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const sizes = opts.smoke ? SMOKE_SIZES : FULL_SIZES;
  const only = new Set<Section>(opts.only ?? SECTIONS);
  const date = new Date().toISOString();
  const machine = await describeMachine();
  const start = performance.now();
  const figures: Figure[] = [];
  const sections: Record<Section, () => Promise<Figure[]>> = {
    cold_start: () => benchColdStart({ ...sizes.coldStart, log }),
    call_overhead: () => benchCallOverhead({ ...sizes.callOverhead, log }),
    answer_size: () => benchAnswerSize({ ...sizes.answerSize, log }),
    memory: () => benchMemory({ ...sizes.memory, log }),
    growth: () => benchGrowth({ ...sizes.growth, log }),
    tools_list: () => benchToolsListSize({ log }),
    first_run: () => benchFirstRun({ ...sizes.firstRun, log }),
    http: () => benchHttpTransport({ ...sizes.http, log }),
  };
  for (const section of SECTIONS) {
    if (!only.has(section)) continue;
    const t = performance.now();
    log(`== ${section}`);
    figures.push(...await sections[section]());
    log(`== ${section} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return {
    date,
    mode: opts.smoke ? "smoke" : "full",
    machine,
    durationSeconds: Math.round((performance.now() - start) / 100) / 10,
    sizes: Object.fromEntries(
      Object.entries(sizes).filter(([k]) => only.has(k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as Section)),
    ),
    figures,
  };
}

/** The report as people read it: a heading line and the table. */
export function formatReport(report: BenchReport): string {
  const when = report.date.slice(0, 16).replace("T", " ");
  return [
    `dbos-mcp benchmarks, ${when} UTC, ${report.mode === "smoke" ? "SMOKE sizes (not meaningful), " : ""}` +
    `${machineLine(report.machine)}; ${report.durationSeconds} s`,
    "",
    formatTable(report.figures),
  ].join("\n");
}

const USAGE = "usage: deno task bench [--smoke] [--json FILE] [--only " + SECTIONS.join(",") + "]";

function parseArgs(args: string[]): { smoke: boolean; json?: string; only?: Section[] } {
  const out: { smoke: boolean; json?: string; only?: Section[] } = { smoke: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[++i];
      if (v === undefined || v === "") throw new Error(`${arg.split("=")[0]} needs a value`);
      return v;
    };
    if (arg === "--smoke") out.smoke = true;
    else if (arg === "--json" || arg.startsWith("--json=")) out.json = value();
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const names = value().split(",").map((s) => s.trim()).filter(Boolean);
      for (const n of names) {
        if (!(SECTIONS as readonly string[]).includes(n)) throw new Error(`unknown section '${n}'`);
      }
      out.only = names as Section[];
    } else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else throw new Error(`unknown argument '${arg}'`);
  }
  return out;
}

if (import.meta.main) {
  let args;
  try {
    args = parseArgs(Deno.args);
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    Deno.exit(2);
  }
  const report = await runBench({
    smoke: args.smoke,
    only: args.only,
    log: (line) => console.error(`bench: ${line}`),
  });
  console.log(formatReport(report));
  if (args.json) {
    await Deno.writeTextFile(args.json, JSON.stringify(report, null, 2) + "\n");
    console.error(`bench: wrote ${args.json}`);
  }
}
