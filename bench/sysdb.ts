/**
 * System-database benchmark: a throwaway PostgreSQL, the DBOS schema from
 * the SDK's own migration, N workflows (default 1,000,000) with three steps
 * each and input, output and error payloads generated in SQL, then p50/p95
 * latencies of the tools an agent calls most, through an in-process MCP
 * client and server over the system-database backend (the DBOS client):
 *
 * - `list_workflows` filtered by status and a one-day time range, limit 50
 *   (status ERROR, 7% of rows, and status SUCCESS, 85%);
 * - a deep page: `list_workflows` limit 50 at offset 10,000 and at offset N/2,
 *   and the same page addressed by time instead (`end_time`, newest first);
 * - `get_workflow` and `list_steps` of random workflows;
 * - `list_executors` (plain SQL over `workflow_status`);
 * - `summarize_workflows` and `get_workflow_aggregates` (status and name)
 *   over the whole window: one `GROUP BY` in SQL, exact counts.
 *
 * With `--explain`, every statement of one run of each call is captured with
 * PostgreSQL's `auto_explain` (ANALYZE, BUFFERS) and printed.
 *
 * ```sh
 * deno task bench:sysdb                         # 1,000,000 workflows
 * deno run -A bench/sysdb.ts --rows 20000 --iterations 50 --explain
 * ```
 *
 * @module
 */
import { startPostgres } from "../tests/fixtures/postgres.ts";
import { createDbosSchema, seedWorkflowsSql } from "../tests/fixtures/dbos_schema.ts";
import { connectInProcess } from "../tests/_mcp.ts";
import { SysdbBackend } from "../src/backends/sysdb/backend.ts";
import { DEFAULTS } from "../src/config/mod.ts";

