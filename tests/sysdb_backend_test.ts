// The system-database backend in-process against a real PostgreSQL, with
// DBOS schemas made by the DBOS SDK's own migration and workflows seeded in
// the SDK's row format: read-only connections, the statement timeout, the
// pool size, a database shared by several applications, a custom schema,
// an empty database. Each test uses its own cluster.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { createDbosSchema, seedWorkflowsSql } from "./fixtures/dbos_schema.ts";
import { CLIENT_SCHEMA_VERSION, SysdbBackend, SystemDatabaseError } from "../src/backends/sysdb/backend.ts";
import { SystemDatabase } from "../src/backends/sysdb/_database.ts";
import { targetsFromConfig } from "../src/backends/sysdb/_targets.ts";
import { DEFAULTS } from "../src/config/mod.ts";
import { NotFoundError } from "../src/core/errors.ts";
import { SecretSet } from "../src/core/secrets.ts";
import pg from "pg";

type Config = ConstructorParameters<typeof SysdbBackend>[0];

function config(over: Partial<Config>): Config {
  return {
    databaseUrl: undefined,
    appName: undefined,
    apps: [],
    schema: DEFAULTS.schema,
    poolSize: DEFAULTS.poolSize,
    statementTimeoutMs: DEFAULTS.statementTimeoutMs,
    ...over,
  };
}

async function seededDatabase(
  pgc: Awaited<ReturnType<typeof startPostgres>>,
  db: string,
  seeds: { appName: string; idPrefix: string; count: number }[],
  schema = "dbos",
): Promise<string> {
  const url = pgc.url(db);
  await createDbosSchema(url, schema);
  for (const s of seeds) await pgc.query(seedWorkflowsSql({ ...s, schema }), db);
  return url;
}

Deno.test("a read-only backend's own connections refuse writes with SQLSTATE 25006, and reads still work", async () => {
  await using pgc = await startPostgres();
  const url = await seededDatabase(pgc, "app_dbos_sys", [{ appName: "app", idPrefix: "wf-", count: 20 }]);
  const log: string[] = [];
  const backend = new SysdbBackend(config({ apps: [{ name: "app", url }] }), {
    readOnly: true,
    log: (m) => log.push(m),
  });
  const [target] = targetsFromConfig(config({ apps: [{ name: "app", url }] }));
  const db = new SystemDatabase(target, {
    schema: "dbos",
    poolSize: 1,
    statementTimeoutMs: 5_000,
    connectTimeoutMs: 5_000,
    readOnly: true,
    log: () => {},
    secrets: new SecretSet(),
    retryBudgetMs: 1_000,
  });
  try {
    assertEquals((await backend.listWorkflows("app", { limit: 5 })).length, 5);
    const err = await assertRejects(() => backend.cancelWorkflow("app", "wf-00000001"), SystemDatabaseError);
    assertEquals(err.sqlState, "25006");
    assertStringIncludes(err.message, "read-only");
    assertEquals((await backend.getWorkflow("app", "wf-00000001")).status, "SUCCESS", "nothing changed");
    const direct = await assertRejects(() => db.pool().query("CREATE TABLE dbos.intruder (a int)"));
    assertEquals((direct as { code?: string }).code, "25006");
    const { rows } = await db.pool().query("SHOW default_transaction_read_only");
    assertEquals(rows[0].default_transaction_read_only, "on");
  } finally {
    await backend.close();
    await db.close();
  }
});

Deno.test("a query that outlasts --statement-timeout is cut off and reported as a timeout", async () => {
  await using pgc = await startPostgres();
  const url = await seededDatabase(pgc, "app_dbos_sys", [{ appName: "app", idPrefix: "wf-", count: 20 }]);
  const backend = new SysdbBackend(config({ apps: [{ name: "app", url }], statementTimeoutMs: 300 }), {
    readOnly: false,
    log: () => {},
  });
  // Another session holds a lock that every read of workflow_status waits for.
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  try {
    assertEquals((await backend.listApplications())[0].status, "AVAILABLE");
    await locker.query("BEGIN; LOCK TABLE dbos.workflow_status IN ACCESS EXCLUSIVE MODE");
    const started = Date.now();
    const err = await assertRejects(() => backend.listWorkflows("app", { status: ["ERROR"] }), SystemDatabaseError);
    assertEquals(err.code, "TIMEOUT");
    assertStringIncludes(err.message, "did not answer within 300 ms");
    assertStringIncludes(err.hint!, "--statement-timeout");
    assert(Date.now() - started < 5_000, "the timeout, not the lock, ended the call");
    await locker.query("ROLLBACK");
    assertEquals((await backend.listWorkflows("app", { status: ["SUCCESS"], limit: 50 })).length, 20);
  } finally {
    await locker.end();
    await backend.close();
  }
});

Deno.test("the backend never opens more connections than --pool-size, however many calls run at once", async () => {
  await using pgc = await startPostgres();
  const url = await seededDatabase(pgc, "app_dbos_sys", [{ appName: "app", idPrefix: "wf-", count: 200 }]);
  const backend = new SysdbBackend(config({ apps: [{ name: "app", url }], poolSize: 2 }), {
    readOnly: false,
    log: () => {},
  });
  try {
    const calls = Array.from(
      { length: 12 },
      (_, i) =>
        i % 3 === 0
          ? backend.listWorkflows("app", { limit: 50, offset: i * 5, loadInput: true })
          : i % 3 === 1
          ? backend.getWorkflow("app", `wf-0000000${i % 10}`)
          : backend.listSteps("app", `wf-0000001${i % 10}`),
    );
    await Promise.all(calls);
    const open = Number(
      await pgc.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbos-mcp'", "app_dbos_sys"),
    );
    assert(open >= 1 && open <= 2, `${open} connections`);
  } finally {
    await backend.close();
  }
});

