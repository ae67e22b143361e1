// The Conductor emulator's v2 REST API (conductor-v2.md), driven with plain
// fetch against the real sample DBOS app through the websocket relay, and
// against fake executors for the failure paths (no executor, malformed
// replies, silence).
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { type ConductorEmulator, startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { EXTRAS, startSampleApp } from "./fixtures/sample_app_process.ts";
import { SEEDED_SECRETS } from "./fixtures/sample_secrets.ts";
import { startWorld } from "./fixtures/world.ts";

const ORG = "acme_org";
const USER_TOKEN = "header.user-jwt.signature";
const READ_KEY = "dbos_read_only_key";
const WRITE_KEY = "dbos_writer_key";
const OTHER_APP_KEY = "dbos_other_app_key";
const APP = "sample-app";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

function client(baseUrl: string, defaultToken: string | null = USER_TOKEN) {
  return async (
    method: string,
    path: string,
    opts: { token?: string | null; body?: unknown; rawBody?: string } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const token = opts.token === undefined ? defaultToken : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
}

/** Asserts an RFC 9457 problem with `status`, and returns its body. */
// deno-lint-ignore no-explicit-any
function assertProblem(r: Answer, status: number): any {
  assertEquals(r.status, status, r.text);
  assertEquals(r.headers.get("content-type"), "application/problem+json");
  assertEquals(r.json.status, status);
  assertEquals(typeof r.json.title, "string");
  assertEquals(typeof r.json.detail, "string");
  return r.json;
}

const WORKFLOW_KEYS = [
  "workflowId",
  "status",
  "workflowName",
  "workflowClass",
  "workflowConfig",
  "user",
  "assumedRole",
  "roles",
  "input",
  "output",
  "error",
  "createdAt",
  "updatedAt",
  "attributes",
  "scheduleName",
  "queueName",
  "appVersion",
  "executorId",
  "timeoutMs",
  "deadline",
  "deduplicationId",
  "priority",
  "queuePartitionKey",
  "forkedFrom",
  "wasForkedFrom",
  "parentWorkflowId",
  "dequeuedAt",
  "delayUntil",
  "completedAt",
  "applicationName",
].sort();

const enc = encodeURIComponent;

/** The operations of the routes that need `application.write`: the ones `mutationCount()` counts. */
const WRITE_OPERATIONS = new Set<string>([
  "setLatestAppVersion",
  "cancelWorkflow",
  "resumeWorkflow",
  "forkWorkflow",
  "deleteWorkflow",
  "importWorkflow",
  "bulkCancelWorkflows",
  "bulkResumeWorkflows",
  "bulkDeleteWorkflows",
  "bulkForkWorkflowsFromFailure",
  "pauseSchedule",
  "resumeSchedule",
  "triggerSchedule",
  "backfillSchedule",
]);

Deno.test("conductor emulator v2 relays REST v2 to a real DBOS executor with the contract's mapping", async (t) => {
  const world = await startWorld({
    org: ORG,
    isValidToken: (tok) => tok === USER_TOKEN,
    appName: APP,
    extras: true,
    conductor: {
      v2: {
        user: { name: "alice", orgName: ORG },
        apiKeys: {
          [READ_KEY]: { permissions: ["application.read"] },
          [WRITE_KEY]: { permissions: ["application.read", "application.write"] },
          [OTHER_APP_KEY]: { permissions: ["application.read", "application.write"], appNames: ["other-app"] },
        },
      },
    },
  });
  try {
    const conductor = world.conductor;
    const call = client(conductor.v2BaseUrl);
    const ids = world.app.ids;
    const A = `/orgs/${ORG}/apps/${APP}`;
    const wf = (id: string, suffix = "") => `${A}/workflows/${enc(id)}${suffix}`;
    const search = (body: unknown, token?: string | null) => call("POST", `${A}/workflows/search`, { body, token });
    const idsOf = (r: Answer) => r.json.map((w: { workflowId: string }) => w.workflowId).sort();
    const statusOf = async (id: string) => (await call("GET", wf(id))).json?.status;
    const waitForStatus = async (id: string, status: string, ms = 20_000) => {
      const deadline = Date.now() + ms;
      let last: string | undefined;
      while (Date.now() < deadline) {
        last = await statusOf(id);
        if (last === status) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${id} is ${last}, expected ${status}`);
    };
    const lastFrame = (type: string) => conductor.relayed.filter((m) => m.message.type === type).at(-1)!.message;

    await t.step("users/me: the configured profile for a user; 403 for an API key; 401 without a token", async () => {
      const me = await call("GET", "/users/me");
      assertEquals(me.status, 200);
      assertEquals(me.json.name, "alice");
      assertEquals(me.json.orgName, ORG);
      assertMatch(me.json.createdAt, ISO);
      assertStringIncludes(assertProblem(await call("GET", "/users/me", { token: READ_KEY }), 403).detail, "API key");
      assertProblem(await call("GET", "/users/me", { token: null }), 401);
      assertProblem(await call("GET", "/users/me", { token: "dbos_unknown" }), 401);
    });

    await t.step("apps and executors come from the emulator's state, in v2 shapes", async () => {
      const apps = await call("GET", `/orgs/${ORG}/apps`);
      assertEquals(apps.status, 200);
      assertEquals(apps.json.length, 1);
      assertEquals(apps.json[0].name, APP);
      assertEquals(apps.json[0].status, "AVAILABLE");
      assertEquals(apps.json[0].language, "typescript");
      assertEquals(apps.json[0].gcRowsThreshold, null);
      const app = await call("GET", A);
      assertEquals(app.json.id, apps.json[0].id);
      assertEquals(typeof app.json.$schema, "string");
      assertStringIncludes(
        assertProblem(await call("GET", `/orgs/${ORG}/apps/no-such-app`), 404).detail,
        "no-such-app",
      );
      assertProblem(await call("GET", `/orgs/other_org/apps`), 403);

      const ex = await call("GET", `${A}/executors`);
      assertEquals(ex.status, 200);
      assertEquals(ex.json.length, 1);
      assertEquals(ex.json[0].executorId, world.app.executorId);
      assertEquals(ex.json[0].appId, app.json.id);
      assertEquals(ex.json[0].status, "HEALTHY");
      assertEquals(ex.json[0].dbosVersion, "5.2.11");
      assertEquals(ex.json[0].hostId, null);
      assertMatch(ex.json[0].createdAt, ISO);
    });

    await t.step("search without filters: the scenario's workflows in their statuses, oldest first", async () => {
      const all = await search({});
      assertEquals(all.status, 200);
      const status = new Map<string, string>(
        all.json.map((w: { workflowId: string; status: string }) => [w.workflowId, w.status]),
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
      const created = all.json.map((w: { createdAt: string }) => Date.parse(w.createdAt));
      assertEquals(created, [...created].sort((a: number, b: number) => a - b));
      assertEquals(all.json[0].input, null, "payloads only when asked");
    });

    await t.step("search with filters returns v2 Workflows with ISO times and explicit nulls", async () => {
      const failed = await search({ status: ["ERROR"], sortDesc: true });
      assertEquals(failed.status, 200);
      assertEquals(idsOf(failed), [...ids.failing].sort());
      for (const w of failed.json) {
        assertEquals(Object.keys(w).sort(), WORKFLOW_KEYS);
        assertEquals(w.status, "ERROR");
        assertEquals(w.workflowName, "failing");
        assertMatch(w.createdAt, ISO);
        assertMatch(w.updatedAt, ISO);
        assertEquals(w.queueName, null);
        assertEquals(w.forkedFrom, null);
        assertEquals(w.input, null); // only with loadInput
        assertEquals(w.priority, 0);
        assertEquals(w.wasForkedFrom, false);
      }
      const frame = lastFrame("list_workflows").body as Record<string, unknown>;
      assertEquals(frame, { status: ["ERROR"], sort_desc: true });

      const alice = await search({ user: ["alice"], workflowName: ["pipeline"], loadInput: true, loadOutput: true });
      assertEquals(idsOf(alice), [ids.pipeline[0]]);
      assertEquals(alice.json[0].input, "[ { orderId: 'order-1', amount: 10 } ]");
      assertStringIncludes(alice.json[0].output, "token");
      assertEquals(JSON.parse(alice.json[0].roles), ["admin", "ops"]);
      assertMatch(alice.json[0].completedAt, ISO);
      assertEquals(lastFrame("list_workflows").body, {
        authenticated_user: ["alice"],
        workflow_name: ["pipeline"],
        load_input: true,
        load_output: true,
        sort_desc: false,
      });

      const queued = await search({ queueName: ["serial"], workflowIds: [] });
      assertEquals(idsOf(queued), [ids.serialBlocker, ids.serialWaiting].sort());
      assertEquals((lastFrame("list_workflows").body as Record<string, unknown>).workflow_uuids, undefined);
      const byPrefix = await search({ workflowIdPrefix: ["wf-job-"], limit: 2 });
      assertEquals(byPrefix.json.length, 2);
      // No body: everything.
      assert((await call("POST", `${A}/workflows/search`)).json.length >= 16);

      const listed = await call("GET", `${A}/workflows?status=ERROR&limit=1&sortDesc=true`);
      assertEquals(listed.status, 200);
      assertEquals(listed.json.length, 1);
      assertEquals(lastFrame("list_workflows").body, { status: ["ERROR"], limit: 1, sort_desc: true });
    });

    await t.step("get workflow: one Workflow, 404 problem when absent", async () => {
      const r = await call("GET", wf(ids.pipeline[0]));
      assertEquals(r.status, 200);
      assertEquals(r.json.workflowId, ids.pipeline[0]);
      assertEquals(r.json.user, "alice");
      assertStringIncludes(r.json.input, "order-1");
      assertEquals(r.json.executorId, world.app.executorId);
      assertEquals(typeof r.json.$schema, "string");
      const odd = await call("GET", wf(ids.odd));
      assertEquals(odd.json.workflowId, ids.odd);
      const missing = assertProblem(await call("GET", wf("no-such-workflow")), 404);
      assertEquals(missing.detail, "workflow no-such-workflow not found");
      const failed = await call("GET", wf(ids.failing[0]));
      assertEquals(failed.json.status, "ERROR");
      assertEquals(JSON.parse(failed.json.error).message, "payment declined: card expired");
    });

    await t.step("the secrets workflow carries every seeded secret", async () => {
      // Later tests check that none of these leak out of the MCP server; here we make sure they really are in
      // what Conductor hands out.
      const w = await call("GET", wf(ids.secrets));
      const steps = await call("GET", wf(ids.secrets, "/steps"));
      assertEquals(w.json.status, "SUCCESS");
      assertEquals(steps.json[1].stepName, "call_vendor");
      assert(SEEDED_SECRETS.length >= 10);
      for (const secret of SEEDED_SECRETS) assertStringIncludes(w.text + steps.text, secret);
    });

    await t.step("workflow ids stay one percent-encoded segment", async () => {
      const odd = await call("GET", wf(ids.odd));
      assertEquals(odd.status, 200);
      assertEquals(odd.json.workflowId, ids.odd);
      const rec = conductor.requests.at(-1)!;
      assertEquals(rec.operation, "getWorkflow");
      assertEquals(rec.segments, ["orgs", ORG, "apps", APP, "workflows", ids.odd]);
      assertEquals(rec.query, "");
      assertStringIncludes(rec.rawPath, "%2F");
      for (const id of ["a/../b", "x?y=1"]) {
        assertProblem(await call("GET", wf(id, "/steps")), 404);
        const last = conductor.requests.at(-1)!;
        assertEquals(last.segments.slice(4), ["workflows", id, "steps"]);
        assertEquals(last.query, "");
      }
    });

    await t.step("steps, with limit and offset", async () => {
      const all = await call("GET", wf(ids.pipeline[0], "/steps"));
      assertEquals(all.status, 200);
      assertEquals(all.json.map((s: { stepName: string }) => s.stepName), ["fetch_data", "transform", "store"]);
      assertEquals(all.json.map((s: { stepId: number }) => s.stepId), [0, 1, 2]);
      assertMatch(all.json[0].startedAt, ISO);
      assertEquals(all.json[0].error, null);
      assertEquals(all.json[0].childWorkflowId, null);
      const page = await call("GET", wf(ids.pipeline[0], "/steps?limit=1&offset=1"));
      assertEquals(page.json.map((s: { stepName: string }) => s.stepName), ["transform"]);
      const frame = lastFrame("list_steps");
      assertEquals([frame.limit, frame.offset, frame.load_output], [1, 1, true]);
      const parent = await call("GET", wf(ids.parent, "/steps"));
      assertEquals(parent.json[0].childWorkflowId, ids.child);
      assertProblem(await call("GET", wf("nope", "/steps")), 404);
      const bad = assertProblem(await call("GET", wf(ids.pipeline[0], "/steps?limit=ten")), 422);
      assertEquals(bad.errors[0].location, "query.limit");
    });

    await t.step("validation: unknown and mistyped fields are 422 with errors[].location", async () => {
      const before = conductor.relayed.length;
      const unknown = assertProblem(await search({ statuss: ["ERROR"] }), 422);
      assertEquals(unknown.errors.map((e: { location: string }) => e.location), ["body.statuss"]);
      const typed = assertProblem(await search({ limit: "ten", status: "ERROR" }), 422);
      assertEquals(typed.errors.map((e: { location: string }) => e.location).sort(), ["body.limit", "body.status"]);
      assertEquals(typed.errors.find((e: { location: string }) => e.location === "body.limit").value, "ten");
      const time = assertProblem(await search({ startTime: "yesterday" }), 422);
      assertEquals(time.errors[0].location, "body.startTime");
      const noIds = assertProblem(
        await call("POST", `${A}/workflows/bulk-cancel`, { body: { cancelChildren: true } }),
        422,
      );
      assertEquals(noIds.errors[0].location, "body.workflowIds");
      assertEquals(
        assertProblem(await call("POST", `${A}/workflows/bulk-cancel`), 422).errors[0].location,
        "body",
      );
      const fork = assertProblem(await call("POST", wf(ids.pipeline[0], "/fork"), { body: { start_step: 1 } }), 422);
      assertEquals(fork.errors[0].location, "body.start_step");
      assertProblem(await call("POST", `${A}/workflows/search`, { rawBody: "{not json" }), 400);
      // The schema allows $schema in a body; none of the rejected ones reached the executor.
      assertEquals((await search({ $schema: "x", status: ["ERROR"] })).status, 200);
      assertEquals(conductor.relayed.length, before + 1);
      assertProblem(await call("GET", `/orgs/Acme-Org/apps`), 422);
      assertProblem(await call("PUT", `${A}/workflows/search`), 405);
      assertProblem(await call("GET", `${A}/nothing`), 404);
    });

    await t.step("permissions: a read-only key reads, and gets 403 naming application.write on mutations", async () => {
      assertEquals((await search({ status: ["ERROR"] }, READ_KEY)).status, 200);
      const before = conductor.relayed.length;
      const mutationsBefore = conductor.mutationCount();
      const denied = assertProblem(await call("POST", wf(ids.long[1], "/cancel"), { token: READ_KEY, body: {} }), 403);
      assertStringIncludes(denied.detail, "application.write");
      assertProblem(await call("DELETE", wf(ids.pipeline[2]), { token: READ_KEY }), 403);
      assertEquals(conductor.relayed.length, before);
      assertEquals(conductor.mutationCount(), mutationsBefore + 2);
      const scoped = assertProblem(await search({}, OTHER_APP_KEY), 403);
      assertStringIncludes(scoped.detail, APP);
      assertEquals((await call("GET", `/orgs/${ORG}/apps`, { token: OTHER_APP_KEY })).json, []);
      assertProblem(await search({}, null), 401);
      assertEquals(conductor.requests.at(-1)!.authorized, false);
      assertEquals(conductor.requests.at(-1)!.operation, "searchWorkflows");
      assertProblem(await search({}, "wrong-token"), 401);
      const beforeWrong = conductor.mutationCount();
      assertProblem(await call("POST", wf(ids.long[1], "/cancel"), { token: "wrong-token", body: {} }), 401);
      assertEquals(conductor.mutationCount(), beforeWrong + 1, "a refused mutation is counted too");
      assertEquals(await statusOf(ids.long[1]), "PENDING");
      assertStringIncludes(
        assertProblem(await call("GET", `/orgs/${ORG}/apps/no-such-app/executors`), 404).detail,
        "no-such-app",
      );
      assertProblem(await call("POST", `/orgs/${ORG}/apps/no-such-app/workflows/search`, { body: {} }), 404);
    });

    await t.step("cancel → CANCELLED (204), resume → SUCCESS (204)", async () => {
      const id = ids.long[0];
      const c = await call("POST", wf(id, "/cancel"), { body: { cancelChildren: true }, token: WRITE_KEY });
      assertEquals(c.status, 204);
      assertEquals(c.text, "");
      assertEquals([lastFrame("cancel").workflow_id, lastFrame("cancel").cancel_children], [id, true]);
      await waitForStatus(id, "CANCELLED");
      await world.app.release(id);
      const r = await call("POST", wf(id, "/resume"));
      assertEquals(r.status, 204);
      await waitForStatus(id, "SUCCESS");
      assertProblem(await call("POST", wf("no-such-workflow", "/resume")), 404);
    });

    await t.step("resume an ENQUEUED workflow past its queue", async () => {
      assertEquals(await statusOf(ids.serialWaiting), "ENQUEUED");
      assertEquals((await call("POST", wf(ids.serialWaiting, "/resume"))).status, 204);
      await waitForStatus(ids.serialWaiting, "SUCCESS");
      assertEquals(await statusOf(ids.serialBlocker), "PENDING");
    });

    await t.step("fork → 201 with Location, and the fork runs", async () => {
      const src = ids.pipeline[1];
      const f = await call("POST", wf(src, "/fork"), { body: { startStep: 2, newWorkflowId: "wf-v2-fork" } });
      assertEquals(f.status, 201);
      assertEquals(f.json.workflowId, "wf-v2-fork");
      assertEquals(f.headers.get("location"), `/conductor/v2${wf("wf-v2-fork")}`);
      assertEquals(lastFrame("fork_workflow").body as Record<string, unknown>, {
        workflow_id: src,
        start_step: 2,
        new_workflow_id: "wf-v2-fork",
      });
      await waitForStatus("wf-v2-fork", "SUCCESS");
      const forked = await call("GET", f.headers.get("location")!.slice("/conductor/v2".length));
      assertEquals(forked.json.forkedFrom, src);
      assertEquals(idsOf(await search({ forkedFrom: [src] })), ["wf-v2-fork"]);
      const steps = (await call("GET", wf("wf-v2-fork", "/steps"))).json;
      const original = (await call("GET", wf(src, "/steps"))).json;
      assertEquals(steps[1].output, original[1].output);
      assertEquals((await call("GET", wf(src))).json.wasForkedFrom, true);
      const g = await call("POST", wf(src, "/fork"));
      assertEquals(g.status, 201);
      assertMatch(g.json.workflowId, /^[0-9a-f-]{36}$/);
      assertEquals((lastFrame("fork_workflow").body as Record<string, unknown>).start_step, 0);
    });

    await t.step("bulk cancel, resume, fork from failure; delete, export and import", async () => {
      const id = ids.long[1];
      assertEquals(
        (await call("POST", `${A}/workflows/bulk-cancel`, { body: { workflowIds: [id], cancelChildren: false } }))
          .status,
        204,
      );
      await waitForStatus(id, "CANCELLED");
      await world.app.release(id);
      assertEquals((await call("POST", `${A}/workflows/bulk-resume`, { body: { workflowIds: [id] } })).status, 204);
      assertEquals(lastFrame("resume").workflow_ids, [id]);
      await waitForStatus(id, "SUCCESS");

      const ff = await call("POST", `${A}/workflows/bulk-fork-from-failure`, {
        body: { workflowIds: ids.failing, fromLastFailure: true },
      });
      assertEquals(ff.status, 200);
      assertEquals(ff.json.workflowIds.length, 2);
      assertEquals(lastFrame("fork_from_failure").body, { workflow_ids: ids.failing, from_last_failure: true });
      const both = assertProblem(
        await call("POST", `${A}/workflows/bulk-fork-from-failure`, {
          body: { workflowIds: ids.failing, fromLastFailure: true, fromStep: 1 },
        }),
        400,
      );
      assertStringIncludes(both.detail, "Exactly one");

      const exported = await call("GET", wf(ids.jobs[2], "/export"));
      assertEquals(exported.status, 200);
      assertEquals(typeof exported.json.serializedWorkflow, "string");
      assertEquals((await call("DELETE", wf(ids.jobs[2]))).status, 204);
      assertProblem(await call("GET", wf(ids.jobs[2])), 404);
      const imported = await call("POST", `${A}/workflows/import`, {
        body: { serializedWorkflow: exported.json.serializedWorkflow },
      });
      assertEquals(imported.status, 201);
      assertEquals(imported.text, "");
      assertEquals(await statusOf(ids.jobs[2]), "SUCCESS");
      assertEquals((await call("GET", wf(ids.jobs[2], "/steps"))).json.length, 1);
      assertProblem(await call("GET", wf("no-such-workflow", "/export")), 404);

      assertEquals(
        (await call("POST", `${A}/workflows/bulk-delete`, { body: { workflowIds: ["wf-v2-fork"] } })).status,
        204,
      );
      assertEquals(lastFrame("delete").delete_children, false);
      assertProblem(await call("GET", wf("wf-v2-fork")), 404);
    });

    await t.step("workflow and step aggregates", async () => {
      const agg = await call("POST", `${A}/workflows/aggregates`, {
        body: {
          groupByWorkflowName: true,
          selectCount: true,
          selectMinCreatedAt: true,
          workflowName: ["pipeline", "failing"],
        },
      });
      assertEquals(agg.status, 200, agg.text);
      const counts = Object.fromEntries(
        agg.json.map((a: { group: { name: string }; count: number }) => [a.group.name, a.count]),
      );
      assertEquals(counts.failing, 4); // the two of the scenario and their forks from failure
      assert(counts.pipeline >= 3);
      for (const a of agg.json) assertMatch(a.minCreatedAt, ISO);
      assertEquals(agg.json[0].maxQueueWaitMs, undefined);
      assertEquals(lastFrame("get_workflow_aggregates").body, {
        group_by_name: true,
        select_count: true,
        select_min_created_at: true,
        name: ["pipeline", "failing"],
      });
      assertProblem(await call("POST", `${A}/workflows/aggregates`, { body: { selectCount: true } }), 400);

      const steps = await call("POST", `${A}/steps/aggregates`, {
        body: { groupByFunctionName: true, groupByStatus: true, selectCount: true, stepName: ["charge"] },
      });
      assertEquals(steps.status, 200, steps.text);
      const charge = steps.json.find((a: { group: Record<string, string> }) => a.group.status === "ERROR");
      assertEquals(charge.group.function_name, "charge");
      assert(charge.count >= 2);
      assertEquals((lastFrame("get_step_aggregates").body as Record<string, unknown>).function_name, ["charge"]);
    });

    await t.step("queues: list and get, including a partitioned one", async () => {
      const queues = await call("GET", `${A}/queues`);
      assertEquals(queues.status, 200, queues.text);
      const byName = new Map(queues.json.map((q: { name: string }) => [q.name, q]));
      // deno-lint-ignore no-explicit-any
      const serial = byName.get("serial") as any;
      assertEquals(serial.concurrency, 1);
      assertEquals(serial.partitionQueue, false);
      assertEquals(serial.pollingIntervalSecs, 0.1);
      // deno-lint-ignore no-explicit-any
      assertEquals((byName.get(EXTRAS.partitionedQueue) as any).partitionQueue, true);
      const jobs = await call("GET", `${A}/queues/jobs`);
      assertEquals(jobs.json.workerConcurrency, 4);
      assertEquals(typeof jobs.json.$schema, "string");
      assertProblem(await call("GET", `${A}/queues/no-such-queue`), 404);
      const p = await call("GET", wf(EXTRAS.partitioned));
      assertEquals([p.json.queueName, p.json.queuePartitionKey], [EXTRAS.partitionedQueue, "tenant-a"]);
    });

    await t.step("events, notifications and streams of a workflow", async () => {
      const events = await call("GET", wf(EXTRAS.messenger, "/events"));
      assertEquals(events.status, 200, events.text);
      assertEquals(
        events.json.map((e: { key: string; value: string }) => [e.key, e.value]).sort(),
        [["phase", "'done'"], ["progress", "{ pct: 100 }"]],
      );
      const notes = await call("GET", wf(EXTRAS.messenger, "/notifications"));
      assertEquals(notes.status, 200, notes.text);
      assertEquals(
        notes.json.map((n: { topic: string; message: string; consumed: boolean }) => [n.topic, n.message, n.consumed]),
        [["greeting", "'hello'", true], ["mailbox", "'later'", false]],
      );
      for (const n of notes.json) assertMatch(n.createdAt, ISO);
      const streams = await call("GET", wf(EXTRAS.messenger, "/streams"));
      assertEquals(streams.status, 200, streams.text);
      assertEquals(streams.json, [{ key: "closed-stream", values: ["'a'", "'b'"] }, {
        key: "open-stream",
        values: ["'x'"],
      }]);
      assertEquals((await call("GET", wf(ids.pipeline[0], "/events"))).json, []);
    });

    await t.step("schedules: list, get, pause, resume, trigger, backfill", async () => {
      const list = await call("GET", `${A}/schedules`);
      assertEquals(list.status, 200, list.text);
      assertEquals(list.json.length, 1);
      const s = list.json[0];
      assertEquals([s.scheduleName, s.workflowName, s.cronExpression, s.status], [
        EXTRAS.schedule,
        EXTRAS.scheduledWorkflow,
        "0 0 1 1 *",
        "ACTIVE",
      ]);
      assertEquals(s.context, "{ team: 'ops' }");
      assertEquals(s.lastFiredAt, null);
      assertEquals(s.workflowClass, null);
      const path = `${A}/schedules/${EXTRAS.schedule}`;
      assertEquals((await call("GET", path)).json.scheduleId, s.scheduleId);
      assertProblem(await call("GET", `${A}/schedules/no-such-schedule`), 404);

      assertEquals((await call("POST", `${path}/pause`)).status, 204);
      assertEquals((await call("GET", `${A}/schedules?status=PAUSED`)).json.length, 1);
      assertEquals(lastFrame("list_schedules").body, { status: ["PAUSED"] });
      assertEquals((await call("GET", `${A}/schedules?status=ACTIVE`)).json, []);
      assertEquals((await call("POST", `${path}/resume`)).status, 204);
      assertEquals((await call("GET", path)).json.status, "ACTIVE");

      const trig = await call("POST", `${path}/trigger`);
      assertEquals(trig.status, 201, trig.text);
      assertStringIncludes(trig.json.workflowId, `sched-${EXTRAS.schedule}-trigger-`);
      assertStringIncludes(trig.headers.get("location")!, enc(trig.json.workflowId));
      await waitForStatus(trig.json.workflowId, "SUCCESS");

      const back = await call("POST", `${path}/backfill`, {
        body: { startTime: "2024-12-31T00:00:00Z", endTime: "2026-01-02T00:00:00Z" },
      });
      assertEquals(back.status, 200, back.text);
      assertEquals(back.json.workflowIds.length, 2); // 2025-01-01 and 2026-01-01
      const frame = lastFrame("backfill_schedule");
      assertEquals([frame.start, frame.end], ["2024-12-31T00:00:00Z", "2026-01-02T00:00:00Z"]);
      assertProblem(await call("POST", `${A}/schedules/no-such-schedule/trigger`), 404);
      assertEquals(assertProblem(await call("POST", `${path}/backfill`, { body: {} }), 422).errors.length, 2);
    });

    await t.step("versions: list and set the latest", async () => {
      const versions = await call("GET", `${A}/versions`);
      assertEquals(versions.status, 200, versions.text);
      const mine = versions.json.find((v: { versionName: string }) => v.versionName === world.app.applicationVersion);
      assert(mine, versions.text);
      assertMatch(mine.versionTimestamp, ISO);
      const set = await call("PATCH", `${A}/versions/latest`, { body: { versionName: world.app.applicationVersion } });
      assertEquals(set.status, 204, set.text);
      assertEquals(lastFrame("set_latest_application_version").version_name, world.app.applicationVersion);
      assertProblem(await call("PATCH", `${A}/versions/latest`, { body: { version_name: "x" } }), 422);
    });

    await t.step("the self-hosted path shape /v2 serves the same API", async () => {
      const url = conductor.v2BaseUrl.replace("/conductor/v2", "/v2");
      const r = await client(url)("GET", wf(ids.pipeline[0]));
      assertEquals(r.json.workflowId, ids.pipeline[0]);
    });

    await t.step("mutations are counted: every request to a route needing application.write", () => {
      const writes = conductor.requests.filter((r) => r.operation && WRITE_OPERATIONS.has(r.operation));
      assert(writes.length >= 20, `${writes.length} write requests`);
      assertEquals(conductor.mutationCount(), writes.length);
    });

    await t.step("no executor connected: 503 problem for dispatched operations, apps still served", async () => {
      await world.app.kill("SIGKILL");
      await conductor.waitForApplicationStatus(APP, "UNAVAILABLE", 10_000);
      const r = assertProblem(await search({}), 503);
      assertStringIncludes(r.detail, "no healthy executors");
      assertProblem(await call("POST", wf(ids.pipeline[0], "/cancel")), 503);
      assertEquals((await call("GET", A)).json.status, "UNAVAILABLE");
      assertEquals((await call("GET", `${A}/executors`)).json[0].status, "DISCONNECTED");
    });

    await t.step(
      "a restart on the same database: a new HEALTHY executor beside the dead one, the scenario kept",
      async () => {
        await using again = await startSampleApp({
          databaseUrl: world.databaseUrl,
          conductorUrl: conductor.executorUrl,
          conductorKey: world.conductorKey,
          appName: APP,
          controlDir: world.controlDir,
          extras: true,
        });
        assertEquals(again.scenarioStarted, false);
        await conductor.waitForApplicationStatus(APP, "AVAILABLE", 10_000);
        const both = (await call("GET", `${A}/executors`)).json;
        assertEquals(
          both.map((e: { executorId: string; status: string }) => [e.executorId, e.status]).sort(),
          [[world.app.executorId, "DISCONNECTED"], [again.executorId, "HEALTHY"]].sort(),
        );
        assertEquals(
          conductor.executors(APP).map((e) => e.executorId).sort(),
          both.map((e: { executorId: string }) => e.executorId).sort(),
        );
        assertEquals(await statusOf(ids.pipeline[0]), "SUCCESS");
      },
    );
  } finally {
    await world.close();
  }
});

/** A fake executor: answers executor_info, then `answer(frame)` (undefined: no reply). */
function fakeExecutor(
  conductor: ConductorEmulator,
  app: string,
  answer: (frame: Record<string, unknown>) => Record<string, unknown> | undefined,
) {
  const ws = new WebSocket(`${conductor.executorUrl}websocket/${app}/key`);
  const closed = new Promise<void>((r) => ws.addEventListener("close", () => r()));
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    const reply = msg.type === "executor_info"
      ? {
        executor_id: "fake-executor",
        application_version: "v1",
        hostname: "fake-host",
        language: "typescript",
        dbos_version: "5.2.11",
        executor_metadata: { region: "test" },
      }
      : answer(msg);
    if (reply) ws.send(JSON.stringify({ type: msg.type, request_id: msg.request_id, ...reply }));
  };
  return {
    ws,
    async close() {
      if (ws.readyState < 2) ws.close();
      await closed;
    },
  };
}

Deno.test("conductor emulator v2: 503 without an executor, 502 for a malformed or missing reply", async () => {
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: (tok) => tok === USER_TOKEN,
    applications: ["quiet-app"],
    replyTimeoutMs: 300,
    conductorKey: "key",
  });
  const call = client(conductor.v2BaseUrl);
  const A = `/orgs/${ORG}/apps/quiet-app`;
  assertEquals((await call("GET", `${A}/executors`)).json, []);
  assertStringIncludes(assertProblem(await call("POST", `${A}/workflows/search`), 503).detail, "no healthy executors");

  // An executor with the wrong conductor key is refused before the upgrade.
  const refused = new WebSocket(`${conductor.executorUrl}websocket/quiet-app/wrong-key`);
  await new Promise<void>((r) => refused.addEventListener("close", () => r()));
  assertEquals(conductor.executors("quiet-app"), []);

  const replies: Record<string, Record<string, unknown> | undefined> = {
    list_workflows: { output: "not-a-list" },
    get_workflow: { output: { Status: "SUCCESS", CreatedAt: "1", UpdatedAt: "1" } }, // no WorkflowUUID
    list_steps: { output: [{ function_id: 0, function_name: "s", started_at_epoch_ms: "yesterday" }] },
    cancel: { success: "yes" },
    get_queue: undefined, // silence
  };
  const fake = fakeExecutor(conductor, "quiet-app", (f) => replies[String(f.type)]);
  try {
    await conductor.waitForExecutors("quiet-app", 1, 5_000);
    const ex = (await call("GET", `${A}/executors`)).json[0];
    assertEquals([ex.executorId, ex.hostname, ex.executorMetadata], ["fake-executor", "fake-host", { region: "test" }]);

    const list = assertProblem(await call("POST", `${A}/workflows/search`, { body: { workflowIds: ["w1"] } }), 502);
    assertStringIncludes(list.detail, "malformed");
    assertEquals(conductor.relayed.at(-1)!.message.body, { workflow_uuids: ["w1"], sort_desc: false });
    assertStringIncludes(assertProblem(await call("GET", `${A}/workflows/w1`), 502).detail, "WorkflowUUID");
    assertStringIncludes(
      assertProblem(await call("GET", `${A}/workflows/w1/steps`), 502).detail,
      "started_at_epoch_ms",
    );
    assertProblem(await call("POST", `${A}/workflows/w1/cancel`), 502);
    const silent = assertProblem(await call("GET", `${A}/queues/q`), 502);
    assertStringIncludes(silent.detail, "did not answer");
    assertEquals(typeof conductor.relayed.at(-1)!.message.request_id, "string");

    // A segment that does not percent-decode is recorded as received, and answered 400.
    assertProblem(await call("GET", `${A}/workflows/100%`), 400);
    assertEquals(conductor.requests.at(-1)!.segments.at(-1), "100%");
    assertProblem(await call("GET", `${A}/workflows/w1/cancel`), 405);

    // The legacy v1alpha1 REST API is not served: a 404, not recorded.
    const before = conductor.requests.length;
    const v1 = await fetch(`http://127.0.0.1:${conductor.port}/conductor/v1alpha1/api/${ORG}/applications`, {
      headers: { authorization: `Bearer ${USER_TOKEN}` },
    });
    assertEquals(v1.status, 404);
    await v1.body?.cancel();
    assertEquals(conductor.requests.length, before);

    await fake.close();
    await conductor.waitForApplicationStatus("quiet-app", "UNAVAILABLE", 5_000);
    assertEquals(conductor.executors("quiet-app")[0].status, "DISCONNECTED");
  } finally {
    await fake.close();
  }
});

Deno.test("conductor emulator v2: the onRequest hook sees the matched operation and answers instead", async () => {
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: (tok) => tok === USER_TOKEN,
    applications: ["quiet-app"],
    onRequest: (r) =>
      r.operation === "resumeWorkflow"
        ? Response.json({ title: "Service Unavailable", status: 503, detail: "injected" }, { status: 503 })
        : undefined,
  });
  const call = client(conductor.v2BaseUrl);
  const injected = await call("POST", `/orgs/${ORG}/apps/quiet-app/workflows/w1/resume`);
  assertEquals([injected.status, injected.json.detail], [503, "injected"]);
  const rec = conductor.requests.at(-1)!;
  assertEquals([rec.operation, rec.authorized, rec.status], ["resumeWorkflow", true, 503]);
  assertEquals(conductor.mutationCount(), 1, "an injected answer to a mutation is counted");
  conductor.clearLog();
  assertEquals([conductor.requests.length, conductor.relayed.length, conductor.mutationCount()], [0, 0, 0]);
});

Deno.test("conductor emulator v2 in no-auth mode: no header needed, organization local, no users/me", async () => {
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: () => false,
    applications: ["local-app"],
    v2: { noAuth: true },
  });
  assertEquals(conductor.v2Org, "local");
  const call = client(conductor.v2BaseUrl, null);
  const apps = await call("GET", "/orgs/local/apps");
  assertEquals(apps.status, 200);
  assertEquals(apps.json.map((a: { name: string; status: string }) => [a.name, a.status]), [[
    "local-app",
    "UNAVAILABLE",
  ]]);
  assertProblem(await call("GET", `/orgs/${ORG}/apps`), 404);
  assertProblem(await call("GET", "/users/me"), 404);
  assertEquals(conductor.requests.at(-1)!.authorized, true);
});
