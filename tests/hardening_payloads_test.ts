// Large payloads do not inflate memory: a real PostgreSQL with a real DBOS
// schema (the SDK's own migration), one workflow whose output is 200 MB and
// twenty whose inputs are 20 MB each, inserted in SQL; the server spawned
// over stdio in system-database mode under the README's flags. get_workflow
// (clipped) and list_workflows with load_input and load_output must answer
// within the budget, with the stored sizes in the truncation markers, while
// the server's peak resident memory (VmHWM) grows by less than 100 MB. Full
// reads still read the whole value, in parts.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { recordFigures, SecretSweep, stopwatch } from "./_hardening.ts";
import { hostPortsOf, spawnServer, sysdbModeFlags } from "./_server_process.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { createDbosSchema } from "./fixtures/dbos_schema.ts";
import { DEFAULTS } from "../src/config/mod.ts";

const MB = 1024 * 1024;
const BIG_OUTPUT = 200 * MB;
const INPUTS = 20;
const INPUT_BYTES = 20 * MB;
/** The target: peak RSS growth of the server for these calls. */
const GROWTH_BOUND_MB = 100;
/** `{"json":"` and `","__dbos_serializer":"superjson"}` around a string. */
const ENVELOPE = 43;

/** Peak and current resident memory of a process, in MB (Linux). */
async function memoryOf(pid: number): Promise<{ hwm: number; rss: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return { hwm: kb("VmHWM") / 1024, rss: kb("VmRSS") / 1024 };
}

/** SQL for a workflow with payloads of the given sizes (hex text, in DBOS's superjson envelope: 43 bytes more). */
function seedSql(opts: { id: string; createdAt: number; input?: number; output?: number; error?: number }): string {
  const blob = (bytes: number) => `repeat(md5('${opts.id}'), ${Math.ceil(bytes / 32)})`;
  const wrap = (bytes: number) =>
    `'{"json":"' || left(${blob(bytes)}, ${bytes}) || '","__dbos_serializer":"superjson"}'`;
  const id = `'${opts.id}'`;
  return `
INSERT INTO dbos.workflow_status (workflow_uuid, status, name, created_at, updated_at, application_version,
  application_id, class_name, config_name, recovery_attempts, serialization, application_name, executor_id)
VALUES (${id}, '${opts.error ? "ERROR" : "SUCCESS"}', 'bulk_export', ${opts.createdAt}, ${opts.createdAt + 5},
  'v1', '', '', '', 1, 'js_superjson', 'app', 'executor-0');
INSERT INTO dbos.workflow_input (workflow_uuid, inputs)
VALUES (${id}, ${opts.input ? wrap(opts.input) : `'{"json":[1],"__dbos_serializer":"superjson"}'`});
INSERT INTO dbos.workflow_output (workflow_uuid, output, error)
VALUES (${id}, ${opts.output ? wrap(opts.output) : "NULL"},
  ${opts.error ? `'{"json":{"name":"Error","message":"boom"},"__dbos_serializer":"superjson"}'` : "NULL"});
`;
}

const budgetBytes = (res: { structuredContent?: unknown; content?: unknown }) =>
  new TextEncoder().encode(JSON.stringify(res.structuredContent) + textOf(res)).length;

