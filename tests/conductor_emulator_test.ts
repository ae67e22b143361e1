// End-to-end check of the test fixtures: a throwaway Postgres, the Conductor
// emulator, and the sample DBOS app connected to it, driven with plain fetch.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { SEEDED_SECRETS } from "./fixtures/sample_secrets.ts";
import { startSampleApp } from "./fixtures/sample_app_process.ts";
import { startWorld } from "./fixtures/world.ts";

const ORG = "acme-org";
const TOKEN = "test-token-123";
const APP = "sample-app";

interface Answer {
  status: number;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

function client(baseUrl: string) {
  return async (
    method: string,
    path: string,
    opts: { token?: string | null; body?: unknown } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
    };
    const token = opts.token === undefined ? TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  };
}

const enc = encodeURIComponent;

Deno.test("conductor emulator relays REST calls to a real DBOS executor", async (t) => {
  const world = await startWorld({
    org: ORG,
    isValidToken: (tok) => tok === TOKEN,
    appName: APP,
  });
  try {
    const call = client(world.conductor.v1BaseUrl);
    const ids = world.app.ids;
    const api = `/api/${ORG}/applications`;
    const wfPath = (id: string, suffix = "") => `${api}/${APP}/workflows/${enc(id)}${suffix}`;
    const getStatus = async (id: string) => (await call("GET", wfPath(id))).json?.Status;
    const waitForStatus = async (id: string, status: string, ms = 20_000) => {
      const deadline = Date.now() + ms;
      let last: string | undefined;
      while (Date.now() < deadline) {
        last = await getStatus(id);
        if (last === status) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${id} is ${last}, expected ${status}`);
    };

    await t.step("applications: the connected app is AVAILABLE", async () => {
      const r = await call("GET", api);
      assertEquals(r.status, 200);
      assertEquals(r.json.length, 1);
      const app = r.json[0];
      assertEquals(app.application_name, APP);
      assertEquals(app.org_id, ORG);
      assertEquals(app.status, "AVAILABLE");
      assertEquals(app.language, "typescript");
      assertMatch(app.application_id, /^[0-9a-f-]{36}$/);
    });

    await t.step("executors: HEALTHY, with the executor's own info", async () => {
      const r = await call("GET", `${api}/${APP}/executors`);
      assertEquals(r.status, 200);
      assertEquals(r.json.length, 1);
      const ex = r.json[0];
      assertEquals(ex.executor_id, world.app.executorId);
      assertEquals(ex.status, "HEALTHY");
      assertEquals(ex.application_version, world.app.applicationVersion);
      assertEquals(ex.language, "typescript");
      assertEquals(ex.dbos_version, "5.2.11");
      assertEquals(typeof ex.hostname, "string");
      assertMatch(ex.created_at, /^\d{13}$/);
      assertMatch(ex.updated_at, /^\d{13}$/);
      assertEquals(
        ex.application_id,
        (await call("GET", api)).json[0].application_id,
      );
    });

    const list = (body: unknown, slash = true) => call("POST", `${api}/${APP}/workflows${slash ? "/" : ""}`, { body });

    await t.step("list workflows: the scenario, with filters", async () => {
      const all = await list({});
      assertEquals(all.status, 200);
      const status = new Map<string, string>(
        all.json.map((w: { WorkflowUUID: string; Status: string }) => [
          w.WorkflowUUID,
          w.Status,
        ]),
      );
      const expected: [string, string][] = [
        ...ids.pipeline.map((id): [string, string] => [id, "SUCCESS"]),
        ...ids.failing.map((id): [string, string] => [id, "ERROR"]),
        ...ids.long.map((id): [string, string] => [id, "PENDING"]),
        ...ids.jobs.map((id): [string, string] => [id, "SUCCESS"]),
        [ids.serialBlocker, "PENDING"],
        [ids.serialWaiting, "ENQUEUED"],
        [ids.parent, "SUCCESS"],
        [ids.child, "SUCCESS"],
        [ids.secrets, "SUCCESS"],
        [ids.odd, "SUCCESS"],
      ];
      for (const [id, s] of expected) assertEquals(status.get(id), s, id);
      assertEquals(all.json.length, expected.length);
      // Oldest first by default; numbers come as strings.
      const created = all.json.map((w: { CreatedAt: string }) => {
        assertMatch(w.CreatedAt, /^\d+$/);
        return Number(w.CreatedAt);
      });
      assertEquals(created, [...created].sort((a, b) => a - b));
      // Payloads only when asked.
      assertEquals(all.json[0].Input, undefined);

      const noSlash = await list({ status: "ERROR" }, false);
      assertEquals(noSlash.status, 200);
      assertEquals(
        noSlash.json.map((w: { WorkflowUUID: string }) => w.WorkflowUUID)
          .sort(),
        [...ids.failing].sort(),
      );

      const idsOf = (a: Answer) => a.json.map((w: { WorkflowUUID: string }) => w.WorkflowUUID).sort();
      assertEquals(
        idsOf(await list({ workflow_name: "pipeline" })),
        [...ids.pipeline].sort(),
      );
      assertEquals(idsOf(await list({ authenticated_user: "alice" })), [
        ids.pipeline[0],
      ]);
      assertEquals(
        idsOf(await list({ queue_name: "serial" })),
        [ids.serialBlocker, ids.serialWaiting].sort(),
      );
      assertEquals(
        idsOf(await list({ workflow_id_prefix: "wf-job-" })),
        [...ids.jobs].sort(),
      );
      const limited = await list({ limit: 2, sort_desc: true });
      assertEquals(limited.json.length, 2);

      // An empty workflow_uuids is dropped before it reaches the executor.
      const empty = await list({ workflow_uuids: [], status: "SUCCESS" });
      assertEquals(empty.status, 200);
      assert(empty.json.length >= ids.pipeline.length);
      const sent = world.conductor.relayed.at(-1)!.message;
      assertEquals(sent.type, "list_workflows");
      assertEquals((sent.body as Record<string, unknown>).workflow_uuids, undefined);

      const loaded = await list({
        workflow_uuids: [ids.pipeline[0]],
        load_input: true,
        load_output: true,
      });
      assertEquals(loaded.json.length, 1);
      assertStringIncludes(loaded.json[0].Input, "order-1");
      assertStringIncludes(loaded.json[0].Output, "token");

      assertEquals((await list({ status: "BOGUS" })).status, 400);
      assertEquals((await list({ limit: -1 })).status, 400);
      assertEquals((await list([1, 2])).status, 400);
    });

    await t.step("get workflow", async () => {
      const r = await call("GET", wfPath(ids.pipeline[0]));
      assertEquals(r.status, 200);
      assertEquals(r.json.WorkflowUUID, ids.pipeline[0]);
      assertEquals(r.json.Status, "SUCCESS");
      assertEquals(r.json.WorkflowName, "pipeline");
      assertEquals(r.json.AuthenticatedUser, "alice");
      assertEquals(JSON.parse(r.json.AuthenticatedRoles), ["admin", "ops"]);
      assertEquals(r.json.Input, "[ { orderId: 'order-1', amount: 10 } ]");
      assertStringIncludes(r.json.Output, "orderId: 'order-1'");
      assertEquals(r.json.ExecutorID, world.app.executorId);

      const failed = await call("GET", wfPath(ids.failing[0]));
      assertEquals(failed.json.Status, "ERROR");
      assertEquals(
        JSON.parse(failed.json.Error).message,
        "payment declined: card expired",
      );

      const missing = await call("GET", wfPath("no-such-workflow"));
      assertEquals(missing.status, 404);
      assertStringIncludes(missing.json.message, "no-such-workflow");
    });

    await t.step("list steps: ids from 0, outputs, children", async () => {
      const r = await call("GET", wfPath(ids.pipeline[0], "/steps"));
      assertEquals(r.status, 200);
      assertEquals(
        r.json.map((s: { function_id: number }) => s.function_id),
        [0, 1, 2],
      );
      assertEquals(
        r.json.map((s: { function_name: string }) => s.function_name),
        ["fetch_data", "transform", "store"],
      );
      assertStringIncludes(r.json[0].output, "token");
      assertMatch(r.json[0].started_at_epoch_ms, /^\d+$/);

      const parent = await call("GET", wfPath(ids.parent, "/steps"));
      assertEquals(parent.json[0].child_workflow_id, ids.child);

      const failing = await call("GET", wfPath(ids.failing[0], "/steps"));
      assertEquals(failing.json[1].function_name, "charge");
      assertStringIncludes(failing.json[1].error, "payment declined");

      assertEquals((await call("GET", wfPath("nope", "/steps"))).status, 404);
    });

    await t.step("the secrets workflow carries every seeded secret", async () => {
      // Later tests check that none of these leak out of the MCP server; here
      // we make sure they really are in what Conductor hands out.
      const wf = await call("GET", wfPath(ids.secrets));
      const steps = await call("GET", wfPath(ids.secrets, "/steps"));
      assertEquals(wf.json.Status, "SUCCESS");
      assertEquals(steps.json[1].function_name, "call_vendor");
      const everything = wf.text + steps.text;
      assert(SEEDED_SECRETS.length >= 10);
      for (const secret of SEEDED_SECRETS) {
        assertStringIncludes(everything, secret);
      }
    });

    await t.step("workflow ids stay one percent-encoded segment", async () => {
      const odd = await call("GET", wfPath(ids.odd));
      assertEquals(odd.status, 200);
      assertEquals(odd.json.WorkflowUUID, ids.odd);
      const rec = world.conductor.requests.at(-1)!;
      assertEquals(rec.segments.length, 6);
      assertEquals(rec.segments[5], ids.odd);
      assertEquals(rec.query, "");
      assertStringIncludes(rec.rawPath, "%2F");

      for (const id of ["a/../b", "x?y=1"]) {
        const r = await call("GET", wfPath(id, "/steps"));
        assertEquals(r.status, 404);
        const last = world.conductor.requests.at(-1)!;
        assertEquals(last.segments.slice(4), ["workflows", id, "steps"]);
        assertEquals(last.query, "");
      }
    });

    await t.step("cancel, release and resume a long-running workflow", async () => {
      const id = ids.long[0];
      const c = await call("POST", wfPath(id, "/cancel"));
      assertEquals(c.status, 200);
      assertEquals(c.text, "");
      await waitForStatus(id, "CANCELLED");
      await world.app.release(id);
      const r = await call("POST", wfPath(id, "/resume"));
      assertEquals(r.status, 200);
      assertEquals(r.text, "");
      await waitForStatus(id, "SUCCESS");
    });

    await t.step("resume an ENQUEUED workflow past its queue", async () => {
      assertEquals(await getStatus(ids.serialWaiting), "ENQUEUED");
      const r = await call("POST", wfPath(ids.serialWaiting, "/resume"));
      assertEquals(r.status, 200);
      await waitForStatus(ids.serialWaiting, "SUCCESS");
      assertEquals(await getStatus(ids.serialBlocker), "PENDING");
    });

    await t.step("fork from step 2 reuses the recorded outputs", async () => {
      const src = ids.pipeline[1];
      const f = await call("POST", wfPath(src, "/fork"), {
        body: { start_step: 2, new_workflow_id: "wf-pipeline-2-fork" },
      });
      assertEquals(f.status, 200);
      assertEquals(f.json, { workflow_id: "wf-pipeline-2-fork" });
      await waitForStatus("wf-pipeline-2-fork", "SUCCESS");
      const before = (await call("GET", wfPath(src, "/steps"))).json;
      const after = (await call("GET", wfPath("wf-pipeline-2-fork", "/steps")))
        .json;
      assertEquals(after.length, 3);
      assertEquals(after[0].output, before[0].output);
      assertEquals(after[1].output, before[1].output);
      const forked = await call("GET", wfPath("wf-pipeline-2-fork"));
      assertEquals(forked.json.ForkedFrom, src);
      assertEquals(
        (await list({ forked_from: src })).json.map((
          w: { WorkflowUUID: string },
        ) => w.WorkflowUUID),
        ["wf-pipeline-2-fork"],
      );

      // Without new_workflow_id the executor picks one.
      const g = await call("POST", wfPath(src, "/fork"), {
        body: { start_step: 0 },
      });
      assertEquals(g.status, 200);
      assertMatch(g.json.workflow_id, /^[0-9a-f-]{36}$/);

      for (const body of [{ start_step: -1 }, { start_step: "2" }, {}, null]) {
        const bad = await call("POST", wfPath(src, "/fork"), { body });
        assertEquals(bad.status, 400, JSON.stringify(body));
        assertStringIncludes(bad.json.message, "start_step");
      }
    });

    await t.step("executor errors become 500 with the message", async () => {
      const r = await call("POST", wfPath("no-such-workflow", "/resume"));
      assertEquals(r.status, 500);
      assertStringIncludes(r.json.message, "does not exist");
    });

    await t.step("auth, org, unknown app and routes", async () => {
      const noToken = await call("GET", api, { token: null });
      assertEquals(noToken.status, 401);
      assertEquals(typeof noToken.json.message, "string");
      assertEquals(world.conductor.requests.at(-1)!.authorized, false);
      assertEquals((await call("GET", api, { token: "wrong" })).status, 401);
      const before = world.conductor.mutationCount();
      const unauth = await call("POST", wfPath(ids.long[1], "/cancel"), {
        token: "wrong",
      });
      assertEquals(unauth.status, 401);
      assertEquals(await getStatus(ids.long[1]), "PENDING");
      assertEquals(world.conductor.mutationCount(), before + 1);
      assertEquals(
        (await call("GET", `/api/other-org/applications`)).status,
        403,
      );
      const unknown = await call("GET", `${api}/no-such-app/executors`);
      assertEquals(unknown.status, 404);
      assertStringIncludes(unknown.json.message, "no-such-app");
      assertEquals(
        (await call("POST", `${api}/no-such-app/workflows/`, { body: {} }))
          .status,
        404,
      );
      assertEquals((await call("GET", `${api}/${APP}/nothing`)).status, 404);
      assertEquals((await call("GET", `${api}/${APP}/workflows/`)).status, 405);
    });

    await t.step("mutations are counted", () => {
      const mutations = world.conductor.requests.filter((r) =>
        r.operation === "cancel" || r.operation === "resume" ||
        r.operation === "fork"
      );
      assertEquals(world.conductor.mutationCount(), mutations.length);
      // cancel, resume, resume, fork, fork, 4 bad forks, resume, bad cancel
      assertEquals(mutations.length, 11);
    });

    await t.step("a dead executor: DISCONNECTED and UNAVAILABLE, until a restart", async () => {
      await world.app.kill("SIGKILL");
      await world.conductor.waitForApplicationStatus(APP, "UNAVAILABLE", 10_000);
      const apps = await call("GET", api);
      assertEquals(apps.json[0].status, "UNAVAILABLE");
      const ex = await call("GET", `${api}/${APP}/executors`);
      assertEquals(ex.json.length, 1);
      assertEquals(ex.json[0].status, "DISCONNECTED");
      const r = await list({});
      assertEquals(r.status, 409);
      assertStringIncludes(r.json.message, "no executor is connected");
      assertEquals((await call("GET", wfPath(ids.pipeline[0]))).status, 409);

      // A restart on the same database: a new executor, the scenario kept.
      await using again = await startSampleApp({
        databaseUrl: world.databaseUrl,
        conductorUrl: world.conductor.executorUrl,
        conductorKey: world.conductorKey,
        appName: APP,
        controlDir: world.controlDir,
      });
      assertEquals(again.scenarioStarted, false);
      await world.conductor.waitForApplicationStatus(APP, "AVAILABLE", 10_000);
      const both = (await call("GET", `${api}/${APP}/executors`)).json;
      assertEquals(
        both.map((e: { executor_id: string; status: string }) => [e.executor_id, e.status]).sort(),
        [[world.app.executorId, "DISCONNECTED"], [again.executorId, "HEALTHY"]].sort(),
      );
      assertEquals(await getStatus(ids.pipeline[0]), "SUCCESS");
    });
  } finally {
    await world.close();
  }
});

Deno.test("conductor emulator: executor key, reply timeout and relay shapes", async () => {
  const conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: (tok) => tok === TOKEN,
    conductorKey: "right-key",
    applications: ["quiet-app"],
    replyTimeoutMs: 300,
    onRequest: (r) => r.operation === "resume" ? Response.json({ message: "injected" }, { status: 503 }) : undefined,
  });
  const sockets: { ws: WebSocket; closed: Promise<void> }[] = [];
  const open = (app: string, key: string, answerInfo: boolean) => {
    const ws = new WebSocket(`${conductor.executorUrl}websocket/${app}/${key}`);
    const closed = new Promise<void>((r) => ws.addEventListener("close", () => r()));
    sockets.push({ ws, closed });
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "executor_info" && answerInfo) {
        ws.send(JSON.stringify({
          type: "executor_info",
          request_id: msg.request_id,
          executor_id: "fake-executor",
          application_version: "v1",
          hostname: "fake-host",
          language: "typescript",
          dbos_version: "5.2.11",
        }));
      }
      // everything else goes unanswered
    };
    return { ws, closed };
  };
  try {
    const call = client(conductor.v1BaseUrl);
    const api = `/api/${ORG}/applications`;
    const apps = await call("GET", api);
    assertEquals(apps.json.map((a: { status: string }) => a.status), [
      "UNAVAILABLE",
    ]);
    assertEquals(
      (await call("POST", `${api}/quiet-app/workflows/`, { body: {} })).status,
      409,
    );

    const bad = open("quiet-app", "wrong-key", true);
    await bad.closed;

    const good = open("quiet-app", "right-key", true);
    await conductor.waitForExecutors("quiet-app", 1, 5_000);
    const ex = conductor.executors("quiet-app")[0];
    assertEquals(ex.executor_id, "fake-executor");
    assertEquals(ex.hostname, "fake-host");

    const slow = await call("POST", `${api}/quiet-app/workflows`, {
      body: { workflow_uuids: [], limit: 5 },
    });
    assertEquals(slow.status, 504);
    const sent = conductor.relayed.at(-1)!.message;
    assertEquals(sent.type, "list_workflows");
    assertEquals(sent.body, { limit: 5 });
    assertEquals(typeof sent.request_id, "string");

    // The fault-injection hook sees the matched operation; mutations count.
    const wf = `${api}/quiet-app/workflows/w1`;
    const injected = await call("POST", `${wf}/resume`);
    assertEquals(injected.status, 503);
    assertEquals(injected.json.message, "injected");
    assertEquals((await call("GET", `${wf}/cancel`)).status, 405);
    assertEquals(conductor.mutationCount(), 1);
    // A segment that does not percent-decode is recorded as received.
    assertEquals((await call("GET", `${api}/quiet-app/workflows/100%`)).status, 400);
    assertEquals(conductor.requests.at(-1)!.segments.at(-1), "100%");

    good.ws.close();
    await good.closed;
    await conductor.waitForApplicationStatus("quiet-app", "UNAVAILABLE", 5_000);
    assertEquals(conductor.executors("quiet-app")[0].status, "DISCONNECTED");
  } finally {
    for (const { ws } of sockets) {
      if (ws.readyState < 2) ws.close();
    }
    await conductor.close();
    await Promise.all(sockets.map((s) => s.closed));
  }
});
