// Production mode in system-database mode, end to end: the server spawned
// over stdio with --production under the system-database flags (plus the
// audit log's folder), against a real PostgreSQL written by the real sample
// DBOS application. Read-only at every layer, no secret in any answer or
// audit record.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { hostPortsOf, spawnServer, sysdbModeFlags } from "./_server_process.ts";
import { recorder } from "./_scenarios.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { startSampleApp } from "./fixtures/sample_app_process.ts";
import { SEEDED_SECRETS } from "./fixtures/sample_secrets.ts";
import { join } from "../src/util/path.ts";

Deno.test("production in system-database mode: nothing mutates, nothing leaks, every call audited", async (t) => {
  await using pg = await startPostgres();
  const controlDir = await Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" });
  const logDir = await Deno.makeTempDir({ prefix: "dbos-mcp-audit-" });
  const auditLog = join(logDir, "audit.jsonl");
  const url = pg.url("sample_app_dbos_sys");
  await using sample = await startSampleApp({ databaseUrl: url, controlDir });
  const server = await spawnServer({
    flags: [...sysdbModeFlags({ hostPorts: hostPortsOf([url]) }), `--allow-read=${logDir}`, `--allow-write=${logDir}`],
    args: ["--production", "--audit-log", auditLog],
    env: { DBOS_SYSTEM_DATABASE_URL: url },
  });
  const { call, results } = recorder(server);
  const APP = sample.appName;
  const long = sample.ids.long[1];
  try {
    await t.step("no mutating tool is listed, and each one called anyway is refused", async () => {
      const names = (await server.client.listTools()).tools.map((x) => x.name);
      for (const m of ["cancel_workflow", "resume_workflow", "fork_workflow"]) assert(!names.includes(m), m);
      for (
        const [name, args] of [
          ["cancel_workflow", { application_name: APP, workflow_id: long }],
          ["resume_workflow", { application_name: APP, workflow_id: sample.ids.serialWaiting }],
          ["fork_workflow", { application_name: APP, workflow_id: sample.ids.pipeline[0], start_step: 1 }],
        ] as const
      ) {
        const res = await call(name, args);
        assertEquals(res.isError, true);
        assertStringIncludes(textOf(res), "disabled in read-only mode");
      }
      const wf = await call("get_workflow", { application_name: APP, workflow_id: long });
      assertEquals((wf.structuredContent?.workflow as Record<string, unknown>).status, "PENDING");
      const forks = await call("list_workflows", { application_name: APP, forked_from: sample.ids.pipeline[0] });
      assertEquals(forks.structuredContent?.count, 0);
    });

    await t.step("the secrets workflow shows none of its secrets, in any tool", async () => {
      const id = sample.ids.secrets;
      await call("get_workflow", { application_name: APP, workflow_id: id, full: true, include_steps: true });
      await call("list_steps", { application_name: APP, workflow_id: id, full: true });
      await call("list_workflows", {
        application_name: APP,
        workflow_uuids: [id],
        load_input: true,
        load_output: true,
      });
      const everything = JSON.stringify(results);
      assertEquals(SEEDED_SECRETS.filter((s) => everything.includes(s)), []);
      assertStringIncludes(everything, "[REDACTED:");
      assert(!everything.includes(pg.password), "no database password");
    });

    await t.step("the audit log records every call, refusals included, without secrets", async () => {
      const lines = (await Deno.readTextFile(auditLog)).trim().split("\n").map((l) => JSON.parse(l));
      const calls = lines.filter((r) => r.kind === "call");
      assertEquals(calls.length, results.length);
      assertEquals(calls.filter((r) => r.decision?.code === "READ_ONLY").length, 3);
      const text = JSON.stringify(lines);
      assertEquals(SEEDED_SECRETS.filter((s) => text.includes(s)), []);
      assert(!text.includes(pg.password));
    });
  } finally {
    await server.close();
    await Deno.remove(controlDir, { recursive: true });
    await Deno.remove(logDir, { recursive: true });
  }
});
