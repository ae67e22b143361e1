// The Streamable HTTP transport: the same tools as stdio, sessions, DNS
// rebinding protection (Host and Origin), and the bearer secret beyond loopback.
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { Client, connectInProcess, textOf } from "./_mcp.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { createServer } from "../src/server.ts";
import { parseListen, serveHttp } from "../src/transports/http.ts";
import type { Config } from "../src/config/mod.ts";

function backend(): MemoryBackend {
  const b = new MemoryBackend();
  b.add({ workflowId: "wf-1", createdAt: "2026-01-01T00:00:00.000Z", status: "ERROR", error: "boom" });
  return b;
}

async function withHttp(
  fn: (ctx: { url: string; connect: (headers?: Record<string, string>) => Promise<Client> }) => Promise<void>,
  opts: { hostname?: string; token?: string; config?: Partial<Config>; backend?: MemoryBackend } = {},
) {
  const server = await createServer({ backend: opts.backend ?? backend(), config: opts.config, log: () => {} });
  const http = serveHttp(server, { hostname: opts.hostname ?? "127.0.0.1", port: 0, token: opts.token, log: () => {} });
  const url = `http://127.0.0.1:${http.port}/mcp`;
  const clients: Client[] = [];
  const connect = async (headers: Record<string, string> = {}) => {
    const client = new Client({ name: "http-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    clients.push(client);
    return client;
  };
  try {
    await fn({ url, connect });
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
): Promise<{ status: number; text: () => Promise<string>; body?: { cancel: () => Promise<void> } }> {
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
  return { status, text: () => Promise.resolve(text), body: { cancel: () => Promise.resolve() } };
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
