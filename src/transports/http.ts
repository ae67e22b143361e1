/**
 * Streamable HTTP, the second transport: `POST/GET/DELETE /mcp`, one MCP
 * session per client (all sharing the server's backend, plugins and policy),
 * with Host and Origin checked against DNS rebinding and, whenever it listens
 * beyond loopback, a required bearer secret. Bounded: request bodies in size
 * and read time, sessions in number and idle time.
 *
 * Served by our own HTTP/1.1 front end (`_http1_server.ts`) rather than
 * `Deno.serve`, whose head reads have no deadline: here a request's line and
 * headers must arrive within the read timeout, and then its body within the
 * read timeout again.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { DbosMcpServer } from "../server.ts";
import { isLoopback, parseListen, requireTokenBeyondLoopback } from "../config/listen.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { LogFn } from "../util/log.ts";
import { readBody } from "./_http_body.ts";
import { listenHttp1 } from "./_http1_server.ts";
import { HostCheck } from "./_http_hosts.ts";
import { protoKeyRefusal } from "./_proto_keys.ts";

/** Where and how to listen. */
export interface HttpServeOptions {
  /** Interface to bind, e.g. `127.0.0.1`. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Bearer secret clients must send; required beyond loopback. */
  token?: string;
  /** Largest request body, in bytes (413 beyond); default 4 MiB. */
  maxBodyBytes?: number;
  /** Most sessions open at once (503 for one more); default 64. */
  maxSessions?: number;
  /** A session without a request or a call in flight for this long is ended, in ms; default 30 min. */
  idleTimeoutMs?: number;
  /**
   * Time limit to read a request's line and headers (from the connection
   * opening or the previous answer ending), and again its body once the
   * headers are in, in ms (408 beyond); default 30 s. An idle kept-alive
   * connection is closed after it too.
   */
  readTimeoutMs?: number;
  /** More `Host` names to accept: `NAME` (any port) or `NAME:PORT`. */
  allowedHosts?: readonly string[];
  /** Clock of the read deadline and idle timeout (tests pass a fake one). */
  clock?: Clock;
  /** Diagnostics. */
  log: LogFn;
}

/** A running HTTP transport. */
export interface HttpServing {
  /** The address bound. */
  readonly hostname: string;
  /** The port bound. */
  readonly port: number;
  /** The MCP endpoint URL. */
  readonly url: string;
  /** How many sessions are open. */
  readonly sessions: number;
  /** How many HTTP connections are open. */
  readonly connections: number;
  /** Stops listening and closes every session. */
  shutdown(): Promise<void>;
}

export { isLoopback, parseListen };

function rpcError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return jsonRpcError(status, null, -32000, message, headers);
}

