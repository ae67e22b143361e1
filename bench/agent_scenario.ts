/**
 * The measured agent scenario of the ergonomics issue: an application with
 * 10,000 workflows in the last hour, 37 of which failed at the same step
 * (`charge`) with two different errors, in a real DBOS system database read
 * through the real DBOS client (system-database mode). An agent-like client
 * asks "what failed in the last hour, and why?" and must find the failing
 * step and both errors. Prints the calls made and the bytes returned against
 * the targets (<= 2 calls, <= 4 KB in total), and the size of the default
 * `list_workflows` answer when all 10,000 match (<= 16 KB).
 *
 * ```sh
 * deno run -A bench/agent_scenario.ts [--rows 10000] [--json FILE]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startPostgres } from "../tests/fixtures/postgres.ts";
import { createDbosSchema, seedWorkflowsSql } from "../tests/fixtures/dbos_schema.ts";
import { connectInProcess } from "../tests/_mcp.ts";
import { SysdbBackend } from "../src/backends/sysdb/backend.ts";
import { DEFAULTS } from "../src/config/mod.ts";

/** What the scenario measured. */
export interface AgentScenarioResult {
  /** Workflows in the application. */
  rows: number;
  /** Failed workflows seeded. */
  failed: number;
  /** Tool calls the agent made to find the failing step and both errors. */
  calls: number;
  /** Bytes of those answers (whole tools/call results as JSON). */
  bytes: number;
  /** Whether the answers named both errors and the failing step. */
  found: boolean;
  /** Bytes of the default list_workflows answer with every workflow matching. */
  defaultListBytes: number;
}

const ERRORS = ["card declined: insufficient funds", "payment gateway timed out after 30000 ms"];

/** Seeds the scenario and runs the agent's calls. */
export async function runAgentScenario(rows: number): Promise<AgentScenarioResult> {
  await using pg = await startPostgres();
  const db = "shop_dbos_sys";
  const url = pg.url(db);
  await createDbosSchema(url);
  const span = 50 * 60_000;
  await pg.query(seedWorkflowsSql({ count: rows, appName: "shop", startMs: Date.now() - span, spanMs: span }), db);
  // Every workflow succeeds but 37, which fail at step 1 (`charge`) with one of two errors.
  const failed = Math.min(37, Math.floor(rows / 10));
  const stride = Math.floor(rows / failed);
  const bad = `(i % ${stride} = 5 AND i < ${failed * stride})`;
  const err = (i: string) =>
    `'{"json":{"name":"PaymentError","message":"' || (CASE WHEN (${i} / ${stride}) % 2 = 0 THEN '${ERRORS[0]}' ` +
    `ELSE '${ERRORS[1]}' END) || ' (order-' || ${i} || ')"},"__dbos_serializer":"superjson"}'`;
  await pg.query(
    `
BEGIN;
CREATE TEMP TABLE ids ON COMMIT DROP AS
  SELECT workflow_uuid AS id, substr(workflow_uuid, 4)::int AS i FROM dbos.workflow_status;
UPDATE dbos.workflow_status w SET status = CASE WHEN ${bad} THEN 'ERROR' ELSE 'SUCCESS' END,
  name = CASE WHEN ${bad} THEN 'checkout' ELSE w.name END,
  completed_at = w.updated_at FROM ids WHERE w.workflow_uuid = ids.id;
DELETE FROM dbos.workflow_output;
INSERT INTO dbos.workflow_output (workflow_uuid, output, error)
  SELECT id, CASE WHEN NOT ${bad} THEN '{"json":{"ok":true},"__dbos_serializer":"superjson"}' END,
         CASE WHEN ${bad} THEN ${err("i")} END FROM ids;
UPDATE dbos.operation_outputs o SET error = NULL,
  output = '{"json":{"ok":true},"__dbos_serializer":"superjson"}', function_name =
  (ARRAY['reserve','charge','ship'])[o.function_id + 1] FROM ids WHERE o.workflow_uuid = ids.id;
DELETE FROM dbos.operation_outputs o USING ids WHERE o.workflow_uuid = ids.id AND ${bad} AND o.function_id > 1;
UPDATE dbos.operation_outputs o SET output = NULL, error = ${err("ids.i")}
  FROM ids WHERE o.workflow_uuid = ids.id AND ${bad} AND o.function_id = 1;
COMMIT;
ANALYZE;`,
    db,
  );

  const backend = new SysdbBackend({ ...DEFAULTS, databaseUrl: url, appName: "shop", apps: [] }, {
    readOnly: true,
    log: () => {},
  });
  await using mcp = await connectInProcess({ backend, log: () => {} });
  const sizeOf = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;

  // The agent's calls, counted as they are made (the default-list measure below is not one of them).
  let calls = 0;
  let bytes = 0;
  const agentCall = async (name: string, args: Record<string, unknown>) => {
    calls++;
    const res = await mcp.client.callTool({ name, arguments: args });
    bytes += sizeOf(res);
    return res;
  };
  const summary = await agentCall("summarize_workflows", { application_name: "shop", start_time: "1h" });
  const s = summary.structuredContent as {
    errors?: { message: string; count: number; step?: { stepName: string } }[];
  };
  const found = !summary.isError &&
    ERRORS.every((e) => s.errors?.some((g) => g.message.includes(e) && g.step?.stepName === "charge")) &&
    (s.errors ?? []).reduce((n, g) => n + g.count, 0) === failed;

  const list = await mcp.client.callTool({ name: "list_workflows", arguments: { application_name: "shop" } });
  return { rows, failed, calls, bytes, found, defaultListBytes: sizeOf(list) };
}

/** The result as printed lines, with the targets. */
export function formatAgentScenario(r: AgentScenarioResult): string {
  const mark = (ok: boolean) => ok ? "met" : "MISSED";
  return [
    `agent scenario: ${r.rows} workflows, ${r.failed} failed at step 'charge' with 2 errors`,
    `  found the failing step and both errors: ${r.found ? "yes" : "NO"}`,
    `  calls: ${r.calls} (target <= 2, ${mark(r.calls <= 2)})`,
    `  bytes returned: ${r.bytes} (target <= 4096, ${mark(r.bytes <= 4096)})`,
    `  default list_workflows answer, all ${r.rows} matching: ${r.defaultListBytes} bytes ` +
    `(target <= 16384, ${mark(r.defaultListBytes <= 16_384)})`,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { rows: { type: "string" }, json: { type: "string" } } });
  const result = await runAgentScenario(Number(values.rows ?? 10_000));
  console.log(formatAgentScenario(result));
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(result, null, 2) + "\n");
  if (!result.found) Deno.exit(1);
}