Deno.test("hardening: a 200 MB output and twenty 20 MB inputs are shown clipped without loading them", async (t) => {
  const elapsed = stopwatch();
  await using pg = await startPostgres();
  const url = pg.url("app_dbos_sys");
  await createDbosSchema(url);
  const t0 = Date.UTC(2026, 0, 1);
  await pg.query(seedSql({ id: "huge-output", createdAt: t0, output: BIG_OUTPUT }), "app_dbos_sys");
  for (let i = 0; i < INPUTS; i++) {
    await pg.query(seedSql({ id: `big-input-${i}`, createdAt: t0 + 1 + i, input: INPUT_BYTES }), "app_dbos_sys");
  }
  await pg.query(seedSql({ id: "small", createdAt: t0 + 100, error: 1 }), "app_dbos_sys");

  const sweep = new SecretSweep();
  sweep.lookFor([new URL(url).password]);
  await using server = await spawnServer({
    flags: sysdbModeFlags({ hostPorts: hostPortsOf([url]) }),
    args: ["--app", `app=${url}`],
  });
  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await server.client.callTool({ name, arguments: args }) as {
      isError?: boolean;
      structuredContent?: Record<string, unknown>;
      content: unknown;
    };
    sweep.capture(name, JSON.stringify(res));
    return res;
  };
  const pid = server.pid();
  assert(pid, "the server runs");
  // Warm up: the DBOS client, its pool and the first queries.
  const warm = await call("get_workflow", { application_name: "app", workflow_id: "small" });
  assert(!warm.isError, textOf(warm));
  assertEquals((warm.structuredContent!.workflow as Record<string, unknown>).error, "boom");
  const before = await memoryOf(pid);
  const figures: Record<string, number> = {};

  await t.step("get_workflow shows the 200 MB output's start and its whole size", async () => {
    const res = await call("get_workflow", { application_name: "app", workflow_id: "huge-output" });
    assert(!res.isError, textOf(res));
    const output = String((res.structuredContent!.workflow as Record<string, unknown>).output);
    assertStringIncludes(output, `of ${BIG_OUTPUT + ENVELOPE} bytes; get_workflow with full: true shows all of it]`);
    assert(/^"[0-9a-f]{500}/.test(output), output.slice(0, 40));
    assert(budgetBytes(res) <= DEFAULTS.maxResultBytes, `${budgetBytes(res)} bytes`);
  });

  await t.step("list_workflows with load_input and load_output clips twenty 20 MB inputs", async () => {
    const res = await call("list_workflows", {
      application_name: "app",
      load_input: true,
      load_output: true,
      limit: 50,
    });
    assert(!res.isError, textOf(res));
    const rows = res.structuredContent!.workflows as Record<string, unknown>[];
    assert(rows.length >= 5, `${rows.length} workflows`);
    for (const w of rows) {
      if (String(w.workflowId).startsWith("big-input-")) {
        assertStringIncludes(String(w.input), `of ${INPUT_BYTES + ENVELOPE} bytes;`);
      }
    }
    assertEquals(String(rows[0].output).includes(`of ${BIG_OUTPUT + ENVELOPE} bytes;`), true, String(rows[0].output));
    assert(budgetBytes(res) <= DEFAULTS.maxResultBytes, `${budgetBytes(res)} bytes`);
    // A page that holds the small workflow shows its payloads whole, deserialized as DBOS does.
    const small = await call("list_workflows", {
      application_name: "app",
      workflow_uuids: ["small", "big-input-3"],
      load_input: true,
      load_output: true,
    });
    const byId = new Map(
      (small.structuredContent!.workflows as Record<string, unknown>[]).map((w) => [w.workflowId, w]),
    );
    assertEquals(byId.get("small")?.input, "[1]");
    assertEquals(byId.get("small")?.error, "boom");
    assertStringIncludes(String(byId.get("big-input-3")?.input), "…[truncated");
  });

  const after = await memoryOf(pid);
  const growth = Math.round(after.hwm - before.hwm);
  figures["payload rss growth (MB)"] = growth;
  await t.step(`the server's peak RSS grew by less than ${GROWTH_BOUND_MB} MB`, () => {
    assert(growth < GROWTH_BOUND_MB, `peak RSS grew by ${growth} MB (from ${before.hwm.toFixed(0)} MB)`);
  });

  await t.step("byte_offset reads the whole output in parts: the part at 100 MB is the stored text there", async () => {
    const res = await call("get_workflow", {
      application_name: "app",
      workflow_id: "huge-output",
      fields: ["output"],
      byte_offset: 100 * MB,
    });
    assert(!res.isError, textOf(res));
    const output = String((res.structuredContent!.workflow as Record<string, unknown>).output);
    assert(/^[0-9a-f]{1000}/.test(output), output.slice(0, 40));
    assertStringIncludes(output, "continue with one field in fields and byte_offset");
  });

  assertEquals(sweep.leaks(), []);
  await recordFigures("payloads", { ...sweep.figures(), extra: figures, durationMs: elapsed() });
});