function jsonRpcError(
  status: number,
  id: string | number | null,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The secret of an `Authorization: Bearer <secret>` header; the scheme is case-insensitive (RFC 7235). */
function bearerOf(header: string | null): string {
  const m = (header ?? "").match(/^\s*bearer +(\S+)\s*$/i);
  return m ? m[1] : "";
}

function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** One open session and what its idle timeout needs. */
interface Live {
  transport: WebStandardStreamableHTTPServerTransport;
  /** When it last received a request or sent a message. */
  lastSeen: number;
  /** Ids of its JSON-RPC requests not answered yet: a session with calls in flight is not idle. */
  pending: Set<string | number>;
}

/** Defaults of {@linkcode HttpServeOptions}. */
export const HTTP_LIMITS: Readonly<{
  maxBodyBytes: number;
  maxSessions: number;
  idleTimeoutMs: number;
  readTimeoutMs: number;
}> = Object.freeze({
  maxBodyBytes: 4_194_304,
  maxSessions: 64,
  idleTimeoutMs: 1_800_000,
  readTimeoutMs: 30_000,
});

/**
 * Serves `server` over Streamable HTTP at `/mcp`.
 *
 * @throws {ConfigError} when asked to listen beyond loopback without a token.
 */
export function serveHttp(server: DbosMcpServer, opts: HttpServeOptions): HttpServing {
  requireTokenBeyondLoopback(opts.hostname, opts.port, opts.token);
  const maxBodyBytes = opts.maxBodyBytes ?? HTTP_LIMITS.maxBodyBytes;
  const maxSessions = opts.maxSessions ?? HTTP_LIMITS.maxSessions;
  const idleTimeoutMs = opts.idleTimeoutMs ?? HTTP_LIMITS.idleTimeoutMs;
  const readTimeoutMs = opts.readTimeoutMs ?? HTTP_LIMITS.readTimeoutMs;
  const clock = opts.clock ?? systemClock;
  const live = new Map<string, Live>();
  let opening = 0;
  let hosts = new HostCheck([], 0, []);

  const idle = (s: Live) => s.pending.size === 0 && clock.now() - s.lastSeen >= idleTimeoutMs;
  const end = (id: string, s: Live) => {
    live.delete(id);
    opts.log(`ended HTTP session ${id.slice(0, 8)}… after ${idleTimeoutMs} ms idle`);
    s.transport.close().catch(() => {});
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname !== "/mcp") return rpcError(404, "Not found: the MCP endpoint is /mcp");
    const host = req.headers.get("host") ?? "";
    if (!hosts.host(host)) {
      return rpcError(
        403,
        `Forbidden: Host '${
          host.slice(0, 100)
        }' is not allowed (add it to --http-allowed-hosts if it names this server)`,
      );
    }
    const origin = req.headers.get("origin");
    if (origin && !hosts.origin(origin)) {
      return rpcError(403, `Forbidden: Origin '${origin.slice(0, 100)}' is not allowed`);
    }
    if (opts.token && !sameSecret(bearerOf(req.headers.get("authorization")), opts.token)) {
      return rpcError(401, "Unauthorized: send 'Authorization: Bearer <secret>'", {
        "www-authenticate": 'Bearer realm="dbos-mcp"',
      });
    }
    const sessionId = req.headers.get("mcp-session-id");
    let session = sessionId ? live.get(sessionId) : undefined;
    if (sessionId && session && idle(session)) {
      end(sessionId, session);
      session = undefined;
    }
    if (sessionId && !session) return rpcError(404, "Session not found: initialize a new session");
    if (session) session.lastSeen = clock.now();
    if (req.method !== "POST") {
      if (session) return await session.transport.handleRequest(req);
      return rpcError(400, "Bad Request: no valid session id; initialize first");
    }
    const read = await readBody(req, maxBodyBytes, readTimeoutMs, clock);
    if (read.kind === "too-large") {
      return rpcError(
        413,
        `Payload Too Large: a request body may hold at most ${maxBodyBytes} bytes (--http-max-body-bytes)`,
        {
          connection: "close",
        },
      );
    }
    if (read.kind === "timeout") {
      return rpcError(
        408,
        `Request Timeout: the body did not arrive within ${readTimeoutMs} ms (--http-read-timeout)`,
        {
          connection: "close",
        },
      );
    }
    if (read.kind === "failed") return rpcError(400, "Bad Request: the body could not be read");
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(read.bytes));
    } catch {
      return jsonRpcError(400, null, -32700, "Parse error");
    }
    const messages = Array.isArray(body) ? body : [body];
    for (const message of messages) {
      const refusal = protoKeyRefusal(message);
      if (refusal) return jsonRpcError(400, refusal.id ?? null, refusal.error.code, refusal.error.message);
    }
    if (session) return await dispatch(session, req, body, messages);
    if (!messages.some((m) => m && typeof m === "object" && (m as { method?: unknown }).method === "initialize")) {
      return rpcError(400, "Bad Request: no valid session id; initialize first");
    }
    if (live.size + opening >= maxSessions) {
      return rpcError(
        503,
        `Service Unavailable: ${maxSessions} MCP sessions are open, the most this server takes (--http-max-sessions); ` +
          "close an unused one (DELETE /mcp with its Mcp-Session-Id) or retry once idle sessions have ended",
        { "retry-after": "5" },
      );
    }
    opening++;
    try {
      return await open(req, body, messages);
    } finally {
      opening--;
    }
  };

  const open = async (req: Request, body: unknown, messages: unknown[]): Promise<Response> => {
    // Loaded with the first session, so that a server on stdio never loads it.
    const { WebStandardStreamableHTTPServerTransport } = await import(
      "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
    );
    const entry: Live = { transport: undefined!, lastSeen: clock.now(), pending: new Set() };
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        live.set(id, entry);
      },
      onsessionclosed: (id) => {
        live.delete(id);
      },
    });
    entry.transport = transport;
    transport.onclose = () => {
      if (transport.sessionId && live.get(transport.sessionId) === entry) live.delete(transport.sessionId);
    };
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      noteSent(entry, message);
      entry.lastSeen = clock.now();
      return send(message, options);
    };
    await server.connect(transport);
    const res = await dispatch(entry, req, body, messages);
    if (!transport.sessionId || !live.has(transport.sessionId)) await transport.close().catch(() => {});
    return res;
  };

  const httpServer = listenHttp1({
    hostname: opts.hostname,
    port: opts.port,
    headTimeoutMs: readTimeoutMs,
    clock,
    log: opts.log,
    refusal: (status, message) => rpcError(status, message, { connection: "close" }),
  }, handler);
  const addr = httpServer.addr;
  const hostPart = httpServer.host;
  const names = isLoopback(addr.hostname) ? ["127.0.0.1", "localhost", "[::1]", hostPart] : [hostPart];
  hosts = new HostCheck(names, addr.port, opts.allowedHosts ?? []);

  // Ends idle sessions even when no request comes.
  const stop = new AbortController();
  const sweepEveryMs = Math.min(60_000, Math.max(250, Math.floor(idleTimeoutMs / 4)));
  (async () => {
    while (!stop.signal.aborted) {
      await clock.sleep(sweepEveryMs, stop.signal);
      for (const [id, s] of live) if (idle(s)) end(id, s);
    }
  })().catch(() => {});

  const url = `http://${hostPart}:${addr.port}/mcp`;
  opts.log(`listening on ${url}${opts.token ? " (bearer secret required)" : ""}`);
  return {
    hostname: addr.hostname,
    port: addr.port,
    url,
    get sessions() {
      return live.size;
    },
    get connections() {
      return httpServer.connections;
    },
    shutdown: async () => {
      stop.abort();
      await Promise.allSettled([...live.values()].map((s) => s.transport.close()));
      await httpServer.shutdown();
    },
  };
}

