/**
 * The HTTP/1.1 front end of the Streamable HTTP transport against
 * `Deno.serve`, which it replaced so that request heads have a deadline:
 *
 * - round trip of one small POST on a kept-alive connection (`fetch` from a
 *   worker thread), the same handler behind each server, two rounds each,
 *   alternating; the target is the latency the front end adds (what an MCP
 *   call pays), not the ratio: it parses in JavaScript, `Deno.serve` in Rust;
 * - throughput with 32 such requests in flight (reported);
 * - an MCP `ping` through the whole transport (session, SDK, JSON-RPC);
 * - how long a client that never finishes its head holds a connection, with
 *   `--http-read-timeout 500` (under `Deno.serve` it held it until the client
 *   gave up).
 *
 * Everything runs in-process on loopback.
 *
 * @module
 */
import { MemoryBackend } from "../tests/fixtures/memory_backend.ts";
import { createServer } from "../src/server.ts";
import { serveHttp } from "../src/transports/http.ts";
import { listenHttp1 } from "../src/transports/_http1_server.ts";
import { systemClock } from "../src/util/clock.ts";
import { type Figure, ratioOf, since, summarize } from "./_stats.ts";

/** Options of {@linkcode benchHttpTransport}. */
export interface HttpTransportOptions {
  /** Timed round trips of each server. */
  calls: number;
  /** Requests per throughput burst. */
  burst: number;
  /** Progress lines. */
  log: (line: string) => void;
}

const handler = async (req: Request) =>
  new Response(await req.text(), { headers: { "content-type": "application/json" } });
const BODY = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });

/** Measures the front end against `Deno.serve`, and the head deadline. */
export async function benchHttpTransport(opts: HttpTransportOptions): Promise<Figure[]> {
  const ours = listenHttp1({
    hostname: "127.0.0.1",
    port: 0,
    headTimeoutMs: 30_000,
    clock: systemClock,
    log: () => {},
    refusal: (status, message) => new Response(message, { status }),
  }, handler);
  const theirs = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const figures: Figure[] = [];
  try {
    // The client runs on its own thread, as a real client is its own process.
    // Two rounds each, alternating, so that a busy neighbour weighs on both alike.
    const a = { samples: [] as number[], perSecond: 0 };
    const b = { samples: [] as number[], perSecond: 0 };
    for (let round = 0; round < 2; round++) {
      for (const [port, into] of [[ours.addr.port, a], [(theirs.addr as Deno.NetAddr).port, b]] as const) {
        const run = await clientRun(port, opts);
        into.samples.push(...run.samples);
        into.perSecond += run.perSecond / 2;
      }
    }
    const sa = summarize(a.samples);
    const sb = summarize(b.samples);
    opts.log(`round trip: ours p50 ${sa.p50.toFixed(3)} ms, Deno.serve p50 ${sb.p50.toFixed(3)} ms`);
    figures.push({
      id: "http.round_trip",
      figure: "HTTP POST round trip, kept-alive (front end vs Deno.serve, same handler)",
      unit: "ms",
      ours: sa.p50,
      oursP95: sa.p95,
      baselineName: "Deno.serve",
      baseline: sb.p50,
      baselineP95: sb.p95,
      ratio: ratioOf(sa.p50, sb.p50),
      target: "<= 0.5 ms added",
      met: sa.p50 - sb.p50 <= 0.5,
      detail: { calls: opts.calls, addedMs: sa.p50 - sb.p50 },
    });
    opts.log(`throughput: ours ${a.perSecond.toFixed(0)}/s, Deno.serve ${b.perSecond.toFixed(0)}/s`);
    figures.push({
      id: "http.throughput",
      figure: "HTTP POSTs per second, 32 in flight (request parsing in JS vs in Rust)",
      unit: "calls/s",
      ours: a.perSecond,
      baselineName: "Deno.serve",
      baseline: b.perSecond,
      ratio: ratioOf(a.perSecond, b.perSecond),
      target: "(reported)",
      detail: { burst: opts.burst },
    });
  } finally {
    await ours.shutdown();
    await theirs.shutdown();
  }
  figures.push(await mcpPing(opts), await headDeadline(opts));
  return figures;
}

