/**
 * Memory, two ways, for dbos-mcp (calls of `list_workflows` and
 * `get_workflow`, alternating, 8 in flight, against the canned Conductor
 * emulator) and the floor (calls of its one tool):
 *
 * - resident set size (`VmRSS` of `/proc/PID/status`) of a server under the
 *   README's flags, after start (the `tools/list` answer), after N calls and
 *   after N more: what the machine gives the process, garbage, allocator
 *   reserves and the runtime's one-time warm-up (code pages, JIT, heap
 *   sizing, which the floor shows too) included; the growth over the second
 *   N calls is the leak check on RSS;
 * - live JavaScript heap after a full garbage collection (through the V8
 *   inspector, `--inspect` added to the flags), after start and after N
 *   calls, and for dbos-mcp once more after the request timeout has passed
 *   (each remote request keeps a timer that long): the leak check.
 *
 * @module
 */
import { RpcProcess } from "./_rpc.ts";
import { inspectServer } from "./_inspector.ts";
import { CANNED, CANNED_WORKFLOW_ID, type CannedConductor, startCannedConductor } from "./_canned_conductor.ts";
import { checkResult, throughput } from "./call_overhead.ts";
import { type Figure, ratioOf } from "./_stats.ts";
import { floorServer, oursConductorMode } from "./_systems.ts";
import type { ServerCommand } from "./_rpc.ts";

/** Options of {@linkcode benchMemory}. */
export interface MemoryOptions {
  /** Calls between the readings. */
  calls: number;
  /**
   * `--timeout` of the leak-check server, in ms (its request timers expire
   * this long after each call); `undefined` keeps the server's default.
   */
  requestTimeoutMs?: number;
  /** Progress lines. */
  log: (line: string) => void;
}

const MB = 1_048_576;
const SETTLE_MS = 500;
const IN_FLIGHT = 8;

type Caller = (server: RpcProcess) => (i: number) => Promise<void>;

const oursCalls: Caller = (server) => async (i) => {
  const tool = i % 2 ? "get_workflow" : "list_workflows";
  const args = i % 2
    ? { application_name: CANNED.app, workflow_id: CANNED_WORKFLOW_ID }
    : { application_name: CANNED.app };
  checkResult(tool, await server.callTool(tool, args));
};

const floorCalls: Caller = (server) => async (i) => {
  checkResult("echo", await server.callTool("echo", { message: `call ${i}` }));
};

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS readings of one server, in bytes. */
interface RssReadings {
  /** After the handshake and `tools/list`. */
  start: number;
  /** After a fifth of the calls. */
  fifth: number;
  /** After all the calls. */
  end: number;
  /** After as many calls again: the leak check, past the runtime's warm-up. */
  twice: number;
  /** The file-backed part (the executable's pages) after start and after all the calls. */
  file: { start: number; end: number };
}

/**
 * RSS after the handshake, after a fifth of the calls, after all of them and
 * after as many again, each after a short idle pause.
 */
async function rssAround(cmd: ServerCommand, calls: number, caller: Caller): Promise<RssReadings> {
  await using server = new RpcProcess(cmd);
  await server.initialize();
  await server.request("tools/list");
  await pause(SETTLE_MS);
  const start = await server.rss();
  if (!Number.isFinite(start)) throw new Error("cannot read VmRSS from /proc (Linux only)");
  const fileStart = await server.rssFile();
  const call = caller(server);
  let i = 0;
  const after = async (n: number) => {
    await throughput(n, IN_FLIGHT, () => call(i++));
    await pause(SETTLE_MS);
    return await server.rss();
  };
  const first = Math.ceil(calls / 5);
  const fifth = await after(first);
  const end = await after(calls - first);
  const fileEnd = await server.rssFile();
  return { start, fifth, end, twice: await after(calls), file: { start: fileStart, end: fileEnd } };
}

/** Live heap after full GCs: after the handshake, after the calls, and `waitMs` later. */
async function heapAround(
  cmd: ServerCommand,
  calls: number,
  caller: Caller,
  waitMs: number,
): Promise<{ start: number; end: number; later: number }> {
  await using inspected = await inspectServer(cmd);
  await inspected.server.initialize();
  await inspected.server.request("tools/list");
  const start = await inspected.liveHeap();
  const call = caller(inspected.server);
  let i = 0;
  await throughput(calls, IN_FLIGHT, () => call(i++));
  const end = await inspected.liveHeap();
  if (waitMs > 0) await pause(waitMs);
  return { start, end, later: waitMs > 0 ? await inspected.liveHeap() : end };
}

function oursCommand(conductor: CannedConductor, timeoutMs?: number): ServerCommand {
  return oursConductorMode({
    home: conductor.home,
    conductorUrl: conductor.baseUrl,
    args: timeoutMs === undefined ? [] : ["--timeout", String(timeoutMs)],
  });
}

