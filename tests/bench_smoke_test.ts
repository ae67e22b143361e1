// The benchmarks (`deno task bench`) at their smoke size, as a subprocess: they
// run to the end, print the table with every figure and write the same as
// JSON. No timing is asserted (CI machines are noisy); the one property
// checked is structural: Conductor mode loads no DBOS SDK, pg, system-database
// backend or plugin before it answers tools/list.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { join } from "../src/util/path.ts";
import { percentile, summarize } from "../bench/_stats.ts";
import { slope } from "../bench/growth.ts";
import { LAZY_MODULES } from "../bench/cold_start.ts";
import { npmPackages } from "../bench/_inspector.ts";
import { formatRatio, formatTable, formatValue } from "../bench/_report.ts";
import type { BenchReport } from "../bench/_report.ts";
import { SECTIONS } from "../bench/mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SECTIONS_OFFLINE = SECTIONS.filter((s) => s !== "first_run");

/** Every figure the benchmarks report, in table order. */
const FIGURE_IDS = [
  "cold_start.vs_floor",
  "cold_start.vs_node_peer",
  "cold_start.modules",
  "cold_start.lazy",
  "call_overhead.get_workflow",
  "call_overhead.list_workflows",
  "call_overhead.throughput_32",
  "answer_size.list_workflows_10k",
  "answer_size.get_workflow_1mb",
  "answer_size.get_workflow_1mb_full",
  "memory.rss_after_start",
  "memory.rss_after_calls",
  "memory.rss_growth",
  "memory.rss_growth_file_backed",
  "memory.rss_growth_later",
  "memory.heap_growth",
  ...["list_default", "list_errors_recent"].flatMap((c) =>
    ["small", "medium", "large", "slope"].map((s) => `growth.${c}.${s}`)
  ),
  "tools_list.all",
  "tools_list.before",
  ...["core", "bulk", "schedules", "versions", "transfer"].map((set) => `tools_list.toolset_${set}`),
  "http.round_trip",
  "http.throughput",
  "http.mcp_ping",
  "http.head_deadline",
];

Deno.test("bench helpers: percentiles, slope, module patterns and formatting", () => {
  assertEquals(percentile([5, 1, 4, 2, 3], 50), 3);
  assertEquals(summarize([1, 2, 3, 4, 100]), { p50: 3, p95: 100, n: 5 });
  assertEquals(slope([1_000, 10_000, 100_000], [2, 2, 2]), 0);
  assertEquals(slope([0, 1, 2], [1, 3, 5]), 2);
  assertEquals(formatValue(0.8234, "ms", 1.5), "0.82 ms (p95 1.50 ms)");
  assertEquals(formatValue(13_656, "bytes"), "13,656 B");
  assertEquals(formatValue(5_458_477, "bytes"), "5.21 MB");
  assertEquals(formatRatio(0.0025), "0.0025x");
  const npm = "file:///root/.cache/deno/npm/registry.npmjs.org";
  for (const url of [`${npm}/@dbos-inc/dbos-sdk/5.3.0/dist/src/index.js`, `${npm}/pg/8.23.1/lib/index.js`]) {
    assert(LAZY_MODULES.test(url), url);
  }
  for (const path of ["src/backends/sysdb/backend.ts", "src/backends/sysdb/_map.ts", "plugins/redact.ts"]) {
    assert(LAZY_MODULES.test(`file:///work/main/${path}`), path);
  }
  for (const url of [`${npm}/@modelcontextprotocol/sdk/1.32.2/dist/esm/types.js`, "file:///work/main/src/server.ts"]) {
    assert(!LAZY_MODULES.test(url), url);
  }
  assertEquals(npmPackages([`${npm}/@dbos-inc/dbos-sdk/5.3.0/dist/src/index.js`, `${npm}/pg/8.23.1/lib/a.js`]), [
    "@dbos-inc/dbos-sdk@5.3.0",
    "pg@8.23.1",
  ]);
  const table = formatTable([{ id: "x", figure: "a | b", unit: "ms", ours: 2, target: "<= 1 ms", met: false }]);
  assertStringIncludes(table, "| figure | ours | baseline | ratio | target | met |");
  assertStringIncludes(table, "| a \\| b | 2.00 ms |  |  | <= 1 ms | **no** |");
});

Deno.test("deno task bench --smoke runs every benchmark, prints the table and writes the JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-bench-smoke-" });
  try {
    const jsonPath = join(dir, "bench.json");
    const out = await new Deno.Command(Deno.execPath(), {
      // Every section but first_run, which downloads from the npm registry (tests/first_run_imports_test.ts
      // checks its helpers and the module graph offline).
      args: ["run", "-A", "bench/mod.ts", "--smoke", "--json", jsonPath, "--only", SECTIONS_OFFLINE.join(",")],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `the bench failed:\n${stderr.slice(-3000)}`);

    const report = JSON.parse(await Deno.readTextFile(jsonPath)) as BenchReport;
    assertEquals(report.mode, "smoke");
    assert(report.machine.nproc > 0 && report.machine.cpu !== "" && report.machine.memoryGiB > 0, "machine described");
    assertEquals(report.figures.map((f) => f.id), FIGURE_IDS);
    for (const f of report.figures) {
      assert(Number.isFinite(f.ours), `${f.id}: ours is a number`);
      if (f.baseline !== undefined) assert(Number.isFinite(f.baseline), `${f.id}: baseline is a number`);
      assert(f.target !== "", `${f.id}: has a target`);
    }

    // The same figures, in the same order, in the printed table.
    assertStringIncludes(stdout, "SMOKE sizes");
    assertStringIncludes(stdout, "| figure | ours | baseline | ratio | target | met |");
    const rows = stdout.split("\n").filter((l) =>
      l.startsWith("| ") && !l.startsWith("| figure") && !l.startsWith("| ---")
    );
    assertEquals(rows.length, FIGURE_IDS.length, stdout);
    report.figures.forEach((f, i) => assert(rows[i].startsWith(`| ${f.figure.replaceAll("|", "\\|")} |`), rows[i]));
    assert(!/Running DBOS|Created database/.test(stdout), "only the table on stdout");

    const lazy = report.figures.find((f) => f.id === "cold_start.lazy")!;
    assertEquals(lazy.ours, 0, `Conductor mode loaded at start: ${JSON.stringify(lazy.detail)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
