// ConductorBackend against a scripted HTTP server on loopback: the wire
// details (paths, encoding, headers, bodies) and the failure policy (retries
// for reads only, refresh on 401, typed errors). End-to-end behaviour against
// the Conductor emulator and a real DBOS app is in e2e_conductor_test.ts.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { FakeClock } from "./_fake_clock.ts";
import { ConductorBackend } from "../src/backends/conductor/client.ts";
import type { AccessGrant, TokenSource } from "../src/backends/conductor/token_port.ts";
import {
  AccessDeniedError,
  InvalidArgumentError,
  NotFoundError,
  NotLoggedInError,
  UpstreamError,
} from "../src/core/errors.ts";

interface Seen {
  method: string;
  rawPath: string;
  headers: Headers;
  body: string;
}

type Script = (req: Request, n: number) => Response | Promise<Response>;

async function withConductor(
  script: Script,
  fn: (ctx: { backend: ConductorBackend; seen: Seen[]; clock: FakeClock; tokens: FakeTokens }) => Promise<void>,
  options: { timeoutMs?: number } = {},
) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const rawPath = req.url.slice(new URL(req.url).origin.length);
    seen.push({ method: req.method, rawPath, headers: req.headers, body: await req.text() });
    return script(req, seen.length);
  });
  const clock = new FakeClock();
  const tokens = new FakeTokens();
  const backend = new ConductorBackend({
    baseUrl: `http://127.0.0.1:${server.addr.port}/conductor/`,
    tokens,
    timeoutMs: options.timeoutMs ?? 2000,
    clock,
  });
  try {
    await fn({ backend, seen, clock, tokens });
  } finally {
    await server.shutdown();
  }
}

