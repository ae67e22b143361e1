// The mutating tools of issue 15 under the server's policy, over an
// in-memory backend that records what reaches it: read-only mode neither
// lists nor runs any of them, the audit log records each with the workflow
// ids it touches and creates, dry runs and bad arguments send nothing, and
// --toolsets offers only the chosen groups (read-only still wins).
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";
import { BUILTIN_TOOLS } from "../src/tools/mod.ts";

/** Each new mutation with arguments that, outside read-only mode, reach the backend. */
function newMutations(serialized: string): Record<string, Record<string, unknown>> {
  const app = { application_name: "shop" };
  const ids = { ...app, workflow_ids: ["wf-1", "wf-2"], dry_run: false };
  const schedule = { ...app, schedule_name: "nightly" };
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  return {
    delete_workflow: { ...app, workflow_id: "wf-1", delete_children: true },
    bulk_cancel_workflows: ids,
    bulk_resume_workflows: ids,
    bulk_delete_workflows: ids,
    fork_from_failure: { ...ids, from_last_failure: true },
    pause_schedule: schedule,
    resume_schedule: schedule,
    trigger_schedule: schedule,
    backfill_schedule: {
      ...schedule,
      start_time: new Date(end - 3 * 3_600_000).toISOString(),
      end_time: new Date(end).toISOString(),
      dry_run: false,
    },
    set_latest_application_version: { ...app, version_name: "v2" },
    import_workflow: { ...app, serialized_workflow: serialized },
  };
}

/** A DBOS export (base64 of gzip of JSON) of one workflow with two steps. */
async function exportOf(workflowId: string): Promise<string> {
  const json = JSON.stringify([{
    workflow_status: { workflow_uuid: workflowId, name: "pipeline", status: "SUCCESS" },
    operation_outputs: [{ function_id: 0 }, { function_id: 1 }],
  }]);
  const gz = new Uint8Array(
    await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  return btoa(String.fromCharCode(...gz));
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-writes-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function records(path: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("every new mutation is declared mutating and is in the built-in tools", async () => {
  const names = Object.keys(newMutations(await exportOf("x")));
  for (const name of names) {
    const def = BUILTIN_TOOLS.find((t) => t.name === name);
    assert(def, `${name} is a built-in tool`);
    assertEquals(def.mutates, true, name);
    assertEquals(def.annotations.readOnlyHint, false, name);
  }
});

for (const kind of ["conductor", "sysdb"] as const) {
  Deno.test(`read-only mode (${kind}) lists none of the new mutations and refuses each without reaching the backend`, async () => {
    const backend = new StaticBackend(kind);
    await using mcp = await connectInProcess({ backend, log: () => {}, config: { readOnly: true } });
    const listed = (await mcp.client.listTools()).tools.map((t) => t.name);
    for (const [name, args] of Object.entries(newMutations(await exportOf("wf-imported")))) {
      assert(!listed.includes(name), `${name} is not listed`);
      if (name === "import_workflow" && kind === "sysdb") continue; // not a tool of this mode at all
      const res = await mcp.client.callTool({ name, arguments: args });
      assertEquals(res.isError, true, name);
      assertStringIncludes(textOf(res), "read-only", name);
    }
    assertEquals(backend.mutations, [], "nothing reached the backend");
  });
}

Deno.test("import_workflow is offered in Conductor mode only; every other new mutation in both modes", async () => {
  for (const kind of ["conductor", "sysdb"] as const) {
    await using mcp = await connectInProcess({ backend: new StaticBackend(kind), log: () => {} });
    const listed = (await mcp.client.listTools()).tools.map((t) => t.name);
    for (const name of Object.keys(newMutations(""))) {
      assertEquals(listed.includes(name), name !== "import_workflow" || kind === "conductor", `${kind} ${name}`);
    }
  }
});

Deno.test("the audit log records each new mutation with the workflow ids it touches and the ones it creates", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const backend = new StaticBackend();
    const calls = newMutations(await exportOf("wf-imported"));
    {
      await using mcp = await connectInProcess({
        backend,
        log: () => {},
        config: { plugins: ["audit"], auditLog: path },
      });
      for (const [name, args] of Object.entries(calls)) {
        const res = await mcp.client.callTool({ name, arguments: args });
        assert(!res.isError, `${name}: ${textOf(res)}`);
      }
    }
    assertEquals(backend.mutations, [
      "delete wf-1",
      "bulk-cancel wf-1,wf-2",
      "bulk-resume wf-1,wf-2",
      "bulk-delete wf-1,wf-2",
      "fork-from-failure wf-1,wf-2",
      "pause-schedule nightly",
      "resume-schedule nightly",
      "trigger-schedule nightly",
      "backfill-schedule nightly",
      "set-latest-version v2",
      "import",
    ]);
    const rs = await records(path);
    for (const name of Object.keys(calls)) {
      const mine = rs.filter((r) => r.tool === name);
      assertEquals(mine.map((r) => r.kind), ["intent", "call"], name);
      assertEquals(mine[0].mutates, true, name);
      assertEquals(mine[0].args, calls[name], `${name}: the intent holds the arguments, ids included`);
    }
    const outcome = (name: string) => rs.find((r) => r.tool === name && r.kind === "call")!.outcome;
    assertEquals(outcome("fork_from_failure"), { ok: true, created_workflow_ids: ["wf-1-fork", "wf-2-fork"] });
    assertEquals(outcome("trigger_schedule"), { ok: true, created_workflow_ids: ["sched-nightly-trigger"] });
    assertEquals(outcome("backfill_schedule"), { ok: true, created_workflow_ids: ["sched-nightly-1"] });
    assertEquals(outcome("import_workflow"), { ok: true, created_workflow_ids: ["wf-imported"] });
    assertEquals(outcome("bulk_cancel_workflows"), { ok: true });
  });
});