/** Hands a POST to its session's transport, counting its requests as in flight unless the transport refuses it. */
async function dispatch(session: Live, req: Request, body: unknown, messages: unknown[]): Promise<Response> {
  const ids = noteReceived(session, messages);
  const res = await session.transport.handleRequest(req, { parsedBody: body });
  if (!res.ok) { for (const id of ids) session.pending.delete(id); }
  return res;
}

/** Records the requests among `messages`, which keep their session from being idle until answered. */
function noteReceived(session: Live, messages: unknown[]): (string | number)[] {
  const ids: (string | number)[] = [];
  for (const m of messages) {
    const msg = m as { id?: unknown; method?: unknown; params?: { requestId?: unknown } } | null;
    if (!msg || typeof msg !== "object" || typeof msg.method !== "string") continue;
    if (typeof msg.id === "string" || typeof msg.id === "number") {
      session.pending.add(msg.id);
      ids.push(msg.id);
    }
    if (msg.method === "notifications/cancelled") {
      const id = msg.params?.requestId;
      if (typeof id === "string" || typeof id === "number") session.pending.delete(id);
    }
  }
  return ids;
}

/** Forgets a request once the server answers it. */
function noteSent(session: Live, message: unknown): void {
  const msg = message as { id?: unknown; method?: unknown } | null;
  if (
    msg && typeof msg === "object" && msg.method === undefined &&
    (typeof msg.id === "string" || typeof msg.id === "number")
  ) {
    session.pending.delete(msg.id);
  }
}
