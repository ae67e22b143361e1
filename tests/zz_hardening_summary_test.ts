// The last file of the hardening suite (test files run in alphabetical order):
// gathers the figures the other tests/hardening_*_test.ts files recorded in
// this run and prints them, ending with the suite's line, e.g.
// `hardening: 12000 fuzzed calls (5000 through a real backend), 0 crashes; 12 fault kinds survived;
// 0 secret leaks of 40 seeded; longest event-loop stall 30 ms`.
import { assertEquals } from "./_assert.ts";
import { describeFigures, figuresDir, readAllFigures } from "./_hardening.ts";

/** The files that record figures, by source name. */
const SOURCES = ["credentials", "faults", "fuzz", "payloads", "permissions", "starvation", "stdio"];

Deno.test("hardening: the suite's figures, and its line", async () => {
  const all = await readAllFigures();
  const found = SOURCES.filter((s) => s in all);
  if (found.length === 0) {
    console.log("hardening: no figures in this run (run the tests/hardening_*_test.ts files with this one)");
    return;
  }
  try {
    const figures = found.map((s) => all[s]);
    const sum = (pick: (f: (typeof figures)[number]) => number | undefined) =>
      figures.reduce((n, f) => n + (pick(f) ?? 0), 0);
    const fuzzed = sum((f) => f.fuzzedCalls);
    const crashes = sum((f) => f.crashes);
    const kinds = new Set(figures.flatMap((f) => f.faultKinds ?? []));
    const leaks = sum((f) => f.secretLeaks);
    const real = sum((f) => f.realBackendCalls);
    const seeded = sum((f) => f.secretsLookedFor);
    const stalls = figures.map((f) => f.stallMs).filter((m): m is number => m !== undefined);
    const stall = stalls.length ? `; longest event-loop stall ${Math.max(...stalls)} ms` : "";
    const lines = found.map((s) => `  ${s}: ${describeFigures(all[s])}`);
    const missing = SOURCES.filter((s) => !(s in all));
    if (missing.length > 0) lines.push(`  (no figures from: ${missing.join(", ")}: not run, or failed)`);
    lines.push(
      `  swept ${(sum((f) => f.sweptBytes) / 1024 / 1024).toFixed(1)} MB of stdout, stderr, results and audit ` +
        `records for ${sum((f) => f.secretsLookedFor)} secrets; ${(sum((f) => f.durationMs) / 1000).toFixed(1)} s`,
    );
    lines.push(
      `hardening: ${fuzzed} fuzzed calls (${real} through a real backend), ${crashes} crashes; ${kinds.size} fault ` +
        `kinds survived; ${leaks} secret leaks of ${seeded} seeded${stall}`,
    );
    console.log(lines.join("\n"));
    assertEquals(crashes, 0, "crashes");
    assertEquals(leaks, 0, "secret leaks");
  } finally {
    await Deno.remove(figuresDir(), { recursive: true });
  }
});
