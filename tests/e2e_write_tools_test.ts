// End to end, the mutating tools of issue 15 in both backends with real
// parts: a throwaway PostgreSQL and the sample DBOS application with its
// write extras. System-database mode: the server spawned over stdio with
// the README's flags for that mode. Conductor mode: an in-process server
// whose ConductorBackend talks to the relaying Conductor emulator, to which
// the app's executor is connected; there a second application receives a
// workflow exported from the first.
import { assertEquals } from "./_assert.ts";
import { connectInProcess } from "./_mcp.ts";
import { hostPortsOf, spawnServer, sysdbModeFlags } from "./_server_process.ts";
import { okCaller, recorder, type Row } from "./_scenarios.ts";
import { runWriteScenarios } from "./_scenarios_writes.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { startSampleApp } from "./fixtures/sample_app_process.ts";
import { startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { ConductorBackend } from "../src/backends/conductor/client.ts";
import type { TokenSource } from "../src/backends/conductor/token_port.ts";

const WRITES_ENV = { SAMPLE_WRITES: "1" };

Deno.test("the mutating tools end to end in system-database mode", async (t) => {
  await using pg = await startPostgres();
  const controlDir = await Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" });
  const url = pg.url("writes_dbos_sys");
  await using sample = await startSampleApp({ databaseUrl: url, controlDir, env: WRITES_ENV });
  const server = await spawnServer({
    flags: sysdbModeFlags({ hostPorts: hostPortsOf([url]) }),
    args: [],
    env: { DBOS_SYSTEM_DATABASE_URL: url },
  });
  try {
    const { call } = recorder(server);
    await t.step("import_workflow is not offered: the DBOS client has no import", async () => {
      const names = (await server.client.listTools()).tools.map((x) => x.name);
      assertEquals(names.includes("import_workflow"), false);
      assertEquals(names.includes("fork_from_failure"), true);
    });
    await runWriteScenarios(t, { call, app: sample.appName, sample });
  } finally {
    await server.close();
    await sample.stop();
    await Deno.remove(controlDir, { recursive: true });
  }
});

Deno.test("the mutating tools end to end in Conductor mode, and export from one application imported into another", async (t) => {
  const ORG = "acme";
  const TOKEN = "tok-writes";
  const KEY = `key-${crypto.randomUUID()}`;
  await using pg = await startPostgres();
  const controlDir = await Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" });
  const conductor = await startConductorEmulator({ org: ORG, isValidToken: (x) => x === TOKEN, conductorKey: KEY });
  const apps = { conductorUrl: conductor.executorUrl, conductorKey: KEY, controlDir };
  const sample = await startSampleApp({ ...apps, databaseUrl: pg.url("writes_dbos_sys"), env: WRITES_ENV });
  const other = await startSampleApp({
    ...apps,
    databaseUrl: pg.url("other_dbos_sys"),
    appName: "other-app",
    scenario: false,
  });
  const tokens: TokenSource = {
    getAccess: () => Promise.resolve({ token: TOKEN, organization: ORG }),
    refreshAfterRejection: () => Promise.resolve(undefined),
  } as unknown as TokenSource;
  const backend = new ConductorBackend({ baseUrl: conductor.baseUrl, tokens, timeoutMs: 30_000 });
  const mcp = await connectInProcess({ backend, log: () => {} });
  try {
    await conductor.waitForExecutors(sample.appName, 1);
    await conductor.waitForExecutors("other-app", 1);
    const { call } = recorder(mcp);
    const ok = okCaller(call);

    await t.step("export from one application and import into another yields the same steps", async () => {
      const id = sample.ids.pipeline[0];
      const res = await fetch(
        `${conductor.baseUrl}/v2/orgs/${ORG}/apps/${sample.appName}/workflows/${id}/export`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
      assertEquals(res.status, 200);
      const { serializedWorkflow } = await res.json();
      const missing = await call("get_workflow", { application_name: "other-app", workflow_id: id });
      assertEquals(missing.isError, true, "not in the other application yet");
      const out = await ok("import_workflow", {
        application_name: "other-app",
        serialized_workflow: serializedWorkflow,
      });
      assertEquals(out.imported_workflow_ids, [id]);
      const steps = async (app: string) =>
        ((await ok("list_steps", { application_name: app, workflow_id: id })).steps as Row[])
          .map((s) => `${s.stepId} ${s.stepName} ${s.output ?? ""} ${s.error ?? ""}`);
      const source = await steps(sample.appName);
      assertEquals(source.length, 3);
      assertEquals(await steps("other-app"), source);
      const w = (await ok("get_workflow", { application_name: "other-app", workflow_id: id })).workflow as Row;
      assertEquals(w.status, "SUCCESS");
    });

    await runWriteScenarios(t, { call, app: sample.appName, sample });
  } finally {
    await mcp.close();
    await other.stop();
    await sample.stop();
    await conductor.close();
    await Deno.remove(controlDir, { recursive: true });
  }
});
