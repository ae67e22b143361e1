// The end-to-end workflow scenarios shared by both backends: the same tool
// calls and the same assertions, against the sample DBOS application's
// scenario, in Conductor mode (e2e_conductor_test.ts) and in
// system-database mode (e2e_sysdb_test.ts). What a scenario checks holds for
// either backend, shapes included: an agent cannot tell them apart.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import type { ServerProcess } from "./_server_process.ts";
import { FAILING_MESSAGE, type SampleApp } from "./fixtures/sample_app_process.ts";

/** A tool result as the SDK client returns it. */
export type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content?: unknown };
/** A JSON object. */
export type Row = Record<string, unknown>;
/** Calls one tool. */
export type Call = (name: string, args?: Record<string, unknown>) => Promise<Result>;

/** Calls tools on `server`, keeping every result (and whatever else is pushed) to check for leaked secrets. */
export function recorder(server: Pick<ServerProcess, "client">): { call: Call; results: unknown[] } {
  const results: unknown[] = [];
  return {
    results,
    call: async (name, args = {}) => {
      const res = await server.client.callTool({ name, arguments: args }) as Result;
      results.push(res);
      return res;
    },
  };
}

/** Polls `check` (a remote process's state) every 200 ms until it answers, for at most `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the shared scenarios need. */
export interface ScenarioContext {
  /** Calls a tool on the server under test. */
  call: Call;
  /** The application name the server shows for the sample app. */
  app: string;
  /** The running sample app (ids, executor, version, release of long workflows). */
  sample: SampleApp;
  /** Polls a condition; {@linkcode eventually} by default. */
  poll?: typeof eventually;
}

/** Calls a tool that must succeed; returns its structured content. */
export function okCaller(call: Call): (name: string, args?: Record<string, unknown>) => Promise<Row> {
  return async (name, args = {}) => {
    const res = await call(name, args);
    assert(!res.isError, `${name} failed: ${textOf(res)}`);
    assert(res.structuredContent, `${name} has structuredContent`);
    return res.structuredContent;
  };
}

/** The keys, sorted, of a result object. */
function keysOf(row: Row): string[] {
  return Object.keys(row).sort();
}

/** Every value is text, except the flags that the contract's executors send as booleans. */
function assertTextValues(row: Row, what: string): void {
  for (const [k, v] of Object.entries(row)) {
    if (k === "wasForkedFrom") assertEquals(typeof v, "boolean", `${what}.${k}`);
    else if (k === "stepId" || k === "priority" || k === "timeoutMs") assertEquals(typeof v, "number", `${what}.${k}`);
    else assertEquals(typeof v, "string", `${what}.${k} is text`);
  }
}

// The keys both backends give for the scenario's workflows and steps.
const WORKFLOW_BASE = [
  "applicationName",
  "appVersion",
  "createdAt",
  "executorId",
  "priority",
  "status",
  "updatedAt",
  "wasForkedFrom",
  "workflowName",
  "workflowId",
];
const sorted = (keys: string[]) => [...keys].sort();
const EXPECTED_KEYS = {
  /** get_workflow of wf-pipeline-1 (user alice, roles, input and output). */
  pipelineGet: sorted([
    ...WORKFLOW_BASE,
    "roles",
    "user",
    "completedAt",
    "input",
    "output",
  ]),
  /** get_workflow of a failing workflow: an error, no output. */
  failingGet: sorted([...WORKFLOW_BASE, "completedAt", "error", "input"]),
  /** get_workflow of the child: its parent. */
  childGet: sorted([...WORKFLOW_BASE, "completedAt", "input", "output", "parentWorkflowId"]),
  /** list_workflows row of a queued job, without payloads. */
  jobRow: sorted([...WORKFLOW_BASE, "completedAt", "dequeuedAt", "queueName"]),
  /** list_workflows row of a long-running workflow, without payloads. */
  longRow: sorted(WORKFLOW_BASE),
  /** list_steps of the parent: a child workflow start and its result. */
  parentSteps: [
    sorted(["childWorkflowId", "completedAt", "stepId", "stepName", "startedAt"]),
    sorted([
      "childWorkflowId",
      "completedAt",
      "stepId",
      "stepName",
      "output",
      "startedAt",
    ]),
  ],
};

