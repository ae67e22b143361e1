// Resources (read through the tool pipeline) and prompts.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { connectInProcess } from "./_mcp.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";

function textContent(c: object): string {
  assert("text" in c && typeof c.text === "string", "a text resource");
  return c.text;
}

function backend(): MemoryBackend {
  const b = new MemoryBackend();
  b.add({ workflowId: "wf/1 x", createdAt: "2026-01-01T00:00:00.000Z", status: "ERROR", error: "boom" });
  return b;
}

Deno.test("resources list applications and a workflow template, and read through the pipeline", async () => {
  await using mcp = await connectInProcess({ backend: backend(), log: () => {} });
  const { resources } = await mcp.client.listResources();
  assertEquals(resources.map((r) => r.uri), ["dbos://applications"]);
  const { resourceTemplates } = await mcp.client.listResourceTemplates();
  assertEquals(resourceTemplates.map((t) => t.uriTemplate), ["dbos://applications/{app}/workflows/{id}"]);

  const apps = await mcp.client.readResource({ uri: "dbos://applications" });
  assertEquals(JSON.parse(textContent(apps.contents[0])).applications[0].name, "app");
  const wf = await mcp.client.readResource({
    uri: `dbos://applications/app/workflows/${encodeURIComponent("wf/1 x")}`,
  });
  const doc = JSON.parse(textContent(wf.contents[0]));
  assertEquals(doc.workflow.workflowId, "wf/1 x");
  assertEquals(doc.workflow.error, "boom");
  const missing = await assertRejects(() => mcp.client.readResource({ uri: "dbos://applications/app/workflows/nope" }));
  assertStringIncludes(missing.message, "nope");
  await assertRejects(() => mcp.client.readResource({ uri: "file:///etc/passwd" }), Error, "Unknown resource");
});

Deno.test("resource reads obey the tool policy", async () => {
  await using mcp = await connectInProcess({
    backend: backend(),
    config: { excludeTools: ["get_workflow"] },
    log: () => {},
  });
  const err = await assertRejects(() => mcp.client.readResource({ uri: "dbos://applications/app/workflows/x" }));
  assertStringIncludes(err.message, "disabled on this server");
});

Deno.test("prompts guide an agent through the tools", async () => {
  await using mcp = await connectInProcess({ backend: backend(), log: () => {} });
  const { prompts } = await mcp.client.listPrompts();
  assertEquals(prompts.map((p) => p.name), ["debug_failed_workflows", "triage_queue", "retry_deploy_failures"]);
  const debug = await mcp.client.getPrompt({
    name: "debug_failed_workflows",
    arguments: { application: "shop", window: "15m" },
  });
  const text = String((debug.messages[0].content as { text: string }).text);
  assertStringIncludes(text, 'summarize_workflows with application_name "shop" and start_time "15m"');
  assertStringIncludes(text, "include_steps: true");
  const triage = await mcp.client.getPrompt({ name: "triage_queue", arguments: { application: "shop", queue: "q" } });
  assert(String((triage.messages[0].content as { text: string }).text).includes("list_queues"));
  await assertRejects(() => mcp.client.getPrompt({ name: "triage_queue", arguments: { application: "shop" } }));
  const retry = await mcp.client.getPrompt({
    name: "retry_deploy_failures",
    arguments: { application: "shop", since: "2h", version: "v7" },
  });
  const steps = String((retry.messages[0].content as { text: string }).text);
  assertStringIncludes(steps, 'summarize_workflows with application_name "shop" and start_time "2h"');
  assertStringIncludes(
    steps,
    'fork_from_failure with those workflow_ids, from_last_failure: true, application_version "v7"',
  );
  assertStringIncludes(steps, "dry_run: false");
});
