/**
 * The first run: a new user's first spawn, with an empty Deno cache (a fresh
 * `DENO_DIR`, as MCP clients spawn servers with a reduced environment), from
 * spawning the process to the `tools/list` answer, and what it downloaded
 * (bytes left in `DENO_DIR`, npm packages), in each mode, against the floor
 * (the one-tool server on the same MCP SDK and zod) spawned the same way.
 *
 * Every system runs from a copy of what `deno publish` ships (the files its
 * dry run lists, `deno.json` with its imports, no `deno.lock`), as
 * `deno run jsr:@x/dbos-mcp` resolves it: only what the module graph names is
 * fetched. (With a `deno.lock` next to `deno.json` Deno fetches every package
 * the lock holds, test and bench ones too, and on this machine stalls in
 * steps of about 5 s after the last byte has arrived: 10.8 s for a lock of
 * the MCP SDK and zod alone, 20.5 s for the project's lock, 1.0 to 1.4 s
 * without one.)
 *
 * Needs the npm registry.
 *
 * @module
 */
import { join } from "../src/util/path.ts";
import { RpcProcess, type ServerCommand } from "./_rpc.ts";
import { type Figure, ratioOf, since, summarize } from "./_stats.ts";
import { ROOT } from "./_systems.ts";
import { conductorModeFlags, sysdbModeFlags, V8_FLAGS } from "../tests/_server_process.ts";

/** Options of {@linkcode benchFirstRun}. */
export interface FirstRunOptions {
  /** First runs of each system (each with its own fresh cache). */
  runs: number;
  /** Progress lines. */
  log: (line: string) => void;
}

/** One first run. */
export interface FirstRun {
  /** Spawn to the `tools/list` answer, in milliseconds. */
  ms: number;
  /** Bytes in the fresh `DENO_DIR` once `tools/list` has answered. */
  bytes: number;
  /** The npm packages (name@version) it downloaded. */
  packages: string[];
}

/** The modes measured, and the floor, as commands in the published copy at `dir`, for a home at `home`. */
export function firstRunSystems(dir: string, home: string): ServerCommand[] {
  const mod = join(dir, "mod.ts");
  return [
    { label: "floor", command: Deno.execPath(), args: ["run", "--no-prompt", V8_FLAGS, join(dir, "floor_server.ts")] },
    {
      label: "conductor",
      command: Deno.execPath(),
      args: [
        "run",
        ...conductorModeFlags({ hosts: ["cloud.dbos.dev", "login.dbos.dev"], home }),
        mod,
        "--home",
        home,
      ],
    },
    {
      label: "system-database",
      command: Deno.execPath(),
      args: ["run", ...sysdbModeFlags({ hostPorts: ["127.0.0.1:5432"] }), mod],
      env: { DBOS_SYSTEM_DATABASE_URL: "postgres://dbos@127.0.0.1:5432/app_dbos_sys" },
    },
    {
      label: "production",
      command: Deno.execPath(),
      args: [
        "run",
        ...conductorModeFlags({ hosts: ["cloud.dbos.dev", "login.dbos.dev"], home }),
        mod,
        "--home",
        home,
        "--production",
        "--audit-log",
        join(home, "audit.jsonl"),
      ],
    },
  ].map((c) => ({ ...c, cwd: dir }));
}

/**
 * Copies what `deno publish` would ship into a new temporary folder, without
 * `deno.lock`, plus the floor server; returns the folder.
 */