class FakeTokens implements TokenSource {
  grant: AccessGrant = { token: "tok-1", organization: "acme org" };
  next: AccessGrant | null = null;
  refreshes = 0;
  getAccess(): Promise<AccessGrant> {
    return Promise.resolve(this.grant);
  }
  refreshAfterRejection(): Promise<AccessGrant | null> {
    this.refreshes++;
    if (this.next) this.grant = this.next;
    return Promise.resolve(this.next);
  }
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

Deno.test("ConductorBackend sends each id as exactly one percent-encoded path segment", async () => {
  const ids = ["a/../b", "x?y=1", "%2F", "id#frag", "ünï cødé", "a b/c"];
  await withConductor(() => json({ workflowId: "w", status: "SUCCESS", workflowName: "n" }), async (t) => {
    for (const id of ids) await t.backend.getWorkflow("my/app", id);
    assertEquals(t.seen.length, ids.length);
    for (const [i, id] of ids.entries()) {
      const segments = t.seen[i].rawPath.split("/");
      // ["", "conductor", "v2", "orgs", org, "apps", app, "workflows", id]
      assertEquals(segments.length, 9, t.seen[i].rawPath);
      assertEquals(segments.slice(1, 4), ["conductor", "v2", "orgs"]);
      assertEquals(decodeURIComponent(segments[4]), "acme org");
      assertEquals(decodeURIComponent(segments[6]), "my/app");
      assertEquals(decodeURIComponent(segments[8]), id);
    }
  });
});

Deno.test("ConductorBackend refuses '.' and '..' as ids without sending anything", async () => {
  await withConductor(() => json({}), async (t) => {
    await assertRejects(() => t.backend.getWorkflow("app", ".."), InvalidArgumentError);
    await assertRejects(() => t.backend.cancelWorkflow(".", "w"), InvalidArgumentError);
    assertEquals(t.seen.length, 0);
  });
});

Deno.test("ConductorBackend follows the v2 contract's methods, paths, headers and bodies", async () => {
  await withConductor((req) => {
    const path = new URL(req.url).pathname;
    if (path.endsWith("/fork")) {
      return json({ $schema: "//schemas/ForkWorkflowOutputBody.json", workflowId: "forked-1" }, 201);
    }
    if (path.endsWith("/cancel") || path.endsWith("/resume")) return new Response(null, { status: 204 });
    if (path.endsWith("/workflows/search") || path.endsWith("/apps") || path.endsWith("/executors")) {
      return json([]);
    }
    if (path.endsWith("/steps")) return json([{ stepId: 0, stepName: "s" }]);
    return json({ workflowId: "w", status: "SUCCESS", workflowName: "n" });
  }, async (t) => {
    await t.backend.listApplications();
    await t.backend.listExecutors("app");
    await t.backend.listWorkflows("app", {
      status: ["ERROR"],
      workflowIds: [],
      workflowName: ["", "checkout"],
      limit: 5,
      sortDesc: true,
      hasParent: false,
    });
    await t.backend.getWorkflow("app", "w1");
    await t.backend.listSteps("app", "w1", { limit: 10, offset: 20 });
    await t.backend.cancelWorkflow("app", "w1", { cancelChildren: true });
    await t.backend.resumeWorkflow("app", "w1", { queueName: "q" });
    assertEquals(
      await t.backend.forkWorkflow("app", "w1", { startStep: 2, newWorkflowId: "n1", queuePartitionKey: "p" }),
      "forked-1",
    );
    const base = "/conductor/v2/orgs/acme%20org";
    assertEquals(t.seen.map((s) => `${s.method} ${s.rawPath}`), [
      `GET ${base}/apps`,
      `GET ${base}/apps/app/executors`,
      `POST ${base}/apps/app/workflows/search`,
      `GET ${base}/apps/app/workflows/w1`,
      `GET ${base}/apps/app/workflows/w1/steps?limit=10&offset=20`,
      `POST ${base}/apps/app/workflows/w1/cancel`,
      `POST ${base}/apps/app/workflows/w1/resume`,
      `POST ${base}/apps/app/workflows/w1/fork`,
    ]);
    for (const s of t.seen) {
      assertEquals(s.headers.get("authorization"), "Bearer tok-1");
      assertEquals(s.headers.get("content-type"), s.method === "POST" ? "application/json" : null);
    }
    // No empty filter array, no empty string, only the spec's camelCase fields.
    assertEquals(JSON.parse(t.seen[2].body), {
      status: ["ERROR"],
      workflowName: ["checkout"],
      limit: 5,
      sortDesc: true,
      hasParent: false,
    });
    assertEquals(JSON.parse(t.seen[5].body), { cancelChildren: true });
    assertEquals(JSON.parse(t.seen[6].body), { queueName: "q" });
    assertEquals(JSON.parse(t.seen[7].body), { startStep: 2, newWorkflowId: "n1", queuePartitionKey: "p" });
  });
});

Deno.test("ConductorBackend retries a failing read with backoff, a bounded number of times", async () => {
  await withConductor((_req, n) => n < 3 ? json({ message: "busy" }, 503) : json([]), async (t) => {
    assertEquals(await t.backend.listApplications(), []);
    assertEquals(t.seen.length, 3);
    assertEquals(t.clock.sleeps, [250, 500]);
  });
  await withConductor(() => json({ message: "down" }, 502), async (t) => {
    const err = await assertRejects(() => t.backend.listApplications(), UpstreamError);
    assertStringIncludes(err.message, "HTTP 502");
    assertStringIncludes(err.message, "down");
    assertEquals(t.seen.length, 3);
  });
});

Deno.test("ConductorBackend sends a mutation exactly once, even when it fails", async () => {
  // 502: the executors failed to answer, so the change may have happened (503 would mean none was connected).
  await withConductor(() => json({ message: "boom" }, 502), async (t) => {
    const err = await assertRejects(() => t.backend.cancelWorkflow("app", "w"), UpstreamError);
    assertStringIncludes(err.hint ?? "", "may or may not have taken effect");
    await assertRejects(() => t.backend.forkWorkflow("app", "w", { startStep: 1 }), UpstreamError);
    assertEquals(t.seen.length, 2);
    assertEquals(t.clock.sleeps, []);
  });
});

Deno.test("ConductorBackend honours Retry-After on 429 for reads", async () => {
  await withConductor((_r, n) => n === 1 ? json({}, 429, { "retry-after": "2" }) : json([]), async (t) => {
    await t.backend.listExecutors("app");
    assertEquals(t.clock.sleeps, [2000]);
  });
});

Deno.test("ConductorBackend refreshes once after a 401 and re-sends with the new token", async () => {
  await withConductor(
    (req) => req.headers.get("authorization") === "Bearer tok-2" ? json([]) : json({}, 401),
    async (t) => {
      t.tokens.next = { token: "tok-2", organization: "acme org" };
      await t.backend.cancelWorkflow("app", "w"); // 401, then 200
      assertEquals(t.tokens.refreshes, 1);
      assertEquals(t.seen.map((s) => s.headers.get("authorization")), ["Bearer tok-1", "Bearer tok-2"]);
    },
  );
  await withConductor(() => json({}, 401), async (t) => {
    const err = await assertRejects(() => t.backend.listApplications(), NotLoggedInError);
    assertStringIncludes(err.hint ?? "", "login");
    assert(!err.message.includes("tok-1"));
    assertEquals(t.tokens.refreshes, 1);
    assertEquals(t.seen.length, 1);
  });
});

Deno.test("ConductorBackend maps 404, HTML pages and malformed answers to clear errors", async () => {
  await withConductor(() => json({ message: "not found" }, 404), async (t) => {
    const err = await assertRejects(() => t.backend.getWorkflow("app", "nope"), NotFoundError);
    assertStringIncludes(err.message, "nope");
  });
  await withConductor(() => new Response("<html><body>Bad gateway</body></html>", { status: 200 }), async (t) => {
    const err = await assertRejects(() => t.backend.listApplications(), UpstreamError);
    assertStringIncludes(err.message, "not JSON");
  });
  await withConductor(() => json({ not: "an array" }), async (t) => {
    const err = await assertRejects(() => t.backend.listWorkflows("app", {}), UpstreamError);
    assertStringIncludes(err.message, "an array of workflows");
  });
});

Deno.test("ConductorBackend gives up after the timeout with a message naming Conductor", async () => {
  await withConductor(async () => {
    await new Promise((r) => setTimeout(r, 400));
    return json([]);
  }, async (t) => {
    const err = await assertRejects(() => t.backend.cancelWorkflow("app", "w"), UpstreamError);
    assertEquals(err.code, "TIMEOUT");
    assertStringIncludes(err.message, "DBOS Conductor did not answer within 100 ms");
  }, { timeoutMs: 100 });
});

const problem = (status: number, detail: string, extra: Record<string, unknown> = {}, headers = {}) =>
  new Response(JSON.stringify({ title: "x", status, detail, ...extra }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });

Deno.test("ConductorBackend turns RFC 9457 problems into errors that say what to do", async () => {
  await withConductor(() => problem(503, "no healthy executors available"), async (t) => {
    const err = await assertRejects(() => t.backend.listWorkflows("app", {}), UpstreamError);
    assertStringIncludes(err.message, "no healthy executor connected");
    assertStringIncludes(err.message, "does not mean it has no workflows");
    assertStringIncludes(err.hint ?? "", "Start an executor");
    assertEquals(t.seen.length, 3); // a read is retried within bounds
  });
  await withConductor(() => problem(502, "executor timed out"), async (t) => {
    const err = await assertRejects(() => t.backend.cancelWorkflow("app", "w"), UpstreamError);
    assertStringIncludes(err.message, "executors failed to answer");
    assertEquals(t.seen.length, 1); // a mutation never is
  });
  await withConductor(() => problem(403, "permission denied"), async (t) => {
    const err = await assertRejects(() => t.backend.forkWorkflow("app", "w", { startStep: 0 }), AccessDeniedError);
    assertEquals(err.permission, "application.write");
    assertStringIncludes(err.message, "application.write");
    const read = await assertRejects(() => t.backend.listExecutors("app"), AccessDeniedError);
    assertEquals(read.permission, "application.read");
    assertEquals(t.seen.length, 2, "each sent once: the token source had no other credentials to offer");
  });
  await withConductor(() => problem(403, "over limit", {}, { "X-DBOS-Error": "past_limit" }), async (t) => {
    const err = await assertRejects(() => t.backend.listApplications(), AccessDeniedError);
    assertStringIncludes(err.message, "plan limit");
  });
  await withConductor(
    () =>
      problem(422, "validation failed", {
        errors: [{ location: "body.workflowName", message: "expected array", value: "x" }],
      }),
    async (t) => {
      const err = await assertRejects(() => t.backend.listWorkflows("app", {}), InvalidArgumentError);
      assertStringIncludes(err.message, "body.workflowName: expected array");
      assertStringIncludes(err.hint ?? "", "workflow_name");
    },
  );
  await withConductor(() => problem(404, "workflow nope not found"), async (t) => {
    const err = await assertRejects(() => t.backend.getWorkflow("app", "nope"), NotFoundError);
    assertStringIncludes(err.message, "No workflow 'nope'");
  });
});

Deno.test("ConductorBackend reads a 502 or 503 that is not a problem (a proxy's page) as a plain failure, not about executors", async () => {
  const page = (status: number) => () =>
    new Response(`${status} Service Unavailable`, { status, headers: { "content-type": "text/plain" } });
  for (const status of [502, 503]) {
    await withConductor(page(status), async (t) => {
      const err = await assertRejects(() => t.backend.listWorkflows("app", {}), UpstreamError);
      assertStringIncludes(err.message, `DBOS Conductor failed to list workflows of application 'app' (HTTP ${status}`);
      assert(!err.message.includes("executor"), err.message);
      assertEquals(t.seen.length, 3, "still a retryable read");
    });
  }
  await withConductor(page(503), async (t) => {
    const err = await assertRejects(() => t.backend.cancelWorkflow("app", "w"), UpstreamError);
    assertStringIncludes(err.hint ?? "", "may or may not have taken effect");
    assertEquals(t.seen.length, 1);
  });
});

Deno.test("ConductorBackend reads v2 answers: $schema dropped, nulls and unknown fields tolerated", async () => {
  await withConductor(
    () =>
      json({
        $schema: "//schemas/Workflow.json",
        workflowId: "w",
        status: "SUCCESS",
        workflowName: null,
        createdAt: "2026-07-30T10:00:00Z",
        somethingNew: { nested: true },
      }),
    async (t) => {
      const w = await t.backend.getWorkflow("app", "w");
      assertEquals(w.$schema, undefined);
      assertEquals(w.workflowId, "w");
      assertEquals(w.createdAt, "2026-07-30T10:00:00Z");
    },
  );
});

Deno.test("ConductorBackend sends no Authorization header when the grant has no token", async () => {
  await withConductor(() => json([]), async (t) => {
    t.tokens.grant = { token: null, organization: "local" };
    await t.backend.listApplications();
    assertEquals(t.seen[0].headers.get("authorization"), null);
    assertEquals(t.seen[0].rawPath, "/conductor/v2/orgs/local/apps");
  });
});
