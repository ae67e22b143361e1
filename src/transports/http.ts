/**
 * Streamable HTTP, the second transport: `POST/GET/DELETE /mcp`, one MCP
 * session per client (all sharing the server's backend, plugins and policy),
 * with Host and Origin checked against DNS rebinding and, whenever it listens
 * beyond loopback, a required bearer secret.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { DbosMcpServer } from "../server.ts";
import { isLoopback, parseListen, requireTokenBeyondLoopback } from "../config/listen.ts";
import type { LogFn } from "../util/log.ts";
import { protoKeyRefusal } from "./_proto_keys.ts";

/** Where and how to listen. */
export interface HttpServeOptions {
  /** Interface to bind, e.g. `127.0.0.1`. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Bearer secret clients must send; required beyond loopback. */
  token?: string;
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

function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * Serves `server` over Streamable HTTP at `/mcp`.
 *
 * @throws {ConfigError} when asked to listen beyond loopback without a token.
 */
export function serveHttp(server: DbosMcpServer, opts: HttpServeOptions): HttpServing {
  requireTokenBeyondLoopback(opts.hostname, opts.port, opts.token);
  const transports = new Map<string, WebStandardStreamableHTTPServerTransport>();
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname !== "/mcp") return rpcError(404, "Not found: the MCP endpoint is /mcp");
    const host = (req.headers.get("host") ?? "").toLowerCase();
    if (!allowedHosts.has(host)) return rpcError(403, `Forbidden: Host '${host.slice(0, 100)}' is not allowed`);
    const origin = req.headers.get("origin");
    if (origin && !allowedOrigins.has(origin.toLowerCase())) {
      return rpcError(403, `Forbidden: Origin '${origin.slice(0, 100)}' is not allowed`);
    }
    if (opts.token) {
      const auth = req.headers.get("authorization") ?? "";
      const given = auth.startsWith("Bearer ") ? auth.slice(7) : "";
      if (!sameSecret(given, opts.token)) {
        return rpcError(401, "Unauthorized: send 'Authorization: Bearer <secret>'", {
          "www-authenticate": 'Bearer realm="dbos-mcp"',
        });
      }
    }
    const sessionId = req.headers.get("mcp-session-id");
    const transport = sessionId ? transports.get(sessionId) : undefined;
    if (sessionId && !transport) return rpcError(404, "Session not found: initialize a new session");
    if (req.method !== "POST") {
      if (transport) return await transport.handleRequest(req);
      return rpcError(400, "Bad Request: no valid session id; initialize first");
    }
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return jsonRpcError(400, null, -32700, "Parse error");
    }
    const messages = Array.isArray(body) ? body : [body];
    for (const message of messages) {
      const refusal = protoKeyRefusal(message);
      if (refusal) return jsonRpcError(400, refusal.id ?? null, refusal.error.code, refusal.error.message);
    }
    if (transport) return await transport.handleRequest(req, { parsedBody: body });
    if (!messages.some((m) => m && typeof m === "object" && (m as { method?: unknown }).method === "initialize")) {
      return rpcError(400, "Bad Request: no valid session id; initialize first");
    }
    // Loaded with the first session, so that a server on stdio never loads it.
    const { WebStandardStreamableHTTPServerTransport } = await import(
      "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
    );
    const session = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        transports.set(id, session);
      },
      onsessionclosed: (id) => {
        transports.delete(id);
      },
    });
    session.onclose = () => {
      if (session.sessionId) transports.delete(session.sessionId);
    };
    await server.connect(session);
    return await session.handleRequest(req, { parsedBody: body });
  };

  const httpServer = Deno.serve({ hostname: opts.hostname, port: opts.port, onListen: () => {} }, handler);
  const addr = httpServer.addr as Deno.NetAddr;
  const hostPart = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const names = isLoopback(addr.hostname) ? ["127.0.0.1", "localhost", "[::1]", hostPart] : [hostPart];
  allowedHosts = new Set(names.map((n) => `${n}:${addr.port}`.toLowerCase()));
  allowedOrigins = new Set(
    [...allowedHosts].flatMap((h) => [`http://${h}`, `https://${h}`]),
  );
  const url = `http://${hostPart}:${addr.port}/mcp`;
  opts.log(`listening on ${url}${opts.token ? " (bearer secret required)" : ""}`);
  return {
    hostname: addr.hostname,
    port: addr.port,
    url,
    shutdown: async () => {
      await Promise.allSettled([...transports.values()].map((t) => t.close()));
      await httpServer.shutdown();
    },
  };
}
