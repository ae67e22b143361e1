// The plugin host and the call pipeline, in-process: plugin tools, result
// transforms, observers (refused calls included), refusals by beforeCall,
// plugins that fail to load or throw, and read-only mode and tool filters
// applied to built-in and plugin tools alike.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";
import { createServer, type CreateServerOptions } from "../src/server.ts";
import { PluginLoadError } from "../src/plugin_host/loader.ts";
import type { Config } from "../src/config/mod.ts";
import { getWorkflow } from "../src/tools/workflows.ts";
import { spawnServer } from "./_server_process.ts";
import { join } from "../src/util/path.ts";

const plugin = (name: string) => new URL(`./fixtures/plugins/${name}.ts`, import.meta.url).pathname;

async function withPlugins(
  config: Partial<Config>,
  fn: (
    t: Awaited<ReturnType<typeof connectInProcess>> & {
      backend: StaticBackend;
      observed: () => Promise<Record<string, unknown>[]>;
    },
  ) => Promise<void>,
  extra: Partial<CreateServerOptions> = {},
) {
  const dir = await Deno.makeTempDir();
  const logFile = `${dir}/observed.jsonl`;
  const backend = new StaticBackend();
  const mcp = await connectInProcess({
    backend,
    log: () => {},
    ...extra,
    config: { ...config, pluginOptions: { [plugin("observer_plugin")]: { logFile } } },
  });
  const observed = async () =>
    (await Deno.readTextFile(logFile).catch(() => "")).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  try {
    await fn({ ...mcp, backend, observed });
  } finally {
    await mcp.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a plugin adds a tool, transforms every result and observes every call", async () => {
  await withPlugins({ plugins: [plugin("observer_plugin")] }, async ({ client, observed }) => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert(names.includes("echo_note") && names.includes("wipe_notes"));
    const echo = await client.callTool({ name: "echo_note", arguments: { note: "hi" } });
    assertEquals(echo.structuredContent, { note: "hi", seen: 1 });
    assertStringIncludes(textOf(echo), "[seen by observer]");
    const apps = await client.callTool({ name: "list_applications", arguments: {} });
    assertStringIncludes(textOf(apps), "[seen by observer]");
    const bad = await client.callTool({ name: "get_workflow", arguments: { application_name: "shop" } });
    assertEquals(bad.isError, true);
    assertStringIncludes(textOf(bad), "[seen by observer]");
    assertEquals((await observed()).map((e) => `${e.hook} ${e.tool} ${e.ok ?? ""}`), [
      "before echo_note ",
      "after echo_note true",
      "before list_applications ",
      "after list_applications true",
      "after get_workflow false", // invalid arguments: no beforeCall, but observed after
    ]);
  });
});

Deno.test("a plugin tool that throws answers an error naming the tool and its plugin", async () => {
  await withPlugins({ plugins: [plugin("observer_plugin")] }, async ({ client }) => {
    const res = await client.callTool({ name: "echo_note", arguments: { note: "explode" } });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "echo_note (from plugin 'observer') failed: the note exploded");
    assert(!textOf(res).includes("bug in dbos-mcp"));
  });
});

Deno.test("a beforeCall that throws refuses the call, and afterCall sees the refusal", async () => {
  await withPlugins({ plugins: [plugin("observer_plugin")] }, async ({ client, observed }) => {
    const res = await client.callTool({ name: "echo_note", arguments: { note: "forbidden" } });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "Refused by plugin 'observer': notes may not say that");
    const after = (await observed()).at(-1)!;
    assertEquals(after.decision, {
      allowed: false,
      code: "PLUGIN",
      reason: "Refused by plugin 'observer': notes may not say that",
    });
  });
});

Deno.test("read-only mode hides and refuses mutating tools, built-in and plugin, and sends nothing", async () => {
  await withPlugins({ plugins: [plugin("observer_plugin")], readOnly: true }, async ({ client, backend, observed }) => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const hidden of ["cancel_workflow", "resume_workflow", "fork_workflow", "wipe_notes"]) {
      assert(!names.includes(hidden), `${hidden} is not listed`);
    }
    assert(names.includes("list_workflows") && names.includes("echo_note"));
    for (
      const [name, args] of [
        ["cancel_workflow", { application_name: "shop", workflow_id: "wf-1" }],
        ["resume_workflow", { application_name: "shop", workflow_id: "wf-1" }],
        ["fork_workflow", { application_name: "shop", workflow_id: "wf-1", start_step: 0 }],
        ["wipe_notes", {}],
      ] as const
    ) {
      const res = await client.callTool({ name, arguments: args });
      assertEquals(res.isError, true, name);
      assertStringIncludes(textOf(res), "disabled in read-only mode");
    }
    assertEquals(backend.mutations, []);
    const refusals = (await observed()).filter((e) => e.hook === "after");
    assertEquals(refusals.length, 4);
    for (const r of refusals) assertEquals((r.decision as Record<string, unknown>).code, "READ_ONLY");
    assert(!(await observed()).some((e) => e.hook === "before"), "refused calls never reach beforeCall");
  });
});

