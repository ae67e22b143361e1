// The call pipeline on its own: what plugins observe about a result (its
// size in bytes of JSON) matches what the client receives, whether the result
// passed straight through, was scrubbed of a known secret, or was changed in
// place by a transforming plugin.
import { z } from "zod";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { CallPipeline, errorResult } from "../src/core/pipeline.ts";
import { InvalidArgumentError } from "../src/core/errors.ts";
import { listWorkflows } from "../src/tools/workflows.ts";
import { SecretSet } from "../src/core/secrets.ts";
import { defineTool } from "../src/core/tool.ts";
import type { CallOutcome, Plugin, ToolResult } from "../src/plugin_host/contract.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";

const SECRET = "s3cret-token-value-0123456789";

const echo = defineTool({
  name: "echo",
  description: "Echoes a note.",
  input: z.strictObject({ note: z.string(), items: z.number().int().default(0) }),
  output: z.object({ note: z.string(), items: z.array(z.string()) }),
  annotations: { title: "Echo", readOnlyHint: true, openWorldHint: false },
  mutates: false,
  handler: (args) =>
    Promise.resolve({ note: args.note, items: Array.from({ length: args.items }, (_, i) => `item é ${i}`) }),
  render: (r) => `${r.note} (${r.items.length} items)`,
});

function pipelineWith(plugins: Plugin[], maxResultBytes = 100_000): CallPipeline {
  const secrets = new SecretSet();
  secrets.add(SECRET);
  return new CallPipeline({
    tools: new Map([[echo.name, echo]]),
    policy: { readOnly: false, tools: [], excludeTools: [] },
    plugins,
    context: (signal, facilities) => ({
      ...facilities,
      backend: new StaticBackend(),
      login: undefined,
      signal,
      limits: { maxFieldBytes: 1_000, maxResultBytes },
    }),
    secrets,
    log: () => {},
    maxResultBytes,
  });
}

async function callAndObserve(
  pipeline: CallPipeline,
  outcomes: CallOutcome[],
  args: Record<string, unknown>,
): Promise<{ result: ToolResult; outcome: CallOutcome }> {
  const answer = await pipeline.call("echo", args, new AbortController().signal, { id: "s1" });
  if (answer.kind !== "result") throw new Error(`unexpected ${answer.kind}`);
  return { result: answer.result, outcome: outcomes.at(-1)! };
}

const bytesOf = (result: ToolResult) => new TextEncoder().encode(JSON.stringify(result)).length;

Deno.test("afterCall's resultBytes is the size of the JSON the client receives", async (t) => {
  const outcomes: CallOutcome[] = [];
  const observer: Plugin = { name: "observer", afterCall: (_c, outcome) => void outcomes.push(outcome) };
  const pipeline = pipelineWith([observer]);

  await t.step("a plain result, with non-ASCII text", async () => {
    const { result, outcome } = await callAndObserve(pipeline, outcomes, { note: "héllo", items: 5 });
    assertEquals(outcome.ok, true);
    assertEquals(outcome.resultBytes, bytesOf(result));
  });
  await t.step("a result scrubbed of a known secret", async () => {
    const { result, outcome } = await callAndObserve(pipeline, outcomes, { note: `token ${SECRET}`, items: 1 });
    assertEquals((result.structuredContent as { note: string }).note, "token [REDACTED]");
    assertEquals(outcome.resultBytes, bytesOf(result));
  });
  await t.step("an error result (no structured part)", async () => {
    const { result, outcome } = await callAndObserve(pipeline, outcomes, { note: 42 });
    assertEquals(outcome.ok, false);
    assertEquals(outcome.resultBytes, bytesOf(result));
  });
  await t.step("a result trimmed to the answer budget", async () => {
    const small = pipelineWith([observer], 600);
    const { result, outcome } = await callAndObserve(small, outcomes, { note: "many", items: 200 });
    assertStringIncludes(result.content[0].text, "dropped to stay within the 600-byte answer budget");
    assertEquals(outcome.resultBytes, bytesOf(result));
  });
});

