// Private mode on its own (core/private.ts and the pipeline): payload fields
// marked in a tool's output schema are replaced by their type and size for
// every tool, built-in or from a plugin, while everything else stays; the
// results still match their schemas; off by default.
import { z } from "zod";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";
import { payload, payloadPaths, privateDescription, privatize } from "../src/core/private.ts";
import { clip } from "../src/core/budget.ts";
import { defineTool } from "../src/core/tool.ts";
import { BUILTIN_TOOLS } from "../src/tools/mod.ts";
import type { Workflow } from "../src/backends/backend.ts";

Deno.test("privateDescription() names the rendered type and the size before clipping", () => {
  assertEquals(privateDescription("[ 'alice', 'S3cret' ]"), "<private: array, 21 bytes>");
  assertEquals(privateDescription('{"a":1}'), "<private: object, 7 bytes>");
  assertEquals(privateDescription("'héllo'"), "<private: string, 8 bytes>");
  assertEquals(privateDescription("-12.5"), "<private: number, 5 bytes>");
  assertEquals(privateDescription("true"), "<private: boolean, 4 bytes>");
  assertEquals(privateDescription("null"), "<private: null, 4 bytes>");
  assertEquals(privateDescription("undefined"), "<private: undefined, 9 bytes>");
  assertEquals(privateDescription("Order { id: 1 }"), "<private: text, 15 bytes>");
  const big = JSON.stringify(["x".repeat(5000)]);
  assertEquals(privateDescription(clip(big, 100, "see more")), `<private: array, ${big.length} bytes>`);
});

Deno.test("the built-in tools mark workflow inputs and outputs and step outputs as payloads, not errors", () => {
  const paths = Object.fromEntries(BUILTIN_TOOLS.map((t) => [t.name, payloadPaths(t.output).map((p) => p.join("."))]));
  assertEquals(paths.list_workflows, ["workflows.*.input", "workflows.*.output"]);
  assertEquals(paths.get_workflow, ["workflow.input", "workflow.output", "steps.*.output"]);
  assertEquals(paths.list_steps, ["steps.*.output"]);
  for (const t of BUILTIN_TOOLS) assert(!paths[t.name].some((p) => /error/i.test(p)), t.name);
});

Deno.test("privatize() replaces marked fields (lists item by item) without touching the rest or its input", () => {
  const schema = z.object({
    key: z.string(),
    value: payload(z.string().nullish()),
    values: payload(z.array(z.string())),
    nested: z.record(z.string(), z.object({ message: payload(z.string()), error: z.string() })),
  });
  const data = {
    key: "k",
    value: null,
    values: ["ab", "[1]"],
    nested: { a: { message: "{ password: 'x' }", error: "boom" } },
  };
  const before = structuredClone(data);
  const out = privatize(schema, data);
  assertEquals(data, before);
  assertEquals(out, {
    key: "k",
    value: null,
    values: ["<private: text, 2 bytes>", "<private: array, 3 bytes>"],
    nested: { a: { message: "<private: object, 17 bytes>", error: "boom" } },
  });
  assert(schema.safeParse(out).success, "still matches its schema");
});

const WORKFLOW: Workflow = {
  workflowId: "wf-1",
  status: "ERROR",
  workflowName: "signup",
  input: "[ 'alice', 'S3cret-pass-0001' ]",
  output: "{ ok: false }",
  error: "password S3cret-pass-0001 rejected by ldap",
  createdAt: "2026-01-01T00:00:00.000Z",
};

Deno.test("with private on, every tool result, a plugin tool's too, describes payloads and keeps errors", async () => {
  const pluginTool = defineTool({
    name: "get_event",
    description: "Reads an event (test tool).",
    input: z.strictObject({}),
    output: z.object({ key: z.string(), value: payload(z.string()) }),
    annotations: { title: "Event", readOnlyHint: true, openWorldHint: false },
    mutates: false,
    handler: () => Promise.resolve({ key: "ready", value: "'S3cret-pass-0001'" }),
    render: (r) => `${r.key} = ${r.value}`,
  });
  await using mcp = await connectInProcess({
    backend: new StaticBackend("conductor", [WORKFLOW]),
    log: () => {},
    config: { private: true },
    plugins: [{ name: "events", tools: [pluginTool] }],
  });
  const got = await mcp.client.callTool({
    name: "get_workflow",
    arguments: { application_name: "app", workflow_id: "wf-1", full: true },
  });
  const w = (got.structuredContent as { workflow: Workflow }).workflow;
  assertEquals(w.input, "<private: array, 31 bytes>");
  assertEquals(w.output, "<private: object, 13 bytes>");
  assertEquals([w.error, w.status, w.workflowName, w.createdAt], [
    WORKFLOW.error,
    "ERROR",
    "signup",
    "2026-01-01T00:00:00.000Z",
  ]);
  assertStringIncludes(textOf(got), "input: <private: array, 31 bytes>");
  const event = await mcp.client.callTool({ name: "get_event", arguments: {} });
  assertEquals(event.structuredContent, { key: "ready", value: "<private: string, 18 bytes>" });
  assertEquals(textOf(event), "ready = <private: string, 18 bytes>");
  const list = await mcp.client.callTool({
    name: "list_workflows",
    arguments: { application_name: "app", load_input: true, load_output: true },
  });
  assert(!JSON.stringify(list).includes("'alice'"));
});

Deno.test("without private, payloads are returned as they are", async () => {
  await using mcp = await connectInProcess({ backend: new StaticBackend("conductor", [WORKFLOW]), log: () => {} });
  const got = await mcp.client.callTool({
    name: "get_workflow",
    arguments: { application_name: "app", workflow_id: "wf-1" },
  });
  assertEquals((got.structuredContent as { workflow: Workflow }).workflow.input, WORKFLOW.input);
});
