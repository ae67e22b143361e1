// The Streamable HTTP transport: the same tools as stdio, sessions, DNS
// rebinding protection (Host and Origin), and the bearer secret beyond loopback.
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { Client, connectInProcess, textOf } from "./_mcp.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { createServer } from "../src/server.ts";
import {
  HTTP_LIMITS,
  type HttpServeOptions,
  type HttpServing,
  parseListen,
  serveHttp,
} from "../src/transports/http.ts";
import { type Config, DEFAULTS } from "../src/config/mod.ts";
import { ManualClock } from "./_fake_clock.ts";
import { MOD_PATH } from "./_server_process.ts";

function backend(): MemoryBackend {
  const b = new MemoryBackend();
  b.add({ workflowId: "wf-1", createdAt: "2026-01-01T00:00:00.000Z", status: "ERROR", error: "boom" });
  return b;
}

async function withHttp(
  fn: (ctx: {
    url: string;
    connect: (headers?: Record<string, string>) => Promise<Client>;
    http: HttpServing;
  }) => Promise<void>,
  opts: {
    hostname?: string;
    token?: string;
    config?: Partial<Config>;
    backend?: MemoryBackend;
    http?: Partial<HttpServeOptions>;
  } = {},
) {
  const server = await createServer({ backend: opts.backend ?? backend(), config: opts.config, log: () => {} });
  const http = serveHttp(server, {
    hostname: opts.hostname ?? "127.0.0.1",
    port: 0,
    token: opts.token,
    log: () => {},
    ...opts.http,
  });
  const url = `http://127.0.0.1:${http.port}/mcp`;
  const clients: Client[] = [];
  const connect = async (headers: Record<string, string> = {}) => {
    const client = new Client({ name: "http-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    clients.push(client);
    return client;
  };
  try {
    await fn({ url, connect, http });
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await http.shutdown();
    await server.close();
  }
}

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});
/**
 * POSTs with exactly the given headers over a raw loopback connection: `fetch`
 * sets Host itself, and a DNS-rebinding test must send a foreign one.
 */
async function post(
  url: string,
  headers: Record<string, string>,
  body = initialize,
): Promise<
  { status: number; headers: Headers; text: () => Promise<string>; body?: { cancel: () => Promise<void> } }
> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(u.port) });
  const all: Record<string, string> = {
    host: `127.0.0.1:${u.port}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    connection: "close",
    ...headers,
    "content-length": String(new TextEncoder().encode(body).length),
  };
  const head = Object.entries(all).map(([k, v]) => `${k}: ${v}`).join("\r\n");
  await conn.write(new TextEncoder().encode(`POST ${u.pathname} HTTP/1.1\r\n${head}\r\n\r\n${body}`));
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(16_384);
  const deadline = Date.now() + 5_000;
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    const text = new TextDecoder().decode(concat(chunks));
    // An SSE stream stays open: the status line and first event are enough.
    if (/\r\n\r\n[\s\S]*(\}|data: .*\n)/.test(text) || Date.now() > deadline) break;
  }
  conn.close();
  const raw = new TextDecoder().decode(concat(chunks));
  const status = Number(raw.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
  const text = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  return {
    status,
    headers: headersOf(raw),
    text: () => Promise.resolve(text),
    body: { cancel: () => Promise.resolve() },
  };
}

function headersOf(raw: string): Headers {
  const lines = raw.slice(0, raw.indexOf("\r\n\r\n")).split("\r\n").slice(1);
  return new Headers(lines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

Deno.test("over HTTP, tools/list and calls answer exactly as over stdio", async () => {
  await using inProcess = await connectInProcess({ backend: backend(), log: () => {} });
  const expected = await inProcess.client.listTools();
  await withHttp(async ({ connect }) => {
    const a = await connect();
    const b = await connect();
    assertEquals(await a.listTools(), expected);
    const wf = await b.callTool({ name: "get_workflow", arguments: { application_name: "app", workflow_id: "wf-1" } });
    assertEquals((wf.structuredContent as { workflow: { error: string } }).workflow.error, "boom");
    const bad = await a.callTool({ name: "get_workflow", arguments: { application_name: "app" } });
    assertEquals(bad.isError, true);
    assertStringIncludes(textOf(bad), "workflow_id");
  });
});

Deno.test("over HTTP, a call with a '__proto__' key is refused, not run without it", async () => {
  let cancels = 0;
  const counting = backend();
  counting.cancelWorkflow = () => {
    cancels++;
    return Promise.resolve();
  };
  await withHttp(async ({ connect }) => {
    const c = await connect();
    // JSON.parse keeps "__proto__" as a key; the SDK's schemas would turn it into a prototype and drop it.
    const args = JSON.parse('{"__proto__": 1, "application_name": "app", "workflow_id": "wf-1"}');
    const refused = await c.callTool({ name: "cancel_workflow", arguments: args }).then(
      () => "answered",
      (err: Error) => err.message,
    );
    assertStringIncludes(refused, "'__proto__' (at params.arguments.__proto__)");
    assertEquals(cancels, 0);
    const ok = await c.callTool({
      name: "cancel_workflow",
      arguments: { application_name: "app", workflow_id: "wf-1" },
    });
    assertEquals(ok.isError, undefined, textOf(ok));
    assertEquals(cancels, 1);
  }, { backend: counting });
});

Deno.test("over HTTP, read-only mode hides and refuses the same tools", async () => {
  await withHttp(async ({ connect }) => {
    const c = await connect();
    const names = (await c.listTools()).tools.map((t) => t.name);
    assert(!names.includes("cancel_workflow"));
    const res = await c.callTool({ name: "cancel_workflow", arguments: { application_name: "app", workflow_id: "x" } });
    assertStringIncludes(textOf(res), "disabled in read-only mode");
  }, { config: { readOnly: true } });
});

Deno.test("HTTP refuses a foreign Host or Origin (DNS rebinding) and unknown sessions", async () => {
  await withHttp(async ({ url }) => {
    const port = new URL(url).port;
    const evilHost = await post(url, { host: `evil.example:${port}` });
    assertEquals(evilHost.status, 403);
    assertStringIncludes(await evilHost.text(), "Host");
    const evilOrigin = await post(url, { origin: "http://evil.example" });
    assertEquals(evilOrigin.status, 403);
    assertStringIncludes(await evilOrigin.text(), "Origin");
    const okOrigin = await post(url, { origin: `http://localhost:${port}` });
    assertEquals(okOrigin.status, 200);
    await okOrigin.body?.cancel();
    const unknown = await post(url, { "mcp-session-id": "nope" });
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
    const notInit = await post(url, {}, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }));
    assertEquals(notInit.status, 400);
    await notInit.body?.cancel();
    const elsewhere = await fetch(url.replace("/mcp", "/other"));
    assertEquals(elsewhere.status, 404);
    await elsewhere.body?.cancel();
    const fine = await post(url, {});
    assertEquals(fine.status, 200);
  });
});

Deno.test("HTTP beyond loopback needs a bearer secret, and checks it", async () => {
  const server = await createServer({ backend: backend(), log: () => {} });
  try {
    assertThrows(() => serveHttp(server, { hostname: "0.0.0.0", port: 0, log: () => {} }), "--http-token");
  } finally {
    await server.close();
  }
  const token = "s3cret-token-0123456789";
  await withHttp(async ({ url, connect }) => {
    const port = new URL(url).port;
    // Bound to every interface: the Host names the machine's own address; loopback is used to connect.
    const none = await post(url, { host: `0.0.0.0:${port}` });
    assertEquals(none.status, 401);
    await none.body?.cancel();
    const wrong = await post(url, { host: `0.0.0.0:${port}`, authorization: "Bearer wrong" });
    assertEquals(wrong.status, 401);
    await wrong.body?.cancel();
    const right = await post(url, { host: `0.0.0.0:${port}`, authorization: `Bearer ${token}` });
    assertEquals(right.status, 200);
    await right.body?.cancel();
    void connect;
  }, { hostname: "0.0.0.0", token });
});