/** The client's part, run in a worker: warm-up, timed round trips one at a time, then a burst 32 in flight. */
const CLIENT = `
self.onmessage = async ({ data: { port, calls, burst, body } }) => {
  const one = async () => {
    const res = await fetch("http://127.0.0.1:" + port + "/mcp", { method: "POST", body });
    await res.arrayBuffer();
  };
  for (let i = 0; i < 100; i++) await one();
  const samples = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await one();
    samples.push(performance.now() - t);
  }
  let started = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (started < burst) {
      started++;
      await one();
    }
  }));
  self.postMessage({ samples, perSecond: burst / ((performance.now() - t) / 1000) });
};`;

async function clientRun(
  port: number,
  opts: HttpTransportOptions,
): Promise<{ samples: number[]; perSecond: number }> {
  const worker = new Worker(`data:application/javascript,${encodeURIComponent(CLIENT)}`, { type: "module" });
  try {
    const done = new Promise<{ samples: number[]; perSecond: number }>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
    });
    worker.postMessage({ port, calls: opts.calls, burst: opts.burst, body: BODY });
    return await done;
  } finally {
    worker.terminate();
  }
}

/** An MCP `ping` through the whole transport, one session, kept alive. */
async function mcpPing(opts: HttpTransportOptions): Promise<Figure> {
  const server = await createServer({ backend: new MemoryBackend(), log: () => {} });
  const http = serveHttp(server, { hostname: "127.0.0.1", port: 0, log: () => {} });
  try {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(http.url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
      }),
    });
    await init.text();
    const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id") ?? "" };
    let id = 1;
    const ping = async () => {
      const res = await fetch(http.url, {
        method: "POST",
        headers: session,
        body: JSON.stringify({ jsonrpc: "2.0", id: id++, method: "ping" }),
      });
      const text = await res.text();
      if (!text.includes('"result"')) throw new Error(`ping failed: ${res.status} ${text.slice(0, 200)}`);
    };
    for (let i = 0; i < 20; i++) await ping();
    const samples: number[] = [];
    for (let i = 0; i < opts.calls; i++) {
      const t = performance.now();
      await ping();
      samples.push(since(t));
    }
    const s = summarize(samples);
    opts.log(`MCP ping over HTTP: p50 ${s.p50.toFixed(3)} ms`);
    return {
      id: "http.mcp_ping",
      figure: "MCP ping over Streamable HTTP, one session",
      unit: "ms",
      ours: s.p50,
      oursP95: s.p95,
      target: "< 5 ms",
      met: s.p50 < 5,
      detail: { calls: opts.calls },
    };
  } finally {
    await http.shutdown();
    await server.close();
  }
}

/** How long an unfinished head holds a connection, with a 500 ms read timeout. */
async function headDeadline(opts: HttpTransportOptions): Promise<Figure> {
  const server = await createServer({ backend: new MemoryBackend(), log: () => {} });
  const http = serveHttp(server, { hostname: "127.0.0.1", port: 0, log: () => {}, readTimeoutMs: 500 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
    const start = performance.now();
    await conn.write(new TextEncoder().encode(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${http.port}\r\n`));
    const buf = new Uint8Array(4_096);
    let answer = "";
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      answer += new TextDecoder().decode(buf.subarray(0, n));
    }
    const held = since(start);
    conn.close();
    opts.log(`unfinished head held its connection ${held.toFixed(0)} ms (${answer.slice(0, 24)})`);
    return {
      id: "http.head_deadline",
      figure: "connection held by an unfinished request head, --http-read-timeout 500",
      unit: "ms",
      ours: held,
      target: "500 to 600 ms, then 408",
      met: held >= 500 && held < 600 && answer.startsWith("HTTP/1.1 408"),
    };
  } finally {
    await http.shutdown();
    await server.close();
  }
}
