// The read tools of issue 15 end to end, in both backends, against one real
// world: a throwaway PostgreSQL, the sample DBOS application (SDK 5.2.11)
// seeded with its extras (events, messages, a closed and an open stream, a
// schedule, a partitioned queue) and connected to the Conductor emulator.
// Conductor mode: a server whose ConductorBackend talks to the emulator's v2
// REST API, which relays every call to the real application over the
// executor websocket. System-database mode: a server reading the same
// application's system database through the DBOS client (5.3.0) and SQL,
// with read-only connections. The same scenarios (`_scenarios_reads.ts`)
// run against both.
import { inspect } from "node:util";
import { connectInProcess } from "./_mcp.ts";
import type { Call, Result } from "./_scenarios.ts";
import { runReadToolScenarios } from "./_scenarios_reads.ts";
import { startWorld } from "./fixtures/world.ts";
import { ConductorBackend } from "../src/backends/conductor/client.ts";
import type { AccessGrant, TokenSource } from "../src/backends/conductor/token_port.ts";
import { SysdbBackend } from "../src/backends/sysdb/backend.ts";
import { DEFAULTS } from "../src/config/mod.ts";

const ORG = "acme";
const TOKEN = "read-tools-token";

const tokens: TokenSource = {
  getAccess: (): Promise<AccessGrant> => Promise.resolve({ token: TOKEN, organization: ORG }),
  refreshAfterRejection: () => Promise.resolve(null),
};

/** How DBOS's executor renders a value for Conductor (`inspectForConductor`). */
const inspected = (v: unknown) => inspect(v, { depth: null, maxArrayLength: null, maxStringLength: null });

function caller(client: { callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown> }): Call {
  return async (name, args = {}) => await client.callTool({ name, arguments: args }) as Result;
}

Deno.test("the read tools answer alike through Conductor and from the system database", async (t) => {
  await using world = await startWorld({ org: ORG, isValidToken: (tok) => tok === TOKEN, extras: true });
  const APP = world.app.appName;

  await t.step("Conductor mode, relayed to the real application", async (t) => {
    const backend = new ConductorBackend({ baseUrl: world.conductor.baseUrl, tokens, timeoutMs: 15_000 });
    await using mcp = await connectInProcess({ backend, log: () => {} });
    await runReadToolScenarios(t, {
      call: caller(mcp.client),
      app: APP,
      sample: world.app,
      render: inspected,
      knowsClosed: false,
    });
  });

  await t.step("system-database mode, read-only connections", async (t) => {
    const backend = new SysdbBackend({
      databaseUrl: world.databaseUrl,
      appName: undefined,
      apps: [],
      schema: DEFAULTS.schema,
      poolSize: DEFAULTS.poolSize,
      statementTimeoutMs: DEFAULTS.statementTimeoutMs,
    }, { readOnly: true, log: () => {} });
    await using mcp = await connectInProcess({ backend, log: () => {} });
    await runReadToolScenarios(t, {
      call: caller(mcp.client),
      app: APP,
      sample: world.app,
      render: (v) => JSON.stringify(v),
      knowsClosed: true,
    });
  });
});
