// The tools present whatever a Conductor sends within the contract's latitude
// (numbers where the contract has strings, nulls, objects, unknown fields)
// in the shapes they advertise: the SDK client checks every structured result
// against the tool's output schema, so a mismatch would fail these calls.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { ConductorBackend } from "../src/backends/conductor/client.ts";
import type { AccessGrant, TokenSource } from "../src/backends/conductor/token_port.ts";

const tokens: TokenSource = {
  getAccess: (): Promise<AccessGrant> => Promise.resolve({ token: "t0ken-value", organization: "org" }),
  refreshAfterRejection: () => Promise.resolve(null),
};

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });

const LOOSE_WORKFLOW = {
  WorkflowUUID: "wf-1",
  Status: "ERROR",
  WorkflowName: "checkout",
  CreatedAt: 1767225600000,
  UpdatedAt: 1767225601000,
  Input: { cart: [1, 2] },
  Output: null,
  Error: "boom",
  Priority: 0,
  WasForkedFrom: false,
  SomethingNew: { nested: true },
  // Empty texts, as a DBOS executor sends them for "none": left out, as the system-database backend does.
  WorkflowClassName: "",
  AssumedRole: "",
  AuthenticatedRoles: "[]",
};

Deno.test("tools accept numbers, nulls, objects, empty texts and unknown fields from Conductor", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path.endsWith("/applications")) {
      return json([{ application_name: "shop", status: "AVAILABLE", application_id: 7, gc_rows_threshold: 100 }]);
    }
    if (path.endsWith("/executors")) return json([{ executor_id: "e1", created_at: 1, updated_at: null }]);
    if (path.endsWith("/workflows/")) {
      return json([LOOSE_WORKFLOW, {
        ...LOOSE_WORKFLOW,
        WorkflowUUID: "wf-2",
        Input: "[]",
        AuthenticatedRoles: '["a"]',
      }]);
    }
    if (path.endsWith("/steps")) {
      return json([{ function_id: "0", function_name: "charge", error: { message: "declined" }, output: null }]);
    }
    return json(LOOSE_WORKFLOW);
  });
  const backend = new ConductorBackend({
    baseUrl: `http://127.0.0.1:${server.addr.port}/conductor/v1alpha1`,
    tokens,
    timeoutMs: 2000,
  });
  await using mcp = await connectInProcess({ backend, log: () => {} });
  try {
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const res = await mcp.client.callTool({ name, arguments: args });
      assert(!res.isError, `${name}: ${textOf(res)}`);
      return res.structuredContent as Record<string, unknown>;
    };
    const apps = await call("list_applications");
    assertEquals((apps.applications as Record<string, unknown>[])[0].application_id, "7");
    const ex = await call("list_executors", { application_name: "shop" });
    assertEquals((ex.executors as Record<string, unknown>[])[0], { executor_id: "e1", created_at: "1" });
    const list = await call("list_workflows", { application_name: "shop" });
    const wf = (list.workflows as Record<string, unknown>[])[0];
    assertEquals(wf.CreatedAt, "1767225600000");
    assertEquals(wf.Input, '{"cart":[1,2]}');
    assertEquals("Output" in wf, false);
    assertEquals(wf.SomethingNew, { nested: true });
    for (const key of ["WorkflowClassName", "AssumedRole", "AuthenticatedRoles"]) assertEquals(key in wf, false, key);
    const wf2 = (list.workflows as Record<string, unknown>[])[1];
    assertEquals([wf2.Input, wf2.AuthenticatedRoles], ["[]", '["a"]']); // an empty argument list is a value
    const got = await call("get_workflow", { application_name: "shop", workflow_id: "wf-1" });
    assertEquals((got.workflow as Record<string, unknown>).Status, "ERROR");
    const steps = await call("list_steps", { application_name: "shop", workflow_id: "wf-1" });
    assertEquals((steps.steps as Record<string, unknown>[])[0].function_id, 0);
    assertEquals((steps.steps as Record<string, unknown>[])[0].error, '{"message":"declined"}');
    const text = textOf(await mcp.client.callTool({ name: "list_workflows", arguments: { application_name: "shop" } }));
    assertMatch(text, /wf-1 {2}ERROR {2}checkout {2}created 2026-01-01T00:00:00\.000Z \(\d+d ago\) {2}error: boom/);
  } finally {
    await server.shutdown();
  }
});