Deno.test("parseListen() reads HOST:PORT, :PORT and PORT", () => {
  assertEquals(parseListen("8808"), { hostname: "127.0.0.1", port: 8808 });
  assertEquals(parseListen(":8808"), { hostname: "127.0.0.1", port: 8808 });
  assertEquals(parseListen("0.0.0.0:1"), { hostname: "0.0.0.0", port: 1 });
  assertEquals(parseListen("[::1]:9"), { hostname: "::1", port: 9 });
  assertThrows(() => parseListen("host"), "--http must be HOST:PORT");
});

/** A raw loopback connection to send a request in parts, and read the answer (bounded to 5 s). */
async function rawConnection(url: string) {
  const port = Number(new URL(url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = (lines: Record<string, string>) =>
    `POST /mcp HTTP/1.1\r\n` +
    Object.entries({
      host: `127.0.0.1:${port}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...lines,
    }).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  return {
    write: async (text: string | Uint8Array) => {
      await conn.write(typeof text === "string" ? new TextEncoder().encode(text) : text);
    },
    head,
    /** The status and body of the answer, once its headers and declared length are in (or the connection ends). */
    answer: async (): Promise<{ status: number; headers: Headers; text: string }> => {
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(16_384);
      const timer = setTimeout(() => conn.close(), 5_000);
      try {
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
          chunks.push(buf.slice(0, n));
          const raw = new TextDecoder().decode(concat(chunks));
          const at = raw.indexOf("\r\n\r\n");
          const length = Number(raw.match(/\r\ncontent-length: (\d+)/i)?.[1] ?? NaN);
          if (at >= 0 && raw.length - at - 4 >= length) break;
        }
      } finally {
        clearTimeout(timer);
      }
      const raw = new TextDecoder().decode(concat(chunks));
      return {
        status: Number(raw.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0),
        headers: headersOf(raw),
        text: raw.slice(raw.indexOf("\r\n\r\n") + 4),
      };
    },
    close: () => {
      try {
        conn.close();
      } catch {
        // already closed by the answer's deadline
      }
    },
  };
}

const ping = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });

Deno.test("HTTP answers 413 at once to a declared Content-Length over the limit, before any body is sent", async () => {
  await withHttp(async ({ url }) => {
    const c = await rawConnection(url);
    try {
      await c.write(c.head({ "content-length": String(2_048 + 1) }));
      const answer = await c.answer();
      assertEquals(answer.status, 413);
      assertStringIncludes(answer.text, "at most 2048 bytes (--http-max-body-bytes)");
    } finally {
      c.close();
    }
    // A body of exactly the limit is read and answered.
    const exact = initialize + " ".repeat(2_048 - new TextEncoder().encode(initialize).length);
    assertEquals((await post(url, {}, exact)).status, 200);
  }, { http: { maxBodyBytes: 2_048 } });
});

Deno.test("HTTP answers 413 to a chunked body as soon as it passes the limit, without waiting for its end", async () => {
  await withHttp(async ({ url }) => {
    const c = await rawConnection(url);
    try {
      await c.write(c.head({ "transfer-encoding": "chunked" }));
      const chunk = "x".repeat(1_000);
      // 3,000 bytes against a 2,048-byte limit, and no final chunk: the body never ends.
      for (let i = 0; i < 3; i++) await c.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      const answer = await c.answer();
      assertEquals(answer.status, 413);
      assertStringIncludes(answer.text, "--http-max-body-bytes");
    } finally {
      c.close();
    }
  }, { http: { maxBodyBytes: 2_048 } });
});

Deno.test("HTTP answers 408 when a body does not arrive within the read timeout", async () => {
  const clock = new ManualClock();
  await withHttp(async ({ url }) => {
    const c = await rawConnection(url);
    try {
      await c.write(c.head({ "content-length": String(new TextEncoder().encode(initialize).length) }));
      await c.write(initialize.slice(0, 20));
      // The idle sweep, this request's head deadline (met, and stopped), and its body's deadline.
      await clock.untilRequested(3);
      assertEquals(clock.waiting, 2);
      await clock.advance(9_999);
      await c.write(initialize.slice(20, 40)); // still in time
      await clock.advance(1);
      const answer = await c.answer();
      assertEquals(answer.status, 408);
      assertStringIncludes(answer.text, "within 10000 ms (--http-read-timeout)");
      assertEquals(answer.headers.get("connection"), "close");
    } finally {
      c.close();
    }
    assertEquals((await post(url, {})).status, 200, "the server keeps serving");
  }, { http: { readTimeoutMs: 10_000, clock } });
});

Deno.test("HTTP refuses one session more than --http-max-sessions with 503, and takes it once one closes", async () => {
  await withHttp(async ({ url, http }) => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await post(url, {});
      assertEquals(res.status, 200);
      ids.push(res.headers.get("mcp-session-id")!);
    }
    assertEquals(http.sessions, 2);
    const third = await post(url, {});
    assertEquals(third.status, 503);
    assertStringIncludes(
      await third.text(),
      "2 MCP sessions are open, the most this server takes (--http-max-sessions)",
    );
    // The open sessions keep working.
    const answer = await post(url, { "mcp-session-id": ids[0], "mcp-protocol-version": "2025-06-18" }, ping(5));
    assertEquals(answer.status, 200);
    const gone = await fetch(url, {
      method: "DELETE",
      headers: { "mcp-session-id": ids[1], "mcp-protocol-version": "2025-06-18" },
    });
    assertEquals(gone.status, 200);
    await gone.body?.cancel();
    assertEquals(http.sessions, 1);
    assertEquals((await post(url, {})).status, 200);
  }, { http: { maxSessions: 2 } });
});

Deno.test("HTTP ends a session after the idle timeout without requests, and not while a call is in flight", async () => {
  const clock = new ManualClock();
  const slow = backend();
  const release = Promise.withResolvers<void>();
  const called = Promise.withResolvers<void>();
  const getWorkflow = slow.getWorkflow.bind(slow);
  slow.getWorkflow = async (...args: Parameters<typeof getWorkflow>) => {
    called.resolve();
    await release.promise;
    return await getWorkflow(...args);
  };
  await withHttp(async ({ url, http, connect }) => {
    const headers = { "mcp-protocol-version": "2025-06-18" };
    const first = await post(url, {});
    const id = first.headers.get("mcp-session-id")!;
    await clock.advance(50_000);
    assertEquals((await post(url, { ...headers, "mcp-session-id": id }, ping(2))).status, 200);
    await clock.advance(50_000); // 100 s since it opened, 50 s since its last request
    assertEquals((await post(url, { ...headers, "mcp-session-id": id }, ping(3))).status, 200);
    await clock.advance(60_000 + 15_000); // past the timeout, with a sweep in between: no request needed
    assertEquals(http.sessions, 0);
    const expired = await post(url, { ...headers, "mcp-session-id": id }, ping(4));
    assertEquals(expired.status, 404);
    assertStringIncludes(await expired.text(), "initialize a new session");

    const client = await connect();
    const call = client.callTool({ name: "get_workflow", arguments: { application_name: "app", workflow_id: "wf-1" } })
      .catch((err: Error) => err);
    await called.promise;
    await clock.advance(5 * 60_000);
    assertEquals(http.sessions, 1, "a session with a call in flight is not idle");
    release.resolve();
    const wf = await call;
    assert(!(wf instanceof Error), `the call is answered: ${wf}`);
    assertEquals((wf.structuredContent as { workflow: { error: string } }).workflow.error, "boom");
    await clock.advance(60_000 + 15_000);
    assertEquals(http.sessions, 0);
  }, { backend: slow, http: { idleTimeoutMs: 60_000, clock } });
});

Deno.test("HTTP takes the Bearer scheme in any letter case (RFC 7235), and nothing else", async () => {
  const token = "s3cret-token-0123456789";
  await withHttp(async ({ url }) => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      const res = await post(url, { authorization: `${scheme} ${token}` });
      assertEquals(res.status, 200, scheme);
    }
    for (const auth of [`Basic ${token}`, "Bearer", `Bearer  ${token}x`, `Bearer${token}`, token]) {
      assertEquals((await post(url, { authorization: auth })).status, 401, auth);
    }
  }, { token });
});

Deno.test("HTTP bound to every interface accepts the Host names of --http-allowed-hosts, and only those", async () => {
  const token = "s3cret-token-0123456789";
  await withHttp(async ({ url }) => {
    const port = new URL(url).port;
    const auth = { authorization: `Bearer ${token}` };
    for (const host of ["mcp.example.com", "MCP.example.com:443", `mcp.example.com:${port}`, "10.1.2.3:9999"]) {
      assertEquals((await post(url, { ...auth, host })).status, 200, host);
    }
    assertEquals((await post(url, { ...auth, host: `0.0.0.0:${port}` })).status, 200, "the bind address");
    for (const host of ["10.1.2.3:9998", "10.1.2.3", "evil.example", `evil.example:${port}`, "mcp.example.com.evil"]) {
      const res = await post(url, { ...auth, host });
      assertEquals(res.status, 403, host);
      assertStringIncludes(await res.text(), "--http-allowed-hosts");
    }
    const origin = await post(url, { ...auth, host: "mcp.example.com", origin: "https://mcp.example.com" });
    assertEquals(origin.status, 200);
    const evil = await post(url, { ...auth, host: "mcp.example.com", origin: "https://evil.example" });
    assertEquals(evil.status, 403);
  }, { hostname: "0.0.0.0", token, http: { allowedHosts: ["mcp.example.com", "10.1.2.3:9999"] } });
});

Deno.test("serveHttp()'s default limits are the configuration's defaults", () => {
  assertEquals(HTTP_LIMITS, {
    maxBodyBytes: DEFAULTS.httpMaxBodyBytes,
    maxSessions: DEFAULTS.httpMaxSessions,
    idleTimeoutMs: DEFAULTS.httpIdleTimeoutMs,
    readTimeoutMs: DEFAULTS.httpReadTimeoutMs,
  });
  assertEquals(DEFAULTS.httpMaxBodyBytes, 4 * 1024 * 1024);
});

Deno.test("the command line hands the HTTP limits and allowed hosts to the transport", async () => {
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-http-cli-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-env=HOME,DBOS_*",
      `--allow-read=${home}`,
      `--allow-write=${home}`,
      MOD_PATH,
      "--http",
      "127.0.0.1:0",
      "--home",
      home,
      "--http-max-body-bytes",
      "1024",
      "--http-max-sessions",
      "1",
      "--http-allowed-hosts",
      "mcp.example.com",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let seen = "";
    const deadline = Date.now() + 30_000;
    while (!/listening on (\S+)/.test(seen)) {
      const { value, done } = await reader.read();
      if (done || Date.now() > deadline) throw new Error(`the HTTP server did not start: ${seen}`);
      seen += value;
    }
    const url = seen.match(/listening on (\S+)/)![1];
    const big = await post(url, {}, initialize + " ".repeat(1_024));
    assertEquals(big.status, 413);
    assertEquals((await post(url, { host: "mcp.example.com" })).status, 200);
    assertEquals((await post(url, {})).status, 503);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reader.cancel().catch(() => {});
    await Deno.remove(home, { recursive: true });
  }
});
