// The system-database benchmark at a smoke size: it seeds, measures every
// call and formats its table (the 1,000,000-row run is `deno task bench:sysdb`).
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { formatFigures, percentile, runSysdbBench } from "../bench/sysdb.ts";

Deno.test("percentile() takes the nearest rank", () => {
  assertEquals(percentile([5, 1, 4, 2, 3], 50), 3);
  assertEquals(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  assert(Number.isNaN(percentile([], 50)));
});

Deno.test("the system-database benchmark seeds a database and measures each call", async () => {
  const result = await runSysdbBench({ rows: 3_000, iterations: 5 });
  assertEquals(result.figures.length, 10);
  assert(result.summaryBytes > 0 && result.summaryBytes <= 4_096, `summary of ${result.summaryBytes} bytes`);
  for (const f of result.figures) assert(Number.isFinite(f.p50) && f.p95 >= f.p50, f.name);
  const table = formatFigures(result);
  assertStringIncludes(table, "| get_workflow (random id) |");
  assertStringIncludes(table, "3,000 workflows");
  assertStringIncludes(table, "| get_workflow_aggregates by status and name, whole window |");
  assertStringIncludes(table, "summarize_workflows over the whole window: exact count");
});
