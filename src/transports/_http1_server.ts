/**
 * A small HTTP/1.1 server over `Deno.listen`, in place of `Deno.serve`, so
 * that every read has a deadline: a request's line and headers must arrive
 * within the read timeout of the connection opening (or of the previous
 * answer ending), or the connection is answered 408 (closed quietly when
 * nothing was sent: an idle kept-alive connection). `Deno.serve` reads heads
 * itself with no deadline (denoland/deno#3515), so a client that never
 * finishes its headers held a connection forever.
 *
 * It serves one request at a time per connection (pipelined requests wait
 * their turn), keeps connections alive as HTTP/1.1 does, streams
 * `text/event-stream` answers chunk by chunk, bounds the head's size (431)
 * and the number of open connections, and hands each request to the handler
 * as a web `Request` whose body is cut from the connection by its framing.
 * The permissions it needs are those of `Deno.serve`: `--allow-net` for the
 * address it binds.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { LogFn } from "../util/log.ts";
import { parseHead, type RequestHead } from "./_http1_head.ts";
import { type BodyState, bodyStream, ConnReader, latin1 } from "./_http1_reader.ts";

/** How {@linkcode listenHttp1} listens. */
export interface Http1Options {
  /** Interface to bind. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Time limit for a request's line and headers, in ms (408 beyond). */
  headTimeoutMs: number;
  /** Largest request line and headers, in bytes (431 beyond); default 32 KiB. */
  maxHeadBytes?: number;
  /** Most connections open at once; one more is closed at once. Default 1,024. */
  maxConnections?: number;
  /** Time limit for the peer to take one write of an answer, in ms (the connection is closed beyond); default 60 s. */
  writeTimeoutMs?: number;
  /** Clock of the head deadline. */
  clock: Clock;
  /** Diagnostics. */
  log: LogFn;
  /** The answer to a request that cannot be read (status and message). */
  refusal: (status: number, message: string) => Response;
}

/** A request handler. */
export type Http1Handler = (req: Request) => Response | Promise<Response>;

/** A listening server. */
export interface Http1Server {
  /** The address bound. */
  readonly addr: Deno.NetAddr;
  /** The bound host as a URL writes it (an IPv6 address in brackets). */
  readonly host: string;
  /** How many connections are open. */
  readonly connections: number;
  /** Stops accepting, lets each connection finish the answer it is writing, then closes them all. */
  shutdown(): Promise<void>;
}

/** Largest answer held whole to send it with a `Content-Length`; longer ones are sent chunked. */
const BUFFERED_ANSWER = 1_048_576;
/** How long `shutdown()` waits for answers in progress before closing their connections. */
const SHUTDOWN_GRACE_MS = 5_000;
const ENCODER = new TextEncoder();
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"]);
const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  202: "Accepted",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** One open connection. */
interface Live {
  conn: Deno.Conn;
  /** True from a request's head to the end of its answer. */
  busy: boolean;
  done: Promise<void>;
}

/** Listens on `opts.hostname:opts.port` and serves each request with `handler`. */
export function listenHttp1(opts: Http1Options, handler: Http1Handler): Http1Server {
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const base = `http://${host}:${addr.port}`;
  const maxConnections = opts.maxConnections ?? 1_024;
  const live = new Set<Live>();
  const state = { closing: false };
  let refused = 0;

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (state.closing || e instanceof Deno.errors.BadResource) return;
        opts.log(`HTTP accept failed: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (live.size >= maxConnections) {
        if (refused++ % 100 === 0) opts.log(`HTTP: ${maxConnections} connections are open; closing new ones`);
        closeQuietly(conn);
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not a TCP connection, or already closed
      }
      const entry: Live = { conn, busy: false, done: Promise.resolve() };
      live.add(entry);
      entry.done = serveConnection(entry, { ...opts, base, state }, handler)
        .catch((e) => opts.log(`HTTP connection failed: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => {
          closeQuietly(conn);
          live.delete(entry);
        });
    }
  })();

  return {
    addr,
    host,
    get connections() {
      return live.size;
    },
    shutdown: async () => {
      state.closing = true;
      closeQuietly(listener);
      await accepting;
      for (const c of live) if (!c.busy) closeQuietly(c.conn);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((r) => timer = setTimeout(r, SHUTDOWN_GRACE_MS));
      await Promise.race([Promise.allSettled([...live].map((c) => c.done)), grace]);
      clearTimeout(timer);
      for (const c of live) closeQuietly(c.conn);
      await Promise.allSettled([...live].map((c) => c.done));
    },
  };
}

