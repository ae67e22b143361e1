// Failure paths of system-database mode, end to end over stdio under the
// README's flags: a database that is down (then back, then gone again under
// open connections), a wrong password, a database without the DBOS schema,
// a schema too old for the client, a database that does not exist. Each
// answers a clear isError result naming the cause, list_applications shows
// each UNAVAILABLE with its reason, and the server keeps serving and
// recovers without a restart.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { hostPortsOf, spawnServer, SYSDB_STRICT_ENV, sysdbModeFlags } from "./_server_process.ts";
import { okCaller, recorder, type Row } from "./_scenarios.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";
import { createDbosSchema, seedWorkflowsSql } from "./fixtures/dbos_schema.ts";

const WRONG_PASSWORD = "not-the-password-Zq81x";

Deno.test("system-database failures are clear errors, the server keeps serving and recovers", async (t) => {
  await using pg = await startPostgres();
  await createDbosSchema(pg.url("app_dbos_sys"));
  await pg.query(seedWorkflowsSql({ count: 100, appName: "app" }), "app_dbos_sys");
  await pg.createDatabase("empty_db");
  await pg.createDatabase("old_db");
  await pg.query(
    "CREATE SCHEMA dbos; CREATE TABLE dbos.workflow_status (workflow_uuid text PRIMARY KEY); " +
      "CREATE TABLE dbos.dbos_migrations (version bigint PRIMARY KEY); INSERT INTO dbos.dbos_migrations VALUES (50);",
    "old_db",
  );
  await using proxy = await startTcpProxy({ targetPort: pg.port });
  proxy.down();

  const flakyUrl = pg.url("app_dbos_sys").replace(`:${pg.port}/`, `:${proxy.port}/`);
  const badUrl = pg.url("app_dbos_sys").replace(encodeURIComponent(pg.password), WRONG_PASSWORD);
  const urls = {
    flaky: flakyUrl,
    badpw: badUrl,
    empty: pg.url("empty_db"),
    old: pg.url("old_db"),
    nodb: pg.url("no_such_db"),
    nopw: `postgres://postgres@127.0.0.1:${pg.port}/app_dbos_sys`,
  };
  const server = await spawnServer({
    flags: sysdbModeFlags({ hostPorts: hostPortsOf(Object.values(urls)) }),
    args: Object.entries(urls).flatMap(([name, url]) => ["--app", `${name}=${url}`]),
  });
  const { call, results } = recorder(server);
  const ok = okCaller(call);
  const fails = async (app: string, tool = "list_workflows", args: Record<string, unknown> = {}) => {
    const res = await call(tool, { application_name: app, ...args });
    assertEquals(res.isError, true, `${tool} on ${app} fails`);
    const text = textOf(res);
    assert(!/\n\s+at /.test(text), "no stack trace");
    return text;
  };
  const statusOf = async (): Promise<Record<string, Row>> =>
    Object.fromEntries(((await ok("list_applications")).applications as Row[]).map((a) => [a.name, a]));

  try {
    await t.step("the server starts and lists its tools while a database is down", async () => {
      const names = (await server.client.listTools()).tools.map((x) => x.name);
      assert(names.includes("list_workflows"));
    });

    await t.step("list_applications shows each broken database UNAVAILABLE with its reason", async () => {
      const apps = await statusOf();
      assertEquals(Object.keys(apps), ["flaky", "badpw", "empty", "old", "nodb", "nopw"]);
      for (const a of Object.values(apps)) assertEquals(a.status, "UNAVAILABLE", String(a.name));
      assertEquals(apps.flaky.reason, "unreachable: connection refused");
      assertEquals(apps.badpw.reason, "authentication failed for user 'postgres'");
      assertEquals(apps.empty.reason, "no DBOS schema 'dbos' in database 'empty_db'");
      assertStringIncludes(String(apps.old.reason), "schema version 50, this client needs");
      assertEquals(apps.old.schemaVersion, "50");
      assertEquals(apps.nodb.reason, "database 'no_such_db' does not exist");
      assertStringIncludes(String(apps.nopw.reason), "PostgreSQL asks for a password");
    });

    await t.step("each workflow call answers an error that names the cause and what to do", async () => {
      const down = await fails("flaky");
      assertStringIncludes(down, `is unreachable (connection refused)`);
      assertStringIncludes(down, `127.0.0.1:${proxy.port}/app_dbos_sys`);
      assertStringIncludes(down, "the next call tries again");
      const auth = await fails("badpw", "get_workflow", { workflow_id: "wf-00000001" });
      assertStringIncludes(auth, "PostgreSQL refused the login of user 'postgres'");
      assertStringIncludes(auth, "Fix the user or password");
      const empty = await fails("empty", "list_steps", { workflow_id: "x" });
      assertStringIncludes(empty, "has no DBOS schema 'dbos'");
      assertStringIncludes(empty, "--schema");
      const old = await fails("old", "list_executors");
      assertStringIncludes(old, "is at schema version 50 (in dbos.dbos_migrations)");
      assertStringIncludes(old, "npx -y -p @dbos-inc/dbos-sdk@5.3.0 dbos schema <url>");
      const nodb = await fails("nodb", "cancel_workflow", { workflow_id: "x" });
      assertStringIncludes(nodb, "the database 'no_such_db'");
      assert(!nodb.includes("nothing was cancelled"), "a failed call is not reported as a no-op");
      const nopw = await fails("nopw");
      assertStringIncludes(nopw, "the URL has none");
      assertStringIncludes(nopw, "--allow-read=$HOME/.pgpass");
    });

    await t.step("once the database is back, the same calls succeed without a restart", async () => {
      await proxy.up();
      const out = await ok("list_workflows", { application_name: "flaky", status: "ERROR" });
      assertEquals(out.count, 8, "of 100 seeded workflows, those with n % 100 in 85..92 are ERROR");
      assertEquals((await statusOf()).flaky.status, "AVAILABLE");
    });

    await t.step("a database that goes away under open connections fails clearly, then recovers", async () => {
      proxy.down();
      const text = await fails("flaky", "get_workflow", { workflow_id: "wf-00000002" });
      assertStringIncludes(text, "is unreachable");
      await proxy.up();
      const wf = (await ok("get_workflow", { application_name: "flaky", workflow_id: "wf-00000002" })).workflow as Row;
      assertEquals(wf.status, "SUCCESS");
    });

    await t.step("a URL without a password takes it from PGPASSFILE once the server may read that file", async () => {
      const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-pgpass-" });
      const file = `${dir}/pgpass`;
      await Deno.writeTextFile(file, `# comment\n127.0.0.1:${pg.port}:app_dbos_sys:postgres:${pg.password}\n`, {
        mode: 0o600,
      });
      const other = await spawnServer({
        flags: [...sysdbModeFlags({ hostPorts: hostPortsOf([urls.nopw]) }), `--allow-read=${file}`],
        args: ["--database-url", urls.nopw, "--app-name", "nopw"],
        env: { PGPASSFILE: file },
      });
      try {
        const res = await other.client.callTool({ name: "list_workflows", arguments: { application_name: "nopw" } });
        assert(!res.isError, textOf(res));
        assertEquals((res.structuredContent as Row).count, 20);
        assert(!JSON.stringify(res).includes(pg.password) && !other.stderr().includes(pg.password));
      } finally {
        await other.close();
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step(
      "a withheld grant is named in the error, and list_applications says which flag is missing",
      async () => {
        const url = pg.url("app_dbos_sys");
        const cases: [string[], string][] = [
          [
            ["--no-prompt", `--allow-net=127.0.0.1:${proxy.port}`, "--allow-env=DBOS_*,PG*"],
            `--allow-net=127.0.0.1:${pg.port}`,
          ],
          [["--no-prompt", `--allow-net=127.0.0.1:${pg.port}`, "--allow-env=DBOS_*"], "--allow-env=PG"],
        ];
        for (const [flags, named] of cases) {
          const other = await spawnServer({ flags, args: ["--database-url", url, "--app-name", "app"] });
          try {
            const res = await other.client.callTool({ name: "list_workflows", arguments: { application_name: "app" } });
            assertEquals(res.isError, true);
            assertStringIncludes(textOf(res), named);
            assert(!/\n\s+at /.test(textOf(res)), "no stack trace");
            const apps = await other.client.callTool({ name: "list_applications", arguments: {} });
            const listed = (apps.structuredContent as Row | undefined)?.applications as Row[] | undefined;
            assertStringIncludes(listed ? String(listed[0].reason) : textOf(apps), named);
            assert(!JSON.stringify([res, apps]).includes(pg.password) && !other.stderr().includes(pg.password));
          } finally {
            await other.close();
          }
        }
      },
    );

    await t.step("the strict list of environment variables is enough for every tool", async () => {
      const url = pg.url("app_dbos_sys");
      const other = await spawnServer({
        flags: ["--no-prompt", `--allow-net=127.0.0.1:${pg.port}`, `--allow-env=${SYSDB_STRICT_ENV.join(",")}`],
        args: ["--database-url", url, "--app-name", "app"],
      });
      try {
        const calls: [string, Record<string, unknown>][] = [
          ["list_applications", {}],
          ["list_workflows", { load_input: true, load_output: true }],
          ["get_workflow", { workflow_id: "wf-00000001" }],
          ["list_steps", { workflow_id: "wf-00000001" }],
          ["list_executors", {}],
          ["cancel_workflow", { workflow_id: "wf-00000097" }],
          ["resume_workflow", { workflow_id: "wf-00000097" }],
          ["fork_workflow", { workflow_id: "wf-00000001", start_step: 1 }],
        ];
        for (const [name, args] of calls) {
          const res = await other.client.callTool({
            name,
            arguments: name === "list_applications" ? args : { application_name: "app", ...args },
          });
          assert(!res.isError, `${name}: ${textOf(res)}`);
        }
      } finally {
        await other.close();
      }
    });

    await t.step("no password, right or wrong, appears in any result or on stderr", () => {
      const everything = JSON.stringify(results) + server.stderr();
      assert(!everything.includes(pg.password), "the password leaked");
      assert(!everything.includes(WRONG_PASSWORD), "the wrong password leaked");
    });
  } finally {
    await server.close();
  }
});