Deno.test("a database shared by several applications is split by the names it records", async (t) => {
  await using pgc = await startPostgres();
  const url = await seededDatabase(pgc, "shared_dbos_sys", [
    { appName: "alpha", idPrefix: "a-", count: 30 },
    { appName: "beta", idPrefix: "b-", count: 20 },
  ]);
  const backend = new SysdbBackend(config({ databaseUrl: url }), { readOnly: false, log: () => {} });
  const whole = new SysdbBackend(config({ databaseUrl: url, appName: "everything" }), {
    readOnly: false,
    log: () => {},
  });
  try {
    await t.step("list_applications shows each recorded name", async () => {
      const apps = await backend.listApplications();
      assertEquals(apps.map((a) => [a.name, a.status]), [["alpha", "AVAILABLE"], ["beta", "AVAILABLE"]]);
      assertEquals(apps[0].schemaVersion, String(CLIENT_SCHEMA_VERSION));
    });
    await t.step("each application lists only its own workflows", async () => {
      const alpha = await backend.listWorkflows("alpha", { limit: 500 });
      assertEquals(alpha.length, 30);
      assert(alpha.every((w) => String(w.workflowId).startsWith("a-")));
      assertEquals((await backend.listWorkflows("beta", { limit: 500 })).length, 20);
      const executors = await backend.listExecutors("beta");
      // One row per executor and application version it ran.
      assertEquals([...new Set(executors.map((e) => e.executorId))].sort(), [
        "executor-0",
        "executor-1",
        "executor-2",
        "executor-3",
      ]);
      assertEquals(new Set(executors.map((e) => e.appVersion)), new Set(["beta-v1", "beta-v2", "beta-v3"]));
      assertEquals(executors.reduce((n, e) => n + Number(e.pendingWorkflows), 0), 0);
    });
    await t.step("another application's workflow is not found, and nothing is done to it", async () => {
      await assertRejects(() => backend.getWorkflow("alpha", "b-00000001"), NotFoundError, "No workflow 'b-00000001'");
      await assertRejects(() => backend.listSteps("alpha", "b-00000001"), NotFoundError);
      await assertRejects(() => backend.cancelWorkflow("alpha", "b-00000002"), NotFoundError, "nothing was cancelled");
      assertEquals((await backend.getWorkflow("beta", "b-00000002")).status, "SUCCESS");
      assertEquals((await backend.listSteps("beta", "b-00000002")).map((s) => s.stepId), [0, 1, 2]);
    });
    await t.step("an unknown name is refused with the names there are", async () => {
      await assertRejects(() => backend.listWorkflows("gamma", {}), NotFoundError, "'alpha', 'beta'");
    });
    await t.step("a name given with --app-name serves the whole database", async () => {
      assertEquals((await whole.listApplications()).map((a) => a.name), ["everything"]);
      assertEquals((await whole.listWorkflows("everything", { limit: 500 })).length, 50);
    });
  } finally {
    await backend.close();
    await whole.close();
  }
});

Deno.test("a custom --schema is read, and an empty database is named after itself", async () => {
  await using pgc = await startPostgres();
  const custom = await seededDatabase(pgc, "custom_db", [{ appName: "c", idPrefix: "c-", count: 10 }], "my_dbos");
  const empty = pgc.url("orders_dbos_sys");
  await createDbosSchema(empty);
  const backend = new SysdbBackend(config({ apps: [{ name: "custom", url: custom }], schema: "my_dbos" }), {
    readOnly: false,
    log: () => {},
  });
  const fresh = new SysdbBackend(config({ databaseUrl: empty }), { readOnly: false, log: () => {} });
  try {
    const [app] = await backend.listApplications();
    assertEquals([app.status, app.schema], ["AVAILABLE", "my_dbos"]);
    assertEquals((await backend.listWorkflows("custom", { workflowIdPrefix: ["c-0000000"] })).length, 10);
    assertEquals((await fresh.listApplications()).map((a) => [a.name, a.status]), [[
      "orders",
      "AVAILABLE",
    ]]);
    assertEquals(await fresh.listWorkflows("orders", {}), []);
    assertEquals(await fresh.listExecutors("orders"), []);
  } finally {
    await backend.close();
    await fresh.close();
  }
});

Deno.test("workflow_id_prefix matches '_' and '%' literally, not as LIKE wildcards", async () => {
  await using pgc = await startPostgres();
  const url = await seededDatabase(pgc, "app_dbos_sys", [
    { appName: "app", idPrefix: "job_", count: 3 },
    { appName: "app", idPrefix: "jobX", count: 4 },
    { appName: "app", idPrefix: "jo%b", count: 2 },
    { appName: "app", idPrefix: "joZZb", count: 5 },
  ]);
  const backend = new SysdbBackend(config({ apps: [{ name: "app", url }] }), { readOnly: true, log: () => {} });
  try {
    const ids = async (prefix: string) =>
      (await backend.listWorkflows("app", { workflowIdPrefix: [prefix], limit: 100 })).map((w) => w.workflowId);
    assertEquals((await ids("job_")).length, 3);
    assert((await ids("job_")).every((id) => id.startsWith("job_")));
    assertEquals((await ids("jo%b")).length, 2);
    assertEquals((await ids("jo")).length, 14, "a plain prefix still matches all four");
  } finally {
    await backend.close();
  }
});