Deno.test("a plugin that changes a result in place is scrubbed and measured on what it left", async () => {
  const outcomes: CallOutcome[] = [];
  const plugins: Plugin[] = [
    {
      name: "in-place",
      transformResult: (_call, result) => {
        // Changes the structured part without making a new object.
        const data = result.structuredContent as { note: string; items: string[] };
        data.note = `${data.note} plus ${SECRET} and more`;
        data.items.push("added in place");
        return result;
      },
    },
    { name: "observer", afterCall: (_c, outcome) => void outcomes.push(outcome) },
  ];
  const { result, outcome } = await callAndObserve(pipelineWith(plugins), outcomes, { note: "n", items: 2 });
  assertEquals(result.structuredContent, {
    note: "n plus [REDACTED] and more",
    items: ["item é 0", "item é 1", "added in place"],
  });
  assertEquals(outcome.resultBytes, bytesOf(result));
});

Deno.test("the generic trimming of a tool without fit cuts 200,000 items in a few measures, not one per item", async () => {
  let renders = 0;
  const many = defineTool({
    ...echo,
    name: "many",
    render: (r) => {
      renders++;
      return `${r.note} (${r.items.length} items)`;
    },
  });
  const pipeline = new CallPipeline({
    tools: new Map([[many.name, many]]),
    policy: { readOnly: false, tools: [], excludeTools: [] },
    plugins: [],
    context: (signal, facilities) => ({
      ...facilities,
      backend: new StaticBackend(),
      login: undefined,
      signal,
      limits: { maxFieldBytes: 1_000, maxResultBytes: 10_000 },
    }),
    secrets: new SecretSet(),
    log: () => {},
    maxResultBytes: 10_000,
  });
  const answer = await pipeline.call("many", { note: "n", items: 200_000 }, new AbortController().signal, { id: "s" });
  if (answer.kind !== "result") throw new Error(`unexpected ${answer.kind}`);
  const { result } = answer;
  assertEquals(result.isError, undefined, result.content[0].text);
  const items = (result.structuredContent as { items: string[] }).items;
  const size = new TextEncoder().encode(JSON.stringify(result.structuredContent)).length +
    new TextEncoder().encode(result.content[0].text).length;
  assertEquals(size <= 10_000, true, `${size} bytes`);
  assertEquals(items.length + 1 > 0 && size + JSON.stringify(`item é ${items.length}`).length + 1 > 10_000, true);
  assertStringIncludes(result.content[0].text, `${200_000 - items.length} item(s) dropped`);
  assertEquals(renders < 40, true, `rendered ${renders} times`);
});

/** A pipeline serving the real list_workflows tool, with a plugin that records every afterCall. */
function auditedListPipeline(outcomes: { tool: string; outcome: CallOutcome }[], maxResultBytes = 24_576) {
  return new CallPipeline({
    tools: new Map([[listWorkflows.name, listWorkflows]]),
    policy: { readOnly: false, tools: [], excludeTools: [] },
    plugins: [{ name: "audit-probe", afterCall: (call, outcome) => void outcomes.push({ tool: call.tool, outcome }) }],
    context: (signal, facilities) => ({
      ...facilities,
      backend: new StaticBackend(),
      login: undefined,
      signal,
      limits: { maxFieldBytes: 1_000, maxResultBytes },
    }),
    secrets: new SecretSet(),
    log: () => {},
    maxResultBytes,
  });
}

async function callList(pipeline: CallPipeline, args: unknown): Promise<ToolResult> {
  const answer = await pipeline.call("list_workflows", args, new AbortController().signal, { id: "s1" });
  if (answer.kind !== "result") throw new Error(`unexpected ${answer.kind}`);
  return answer.result;
}

Deno.test("a time argument out of a Date's range is an isError result, and audited", async () => {
  const outcomes: { tool: string; outcome: CallOutcome }[] = [];
  const pipeline = auditedListPipeline(outcomes);
  for (const start_time of ["9999999999999999", 9_999_999_999_999_999, "999999-01-01T00:00:00Z"]) {
    const result = await callList(pipeline, { application_name: "shop", start_time });
    assertEquals(result.isError, true, JSON.stringify(start_time));
    assertStringIncludes(result.content[0].text, "Invalid arguments for list_workflows: start_time");
  }
  assertEquals(outcomes.length, 3, "each refused call is audited");
  assertEquals(outcomes.every((o) => !o.outcome.ok && o.outcome.error?.includes("start_time")), true);
});

