// The call pipeline on its own: what plugins observe about a result (its
// size in bytes of JSON) matches what the client receives, whether the result
// passed straight through, was scrubbed of a known secret, or was changed in
// place by a transforming plugin.
import { z } from "zod";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { CallPipeline } from "../src/core/pipeline.ts";
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