/** Measures memory after start and after `calls` calls, for dbos-mcp and the floor. */
export async function benchMemory(opts: MemoryOptions): Promise<Figure[]> {
  await using conductor = await startCannedConductor();
  const ours = await rssAround(oursCommand(conductor), opts.calls, oursCalls);
  const floor = await rssAround(floorServer(), opts.calls, floorCalls);
  const mb = (r: RssReadings) =>
    [r.start, r.fifth, r.end, r.twice].map((v) => (v / MB).toFixed(1)).join(" -> ") + " MB";
  opts.log(`RSS: ours ${mb(ours)}, floor ${mb(floor)}`);
  const fileGrowth = (r: RssReadings) => (r.file.end - r.file.start) / MB;

  // The server's default request timeout is 30 s (DEFAULTS.timeoutMs); its timers must have fired before the last reading.
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const [oursHeap, floorHeap] = await Promise.all([
    heapAround(oursCommand(conductor, opts.requestTimeoutMs), opts.calls, oursCalls, timeoutMs + 1_000),
    heapAround(floorServer(), opts.calls, floorCalls, 0),
  ]);
  const heapGrowth = (oursHeap.later - oursHeap.start) / MB;
  const floorHeapGrowth = (floorHeap.end - floorHeap.start) / MB;
  opts.log(
    `live heap: ours ${(oursHeap.start / MB).toFixed(2)} -> ${(oursHeap.end / MB).toFixed(2)} -> ${
      (oursHeap.later / MB).toFixed(2)
    } MB (${timeoutMs + 1_000} ms later), floor ${(floorHeap.start / MB).toFixed(2)} -> ${
      (floorHeap.end / MB).toFixed(2)
    } MB`,
  );

  const growth = (ours.end - ours.start) / MB;
  const floorGrowth = (floor.end - floor.start) / MB;
  const laterGrowth = (ours.twice - ours.end) / MB;
  const floorLaterGrowth = (floor.twice - floor.end) / MB;
  const readings = (r: RssReadings) => ({
    start: r.start / MB,
    after_first_fifth: r.fifth / MB,
    end: r.end / MB,
    after_twice_the_calls: r.twice / MB,
    file_backed_start: r.file.start / MB,
    file_backed_end: r.file.end / MB,
  });
  const rssDetail = {
    calls: opts.calls,
    in_flight: IN_FLIGHT,
    ours_rss_mb: readings(ours),
    floor_rss_mb: readings(floor),
  };
  const calls = opts.calls.toLocaleString("en-US");
  /** A figure in MB against the floor; `limit` makes it a target (`ours < limit`). */
  const vsFloor = (
    id: string,
    figure: string,
    values: { ours: number; floor: number },
    target: string,
    detail: Record<string, unknown>,
    limit?: number,
  ): Figure => ({
    id: `memory.${id}`,
    figure: `Memory, ${figure}`,
    unit: "MB",
    ours: values.ours,
    baselineName: "floor",
    baseline: values.floor,
    ratio: ratioOf(values.ours, values.floor),
    target,
    ...(limit === undefined ? {} : { met: values.ours < limit }),
    detail,
  });
  return [
    vsFloor(
      "rss_after_start",
      "RSS after start",
      { ours: ours.start / MB, floor: floor.start / MB },
      "(reported)",
      rssDetail,
    ),
    vsFloor(
      "rss_after_calls",
      `RSS after ${calls} calls`,
      { ours: ours.end / MB, floor: floor.end / MB },
      "(reported)",
      rssDetail,
    ),
    vsFloor(
      "rss_growth",
      `RSS growth over ${calls} calls`,
      { ours: growth, floor: floorGrowth },
      "< 5 MB",
      rssDetail,
      5,
    ),
    vsFloor(
      "rss_growth_file_backed",
      "of that growth: file-backed (the runtime's own code pages, first touched)",
      { ours: fileGrowth(ours), floor: fileGrowth(floor) },
      "(reported)",
      rssDetail,
    ),
    vsFloor(
      "rss_growth_later",
      `RSS growth over the next ${calls} calls (past warm-up)`,
      { ours: laterGrowth, floor: floorLaterGrowth },
      "< 5 MB (no leak)",
      rssDetail,
      5,
    ),
    vsFloor(
      "heap_growth",
      `live heap growth after full GC over ${calls} calls (request timers expired)`,
      { ours: heapGrowth, floor: floorHeapGrowth },
      "< 5 MB (no leak)",
      {
        calls: opts.calls,
        wait_after_calls_ms: timeoutMs + 1_000,
        request_timeout_ms: timeoutMs,
        ours_heap_mb: {
          start: oursHeap.start / MB,
          right_after_calls: oursHeap.end / MB,
          after_wait: oursHeap.later / MB,
        },
        floor_heap_mb: { start: floorHeap.start / MB, after_calls: floorHeap.end / MB },
      },
      5,
    ),
  ];
}
