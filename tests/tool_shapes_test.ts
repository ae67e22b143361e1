// The tools present whatever a Conductor sends within the contract's latitude
// (explicit nulls, `$schema`, numbers where the contract has strings and text
// where it has numbers, objects, unknown fields) in the shapes they advertise: the SDK client checks every structured result
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
  workflowId: "wf-1",
  status: "ERROR",
  workflowName: "checkout",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:01Z",
  completedAt: null,
  input: { cart: [1, 2] },
  output: null,
  error: "boom",
  priority: "3",
  wasForkedFrom: false,
  queueName: null,
  somethingNew: { nested: true },
  // Empty texts, as a DBOS executor sends them for "none": left out, as the system-database backend does.
  workflowClass: "",
  assumedRole: "",
  roles: "[]",
};

Deno.test("tools accept numbers, nulls, objects, empty texts and unknown fields from Conductor", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path.endsWith("/apps")) {
      return json([{ name: "shop", status: "AVAILABLE", id: 7, gcRowsThreshold: 100, language: null }]);
    }
    if (path.endsWith("/executors")) {
      return json([{ executorId: "e1", createdAt: "2026-01-01T00:00:00Z", updatedAt: null, executorMetadata: {} }]);
    }
    if (path.endsWith("/workflows/search")) {
      return json([LOOSE_WORKFLOW, {
        ...LOOSE_WORKFLOW,
        workflowId: "wf-2",
        input: "[]",
        roles: '["a"]',
      }]);
    }
    if (path.endsWith("/steps")) {
      return json([{ stepId: "0", stepName: "charge", error: { message: "declined" }, output: null }]);
    }
    return json({ $schema: "//schemas/Workflow.json", ...LOOSE_WORKFLOW });
  });
  const backend = new ConductorBackend({
    baseUrl: `http://127.0.0.1:${server.addr.port}/conductor`,
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
    assertEquals((apps.applications as Record<string, unknown>[])[0], { name: "shop", status: "AVAILABLE", id: "7" });
    const ex = await call("list_executors", { application_name: "shop" });
    assertEquals((ex.executors as Record<string, unknown>[])[0], {
      executorId: "e1",
      createdAt: "2026-01-01T00:00:00Z",
    });
    const list = await call("list_workflows", { application_name: "shop" });
    const wf = (list.workflows as Record<string, unknown>[])[0];
    assertEquals(wf.createdAt, "2026-01-01T00:00:00Z");
    assertEquals(wf.input, '{"cart":[1,2]}');
    assertEquals(wf.priority, 3);
    for (const key of ["output", "completedAt", "queueName", "somethingNew", "$schema"]) {
      assertEquals(key in wf, false, key);
    }
    for (const key of ["workflowClass", "assumedRole", "roles"]) assertEquals(key in wf, false, key);
    const wf2 = (list.workflows as Record<string, unknown>[])[1];
    assertEquals([wf2.input, wf2.roles], ["[]", '["a"]']); // an empty argument list is a value
    const got = await call("get_workflow", { application_name: "shop", workflow_id: "wf-1" });
    assertEquals((got.workflow as Record<string, unknown>).status, "ERROR");
    const steps = await call("list_steps", { application_name: "shop", workflow_id: "wf-1" });
    assertEquals((steps.steps as Record<string, unknown>[])[0].stepId, 0);
    assertEquals((steps.steps as Record<string, unknown>[])[0].error, '{"message":"declined"}');
    const text = textOf(await mcp.client.callTool({ name: "list_workflows", arguments: { application_name: "shop" } }));
    assertMatch(text, /wf-1 {2}ERROR {2}checkout {2}created 2026-01-01T00:00:00Z \(\d+d ago\) {2}error: boom/);
  } finally {
    await server.shutdown();
  }
});