interface Context extends Http1Options {
  base: string;
  state: { closing: boolean };
}

async function serveConnection(entry: Live, ctx: Context, handler: Http1Handler): Promise<void> {
  const reader = new ConnReader(entry.conn);
  const writer = new ConnWriter(entry.conn, ctx.writeTimeoutMs ?? 60_000);
  while (!ctx.state.closing) {
    const read = await readHead(reader, ctx);
    if (read === undefined) return;
    entry.busy = true;
    if ("status" in read) {
      await writeAnswer(writer, reader, ctx.refusal(read.status, read.message), { method: "GET", keepAlive: false });
      return;
    }
    const again = await serveRequest(read, reader, writer, ctx, handler);
    entry.busy = false;
    if (!again) return;
  }
}

/** Serves one request; true when the connection may carry another. */
async function serveRequest(
  head: RequestHead,
  reader: ConnReader,
  writer: ConnWriter,
  ctx: Context,
  handler: Http1Handler,
): Promise<boolean> {
  const body: BodyState = { complete: head.framing.kind === "length" && head.framing.length === 0 };
  const hasBody = !body.complete && head.method !== "GET" && head.method !== "HEAD";
  const continued = async () => {
    if (head.expectContinue) await writer.write(ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n"));
  };
  let request: Request | undefined;
  try {
    request = new Request(`${ctx.base}${head.target}`, {
      method: head.method,
      headers: head.headers,
      body: hasBody ? bodyStream(reader, head.framing, body, continued) : null,
    });
  } catch {
    // A method fetch forbids (CONNECT, TRACE, TRACK) or a target no URL can hold.
  }
  let answer: Response;
  if (!request) {
    answer = ctx.refusal(400, `Bad Request: '${head.method} ${head.target.slice(0, 100)}' is not served here`);
  } else {
    try {
      answer = await handler(request);
    } catch (e) {
      ctx.log(`HTTP request failed: ${e instanceof Error ? e.message : String(e)}`);
      answer = ctx.refusal(500, "Internal Server Error: the request could not be served; see the server's log");
    }
  }
  const keepAlive = head.keepAlive && body.complete && !ctx.state.closing &&
    !(answer.headers.get("connection") ?? "").toLowerCase().split(",").some((t) => t.trim() === "close");
  return await writeAnswer(writer, reader, answer, {
    method: head.method,
    keepAlive,
    keepAliveS: Math.max(1, Math.floor(ctx.headTimeoutMs / 1_000)),
    http10: head.version === "1.0",
  });
}

/**
 * Reads the next request head within the deadline: the head, a refusal to
 * answer, or `undefined` when the connection ended (or idled out) between
 * requests.
 */
async function readHead(
  reader: ConnReader,
  ctx: Context,
): Promise<RequestHead | { status: number; message: string } | undefined> {
  const maxHead = ctx.maxHeadBytes ?? 32_768;
  const stop = new AbortController();
  const timeUp = ctx.clock.sleep(ctx.headTimeoutMs, stop.signal).then(() => "time" as const, () => "stopped" as const);
  let searched = 0;
  try {
    for (;;) {
      searched = Math.max(0, searched - reader.skipEmptyLines());
      const end = reader.headEnd(Math.max(0, searched - 3));
      searched = reader.buffered;
      if (end > maxHead || (end < 0 && reader.buffered > maxHead)) {
        return {
          status: 431,
          message: `Request Header Fields Too Large: a request's line and headers may hold ${maxHead} bytes`,
        };
      }
      if (end >= 0) return parseHead(latin1(reader.take(end)).slice(0, -4));
      if (ctx.state.closing && reader.buffered === 0) return undefined;
      const more = await Promise.race([reader.fill(), timeUp]);
      if (more === "time") {
        if (reader.buffered === 0) return undefined;
        return {
          status: 408,
          message: `Request Timeout: the request line and headers did not arrive within ${ctx.headTimeoutMs} ms ` +
            "(--http-read-timeout)",
        };
      }
      if (more === "stopped" || !more) return undefined;
    }
  } finally {
    stop.abort();
  }
}

/** Writes `answer`; true when the connection stays open for another request. */
async function writeAnswer(
  writer: ConnWriter,
  reader: ConnReader,
  answer: Response,
  how: { method: string; keepAlive: boolean; keepAliveS?: number; http10?: boolean },
): Promise<boolean> {
  const status = answer.status;
  const lines = [`HTTP/1.1 ${status} ${answer.statusText || REASONS[status] || "Status"}`];
  for (const [name, value] of answer.headers) {
    if (HOP_BY_HOP.has(name)) continue;
    if (name === "set-cookie") continue;
    lines.push(`${name}: ${value}`);
  }
  for (const cookie of answer.headers.getSetCookie()) lines.push(`set-cookie: ${cookie}`);
  if (!answer.headers.has("date")) lines.push(`date: ${new Date().toUTCString()}`);
  const bodiless = status < 200 || status === 204 || status === 304;
  const source = answer.body?.getReader();
  const held: Uint8Array[] = [];
  let whole = bodiless || !source;
  if (source && bodiless) await source.cancel().catch(() => {});
  if (
    source && !bodiless && !(answer.headers.get("content-type") ?? "").toLowerCase().startsWith("text/event-stream")
  ) {
    let size = 0;
    while (size <= BUFFERED_ANSWER) {
      const next = await source.read().catch(() => undefined);
      if (!next) return false;
      if (next.done) {
        whole = true;
        break;
      }
      if (next.value.length === 0) continue;
      held.push(next.value);
      size += next.value.length;
    }
  }
  // HTTP/1.0 has no chunked coding: an answer of unknown length ends when the connection does.
  const framed = whole || !how.http10;
  const keepAlive = how.keepAlive && framed && !writer.broken;
  if (!bodiless && framed) lines.push(whole ? `content-length: ${total(held)}` : "transfer-encoding: chunked");
  lines.push(keepAlive ? `keep-alive: timeout=${how.keepAliveS ?? 5}` : "connection: close");
  const headBytes = ENCODER.encode(lines.join("\r\n") + "\r\n\r\n");
  if (how.method === "HEAD") {
    await source?.cancel().catch(() => {});
    return await writer.write(headBytes) && keepAlive;
  }
  if (whole) return await writer.write(concat([headBytes, ...held])) && keepAlive;
  const frame = framed ? chunk : (bytes: Uint8Array) => bytes;
  if (!await writer.write(concat([headBytes, ...held.map(frame)]))) {
    await source!.cancel().catch(() => {});
    return false;
  }
  // While the answer streams, a client that leaves ends it (its stream is cancelled, as `Deno.serve` does).
  let gone = false;
  if (reader.buffered === 0) {
    reader.fill().then((more) => {
      if (!more) {
        gone = true;
        source!.cancel().catch(() => {});
      }
    });
  }
  for (;;) {
    const next = await source!.read().catch(() => undefined);
    if (!next || gone) return false;
    if (next.done) break;
    if (next.value.length === 0) continue;
    if (!await writer.write(frame(next.value))) {
      await source!.cancel().catch(() => {});
      return false;
    }
  }
  if (!framed) return false;
  return await writer.write(ENCODER.encode("0\r\n\r\n")) && keepAlive;
}

/**
 * Writes whole buffers to a connection, remembering the first failure. A
 * write the peer does not take within the write timeout (a client that stops
 * reading: the kernel's buffers are full) closes the connection, so a slow
 * reader cannot hold it and its answer forever. The deadline is on the real
 * clock: it bounds the kernel, not the server's own waits.
 */
class ConnWriter {
  readonly #conn: Deno.Conn;
  readonly #timeoutMs: number;
  broken = false;
  constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }
  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.broken) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), this.#timeoutMs));
    try {
      for (let at = 0; at < bytes.length;) {
        const n = await Promise.race([this.#conn.write(bytes.subarray(at)), late]);
        if (n === "late") {
          this.broken = true;
          closeQuietly(this.#conn);
          return false;
        }
        at += n;
      }
      return true;
    } catch {
      this.broken = true;
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

function chunk(bytes: Uint8Array): Uint8Array {
  return concat([ENCODER.encode(`${bytes.length.toString(16)}\r\n`), bytes, new Uint8Array([13, 10])]);
}

function total(parts: Uint8Array[]): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(total(parts));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}
