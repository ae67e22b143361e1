// Confirmations before cancel and fork (MCP elicitation) and progress
// notifications for long calls.
// @ts-types="@modelcontextprotocol/sdk/types"
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { Client, textOf } from "./_mcp.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { createServer } from "../src/server.ts";
import type { Config } from "../src/config/mod.ts";
import type { WorkflowBackend } from "../src/backends/backend.ts";

/** Epoch milliseconds as the ISO 8601 text v2 answers carry. */
const isoAt = (ms: number): string => new Date(ms).toISOString();

async function connect(
  backend: WorkflowBackend,
  answer:
    | ((message: string) => { action: "accept" | "decline" | "cancel"; content?: Record<string, unknown> })
    | undefined,
  config: Partial<Config> = {},
) {
  const server = await createServer({ backend, config, log: () => {} });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client(
    { name: "t", version: "1" },
    { capabilities: answer ? { elicitation: {} } : {} },
  );
  const asked: string[] = [];
  if (answer) {
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(String(req.params.message));
      return answer(String(req.params.message));
    });
  }
  await server.connect(b);
  await client.connect(a);
  return {
    client,
    asked,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

const cancel = { name: "cancel_workflow", arguments: { application_name: "shop", workflow_id: "wf-2" } };
const fork = { name: "fork_workflow", arguments: { application_name: "shop", workflow_id: "wf-2", start_step: 1 } };

Deno.test("cancel and fork ask the user to confirm, with the workflow's name, status and age", async () => {
  const backend = new StaticBackend();
  const t = await connect(backend, () => ({ action: "accept", content: { confirm: true } }));
  try {
    assertEquals((await t.client.callTool(cancel)).isError, undefined);
    assertEquals((await t.client.callTool(fork)).isError, undefined);
    assertEquals(t.asked.length, 2);
    assertStringIncludes(t.asked[0], "Cancel workflow wf-2 (pipeline, ERROR, started");
    assertStringIncludes(t.asked[1], "Fork from step 1 workflow wf-2");
    assertEquals(backend.mutations, ["cancel wf-2", "fork wf-2 1"]);
  } finally {
    await t.close();
  }
});

Deno.test("a declined or dismissed confirmation sends nothing", async () => {
  for (const action of ["decline", "cancel"] as const) {
    const backend = new StaticBackend();
    const t = await connect(backend, () => ({ action }));
    try {
      const res = await t.client.callTool(cancel);
      assertEquals(res.isError, true);
      assertStringIncludes(textOf(res), "The user did not confirm: workflow wf-2 was not cancelled; nothing was sent.");
      assertEquals(backend.mutations, []);
    } finally {
      await t.close();
    }
  }
  const backend = new StaticBackend();
  const unchecked = await connect(backend, () => ({ action: "accept", content: { confirm: false } }));
  try {
    assertEquals((await unchecked.client.callTool(fork)).isError, true);
    assertEquals(backend.mutations, []);
  } finally {
    await unchecked.close();
  }
});

Deno.test("clients without elicitation, and --no-confirm, proceed without asking", async () => {
  const plain = new StaticBackend();
  const t = await connect(plain, undefined);
  try {
    assertEquals((await t.client.callTool(cancel)).isError, undefined);
    assertEquals(plain.mutations, ["cancel wf-2"]);
  } finally {
    await t.close();
  }
  const off = new StaticBackend();
  const u = await connect(off, () => ({ action: "decline" }), { noConfirm: true });
  try {
    assertEquals((await u.client.callTool(cancel)).isError, undefined);
    assertEquals(u.asked, []);
    assertEquals(off.mutations, ["cancel wf-2"]);
  } finally {
    await u.close();
  }
});

Deno.test("summarize_workflows reports its stages as progress to a client that asks for it", async () => {
  const b = new MemoryBackend();
  const now = Date.now();
  for (let i = 0; i < 1_200; i++) b.add({ workflowId: `wf-${i}`, createdAt: isoAt(now - 60_000 + i) });
  const t = await connect(b, undefined);
  try {
    const seen: number[] = [];
    const res = await t.client.callTool(
      { name: "summarize_workflows", arguments: { application_name: "app" } },
      undefined,
      { onprogress: (p) => seen.push(p.progress) },
    );
    assert(!res.isError, textOf(res));
    assertEquals(seen, [1, 2], "counted, then errors grouped");
  } finally {
    await t.close();
  }
});