/** Options of {@linkcode runSysdbBench}. */
export interface SysdbBenchOptions {
  /** Workflows to seed. */
  rows: number;
  /** Timed calls per measurement (after a few untimed warm-up calls). */
  iterations: number;
  /** Capture and return the query plans of one run of each call. */
  explain?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The latencies of one measured call. */
export interface BenchFigure {
  /** What was called. */
  name: string;
  /** Median, in milliseconds. */
  p50: number;
  /** 95th percentile, in milliseconds. */
  p95: number;
  /** Timed calls. */
  n: number;
}

/** What {@linkcode runSysdbBench} measured. */
export interface SysdbBenchResult {
  /** Workflows seeded. */
  rows: number;
  /** Time to seed them, in milliseconds. */
  seedMs: number;
  /** Sizes of the main tables, as PostgreSQL reports them. */
  sizes: string;
  /** One figure per call. */
  figures: BenchFigure[];
  /** auto_explain output per call, when asked. */
  plans: Record<string, string>;
  /** Bytes of the `summarize_workflows` answer over the whole window (JSON of the whole result). */
  summaryBytes: number;
}

const DAY = 86_400_000;
const SPAN = 30 * DAY;
const CHUNK = 250_000;

/** Seeds a throwaway database with `rows` workflows and measures the calls. */
export async function runSysdbBench(opts: SysdbBenchOptions): Promise<SysdbBenchResult> {
  const log = opts.log ?? (() => {});
  await using pg = await startPostgres({
    settings: {
      shared_preload_libraries: "auto_explain",
      // log_min_duration stays off (-1) until --explain turns it on with ALTER SYSTEM, which a -c option would override.
      "auto_explain.log_analyze": "on",
      "auto_explain.log_buffers": "on",
      "auto_explain.log_timing": "on",
      shared_buffers: "512MB",
      max_wal_size: "4GB",
    },
  });
  const db = "bench_dbos_sys";
  const url = pg.url(db);
  await createDbosSchema(url);
  const start = Date.now() - SPAN;
  const t0 = performance.now();
  for (let first = 0; first < opts.rows; first += CHUNK) {
    const count = Math.min(CHUNK, opts.rows - first);
    await pg.query(
      seedWorkflowsSql({
        count,
        first,
        total: opts.rows,
        appName: "bench",
        startMs: start,
        spanMs: SPAN,
        analyze: false,
      }),
      db,
    );
    log(`seeded ${first + count} / ${opts.rows} workflows (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  await pg.query("VACUUM ANALYZE", db);
  const seedMs = performance.now() - t0;
  const sizes = await pg.query(
    "SELECT string_agg(relname || ' ' || pg_size_pretty(pg_total_relation_size(c.oid)), ', ' ORDER BY relname) " +
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'dbos' AND c.relkind = 'r' " +
      "AND relname IN ('workflow_status', 'workflow_input', 'workflow_output', 'operation_outputs')",
    db,
  );
  log(`tables: ${sizes}`);

  const backend = new SysdbBackend({ ...DEFAULTS, databaseUrl: url, appName: undefined, apps: [] }, {
    readOnly: true,
    log: (m) => log(`server: ${m}`),
  });
  await using mcp = await connectInProcess({ backend, log: () => {} });
  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await mcp.client.callTool({ name, arguments: { application_name: "bench", ...args } });
    if (res.isError) throw new Error(`${name} failed: ${JSON.stringify(res.content)}`);
    return res;
  };
  const rnd = (n: number) => Math.floor(Math.random() * n);
  const id = () => `wf-${String(rnd(opts.rows)).padStart(8, "0")}`;
  const dayWindow = () => {
    const from = start + rnd(SPAN - DAY);
    return { start_time: new Date(from).toISOString(), end_time: new Date(from + DAY).toISOString() };
  };
  const wholeWindow = { start_time: new Date(start - DAY).toISOString(), end_time: new Date().toISOString() };
  const cases: [string, () => Record<string, unknown>, string][] = [
    ["list_workflows status=ERROR, 1-day range, limit 50", () => ({
      status: "ERROR",
      ...dayWindow(),
      limit: 50,
      sort_desc: true,
    }), "list_workflows"],
    ["list_workflows status=SUCCESS, 1-day range, limit 50", () => ({
      status: "SUCCESS",
      ...dayWindow(),
      limit: 50,
      sort_desc: true,
    }), "list_workflows"],
    ["list_workflows limit 50, offset 10,000", () => ({ limit: 50, offset: 10_000 }), "list_workflows"],
    [
      `list_workflows limit 50, offset ${Math.floor(opts.rows / 2).toLocaleString("en-US")}`,
      () => ({ limit: 50, offset: Math.floor(opts.rows / 2) }),
      "list_workflows",
    ],
    [
      `list_workflows limit 50 before the ${Math.floor(opts.rows / 2).toLocaleString("en-US")}th (keyset: end_time)`,
      () => ({
        end_time: new Date(start + Math.floor(((opts.rows / 2) * SPAN) / opts.rows)).toISOString(),
        sort_desc: true,
        limit: 50,
      }),
      "list_workflows",
    ],
    ["get_workflow (random id)", () => ({ workflow_id: id() }), "get_workflow"],
    ["list_steps (random id)", () => ({ workflow_id: id() }), "list_steps"],
    ["list_executors", () => ({}), "list_executors"],
    // Issue 15: exact counts over the whole window from one server-side aggregate (targets: p50 <= 150 ms and
    // <= 4 KB for summarize_workflows, p50 <= 100 ms for the aggregate).
    ["summarize_workflows, whole window", () => wholeWindow, "summarize_workflows"],
    [
      "get_workflow_aggregates by status and name, whole window",
      () => ({ ...wholeWindow, group_by_status: true, group_by_name: true, select_count: true }),
      "get_workflow_aggregates",
    ],
  ];

  const figures: BenchFigure[] = [];
  for (const [name, args, tool] of cases) {
    const n = tool === "list_executors" ? Math.min(opts.iterations, 20) : opts.iterations;
    for (let i = 0; i < 5; i++) await call(tool, args());
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = args();
      const t = performance.now();
      await call(tool, a);
      times.push(performance.now() - t);
    }
    const figure = { name, p50: percentile(times, 50), p95: percentile(times, 95), n };
    figures.push(figure);
    log(`${name}: p50 ${figure.p50.toFixed(1)} ms, p95 ${figure.p95.toFixed(1)} ms`);
  }

  // The summary's counts are exact and its answer small.
  const summary = await call("summarize_workflows", wholeWindow);
  const total = (summary.structuredContent as { total?: number }).total;
  const summaryBytes = new TextEncoder().encode(JSON.stringify(summary)).length;
  if (total !== opts.rows) throw new Error(`summarize_workflows counted ${total} of ${opts.rows} workflows`);
  log(`summarize_workflows: total ${total} (exact), answer ${summaryBytes} bytes`);

  const plans: Record<string, string> = {};
  if (opts.explain) {
    await pg.query("ALTER SYSTEM SET auto_explain.log_min_duration = 0");
    await pg.query("SELECT pg_reload_conf()");
    await new Promise((r) => setTimeout(r, 300));
    for (const [name, args, tool] of cases) {
      const logFile = `${pg.dir}/server.log`;
      const before = (await Deno.readTextFile(logFile)).length;
      await call(tool, args());
      await new Promise((r) => setTimeout(r, 200));
      const slice = (await Deno.readTextFile(logFile)).slice(before);
      plans[name] = extractPlans(slice);
    }
    await pg.query("ALTER SYSTEM RESET auto_explain.log_min_duration");
    await pg.query("SELECT pg_reload_conf()");
  }
  await mcp.close();
  return { rows: opts.rows, seedMs, sizes, figures, plans, summaryBytes };
}

/** The `auto_explain` plans in a slice of the server log, minus the transaction bookkeeping. */
function extractPlans(log: string): string {
  return log.split(/\n(?=\S.*LOG: {2}duration: )/)
    .filter((entry) => /Query Text:/.test(entry) && /dbos/.test(entry))
    .map((entry) => entry.replace(/^.*LOG: {2}/, "").trimEnd())
    .join("\n\n");
}

/** The `p`th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** The figures as a Markdown table. */
export function formatFigures(result: SysdbBenchResult): string {
  const rows = result.figures.map((f) => `| ${f.name} | ${f.p50.toFixed(1)} | ${f.p95.toFixed(1)} | ${f.n} |`);
  return [
    `${result.rows.toLocaleString("en-US")} workflows (seeded in ${
      (result.seedMs / 1000).toFixed(1)
    } s; ${result.sizes})`,
    "",
    "| call | p50 ms | p95 ms | calls |",
    "| --- | ---: | ---: | ---: |",
    ...rows,
    "",
    `summarize_workflows over the whole window: exact count, answer ${result.summaryBytes} bytes.`,
  ].join("\n");
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

if (import.meta.main) {
  const args = Deno.args;
  const result = await runSysdbBench({
    rows: Number(flag(args, "rows") ?? 1_000_000),
    iterations: Number(flag(args, "iterations") ?? 200),
    explain: args.includes("--explain"),
    log: (line) => console.error(`bench: ${line}`),
  });
  console.log(formatFigures(result));
  for (const [name, plan] of Object.entries(result.plans)) console.log(`\n### ${name}\n\n${plan}`);
}
