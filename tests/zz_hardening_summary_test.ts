// The last file of the hardening suite (test files run in alphabetical order):
// gathers the figures the other tests/hardening_*_test.ts files recorded in
// this run and prints them, ending with the suite's line, e.g.
// `hardening: 12000 fuzzed calls (3264 through a real backend), 0 crashes; 12 fault kinds survived;
// 0 secret leaks of 239 seeded; longest event-loop stall 6 ms`.
// Run alone, with no figures to gather, it fails: a summary of nothing would
// read as a clean bill of health.
import { assert, assertEquals } from "./_assert.ts";
import { describeFigures, type Figures, figuresDir, readAllFigures } from "./_hardening.ts";

/** The calls tests/hardening_fuzz_test.ts generates (4,000 in Conductor mode, 8,000 in system-database mode). */
const FUZZED_CALLS = 12_000;

/** The files that record figures, by source name. */
const SOURCES = ["credentials", "faults", "fuzz", "payloads", "permissions", "starvation", "stdio"];

/**
 * The files that hand out no secret, so have nothing to sweep for (starvation measures stalls on a memory
 * backend); every other file must have swept something.
 */
const NO_SECRETS = new Set(["starvation"]);

/** Why a file's figures cannot be what it measured, or `undefined` when they can. */
function implausible(source: string, f: Figures): string | undefined {
  const counts: [string, unknown][] = [
    ["secretLeaks", f.secretLeaks],
    ["sweptBytes", f.sweptBytes],
    ["secretsLookedFor", f.secretsLookedFor],
    ["durationMs", f.durationMs],
    ...(f.fuzzedCalls !== undefined ? [["fuzzedCalls", f.fuzzedCalls] as [string, unknown]] : []),
    ...(f.crashes !== undefined ? [["crashes", f.crashes] as [string, unknown]] : []),
  ];
  for (const [name, value] of counts) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return `${name} is ${value}`;
  }
  if (NO_SECRETS.has(source)) {
    if (f.secretsLookedFor !== 0 || f.secretLeaks !== 0) return "it says it hands out no secret, yet swept for some";
  } else if (f.sweptBytes === 0 || f.secretsLookedFor === 0) return "its secret sweep looked at nothing";
  if (source === "fuzz" && !(f.fuzzedCalls! > 0)) return "it fuzzed no call";
  if (source === "faults" && !(f.faultKinds && f.faultKinds.length > 0)) return "it survived no fault kind";
  return undefined;
}

Deno.test("hardening: the suite's figures, and its line", async () => {
  const all = await readAllFigures();
  try {
    const found = SOURCES.filter((s) => s in all);
    assert(
      found.length > 0,
      "no hardening figures in this run: run the tests/hardening_*_test.ts files in the same `deno test` as this one",
    );
    for (const s of found) assertEquals(implausible(s, all[s]), undefined, `the figures of hardening/${s}`);
    const figures = found.map((s) => all[s]);
    const sum = (pick: (f: Figures) => number | undefined) => figures.reduce((n, f) => n + (pick(f) ?? 0), 0);
    const totals = {
      fuzzed: sum((f) => f.fuzzedCalls),
      crashes: sum((f) => f.crashes),
      kinds: new Set(figures.flatMap((f) => f.faultKinds ?? [])).size,
      leaks: sum((f) => f.secretLeaks),
    };
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
    const line = `hardening: ${totals.fuzzed} fuzzed calls (${real} through a real backend), ${totals.crashes} ` +
      `crashes; ${totals.kinds} fault kinds survived; ${totals.leaks} secret leaks of ${seeded} seeded${stall}`;
    lines.push(line);
    console.log(lines.join("\n"));
    // The printed totals are the files' own figures, and the fuzz file ran every call it promises.
    if (all.fuzz) assertEquals(totals.fuzzed, FUZZED_CALLS, "the fuzz file's generated calls, all of them");
    else assertEquals(totals.fuzzed, 0, "no fuzzed calls without the fuzz file");
    if (all.faults) assert(totals.kinds >= all.faults.faultKinds!.length, "fault kinds include the faults file's");
    assertEquals(totals.crashes, 0, "crashes");
    assertEquals(totals.leaks, 0, "secret leaks");
  } finally {
    await Deno.remove(figuresDir(), { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
});
