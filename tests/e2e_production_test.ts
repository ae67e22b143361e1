// Production mode end to end, with real parts: the server spawned over stdio
// with --production (read-only + private + redact + required audit) against the
// Conductor emulator relaying to the real DBOS sample app, whose `secrets`
// workflow carries 50+ seeded secrets of 8+ kinds in its input, output, step
// outputs and step errors.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { type Call, recorder } from "./_scenarios.ts";
import { conductorModeFlags, MOD_PATH, type ServerProcess, spawnConductorModeServer } from "./_server_process.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { startWorld } from "./fixtures/world.ts";
import { CONTROL_VALUES, SEEDED_SECRETS, SEEDS } from "./fixtures/sample_secrets.ts";
import { join } from "../src/util/path.ts";

const ORG = "acme";
const APP = "sample-app";

async function verify(path: string): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", `--allow-read=${path}`, MOD_PATH, "audit", "verify", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}

/** Calls every tool that can show the secrets workflow (and its resource); returns all the answers as JSON. */
async function sweepSecretsWorkflow(
  call: Call,
  server: ServerProcess,
  results: unknown[],
  id: string,
): Promise<string> {
  await call("list_workflows", { application_name: APP, workflow_uuids: [id], load_input: true, load_output: true });
  await call("get_workflow", { application_name: APP, workflow_id: id, full: true, include_steps: true });
  await call("get_workflow", { application_name: APP, workflow_id: id });
  await call("list_steps", { application_name: APP, workflow_id: id, full: true });
  await call("summarize_workflows", { application_name: APP, start_time: "1h" });
  await call("workflow_tree", { application_name: APP, workflow_id: id });
  // Reading the input in small parts must not cut a secret in two and show its tail.
  for (let offset = 0; offset < 20_000; offset += 97) {
    const part = await call("get_workflow", {
      application_name: APP,
      workflow_id: id,
      fields: ["input"],
      byte_offset: offset,
    });
    if (!String((part.structuredContent?.workflow as Record<string, unknown>)?.input ?? "")) break;
  }
  const resource = await server.client.readResource({
    uri: `dbos://applications/${APP}/workflows/${encodeURIComponent(id)}`,
  });
  results.push(resource);
  return JSON.stringify(results);
}

/** No seeded secret, nor any 16-character piece of one (a page that starts inside a secret would show its tail). */
function assertNoSecret(everything: string): void {
  const leaked = SEEDED_SECRETS.filter((s) => everything.includes(s));
  assertEquals(leaked.length, 0, `leaked: ${leaked.map((s) => s.slice(0, 12)).join(", ")}`);
  const pieces = SEEDED_SECRETS.filter((s) => s.length >= 20).flatMap((s) =>
    Array.from({ length: s.length - 15 }, (_, i) => s.slice(i, i + 16))
  );
  const fragments = pieces.filter((p) => everything.includes(p));
  assertEquals(fragments.length, 0, `secret fragments leaked: ${fragments.slice(0, 3).join(", ")}`);
}

