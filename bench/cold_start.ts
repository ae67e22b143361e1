/**
 * Cold start: from spawning the process to the `tools/list` answer
 * (`initialize` and `notifications/initialized` included, as a client does
 * it), for dbos-mcp under the README's permission flags, the floor (a
 * minimal one-tool server on the same SDK and Deno) and the Node peer
 * (`@modelcontextprotocol/server-everything`). Runs are interleaved: each
 * round spawns every system once, in a rotating order.
 *
 * @module
 */
import { RpcProcess, type ServerCommand } from "./_rpc.ts";
import { inspectServer, moduleUrls, npmPackages } from "./_inspector.ts";
import { type Figure, ratioOf, since, summarize } from "./_stats.ts";
import { checkNodePeer, floorServer, nodePeer, oursConductorMode } from "./_systems.ts";

/** Options of {@linkcode benchColdStart}. */
export interface ColdStartOptions {
  /** Timed runs of each system. */
  runs: number;
  /** Untimed runs of each system first (module caches, page cache). */
  warmup: number;
  /** Progress lines. */
  log: (line: string) => void;
}

/** Spawns `cmd`, does the handshake and `tools/list`, and returns the milliseconds it took; then stops it. */
export async function timeToToolsList(cmd: ServerCommand): Promise<{ ms: number; tools: number }> {
  const start = performance.now();
  const server = new RpcProcess(cmd);
  try {
    await server.initialize();
    const list = await server.request("tools/list") as { tools?: unknown[] };
    const ms = since(start);
    if (!Array.isArray(list.tools) || list.tools.length === 0) throw new Error(`${cmd.label} listed no tools`);
    return { ms, tools: list.tools.length };
  } catch (err) {
    throw new Error(`${cmd.label}: ${err instanceof Error ? err.message : String(err)}\n${server.stderr.slice(-1000)}`);
  } finally {
    await server.close();
  }
}

/**
 * Modules that Conductor mode must not load before they are needed: the DBOS
 * SDK and the Postgres driver (system-database mode only), the
 * system-database backend, and the first-party plugins.
 */
export const LAZY_MODULES: RegExp =
  /\/(@dbos-inc\/dbos-sdk|pg|pg-pool|pg-protocol)\/|\/src\/backends\/sysdb\/|\/plugins\//;

/** What a server has loaded by the time it answers `tools/list`. */
export interface LoadedModules {
  /** Module URLs (files and npm packages). */
  modules: string[];
  /** The npm packages they come from. */
  packages: string[];
}

/** Spawns `cmd` under the inspector, does the handshake and `tools/list`, and lists the modules it loaded. */
export async function modulesAtToolsList(cmd: ServerCommand): Promise<LoadedModules> {
  await using inspected = await inspectServer(cmd);
  await inspected.server.initialize();
  await inspected.server.request("tools/list");
  const modules = moduleUrls(await inspected.scripts());
  return { modules, packages: npmPackages(modules) };
}

/** Measures the cold starts; returns the figures against the floor and against the Node peer. */
export async function benchColdStart(opts: ColdStartOptions): Promise<Figure[]> {
  const peer = await checkNodePeer();
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-bench-home-" });
  try {
    const systems = [
      { key: "ours", cmd: oursConductorMode({ home }) },
      { key: "floor", cmd: floorServer() },
      { key: "node", cmd: nodePeer() },
    ];
    const samples: Record<string, number[]> = { ours: [], floor: [], node: [] };
    const tools: Record<string, number> = {};
    for (let round = 0; round < opts.warmup + opts.runs; round++) {
      const order = systems.map((_, i) => systems[(i + round) % systems.length]);
      for (const { key, cmd } of order) {
        const { ms, tools: n } = await timeToToolsList(cmd);
        tools[key] = n;
        if (round >= opts.warmup) samples[key].push(ms);
      }
      if (round >= opts.warmup) {
        const last = (k: string) => samples[k].at(-1)!.toFixed(0);
        opts.log(
          `cold start ${round - opts.warmup + 1}/${opts.runs}: ours ${last("ours")} ms, floor ${
            last("floor")
          } ms, node ${last("node")} ms`,
        );
      }
    }
    const loaded = { ours: await modulesAtToolsList(systems[0].cmd), floor: await modulesAtToolsList(systems[1].cmd) };
    const eager = loaded.ours.modules.filter((u) => LAZY_MODULES.test(u));
    opts.log(
      `modules loaded by the tools/list answer: ours ${loaded.ours.modules.length}, floor ${loaded.floor.modules.length}`,
    );
    const ours = summarize(samples.ours);
    const floor = summarize(samples.floor);
    const node = summarize(samples.node);
    const vsFloor = ratioOf(ours.p50, floor.p50);
    const vsNode = ratioOf(ours.p50, node.p50);
    const detail = { runs: opts.runs, samples_ms: samples, tools_listed: tools, node_peer: peer };
    return [
      {
        id: "cold_start.vs_floor",
        figure: "Cold start, spawn to tools/list answer",
        unit: "ms",
        ours: ours.p50,
        oursP95: ours.p95,
        baselineName: "floor",
        baseline: floor.p50,
        baselineP95: floor.p95,
        ratio: vsFloor,
        target: "<= 1.3x",
        met: vsFloor !== undefined && vsFloor <= 1.3,
        detail,
      },
      {
        id: "cold_start.vs_node_peer",
        figure: "Cold start, spawn to tools/list answer",
        unit: "ms",
        ours: ours.p50,
        oursP95: ours.p95,
        baselineName: "Node peer",
        baseline: node.p50,
        baselineP95: node.p95,
        ratio: vsNode,
        target: "< 1x",
        met: vsNode !== undefined && vsNode < 1,
        detail: { runs: opts.runs, node_peer: peer },
      },
      {
        id: "cold_start.modules",
        figure: "Cold start, modules loaded by the tools/list answer",
        unit: "count",
        ours: loaded.ours.modules.length,
        baselineName: "floor",
        baseline: loaded.floor.modules.length,
        ratio: ratioOf(loaded.ours.modules.length, loaded.floor.modules.length),
        target: "(reported)",
        detail: {
          ours_npm_packages: loaded.ours.packages,
          floor_npm_packages: loaded.floor.packages,
          ours_local_modules: loaded.ours.modules.filter((u) => !u.includes("/npm/")).map((u) =>
            u.replace(/^.*?\/(src|plugins|mod\.ts)/, "$1")
          ),
        },
      },
      {
        id: "cold_start.lazy",
        figure: "Cold start, DBOS SDK, pg, sysdb backend and plugins loaded in Conductor mode",
        unit: "count",
        ours: eager.length,
        target: "0 (loaded on first use)",
        met: eager.length === 0,
        detail: { eager },
      },
    ];
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