/**
 * Runs the shared scenarios as steps of `t`, in order: reads first, then
 * cancel, resume and fork (which change the sample app's workflows).
 */
export async function runWorkflowScenarios(t: Deno.TestContext, ctx: ScenarioContext): Promise<void> {
  const { call, app: APP, sample } = ctx;
  const poll = ctx.poll ?? eventually;
  const ok = okCaller(call);
  const ids = sample.ids;
  const listIds = async (args: Record<string, unknown>): Promise<string[]> => {
    const out = await ok("list_workflows", { application_name: APP, limit: 500, ...args });
    return (out.workflows as Row[]).map((w) => String(w.workflowId));
  };
  const status = async (id: string) =>
    ((await ok("get_workflow", { application_name: APP, workflow_id: id })).workflow as Row).status;

  await t.step("list_applications shows the sample app AVAILABLE", async () => {
    const out = await ok("list_applications");
    const app = (out.applications as Row[]).find((a) => a.name === APP);
    assertEquals(app?.status, "AVAILABLE");
    assertEquals(out.count, (out.applications as Row[]).length);
  });

  await t.step("list_workflows filters by status, name, user, queue, prefix and ids", async () => {
    assertEquals((await listIds({ status: "ERROR" })).sort(), [...ids.failing].sort());
    assertEquals((await listIds({ status: "error" })).sort(), [...ids.failing].sort());
    assertEquals((await listIds({ workflow_name: "pipeline" })).sort(), [...ids.pipeline].sort());
    assertEquals(await listIds({ authenticated_user: "alice" }), [ids.pipeline[0]]);
    assertEquals((await listIds({ queue_name: "jobs" })).sort(), [...ids.jobs].sort());
    assertEquals((await listIds({ workflow_id_prefix: "wf-pipeline-" })).sort(), [...ids.pipeline].sort());
    assertEquals(
      (await listIds({ workflow_uuids: [ids.parent, ids.child] })).sort(),
      [ids.parent, ids.child].sort(),
    );
    assertEquals(await listIds({ status: "ENQUEUED" }), [ids.serialWaiting]);
    assertEquals(await listIds({ status: "DELAYED" }), []);
  });

  await t.step("list_workflows filters by executor, application version and queues_only", async () => {
    const all = await listIds({});
    assertEquals((await listIds({ executor_id: sample.executorId })).sort(), [...all].sort());
    assertEquals(await listIds({ executor_id: "no-such-executor" }), []);
    assertEquals((await listIds({ application_version: sample.applicationVersion })).sort(), [...all].sort());
    assertEquals(await listIds({ application_version: "no-such-version" }), []);
    assertEquals((await listIds({ queues_only: true })).sort(), [ids.serialBlocker, ids.serialWaiting].sort());
  });

  await t.step("list_workflows pages with limit and offset, in either order", async () => {
    // Workflows started together share a creation time, and the contract orders by creation time
    // only, so rows with equal times may come in any order: compare the times, not the ids.
    const page = async (args: Record<string, unknown>) =>
      await ok("list_workflows", { application_name: APP, ...args });
    const timesOf = (out: Row) => (out.workflows as Row[]).map((w) => Date.parse(String(w.createdAt)));
    const all = await page({ limit: 500 });
    const allTimes = timesOf(all);
    assert(allTimes.length >= 10, `the scenario has many workflows, got ${allTimes.length}`);
    assertEquals(allTimes, [...allTimes].sort((a, b) => a - b), "oldest first by default");
    assertEquals(all.next_offset, undefined);
    const first = await page({ limit: 3 });
    assertEquals(timesOf(first), allTimes.slice(0, 3));
    assertEquals(first.next_offset, 3);
    const second = await page({ limit: 3, offset: 3 });
    assertEquals(timesOf(second), allTimes.slice(3, 6));
    assertEquals(second.next_offset, 6);
    const last = await page({ limit: 500, offset: allTimes.length - 1 });
    assertEquals(last.count, 1);
    assertEquals(last.next_offset, undefined);
    assertEquals(timesOf(await page({ limit: 500, sort_desc: true })), [...allTimes].reverse());
  });

  await t.step("list_workflows filters by a time range", async () => {
    const rows = (await ok("list_workflows", { application_name: APP, limit: 500 })).workflows as Row[];
    const times = rows.map((w) => Date.parse(String(w.createdAt))).sort((a, b) => a - b);
    const mid = times[Math.floor(times.length / 2)];
    const after = await listIds({ start_time: new Date(mid).toISOString() });
    const before = await listIds({ end_time: new Date(mid - 1).toISOString() });
    assertEquals(after.length, times.filter((x) => x >= mid).length);
    assertEquals(before.length, times.filter((x) => x <= mid - 1).length);
    const both = await listIds({ start_time: new Date(times[0]).toISOString(), end_time: new Date(mid).toISOString() });
    assertEquals(both.length, times.filter((x) => x <= mid).length);
    assertEquals(await listIds({ start_time: new Date(times.at(-1)! + 60_000).toISOString() }), []);
  });

  await t.step("list_workflows includes inputs and outputs only when asked", async () => {
    const plain = (await ok("list_workflows", { application_name: APP, workflow_uuids: [ids.pipeline[1]] }))
      .workflows as Row[];
    assertEquals(plain[0].input, undefined);
    assertEquals(plain[0].output, undefined);
    const loaded = (await ok("list_workflows", {
      application_name: APP,
      workflow_uuids: [ids.pipeline[1]],
      load_input: true,
      load_output: true,
    })).workflows as Row[];
    assert(typeof loaded[0].input === "string" && loaded[0].input !== "");
    assert(typeof loaded[0].output === "string" && loaded[0].output !== "");
    assertStringIncludes(String(loaded[0].input), "order-2");
  });

  await t.step("workflows and steps come in v2's shapes: same keys, ISO 8601 times, text payloads", async () => {
    const get = async (id: string) =>
      (await ok("get_workflow", { application_name: APP, workflow_id: id })).workflow as Row;
    const pipeline = await get(ids.pipeline[0]);
    assertEquals(keysOf(pipeline), EXPECTED_KEYS.pipelineGet);
    assertEquals(pipeline.user, "alice");
    assertEquals(JSON.parse(String(pipeline.roles)), ["admin", "ops"]);
    assertEquals(pipeline.executorId, sample.executorId);
    assertEquals(pipeline.appVersion, sample.applicationVersion);
    assertEquals(pipeline.applicationName, sample.appName);
    assertMatch(String(pipeline.createdAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assertEquals(pipeline.priority, 0);
    assertEquals(pipeline.wasForkedFrom, false);
    assertTextValues(pipeline, "pipeline");
    const failing = await get(ids.failing[0]);
    assertEquals(keysOf(failing), EXPECTED_KEYS.failingGet);
    assertTextValues(failing, "failing");
    const child = await get(ids.child);
    assertEquals(keysOf(child), EXPECTED_KEYS.childGet);
    assertEquals(child.parentWorkflowId, ids.parent);
    const rows = (await ok("list_workflows", { application_name: APP, workflow_uuids: [ids.jobs[0], ids.long[1]] }))
      .workflows as Row[];
    const job = rows.find((r) => r.workflowId === ids.jobs[0])!;
    const long = rows.find((r) => r.workflowId === ids.long[1])!;
    assertEquals(keysOf(job), EXPECTED_KEYS.jobRow);
    assertEquals(job.queueName, "jobs");
    assertEquals(keysOf(long), EXPECTED_KEYS.longRow);
    assertTextValues(job, "job");
    const steps = (await ok("list_steps", { application_name: APP, workflow_id: ids.parent })).steps as Row[];
    assertEquals(steps.map(keysOf), EXPECTED_KEYS.parentSteps);
    assertEquals(steps.map((s) => s.stepId), [0, 1]);
    assertEquals(steps[0].childWorkflowId, ids.child);
    for (const s of steps) assertTextValues(s, "step");
  });

  await t.step("get_workflow shows a failed workflow's error, list_steps its steps from 0", async () => {
    const wf = (await ok("get_workflow", { application_name: APP, workflow_id: ids.failing[0] })).workflow as Row;
    assertEquals(wf.status, "ERROR");
    assertStringIncludes(String(wf.error), FAILING_MESSAGE);
    const steps = await ok("list_steps", { application_name: APP, workflow_id: ids.failing[0] });
    const rows = steps.steps as Row[];
    assertEquals(rows.map((s) => s.stepName), ["validate", "charge"]);
    assertEquals(rows[0].stepId, 0);
    assertStringIncludes(String(rows[0].output), "validated order-f1");
    assert(rows.some((s) => String(s.error ?? "").includes(FAILING_MESSAGE)), "the failing step has the error");
    const res = await call("list_steps", { application_name: APP, workflow_id: ids.failing[0] });
    assertStringIncludes(textOf(res), FAILING_MESSAGE);
  });

  await t.step("an id with '/', '..', '?', '#' and '%' is read as it is", async () => {
    const wf = (await ok("get_workflow", { application_name: APP, workflow_id: ids.odd })).workflow as Row;
    assertEquals(wf.workflowId, ids.odd);
    assertEquals(wf.status, "SUCCESS");
  });

  await t.step("unknown application and unknown workflow give clear errors", async () => {
    const noApp = await call("list_workflows", { application_name: "no-such-app" });
    assertEquals(noApp.isError, true);
    assertStringIncludes(textOf(noApp), "list_applications");
    const noWf = await call("get_workflow", { application_name: APP, workflow_id: "wf-does-not-exist" });
    assertEquals(noWf.isError, true);
    assertStringIncludes(textOf(noWf), "wf-does-not-exist");
    assertStringIncludes(textOf(noWf), "list_workflows");
  });

  await t.step("cancel a running workflow, see it CANCELLED, resume it and see it finish", async () => {
    const id = ids.long[0];
    assertEquals(await status(id), "PENDING");
    const cancelled = await ok("cancel_workflow", { application_name: APP, workflow_id: id });
    assertEquals(cancelled.workflow_id, id);
    await poll("CANCELLED", async () => (await status(id)) === "CANCELLED" ? true : undefined);
    await sample.release(id);
    const resumed = await ok("resume_workflow", { application_name: APP, workflow_id: id });
    assertMatch(String(resumed.message), /Resumed/);
    await poll("SUCCESS after resume", async () => (await status(id)) === "SUCCESS" ? true : undefined);
  });

  await t.step("resume an ENQUEUED workflow starts it now, bypassing its queue", async () => {
    assertEquals(await status(ids.serialWaiting), "ENQUEUED");
    await ok("resume_workflow", { application_name: APP, workflow_id: ids.serialWaiting });
    await poll("SUCCESS", async () => (await status(ids.serialWaiting)) === "SUCCESS" ? true : undefined);
  });

  await t.step("cancel of an unknown id is an error, resume of a finished workflow says it did nothing", async () => {
    const missing = await call("cancel_workflow", { application_name: APP, workflow_id: "wf-nope" });
    assertEquals(missing.isError, true);
    assertStringIncludes(textOf(missing), "nothing was cancelled");
    const done = await ok("resume_workflow", { application_name: APP, workflow_id: ids.pipeline[0] });
    assertEquals(done.status, "SUCCESS");
    assertStringIncludes(String(done.message), "fork_workflow");
  });

  await t.step("fork from step 2 runs a new workflow that reuses the earlier steps' outputs", async () => {
    const original = ids.pipeline[1];
    const forked = await ok("fork_workflow", {
      application_name: APP,
      workflow_id: original,
      start_step: 2,
      new_workflow_id: "wf-fork-of-pipeline-2",
    });
    assertEquals(forked.new_workflow_id, "wf-fork-of-pipeline-2");
    const newId = String(forked.new_workflow_id);
    await poll("fork SUCCESS", async () => (await status(newId)) === "SUCCESS" ? true : undefined);
    const stepsOf = async (id: string) =>
      (await ok("list_steps", { application_name: APP, workflow_id: id })).steps as Row[];
    const [a, b] = [await stepsOf(original), await stepsOf(newId)];
    assertEquals(b.map((s) => s.stepName), a.map((s) => s.stepName));
    assertEquals(b[0].output, a[0].output, "step 0 (a random value) was reused, not re-run");
    assertEquals(b[1].output, a[1].output);
    assertEquals(await listIds({ forked_from: original }), [newId]);
    const fork = (await ok("get_workflow", { application_name: APP, workflow_id: newId })).workflow as Row;
    assertEquals(fork.forkedFrom, original);
  });
}