Deno.test("--tools and --exclude-tools choose what is listed and callable", async () => {
  await withPlugins({ tools: ["list_*", "get_*"], excludeTools: ["list_executors"] }, async ({ client }) => {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assertEquals(names, [
      "get_queue",
      "get_schedule",
      "get_step_aggregates",
      "get_workflow",
      "get_workflow_aggregates",
      "get_workflow_events",
      "get_workflow_notifications",
      "get_workflow_streams",
      "list_application_versions",
      "list_applications",
      "list_queues",
      "list_schedules",
      "list_steps",
      "list_workflows",
    ]);
    const res = await client.callTool({ name: "list_executors", arguments: { application_name: "shop" } });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "--exclude-tools");
    const cancel = await client.callTool({
      name: "cancel_workflow",
      arguments: { application_name: "s", workflow_id: "w" },
    });
    assertStringIncludes(textOf(cancel), "not enabled on this server");
  });
});

Deno.test("a plugin that throws turns that call into an error; the server keeps serving", async () => {
  const logs: string[] = [];
  await withPlugins({ plugins: [plugin("throwing_plugin")] }, async ({ client }) => {
    const res = await client.callTool({ name: "list_applications", arguments: {} });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "Plugin 'thrower' failed while processing the result of list_applications");
    assert(!textOf(res).includes("shop"), "the untransformed result is withheld");
    const ok = await client.callTool({ name: "list_workflows", arguments: { application_name: "shop" } });
    assertEquals(ok.isError, undefined);
    assert(logs.some((l) => l.includes("kaboom")));
  }, { log: (l) => logs.push(l) });
});

Deno.test("a plugin that fails to load stops start-up with its name and the cause", async () => {
  const err = await assertRejects(
    () => createServer({ backend: new StaticBackend(), config: { plugins: [plugin("broken_plugin")] }, log: () => {} }),
    PluginLoadError,
  );
  assertStringIncludes(err.message, "broken_plugin.ts");
  assertStringIncludes(err.message, "missing option 'endpoint'");
  const missing = await assertRejects(
    () => createServer({ backend: new StaticBackend(), config: { plugins: ["./no/such/plugin.ts"] }, log: () => {} }),
    PluginLoadError,
  );
  assertStringIncludes(missing.message, "./no/such/plugin.ts");
  const dup = await assertRejects(
    () =>
      createServer({
        backend: new StaticBackend(),
        config: { plugins: [plugin("observer_plugin")] },
        plugins: [{ name: "dup", tools: [{ ...getWorkflow }] }],
        log: () => {},
      }),
    PluginLoadError,
  );
  assertStringIncludes(dup.message, "get_workflow");
});

Deno.test("the command line stops with status 1 and names a plugin that fails to load", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../mod.ts", import.meta.url).pathname, "--plugin", plugin("broken_plugin")],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 1);
  assertEquals(new TextDecoder().decode(out.stdout), "");
  const stderr = new TextDecoder().decode(out.stderr);
  assertStringIncludes(stderr, "Could not load plugin");
  assertStringIncludes(stderr, "missing option 'endpoint'");
});

Deno.test("the README's plugin example, as written, loads in the command-line server and answers", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const block = readme.split("## Plugins")[1]?.match(/```ts\n([\s\S]*?)```/)?.[1] ?? "";
  assert(block.includes('from "jsr:@x/dbos-mcp"'), "the README's Plugins section has the example");
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-readme-plugin-" });
  try {
    // Only the package's specifier changes: `jsr:` does not resolve here, so it is the package's entry file.
    const entry = new URL("../mod.ts", import.meta.url).href;
    const file = join(dir, "team_notes.ts");
    await Deno.writeTextFile(file, block.replaceAll('"jsr:@x/dbos-mcp"', JSON.stringify(entry)));
    const config = join(dir, "config.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ plugins: [file], "plugin-options": { [file]: { oncall: "ana" } }, home: dir }),
    );
    // The example's `npm:zod@4` is the project's zod: a copy of the lock file says so, so nothing is fetched.
    const lock = JSON.parse(await Deno.readTextFile(new URL("../deno.lock", import.meta.url)));
    const zod = Object.entries(lock.specifiers as Record<string, string>).find(([k]) => k.startsWith("npm:zod@"));
    assert(zod, "the lock file pins zod");
    lock.specifiers["npm:zod@4"] = zod[1];
    const lockFile = join(dir, "deno.lock");
    await Deno.writeTextFile(lockFile, JSON.stringify(lock));
    await using server = await spawnServer({
      flags: ["-A", "--no-prompt", "--cached-only", `--lock=${lockFile}`],
      args: ["--config", config],
    });
    const { tools } = await server.client.listTools();
    assert(tools.some((t) => t.name === "team_oncall"), server.stderr());
    const res = await server.client.callTool({ name: "team_oncall", arguments: {} });
    assertEquals(textOf(res), "On call: ana");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
