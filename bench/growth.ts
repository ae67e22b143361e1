/**
 * Cost growth: the latency of `list_workflows` through the server in
 * system-database mode (spawned under the README's flags, over stdio) as
 * the system database grows, at three sizes (1k, 10k and 100k workflows by
 * default). Each size is its own database in one throwaway PostgreSQL, with
 * the DBOS schema from the SDK's own migration and workflows (with inputs,
 * outputs, errors and three steps each) seeded in SQL; one server serves
 * the three as three applications, and calls to the three interleave. With
 * DBOS's indexes the cost stays flat instead of growing with the rows.
 *
 * @module
 */
import { RpcProcess } from "./_rpc.ts";
import { checkResult } from "./call_overhead.ts";
import { type Figure, ratioOf, since, summarize, type Summary } from "./_stats.ts";
import { oursSysdbMode } from "./_systems.ts";
import { startPostgres } from "../tests/fixtures/postgres.ts";

/** Options of {@linkcode benchGrowth}. */
export interface GrowthOptions {
  /** The three database sizes, in workflows, smallest first. */
  sizes: [number, number, number];
  /** Timed calls of each kind per size. */
  calls: number;
  /** Progress lines. */
  log: (line: string) => void;
}

const CHUNK = 50_000;
const LABELS = ["small", "medium", "large"] as const;

/** The two calls timed at each size. */
const CALLS = [
  { key: "list_default", what: "list_workflows (default page, oldest first)", args: {} },
  {
    key: "list_errors_recent",
    what: "list_workflows status=ERROR, newest first",
    args: { status: "ERROR", sort_desc: true },
  },
] as const;

/** Least-squares slope of `y` against `x`. */
export function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** `1000` as `1k`, `100000` as `100k`. */
export function shortCount(n: number): string {
  return n >= 1_000_000 && n % 1_000_000 === 0
    ? `${n / 1_000_000}M`
    : n >= 1_000 && n % 1_000 === 0
    ? `${n / 1_000}k`
    : String(n);
}

/** Runs `work` with `console.log` sent to stderr (the DBOS SDK's migration logs there; stdout carries the table). */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = console.error;
  try {
    return await work();
  } finally {
    console.log = log;
  }
}

/** Seeds three system databases and measures `list_workflows` against each. */
export async function benchGrowth(opts: GrowthOptions): Promise<Figure[]> {
  // The DBOS SDK (for its schema migration) loads only when this section runs.
  const { createDbosSchema, seedWorkflowsSql } = await import("../tests/fixtures/dbos_schema.ts");
  await using pg = await startPostgres();
  const apps: { name: string; url: string; rows: number }[] = [];
  const seedStart = performance.now();
  for (const rows of opts.sizes) {
    const name = `bench-${shortCount(rows)}`;
    const db = `bench_${shortCount(rows).toLowerCase()}_dbos_sys`;
    const url = pg.url(db);
    await quietly(() => createDbosSchema(url));
    for (let first = 0; first < rows; first += CHUNK) {
      const count = Math.min(CHUNK, rows - first);
      await pg.query(seedWorkflowsSql({ count, first, total: rows, appName: name, analyze: false }), db);
    }
    await pg.query("VACUUM ANALYZE", db);
    apps.push({ name, url, rows });
    opts.log(`seeded ${rows.toLocaleString("en-US")} workflows (${(since(seedStart) / 1000).toFixed(1)} s so far)`);
  }

  await using server = new RpcProcess(oursSysdbMode(apps));
  await server.initialize();
  await server.request("tools/list");
  const call = async (app: string, args: Record<string, unknown>) => {
    const res = checkResult(
      "list_workflows",
      await server.callTool("list_workflows", { application_name: app, ...args }),
    );
    if ((res.structuredContent as { count?: number }).count === 0) {
      throw new Error(`list_workflows listed nothing in ${app}`);
    }
  };
  for (let i = 0; i < 10; i++) for (const app of apps) for (const c of CALLS) await call(app.name, c.args);

  const times = CALLS.map(() => apps.map(() => [] as number[]));
  for (let i = 0; i < opts.calls; i++) {
    for (let k = 0; k < apps.length; k++) {
      const a = (k + i) % apps.length; // rotate which size goes first
      for (let c = 0; c < CALLS.length; c++) {
        const start = performance.now();
        await call(apps[a].name, CALLS[c].args);
        times[c][a].push(since(start));
      }
    }
  }

  const figures: Figure[] = [];
  const rows = apps.map((a) => a.rows);
  for (let c = 0; c < CALLS.length; c++) {
    const s: Summary[] = times[c].map(summarize);
    opts.log(`${CALLS[c].what}: ${apps.map((a, i) => `${shortCount(a.rows)} ${s[i].p50.toFixed(2)} ms`).join(", ")}`);
    for (let i = 0; i < apps.length; i++) {
      const ratio = i === 0 ? undefined : ratioOf(s[i].p50, s[0].p50);
      figures.push({
        id: `growth.${CALLS[c].key}.${LABELS[i]}`,
        figure: `Cost growth, ${CALLS[c].what}, ${shortCount(apps[i].rows)} workflows`,
        unit: "ms",
        ours: s[i].p50,
        oursP95: s[i].p95,
        ...(i === 0 ? {} : {
          baselineName: `at ${shortCount(apps[0].rows)}`,
          baseline: s[0].p50,
          baselineP95: s[0].p95,
          ratio,
        }),
        target: i === 0 ? "(reference)" : `<= 2x (linear: ${apps[i].rows / apps[0].rows}x)`,
        ...(i === 0 ? {} : { met: ratio !== undefined && ratio <= 2 }),
        detail: { rows: apps[i].rows, summary: s[i] },
      });
    }
    const perStep = slope(rows, s.map((x) => x.p50)) * 10_000;
    figures.push({
      id: `growth.${CALLS[c].key}.slope`,
      figure: `Cost growth, ${CALLS[c].what}: p50 slope per 10k more workflows`,
      unit: "ms",
      ours: perStep,
      target: "(reported; flat is ~0)",
      detail: { rows, p50_ms: s.map((x) => x.p50) },
    });
  }
  return figures;
}