Deno.test("the audit log keeps the workflow ids of arguments too large to record whole", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const backend = new StaticBackend();
    backend.workflows = Array.from({ length: 40 }, (_, i) => ({
      workflowId: `wf-${i}-${"x".repeat(40)}`,
      status: "PENDING",
      createdAt: "2026-01-01T00:00:00.000Z",
    }));
    const ids = backend.workflows.map((w) => w.workflowId);
    {
      await using mcp = await connectInProcess({
        backend,
        log: () => {},
        config: { plugins: ["audit"], auditLog: path, pluginOptions: { audit: { maxArgBytes: 256 } } },
      });
      const res = await mcp.client.callTool({
        name: "bulk_cancel_workflows",
        arguments: { application_name: "shop", workflow_ids: ids, dry_run: false },
      });
      assert(!res.isError, textOf(res));
    }
    const [intent] = await records(path);
    const args = intent.args as Record<string, unknown>;
    assertEquals(args.$unrecorded, "too large");
    assertEquals(args.workflow_ids, ids);
  });
});

Deno.test("bulk tools are dry runs by default, refuse more than 500 ids, and fork_from_failure takes exactly one mode", async () => {
  const backend = new StaticBackend();
  await using mcp = await connectInProcess({ backend, log: () => {} });
  const call = (name: string, args: Record<string, unknown>) =>
    mcp.client.callTool({ name, arguments: { application_name: "shop", ...args } });
  const dry = await call("bulk_cancel_workflows", { workflow_ids: ["wf-1", "wf-2", "wf-nope"] });
  assert(!dry.isError, textOf(dry));
  const out = dry.structuredContent as Record<string, unknown>;
  assertEquals(out.dry_run, true);
  assertEquals(out.not_found, ["wf-nope"]);
  assertEquals(out.workflows, [
    { workflowId: "wf-1", workflowName: "pipeline", status: "SUCCESS", changes: false },
    { workflowId: "wf-2", workflowName: "pipeline", status: "ERROR", changes: false },
  ]);
  assertStringIncludes(textOf(dry), "repeat with dry_run: false");
  const missing = await call("bulk_delete_workflows", { workflow_ids: ["wf-1", "wf-nope"], dry_run: false });
  assertEquals(missing.isError, true);
  assertStringIncludes(textOf(missing), "No workflow 'wf-nope'");
  const tooMany = await call("bulk_cancel_workflows", {
    workflow_ids: Array.from({ length: 501 }, (_, i) => `wf-${i}`),
  });
  assertEquals(tooMany.isError, true);
  assertStringIncludes(textOf(tooMany), "At most 500 workflow ids per call");
  const none = await call("fork_from_failure", { workflow_ids: ["wf-2"], dry_run: false });
  assertEquals(none.isError, true);
  assertStringIncludes(textOf(none), "needs a restart step");
  const two = await call("fork_from_failure", { workflow_ids: ["wf-2"], from_last_step: true, from_step: 1 });
  assertEquals(two.isError, true);
  assertStringIncludes(textOf(two), "exactly one of");
  const twice = await call("bulk_resume_workflows", { workflow_ids: ["wf-1", "wf-1"] });
  assertEquals(twice.isError, true);
  assertStringIncludes(textOf(twice), "twice");
  assertEquals(backend.mutations, [], "nothing was sent");
});

