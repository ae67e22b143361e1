// What agents see of the server, in-process: the tool list (snapshot),
// annotations, instructions and argument validation. Nothing here reaches a
// network: every call below fails or answers before a request is made.
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { BUILTIN_TOOLS } from "../src/tools/mod.ts";

const SNAPSHOT = new URL("./snapshots/tools_list.json", import.meta.url);

async function withServer(fn: (c: Awaited<ReturnType<typeof connectInProcess>>) => Promise<void>) {
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-proto-" });
  // Unroutable URLs: a request that should not be made would fail loudly.
  const mcp = await connectInProcess({
    config: {
      home,
      conductorUrl: "http://127.0.0.1:9/conductor",
      loginUrl: "http://127.0.0.1:9",
      timeoutMs: 2000,
    },
    log: () => {},
  });
  try {
    await fn(mcp);
  } finally {
    await mcp.close();
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("tools/list matches the reviewed snapshot (run with UPDATE_SNAPSHOTS=1 to accept a change)", async () => {
  await withServer(async ({ client }) => {
    const { tools } = await client.listTools();
    const actual = JSON.stringify(tools, null, 2) + "\n";
    if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") {
      await Deno.writeTextFile(SNAPSHOT, actual);
    }
    const expected = await Deno.readTextFile(SNAPSHOT);
    assertEquals(actual, expected, "tools/list changed: review the diff, then run with UPDATE_SNAPSHOTS=1");
  });
});

Deno.test("tools/list offers exactly the Conductor-mode tools", async () => {
  await withServer(async ({ client }) => {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assertEquals(names, [
      "backfill_schedule",
      "bulk_cancel_workflows",
      "bulk_delete_workflows",
      "bulk_resume_workflows",
      "cancel_workflow",
      "delete_workflow",
      "export_workflow",
      "fork_from_failure",
      "fork_workflow",
      "get_queue",
      "get_schedule",
      "get_step_aggregates",
      "get_workflow",
      "get_workflow_aggregates",
      "get_workflow_events",
      "get_workflow_notifications",
      "get_workflow_streams",
      "import_workflow",
      "list_application_versions",
      "list_applications",
      "list_executors",
      "list_queues",
      "list_schedules",
      "list_steps",
      "list_workflows",
      "login",
      "login_complete",
      "logout",
      "pause_schedule",
      "resume_schedule",
      "resume_workflow",
      "set_latest_application_version",
      "summarize_workflows",
      "trigger_schedule",
      "workflow_tree",
    ]);
  });
});

Deno.test("every tool sets readOnlyHint explicitly, and only non-mutating tools claim it", async () => {
  await withServer(async ({ client }) => {
    const listed = new Map((await client.listTools()).tools.map((t) => [t.name, t]));
    for (const def of BUILTIN_TOOLS) {
      const tool = listed.get(def.name);
      assert(tool, `${def.name} is listed`);
      assertEquals(typeof tool.annotations?.readOnlyHint, "boolean", `${def.name} sets readOnlyHint`);
      if (def.mutates) assertEquals(tool.annotations?.readOnlyHint, false, `${def.name} mutates`);
      assert(tool.outputSchema, `${def.name} has an output schema`);
      assert(tool.description && tool.description.length > 80, `${def.name} has a real description`);
    }
    assertEquals(listed.get("cancel_workflow")?.annotations?.destructiveHint, true);
    assertEquals(
      BUILTIN_TOOLS.filter((t) => t.mutates).map((t) => t.name).sort(),
      [
        "backfill_schedule",
        "bulk_cancel_workflows",
        "bulk_delete_workflows",
        "bulk_resume_workflows",
        "cancel_workflow",
        "delete_workflow",
        "fork_from_failure",
        "fork_workflow",
        "import_workflow",
        "logout",
        "pause_schedule",
        "resume_schedule",
        "resume_workflow",
        "set_latest_application_version",
        "trigger_schedule",
      ],
    );
  });
});

Deno.test("initialize carries the real name, version and instructions", async () => {
  await withServer(async ({ client }) => {
    const info = client.getServerVersion();
    const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
    assertEquals(info?.name, denoJson.name);
    assertEquals(info?.version, denoJson.version);
    const instructions = client.getInstructions() ?? "";
    assertStringIncludes(instructions, "login");
    assertStringIncludes(instructions, "AVAILABLE");
  });
});

Deno.test("a call with invalid arguments answers isError naming each bad field", async () => {
  await withServer(async ({ client }) => {
    const bad = await client.callTool({
      name: "list_workflows",
      arguments: { application_name: "app", status: "BROKEN", limit: 0, start_time: "yesterday" },
    });
    assertEquals(bad.isError, true);
    const text = textOf(bad);
    assertStringIncludes(text, "status: must be one of PENDING, SUCCESS, ERROR");
    assertMatch(text, /limit: .*>=\s*1/);
    assertStringIncludes(text, "start_time: must be a duration ago (15m, 2h, 7d), an ISO 8601 date-time");

    const missing = await client.callTool({ name: "get_workflow", arguments: { application_name: "app" } });
    assertEquals(missing.isError, true);
    assertStringIncludes(textOf(missing), "workflow_id");

    const extra = await client.callTool({
      name: "get_workflow",
      arguments: { application_name: "app", workflowId: "x" },
    });
    assertEquals(extra.isError, true);
    assertStringIncludes(textOf(extra), "unknown field(s) 'workflowId'");

    const fork = await client.callTool({
      name: "fork_workflow",
      arguments: { application_name: "app", workflow_id: "w", start_step: -1 },
    });
    assertEquals(fork.isError, true);
    assertStringIncludes(textOf(fork), "start_step");

    const listed = await client.callTool({
      name: "list_workflows",
      arguments: { application_name: "app", status: ["ERROR", "BROKEN"], workflow_name: ["ok", ""] },
    });
    assertEquals(listed.isError, true);
    assertStringIncludes(textOf(listed), "status: item 1: must be one of PENDING, SUCCESS, ERROR");
    assertStringIncludes(textOf(listed), "workflow_name.1: Too small: expected string to have >=1 characters");
  });
});

Deno.test("an unknown tool is a JSON-RPC error that lists the available tools", async () => {
  await withServer(async ({ client }) => {
    const err = await assertRejects(() => client.callTool({ name: "drop_database", arguments: {} }));
    assertStringIncludes(err.message, "Unknown tool 'drop_database'");
    assertStringIncludes(err.message, "list_workflows");
  });
});

Deno.test("a workflow tool without a login tells the agent to call login", async () => {
  await withServer(async ({ client }) => {
    const res = await client.callTool({ name: "list_applications", arguments: {} });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "login");
  });
});