Deno.test("an argument transform that throws is an isError result with what to fix, and audited", async () => {
  const outcomes: { tool: string; outcome: CallOutcome }[] = [];
  const throwing = defineTool({
    name: "throwing",
    description: "Reads a time.",
    output: echo.output,
    annotations: echo.annotations,
    mutates: false,
    render: echo.render,
    input: z.strictObject({ when: z.string().transform((v) => new Date(Number(v)).toISOString()) }),
    handler: (args) => Promise.resolve({ note: args.when, items: [] }),
  });
  const pipeline = new CallPipeline({
    tools: new Map([[throwing.name, throwing]]),
    policy: { readOnly: false, tools: [], excludeTools: [] },
    plugins: [{ name: "audit-probe", afterCall: (call, outcome) => void outcomes.push({ tool: call.tool, outcome }) }],
    context: (signal, facilities) => ({
      ...facilities,
      backend: new StaticBackend(),
      login: undefined,
      signal,
      limits: { maxFieldBytes: 1_000, maxResultBytes: 10_000 },
    }),
    secrets: new SecretSet(),
    log: () => {},
    maxResultBytes: 10_000,
  });
  const answer = await pipeline.call("throwing", { when: "9e99" }, new AbortController().signal, { id: "s" });
  assertEquals(answer.kind, "result");
  const result = (answer as { result: ToolResult }).result;
  assertEquals(result.isError, true);
  assertStringIncludes(result.content[0].text, "Invalid arguments for throwing: they could not be read");
  assertStringIncludes(result.content[0].text, "Fix the arguments");
  assertEquals(outcomes.map((o) => [o.tool, o.outcome.ok]), [["throwing", false]]);
});

Deno.test("an error answer stays within the answer budget: 1,000,000 unknown keys name 20 and count the rest", async () => {
  const pipeline = auditedListPipeline([], 24_576);
  const args: Record<string, unknown> = { application_name: "shop" };
  for (let i = 0; i < 1_000_000; i++) args[`k${i}`] = 1;
  const result = await callList(pipeline, args);
  assertEquals(result.isError, true);
  const text = result.content[0].text;
  assertEquals(new TextEncoder().encode(text).length <= 24_576, true, `${text.length} characters`);
  assertStringIncludes(text, "unknown field(s) 'k0', 'k1'");
  assertStringIncludes(text, "and 999980 more");
});

Deno.test("an error answer longer than the budget is clipped with a marker", async () => {
  const long = defineTool({
    ...echo,
    name: "long",
    handler: () => Promise.reject(new InvalidArgumentError(`bad ${"x".repeat(50_000)}`)),
  });
  const pipeline = new CallPipeline({
    tools: new Map([[long.name, long]]),
    policy: { readOnly: false, tools: [], excludeTools: [] },
    plugins: [],
    context: (signal, facilities) => ({
      ...facilities,
      backend: new StaticBackend(),
      login: undefined,
      signal,
      limits: { maxFieldBytes: 1_000, maxResultBytes: 4_000 },
    }),
    secrets: new SecretSet(),
    log: () => {},
    maxResultBytes: 4_000,
  });
  const answer = await pipeline.call("long", { note: "n" }, new AbortController().signal, { id: "s" });
  const text = (answer as { result: ToolResult }).result.content[0].text;
  assertEquals(new TextEncoder().encode(text).length <= 4_000, true, `${text.length} characters`);
  assertStringIncludes(text, "…[truncated");
});

Deno.test("error texts show bidirectional override characters escaped, never raw", async () => {
  const pipeline = auditedListPipeline([]);
  const result = await callList(pipeline, { application_name: "shop", "evil\u202Egnp.exe": 1 });
  const text = result.content[0].text;
  assertEquals(/[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/.test(text), false, text);
  assertStringIncludes(text, "evil\\u202Egnp.exe");
  assertEquals(errorResult("a\u2067b\u2069c").content[0].text, "a\\u2067b\\u2069c");
});