Deno.test("backfill_schedule refuses a window with more runs than max_runs, a future end, and over 31 days", async () => {
  const backend = new StaticBackend(); // its schedule fires at the top of every hour
  await using mcp = await connectInProcess({ backend, log: () => {} });
  const call = (args: Record<string, unknown>) =>
    mcp.client.callTool({
      name: "backfill_schedule",
      arguments: { application_name: "shop", schedule_name: "nightly", ...args },
    });
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 1;
  const iso = (ms: number) => new Date(ms).toISOString();
  const dry = await call({ start_time: iso(end - 10 * 3_600_000), end_time: iso(end) });
  assert(!dry.isError, textOf(dry));
  assertEquals((dry.structuredContent as Record<string, unknown>).runs, 10);
  const over = await call({ start_time: iso(end - 10 * 3_600_000), end_time: iso(end), max_runs: 9, dry_run: false });
  assertEquals(over.isError, true);
  assertStringIncludes(textOf(over), "more than 9 workflows");
  const future = await call({ start_time: iso(end), end_time: iso(Date.now() + 3_600_000) });
  assertStringIncludes(textOf(future), "end_time is in the future");
  const long = await call({ start_time: "40d", end_time: "1d" });
  assertStringIncludes(textOf(long), "at most 31 days");
  assertEquals(backend.mutations, [], "nothing was sent");
});

Deno.test("--toolsets offers only the chosen groups and the login tools, refuses the rest, and read-only still wins", async () => {
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-toolsets-" });
  try {
    const config = { home, conductorUrl: "http://127.0.0.1:9", loginUrl: "http://127.0.0.1:9" };
    {
      await using mcp = await connectInProcess({ config: { ...config, toolsets: ["bulk"] }, log: () => {} });
      const names = (await mcp.client.listTools()).tools.map((t) => t.name).sort();
      assertEquals(names, [
        "bulk_cancel_workflows",
        "bulk_delete_workflows",
        "bulk_resume_workflows",
        "fork_from_failure",
        "login",
        "login_complete",
        "logout",
      ]);
      const refused = await mcp.client.callTool({ name: "list_workflows", arguments: { application_name: "a" } });
      assertEquals(refused.isError, true);
      assertStringIncludes(textOf(refused), "not in the toolsets this server offers (--toolsets bulk)");
    }
    {
      await using mcp = await connectInProcess({
        config: { ...config, toolsets: ["bulk", "schedules"], readOnly: true },
        log: () => {},
      });
      const names = (await mcp.client.listTools()).tools.map((t) => t.name).sort();
      // The schedules toolset's reads stay; no mutation survives read-only mode (logout neither).
      assertEquals(names, ["get_schedule", "list_schedules", "login", "login_complete"]);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
