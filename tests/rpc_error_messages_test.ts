// A JSON-RPC error carries its message once: the SDK's McpError puts
// "MCP error <code>: " in front of the message it is given, and a client's
// McpError does the same with the message it receives, so the server must
// send the message without it. Checked on the wire of both transports.
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { Client } from "./_mcp.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { createServer } from "../src/server.ts";
import { StdioLineTransport } from "../src/transports/stdio.ts";
import { serveHttp } from "../src/transports/http.ts";

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};
const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
/** Requests our handlers refuse with an McpError of -32602: an unknown tool, prompt and resource. */
const FAILING = [
  { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "drop_database", arguments: {} } },
  { jsonrpc: "2.0", id: 3, method: "prompts/get", params: { name: "nope" } },
  { jsonrpc: "2.0", id: 4, method: "resources/read", params: { uri: "dbos://nope" } },
];

type ErrorAnswer = { id: number; error: { code: number; message: string } };

function assertPlain(answers: ErrorAnswer[]) {
  const sorted = answers.toSorted((a, b) => a.id - b.id);
  assertEquals(sorted.map((a) => [a.id, a.error.code]), [[2, -32602], [3, -32602], [4, -32602]]);
  for (const a of sorted) {
    assert(!a.error.message.includes("MCP error"), `id ${a.id}: ${a.error.message}`);
    assert(a.error.message.length > 10, `id ${a.id} says what went wrong: ${a.error.message}`);
  }
}

Deno.test("over stdio, a JSON-RPC error's message is sent without the 'MCP error <code>:' prefix", async () => {
  const server = await createServer({ backend: new MemoryBackend(), log: () => {} });
  const lines = [initialize, initialized, ...FAILING].map((m) => JSON.stringify(m) + "\n");
  let written = "";
  const answered = Promise.withResolvers<void>();
  const transport = new StdioLineTransport({
    io: {
      read: async (buffer) => {
        const line = lines.shift();
        if (line === undefined) {
          await answered.promise; // the end of input only once every answer is out
          return null;
        }
        const bytes = new TextEncoder().encode(line);
        buffer.set(bytes);
        return bytes.length;
      },
      writeSync: (bytes) => {
        written += new TextDecoder().decode(bytes);
        if (written.split("\n").filter(Boolean).length === 1 + FAILING.length) answered.resolve();
        return bytes.length;
      },
    },
  });
  try {
    await server.connect(transport);
    const timer = setTimeout(() => answered.reject(new Error(`no answers within 5 s: ${written}`)), 5_000);
    await answered.promise.finally(() => clearTimeout(timer));
    const answers = written.split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.error);
    assertPlain(answers);
  } finally {
    await server.close();
  }
});

Deno.test("over HTTP, a JSON-RPC error's message is sent bare and a client shows its prefix once", async () => {
  const server = await createServer({ backend: new MemoryBackend(), log: () => {} });
  const http = serveHttp(server, { hostname: "127.0.0.1", port: 0, log: () => {} });
  const client = new Client({ name: "rpc-errors", version: "1" });
  try {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(http.url, { method: "POST", headers, body: JSON.stringify(initialize) });
    assertEquals(init.status, 200);
    await init.body?.cancel();
    const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id")! };
    const ack = await fetch(http.url, { method: "POST", headers: session, body: JSON.stringify(initialized) });
    await ack.body?.cancel();
    const answers: ErrorAnswer[] = [];
    for (const request of FAILING) {
      const res = await fetch(http.url, { method: "POST", headers: session, body: JSON.stringify(request) });
      const data = (await res.text()).split("\n").find((l) => l.startsWith("data: "));
      assert(data, `an SSE event answers request ${request.id}`);
      answers.push(JSON.parse(data.slice(6)));
    }
    assertPlain(answers);

    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    const err = await assertRejects(() => client.callTool({ name: "drop_database", arguments: {} }));
    assert(err.message.startsWith("MCP error -32602: Unknown tool 'drop_database'"), err.message);
    assertEquals(err.message.split("MCP error").length, 2, err.message);
  } finally {
    await client.close();
    await http.shutdown();
    await server.close();
  }
});