export async function publishedCopy(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno publish --dry-run failed:\n${text.slice(-2000)}`);
  const root = new URL(`file://${ROOT}`).href;
  const files = [...text.matchAll(/(file:\/\/\S+) \(/g)].map((m) => m[1]).filter((u) => u.startsWith(root))
    .map((u) => decodeURIComponent(u.slice(root.length))).filter((f) => f !== "deno.lock" && f !== ".git");
  if (!files.includes("mod.ts") || !files.includes("deno.json")) {
    throw new Error(`deno publish --dry-run listed no mod.ts or deno.json:\n${text.slice(-2000)}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-first-run-" });
  for (const f of [...files, "bench/fixtures/floor_server.ts"]) {
    const dest = join(dir, f === "bench/fixtures/floor_server.ts" ? "floor_server.ts" : f);
    await Deno.mkdir(join(dest, ".."), { recursive: true });
    await Deno.copyFile(join(ROOT, f), dest);
  }
  return dir;
}

/** Bytes of every file under `dir`. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) total += await treeBytes(path);
    else if (e.isFile) total += (await Deno.stat(path)).size;
  }
  return total;
}

/** The npm packages (name@version) in a Deno cache. */
export async function cachedPackages(denoDir: string): Promise<string[]> {
  const registry = join(denoDir, "npm", "registry.npmjs.org");
  const names: string[] = [];
  const list = async (d: string) => await Array.fromAsync(Deno.readDir(d)).catch(() => [] as Deno.DirEntry[]);
  for (const e of await list(registry)) {
    if (!e.isDirectory) continue;
    const scoped = e.name.startsWith("@");
    for (const sub of scoped ? await list(join(registry, e.name)) : [e]) {
      const pkgDir = scoped ? join(registry, e.name, sub.name) : join(registry, e.name);
      const name = scoped ? `${e.name}/${sub.name}` : e.name;
      for (const v of await list(pkgDir)) if (v.isDirectory) names.push(`${name}@${v.name}`);
    }
  }
  return names.sort();
}

/** Spawns `cmd` with a fresh, empty `DENO_DIR` and measures its first run; deletes the cache afterwards. */
export async function firstRun(cmd: ServerCommand, timeoutMs = 120_000): Promise<FirstRun> {
  const denoDir = await Deno.makeTempDir({ prefix: "dbos-mcp-deno-dir-" });
  // Deno writes a deno.lock next to deno.json on a run: remove it, so that every run resolves as the first.
  const removeLock = () => cmd.cwd ? Deno.remove(join(cmd.cwd, "deno.lock")).catch(() => {}) : Promise.resolve();
  await removeLock();
  try {
    const start = performance.now();
    const server = new RpcProcess({ ...cmd, env: { ...cmd.env, DENO_DIR: denoDir } });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const listed = (async () => {
        await server.initialize();
        return await server.request("tools/list") as { tools?: unknown[] };
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no tools/list answer in ${timeoutMs} ms`)), timeoutMs);
      });
      const list = await Promise.race([listed, timeout]);
      const ms = since(start);
      if (!Array.isArray(list.tools) || list.tools.length === 0) throw new Error("listed no tools");
      return { ms, bytes: await treeBytes(denoDir), packages: await cachedPackages(denoDir) };
    } catch (err) {
      throw new Error(
        `${cmd.label}: ${err instanceof Error ? err.message : String(err)}\n${server.stderr.slice(-1000)}`,
      );
    } finally {
      clearTimeout(timer);
      await server.close();
    }
  } finally {
    await Deno.remove(denoDir, { recursive: true }).catch(() => {});
    await removeLock();
  }
}

/** Measures the first run of every mode and of the floor, interleaved, `runs` times each. */
export async function benchFirstRun(opts: FirstRunOptions): Promise<Figure[]> {
  const dir = await publishedCopy();
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-first-run-home-" });
  try {
    const systems = firstRunSystems(dir, home);
    const runs = new Map<string, FirstRun[]>(systems.map((s) => [s.label, []]));
    for (let i = 0; i < opts.runs; i++) {
      for (const cmd of systems) {
        const r = await firstRun(cmd);
        runs.get(cmd.label)!.push(r);
        opts.log(
          `first run ${i + 1}/${opts.runs} ${cmd.label}: ${r.ms.toFixed(0)} ms, ${r.bytes} B, ` +
            `${r.packages.length} npm packages`,
        );
      }
    }
    const floor = runs.get("floor")!;
    const floorMs = summarize(floor.map((r) => r.ms));
    const floorBytes = summarize(floor.map((r) => r.bytes));
    const floorPackages = new Set(floor.flatMap((r) => r.packages));
    const figures: Figure[] = [];
    for (const cmd of systems.slice(1)) {
      const ours = runs.get(cmd.label)!;
      const ms = summarize(ours.map((r) => r.ms));
      const bytes = summarize(ours.map((r) => r.bytes));
      const extra = [...new Set(ours.flatMap((r) => r.packages))].filter((p) => !floorPackages.has(p));
      const byteRatio = ratioOf(bytes.p50, floorBytes.p50);
      const timeRatio = ratioOf(ms.p50, floorMs.p50);
      figures.push({
        id: `first_run.${cmd.label.replace("-", "_")}.bytes`,
        figure: `first run (empty Deno cache), ${cmd.label} mode: bytes downloaded until tools/list`,
        unit: "bytes",
        ours: bytes.p50,
        baselineName: "floor",
        baseline: floorBytes.p50,
        ratio: byteRatio,
        target: "<= 1.3x",
        met: byteRatio !== undefined && byteRatio <= 1.3,
        detail: { runs: ours.map((r) => r.bytes), floor: floor.map((r) => r.bytes), packagesBeyondFloor: extra },
      }, {
        id: `first_run.${cmd.label.replace("-", "_")}.time`,
        figure: `first run (empty Deno cache), ${cmd.label} mode: spawn to tools/list`,
        unit: "ms",
        ours: ms.p50,
        oursP95: ms.p95,
        baselineName: "floor",
        baseline: floorMs.p50,
        baselineP95: floorMs.p95,
        ratio: timeRatio,
        target: "<= 2x",
        met: timeRatio !== undefined && timeRatio <= 2,
        detail: { runs: ours.map((r) => r.ms), floor: floor.map((r) => r.ms), packages: ours[0]?.packages.length },
      });
    }
    return figures;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