Deno.test("production mode: read-only at every layer, no secret in any answer or audit record", async (t) => {
  assert(SEEDED_SECRETS.length >= 50, "at least 50 seeded secrets");
  assert(new Set(SEEDS.map((s) => s.kind)).size >= 8, "of at least 8 kinds");
  await using login = await startLoginEmulator({ organization: ORG });
  await using world = await startWorld({
    org: ORG,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    conductor: { onRequest: (_rec, req) => login.usersMe(req) },
  });
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-home-" });
  const logDir = await Deno.makeTempDir({ prefix: "dbos-mcp-audit-" });
  const auditLog = join(logDir, "audit.jsonl");
  const targets = { conductorUrl: world.conductor.baseUrl, loginUrl: login.loginUrl, home };
  const server = await spawnConductorModeServer(targets, {
    args: ["--production", "--audit-log", auditLog, "--login-wait", "10000"],
    flags: (h, hosts) => conductorModeFlags({ hosts, home: h, paths: [logDir] }),
  });
  const { call, results } = recorder(server);
  const id = world.app.ids.secrets;
  try {
    await t.step("log in (login tools are not mutations: production allows them)", async () => {
      await call("login");
      assertEquals((await call("login_complete")).structuredContent?.status, "complete");
    });

    await t.step("tools/list offers no tool that changes workflows", async () => {
      const names = (await server.client.listTools()).tools.map((tool) => tool.name);
      for (const m of ["cancel_workflow", "resume_workflow", "fork_workflow"]) assert(!names.includes(m), m);
      assert(names.includes("list_workflows"));
    });

    await t.step("each mutating tool, called anyway, is refused and nothing reaches Conductor", async () => {
      for (
        const [name, args] of [
          ["cancel_workflow", { application_name: APP, workflow_id: world.app.ids.long[0] }],
          ["resume_workflow", { application_name: APP, workflow_id: world.app.ids.serialWaiting }],
          ["fork_workflow", { application_name: APP, workflow_id: world.app.ids.pipeline[0], start_step: 1 }],
        ] as const
      ) {
        const res = await call(name, args);
        assertEquals(res.isError, true);
        assertStringIncludes(textOf(res), "disabled in read-only mode");
      }
      assertEquals(world.conductor.mutationCount(), 0);
    });

    await t.step("every tool that can show the secrets workflow shows none of its secrets", async () => {
      const everything = await sweepSecretsWorkflow(call, server, results, id);
      assertNoSecret(everything);
      assertStringIncludes(everything, "[REDACTED:", "errors are redacted");
      // Production is private: payloads come back as their type and size (their controls with them).
      const wf = await call("get_workflow", { application_name: APP, workflow_id: id });
      const w = wf.structuredContent?.workflow as Record<string, string>;
      assertMatch(w.input, /^<private: array, \d+ bytes>$/);
      assertMatch(w.output, /^<private: object, \d+ bytes>$/);
      assertStringIncludes(everything, id, "ids survive");
    });

    await t.step("the audit log has a record per call, refusals included, and no secret", async () => {
      const lines = (await Deno.readTextFile(auditLog)).trim().split("\n").map((l) => JSON.parse(l));
      const refused = lines.filter((r) => r.kind === "call" && r.decision?.code === "READ_ONLY");
      assertEquals(refused.map((r) => r.tool).sort(), ["cancel_workflow", "fork_workflow", "resume_workflow"]);
      assert(lines.filter((r) => r.kind === "call").length >= 10);
      const text = JSON.stringify(lines);
      assertEquals(SEEDED_SECRETS.filter((s) => text.includes(s)), []);
      for (const secret of login.allSecrets()) assert(!text.includes(secret), "no token in the audit log");
      assertEquals(((await Deno.stat(auditLog)).mode ?? 0) & 0o777, 0o600);
    });

    await t.step("no token or refresh token reaches any answer or stderr", () => {
      const everything = JSON.stringify(results) + server.stderr();
      for (const secret of login.allSecrets()) assert(!everything.includes(secret));
    });
  } finally {
    await server.close();
  }
  try {
    await t.step("audit verify accepts the log, and names the record after tampering", async () => {
      const ok = await verify(auditLog);
      assertEquals(ok.code, 0, ok.out);
      const lines = (await Deno.readTextFile(auditLog)).split("\n");
      const altered = lines[2].replace(/"tool":"([^"]+)"/, '"tool":"$1_renamed"');
      assert(altered !== lines[2]);
      lines[2] = altered;
      await Deno.writeTextFile(auditLog, lines.join("\n"));
      const bad = await verify(auditLog);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.out, "line 3");
    });
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("the redact plugin alone, on what the real executor renders, hides every seeded secret and keeps every control", async () => {
  await using login = await startLoginEmulator({ organization: ORG });
  await using world = await startWorld({ org: ORG, isValidToken: (tok) => login.isValidAccessToken(tok) });
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-home-" });
  const targets = { conductorUrl: world.conductor.baseUrl, loginUrl: login.loginUrl, home };
  const server = await spawnConductorModeServer(targets, {
    args: ["--plugin", "redact", "--read-only", "--login-wait", "10000"],
    flags: (h, hosts) => conductorModeFlags({ hosts, home: h }),
  });
  const { call, results } = recorder(server);
  try {
    await call("login");
    assertEquals((await call("login_complete")).structuredContent?.status, "complete");
    const everything = await sweepSecretsWorkflow(call, server, results, world.app.ids.secrets);
    assertNoSecret(everything);
    assertStringIncludes(everything, "[REDACTED:");
    const lost = CONTROL_VALUES.filter((v) => !everything.includes(JSON.stringify(v).slice(1, -1)));
    assertEquals(lost, [], "non-secret control values survive");
    assertStringIncludes(everything, world.app.ids.secrets, "ids survive");
  } finally {
    await server.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--production refuses to start without an audit log", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-env=HOME,DBOS_*", MOD_PATH, "--production"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "--production needs an audit log");
});
