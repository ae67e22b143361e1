// End to end in system-database mode, with real parts: the server spawned
// over stdio by the MCP SDK's client under exactly the README's flags for
// this mode (network to the database's host:port only, env DBOS_* and PG*,
// no files), a throwaway PostgreSQL, and the sample DBOS application (SDK
// 5.2.11, no Conductor) writing the workflows that the server reads and
// steers through the DBOS client of another SDK version.
import { assert, assertEquals, assertMatch, assertNotEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { hostPortsOf, spawnServer, sysdbModeFlags } from "./_server_process.ts";
import { okCaller, recorder, type Row, runWorkflowScenarios } from "./_scenarios.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { FAILING_MESSAGE, startSampleApp } from "./fixtures/sample_app_process.ts";

/** The npm version a `deno.json` import names, e.g. `5.3.0`. */
async function importedVersion(key: string): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const spec = String(config.imports[key]);
  return spec.slice(spec.lastIndexOf("@") + 1);
}

Deno.test("end to end over stdio in system-database mode: the shared scenarios, no Conductor, no login", async (t) => {
  await using pg = await startPostgres();
  const controlDir = await Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" });
  const url = pg.url("sample_app_dbos_sys");
  await using sample = await startSampleApp({ databaseUrl: url, controlDir });
  // The URL (with its password) comes from the environment, as a user's MCP config would pass it.
  const server = await spawnServer({
    flags: sysdbModeFlags({ hostPorts: hostPortsOf([url]) }),
    args: [],
    env: { DBOS_SYSTEM_DATABASE_URL: url },
  });
  const { call, results } = recorder(server);
  const ok = okCaller(call);
  const APP = sample.appName;
  try {
    await t.step("tools/list offers every workflow tool and no login tool", async () => {
      const names = (await server.client.listTools()).tools.map((x) => x.name);
      for (const name of ["list_applications", "list_workflows", "get_workflow", "list_steps", "fork_workflow"]) {
        assert(names.includes(name), `${name} is listed`);
      }
      for (const name of ["login", "login_complete", "logout"]) assert(!names.includes(name), `${name} is not listed`);
    });

    await t.step("list_applications names the app from its database and says where it lives", async () => {
      const out = await ok("list_applications");
      const apps = out.applications as Row[];
      assertEquals(apps.map((a) => a.name), [APP]);
      assertEquals(apps[0].status, "AVAILABLE");
      assertEquals(apps[0].database, `127.0.0.1:${pg.port}/sample_app_dbos_sys`);
      assertEquals(apps[0].schema, "dbos");
      assertMatch(String(apps[0].schemaVersion), /^\d+$/);
    });

    await t.step("list_executors is derived from the workflows and says so", async () => {
      const res = await call("list_executors", { application_name: APP });
      const out = res.structuredContent!;
      const executors = out.executors as Row[];
      assertEquals(executors.map((e) => e.executorId), [sample.executorId]);
      assertEquals(executors[0].appVersion, sample.applicationVersion);
      // wf-long-1, wf-long-2 and wf-serial-blocker are running.
      assertEquals(executors[0].pendingWorkflows, 3);
      assertMatch(String(executors[0].updatedAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assertEquals(executors[0].status, undefined, "no health: only Conductor sees live connections");
      assertStringIncludes(String(out.note), "Derived from the system database");
      assertStringIncludes(textOf(res), "Derived from the system database");
    });

    await t.step("workflows written by another DBOS SDK version than the client's are read correctly", async () => {
      const [client, app] = [
        await importedVersion("@dbos-inc/dbos-sdk"),
        await importedVersion("@dbos-inc/dbos-sdk-app"),
      ];
      assertNotEquals(client, app, "the server's DBOS client and the sample app use different SDK versions");
      const get = async (id: string) =>
        (await ok("get_workflow", { application_name: APP, workflow_id: id })).workflow as Row;
      const p2 = await get(sample.ids.pipeline[1]);
      assertEquals(JSON.parse(String(p2.input)), [{ orderId: "order-2", amount: 20 }]);
      const output = JSON.parse(String(p2.output));
      assertEquals(output.orderId, "order-2");
      assertMatch(output.stored, /^stored order-2:40 at \d+$/);
      const raw = await pg.query(
        `SELECT created_at, updated_at, status, name, executor_id, application_version FROM dbos.workflow_status ` +
          `WHERE workflow_uuid = '${sample.ids.pipeline[1]}'`,
        "sample_app_dbos_sys",
      );
      assertEquals(
        [
          Date.parse(String(p2.createdAt)),
          Date.parse(String(p2.updatedAt)),
          p2.status,
          p2.workflowName,
          p2.executorId,
          p2.appVersion,
        ]
          .join("|"),
        raw,
      );
      const steps = (await ok("list_steps", { application_name: APP, workflow_id: sample.ids.pipeline[1] }))
        .steps as Row[];
      assertEquals(steps.map((s) => s.stepName), ["fetch_data", "transform", "store"]);
      const fetched = JSON.parse(String(steps[0].output));
      assertEquals(JSON.parse(String(steps[1].output)).token, fetched.token);
      assertEquals(output.token, fetched.token);
      const failed = await get(sample.ids.failing[1]);
      assertEquals(failed.error, FAILING_MESSAGE, "the error is its message text");
      const secrets = await get(sample.ids.secrets);
      // (a large input is clipped by the tools, so look at its start only)
      assertStringIncludes(String(secrets.input), '[{"customer":"cust-42"');
    });

    await runWorkflowScenarios(t, { call, app: APP, sample });

    await t.step("the database password appears in no result and not on stderr", () => {
      const everything = JSON.stringify(results) + server.stderr();
      assert(!everything.includes(pg.password), "the password leaked");
    });
  } finally {
    await server.close();
    await sample.stop();
    await Deno.remove(controlDir, { recursive: true });
  }
});

Deno.test("two applications in two databases are served at once, each with its own workflows", async (t) => {
  await using pg = await startPostgres();
  const dirs = [
    await Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" }),
    await Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" }),
  ];
  const [shopUrl, billingUrl] = [pg.url("shop_dbos_sys"), pg.url("billing_dbos_sys")];
  const [shop, billing] = await Promise.all([
    startSampleApp({ databaseUrl: shopUrl, appName: "shop", controlDir: dirs[0] }),
    startSampleApp({ databaseUrl: billingUrl, appName: "billing", appVersion: "billing-v2", controlDir: dirs[1] }),
  ]);
  // "store" labels the shop's database: a configured name need not be the one DBOS records.
  const server = await spawnServer({
    flags: sysdbModeFlags({ hostPorts: hostPortsOf([shopUrl, billingUrl]) }),
    args: ["--app", `store=${shopUrl}`, "--app", `billing=${billingUrl}`, "--pool-size", "1"],
  });
  const { call, results } = recorder(server);
  const ok = okCaller(call);
  const get = async (app: string, id: string) =>
    (await ok("get_workflow", { application_name: app, workflow_id: id })).workflow as Row;
  try {
    await t.step("list_applications shows both, each AVAILABLE on its own database", async () => {
      const apps = (await ok("list_applications")).applications as Row[];
      assertEquals(apps.map((a) => [a.name, a.status, a.database]), [
        ["store", "AVAILABLE", `127.0.0.1:${pg.port}/shop_dbos_sys`],
        ["billing", "AVAILABLE", `127.0.0.1:${pg.port}/billing_dbos_sys`],
      ]);
    });

    await t.step("the same workflow id reads from each application's own database", async () => {
      const [a, b] = [await get("store", "wf-pipeline-1"), await get("billing", "wf-pipeline-1")];
      assertEquals([a.applicationName, b.applicationName], ["shop", "billing"]);
      assertEquals(b.appVersion, "billing-v2");
      assertNotEquals(a.output, b.output, "each ran on its own (random tokens differ)");
      const versions = async (app: string) =>
        ((await ok("list_executors", { application_name: app })).executors as Row[]).map((e) => e.appVersion);
      assertEquals(await versions("billing"), ["billing-v2"]);
      assertEquals(await versions("store"), [shop.applicationVersion]);
    });

    await t.step("a cancel and a fork in one application leave the other untouched", async () => {
      await ok("cancel_workflow", { application_name: "billing", workflow_id: "wf-long-2" });
      assertEquals((await get("billing", "wf-long-2")).status, "CANCELLED");
      assertEquals((await get("store", "wf-long-2")).status, "PENDING");
      const fork = await ok("fork_workflow", {
        application_name: "store",
        workflow_id: "wf-job-2",
        start_step: 0,
        new_workflow_id: "wf-store-fork",
      });
      assertEquals(fork.new_workflow_id, "wf-store-fork");
      const missing = await call("get_workflow", { application_name: "billing", workflow_id: "wf-store-fork" });
      assertEquals(missing.isError, true);
      assertStringIncludes(textOf(missing), "No workflow 'wf-store-fork' in application 'billing'");
    });

    await t.step("an unknown application name lists the configured ones", async () => {
      const res = await call("list_workflows", { application_name: "shop" });
      assertEquals(res.isError, true);
      assertStringIncludes(textOf(res), "'store', 'billing'");
      assert(!JSON.stringify(results).includes(pg.password) && !server.stderr().includes(pg.password));
    });
  } finally {
    await server.close();
    await Promise.all([shop.stop(), billing.stop()]);
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});
