// Shared by the hardening suite (tests/hardening_*_test.ts): the figures each
// file records, gathered by the last one into the `hardening: ...` line, and
// the sweep of every captured text for secrets.
//
// `deno test` runs the test files of one run in one process, so the figures
// go to a folder named after that process (or DBOS_MCP_HARDENING_DIR): one
// JSON file per test file, no shared state between files or tests.
import { join } from "../src/util/path.ts";

/** What one hardening test file measured. */
export interface Figures {
  /** Generated tool calls sent and answered. */
  fuzzedCalls?: number;
  /** Of the fuzzed calls, those that went end to end through a real backend (not a canned answer). */
  realBackendCalls?: number;
  /** Times the server process died (or a call went unanswered) under test. */
  crashes?: number;
  /** The upstream fault kinds the server survived (clear error, bounded retries, recovery). */
  faultKinds?: string[];
  /** Occurrences of a known secret in the captured texts. */
  secretLeaks: number;
  /** Bytes of stdout, stderr, results and audit records swept for secrets. */
  sweptBytes: number;
  /** Distinct secret values looked for. */
  secretsLookedFor: number;
  /** The longest event-loop stall seen while the file's calls ran, in ms. */
  stallMs?: number;
  /** Other figures, printed as `name value` (e.g. `rss growth under load (MB)`). */
  extra?: Record<string, number | string>;
  /** How long the file's tests took, in ms. */
  durationMs: number;
}

/** The folder of this run's figures. */
export function figuresDir(): string {
  const fromEnv = Deno.env.get("DBOS_MCP_HARDENING_DIR");
  if (fromEnv) return fromEnv;
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  return join(tmp, `dbos-mcp-hardening-${Deno.pid}`);
}

/** Records the figures of test file `source` (e.g. `fuzz`), replacing earlier ones of this run. */
export async function recordFigures(source: string, figures: Figures): Promise<void> {
  const dir = figuresDir();
  await removeStaleFigures();
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, `${source}.json`), JSON.stringify(figures, null, 2));
  console.log(`hardening/${source}: ${describeFigures(figures)}`);
}

/** Removes the figures of runs whose process has ended (a file run alone leaves its figures behind). */
async function removeStaleFigures(): Promise<void> {
  if (Deno.build.os !== "linux" || Deno.env.get("DBOS_MCP_HARDENING_DIR")) return;
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  for await (const entry of Deno.readDir(tmp)) {
    const pid = /^dbos-mcp-hardening-(\d+)$/.exec(entry.name)?.[1];
    if (!entry.isDirectory || !pid || Number(pid) === Deno.pid) continue;
    try {
      await Deno.stat(`/proc/${pid}`);
    } catch {
      await Deno.remove(join(tmp, entry.name), { recursive: true }).catch(() => {});
    }
  }
}

/** Every file's figures of this run, by source. */
export async function readAllFigures(): Promise<Record<string, Figures>> {
  const out: Record<string, Figures> = {};
  try {
    for await (const entry of Deno.readDir(figuresDir())) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      out[entry.name.slice(0, -5)] = JSON.parse(await Deno.readTextFile(join(figuresDir(), entry.name)));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/** One line for a file's figures. */
export function describeFigures(f: Figures): string {
  const parts: string[] = [];
  if (f.fuzzedCalls !== undefined) {
    const real = f.realBackendCalls === undefined ? "" : ` (${f.realBackendCalls} through a real backend)`;
    parts.push(`${f.fuzzedCalls} fuzzed calls${real}`);
  }
  if (f.crashes !== undefined) parts.push(`${f.crashes} crashes`);
  if (f.faultKinds) parts.push(`${f.faultKinds.length} fault kinds survived (${f.faultKinds.join(", ")})`);
  if (f.stallMs !== undefined) parts.push(`longest event-loop stall ${f.stallMs} ms`);
  for (const [k, v] of Object.entries(f.extra ?? {})) parts.push(`${k} ${v}`);
  parts.push(`${f.secretLeaks} secret leaks in ${mb(f.sweptBytes)} MB swept for ${f.secretsLookedFor} secrets`);
  parts.push(`${(f.durationMs / 1000).toFixed(1)} s`);
  return parts.join("; ");
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(2);
}

/**
 * Every text that left a server under test (stdout, stderr, results, audit
 * records), to be searched for every secret the test handed out.
 */
export class SecretSweep {
  #texts: { where: string; text: string }[] = [];
  #secrets = new Set<string>();

  /** Adds a text, with where it came from. */
  capture(where: string, text: string): void {
    this.#texts.push({ where, text });
  }

  /** Adds secret values to look for (tokens, refresh tokens, device codes, passwords). */
  lookFor(values: Iterable<string>): void {
    for (const v of values) if (v && v.length >= 6) this.#secrets.add(v);
  }

  /** How many distinct secrets are looked for. */
  get secretCount(): number {
    return this.#secrets.size;
  }

  /** How many bytes (UTF-16 code units) were captured. */
  get bytes(): number {
    return this.#texts.reduce((n, t) => n + t.text.length, 0);
  }

  /** The sweep's part of a file's {@linkcode Figures}: leaks found, bytes swept, secrets looked for. */
  figures(): Pick<Figures, "secretLeaks" | "sweptBytes" | "secretsLookedFor"> {
    return {
      secretLeaks: this.leaks().reduce((n, l) => n + l.count, 0),
      sweptBytes: this.bytes,
      secretsLookedFor: this.secretCount,
    };
  }

  /** Every occurrence of a secret: where, and the secret's first 4 characters. */
  leaks(): { where: string; secret: string; count: number }[] {
    const found: { where: string; secret: string; count: number }[] = [];
    for (const { where, text } of this.#texts) {
      for (const secret of this.#secrets) {
        const count = text.split(secret).length - 1;
        if (count > 0) found.push({ where, secret: `${secret.slice(0, 4)}…`, count });
      }
    }
    return found;
  }
}

/** A stopwatch for a file's duration. */
export function stopwatch(): () => number {
  const start = performance.now();
  return () => Math.round(performance.now() - start);
}

/** Whether `text` holds a JavaScript stack trace line. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+[(:]\d+|\n\s+at (async )?\S+ \(/.test(text);
}
