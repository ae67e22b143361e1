// The PostgreSQL test harness: the npm binaries start a cluster (as root too,
// as the `postgres` user), queries come back in psql's unaligned text form
// through the `pg` driver, and a bad DBOS_MCP_TEST_PG is refused clearly.
import { assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { startPostgres } from "./fixtures/postgres.ts";

Deno.test("startPostgres({ binaries: 'embedded' }) runs the npm package's server and answers queries", async () => {
  await using pg = await startPostgres({ binaries: "embedded" });
  assertEquals(pg.binaries, "embedded");
  await pg.createDatabase("harness");
  assertStringIncludes(await pg.query("SELECT version()", "harness"), "PostgreSQL 18.");
});

Deno.test("query() prints every result's rows as text, | between fields, NULL as empty", async () => {
  await using pg = await startPostgres();
  const out = await pg.query(
    "CREATE TABLE t (a int, b text, c boolean, d jsonb); " +
      `INSERT INTO t VALUES (1, NULL, true, '{"k": [1]}'), (2, 'x|y', false, NULL); ` +
      "SELECT * FROM t ORDER BY a; SELECT count(*) FROM t",
  );
  assertEquals(out, '1||t|{"k": [1]}\n2|x|y|f|\n2');
  await assertRejects(() => pg.query("SELECT * FROM missing_table"), Error, 'relation "missing_table" does not exist');
});

Deno.test("startPostgres() refuses a DBOS_MCP_TEST_PG that names no source", async () => {
  const before = Deno.env.get("DBOS_MCP_TEST_PG");
  Deno.env.set("DBOS_MCP_TEST_PG", "docker");
  try {
    await assertRejects(() => startPostgres(), Error, 'DBOS_MCP_TEST_PG must be "system" or "embedded"');
  } finally {
    if (before === undefined) Deno.env.delete("DBOS_MCP_TEST_PG");
    else Deno.env.set("DBOS_MCP_TEST_PG", before);
  }
});
