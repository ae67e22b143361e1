// The shared scenarios of the read tools of issue 15 (events, notifications,
// streams, aggregates, schedules, versions, queues, export), run in both
// backends against the real sample application seeded with its extras
// (`extras: true`): what a scenario checks holds for either backend, shapes
// included. The one thing that differs is how a recorded value is rendered
// as text (Conductor's executor uses Node's inspection, the system-database
// backend JSON), so each backend passes its rendering, and values must read
// back exactly as the sample application wrote them.
import { gunzipSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { type Call, okCaller, type Row } from "./_scenarios.ts";
import { EXTRAS, type SampleApp } from "./fixtures/sample_app_process.ts";

/** What the read scenarios need. */
export interface ReadScenarioContext {
  /** Calls a tool on the server under test. */
  call: Call;
  /** The application name the server shows for the sample app. */
  app: string;
  /** The running sample app, started with `extras: true`. */
  sample: SampleApp;
  /** How this backend renders a recorded value as text. */
  render(value: unknown): string;
  /** Whether this backend knows if a stream was closed (the system database does; Conductor does not say). */
  knowsClosed: boolean;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Runs the read scenarios as steps of `t`. They change nothing. */
export async function runReadToolScenarios(t: Deno.TestContext, ctx: ReadScenarioContext): Promise<void> {
  const { call, app: APP, sample, render } = ctx;
  const ok = okCaller(call);
  const ids = sample.ids;

  await t.step("get_workflow_events reads back each event exactly as the workflow set it", async () => {
    const out = await ok("get_workflow_events", { application_name: APP, workflow_id: EXTRAS.messenger });
    const events = (out.events as Row[]).sort((a, b) => String(a.key).localeCompare(String(b.key)));
    assertEquals(events, [{ key: "phase", value: render("done") }, { key: "progress", value: render({ pct: 100 }) }]);
    assertEquals(out.count, 2);
    const none = await ok("get_workflow_events", { application_name: APP, workflow_id: ids.pipeline[0] });
    assertEquals(none.events, []);
    assertStringIncludes(
      textOf(await call("get_workflow_events", { application_name: APP, workflow_id: EXTRAS.messenger })),
      "phase = ",
    );
  });

  await t.step(
    "get_workflow_notifications reads back each message, its topic and whether it was consumed",
    async () => {
      const out = await ok("get_workflow_notifications", { application_name: APP, workflow_id: EXTRAS.messenger });
      const rows = out.notifications as Row[];
      assertEquals(rows.map((n) => [n.topic, n.message, n.consumed]), [
        ["greeting", render("hello"), true],
        ["mailbox", render("later"), false],
      ]);
      for (const n of rows) assertMatch(String(n.createdAt), ISO);
      assertEquals(Object.keys(rows[0]).sort(), ["consumed", "createdAt", "message", "topic"]);
      assert(Date.parse(String(rows[0].createdAt)) <= Date.parse(String(rows[1].createdAt)), "oldest first");
    },
  );

  await t.step("get_workflow_streams gives each stream's values in order, bounded, and whether it closed", async () => {
    const out = await ok("get_workflow_streams", { application_name: APP, workflow_id: EXTRAS.messenger });
    const streams = (out.streams as Row[]).sort((a, b) => String(a.key).localeCompare(String(b.key)));
    const closed = (v: boolean) => ctx.knowsClosed ? { closed: v } : {};
    assertEquals(streams, [
      { key: "closed-stream", values: [render("a"), render("b")], valueCount: 2, ...closed(true) },
      { key: "open-stream", values: [render("x")], valueCount: 1, ...closed(false) },
    ]);
    const one = await ok("get_workflow_streams", {
      application_name: APP,
      workflow_id: EXTRAS.messenger,
      max_values: 1,
    });
    const cut = (one.streams as Row[]).find((s) => s.key === "closed-stream")!;
    assertEquals([cut.values, cut.valueCount], [[render("a")], 2]);
  });

  await t.step("get_workflow_aggregates counts exactly what list_workflows lists, by status and name", async () => {
    const all = (await ok("list_workflows", { application_name: APP, limit: 500 })).workflows as Row[];
    const expected = new Map<string, number>();
    for (const w of all) {
      const key = `${w.status}|${w.workflowName}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const out = await ok("get_workflow_aggregates", {
      application_name: APP,
      group_by_status: true,
      group_by_name: true,
      select_count: true,
      select_max_total_latency_ms: true,
      select_min_created_at: true,
    });
    const rows = out.aggregates as Row[];
    const got = new Map(rows.map((r) => {
      const g = r.group as Record<string, string>;
      return [`${g.status}|${g.name}`, r.count as number];
    }));
    assertEquals(new Map([...got].sort()), new Map([...expected].sort()));
    const failing = rows.find((r) => (r.group as Row).name === "failing")!;
    assertEquals(Object.keys(failing.group as Row).sort(), ["name", "status"]);
    assertMatch(String(failing.minCreatedAt), ISO);
    assertEquals(typeof failing.maxTotalLatencyMs, "number");
    const pending = rows.find((r) => (r.group as Row).status === "PENDING")!;
    assertEquals(pending.maxTotalLatencyMs, undefined, "a running workflow has no completion: no latency");
    // Filters and time buckets: the failures in hour buckets sum to the failures.
    const buckets = await ok("get_workflow_aggregates", {
      application_name: APP,
      group_by_status: true,
      status: "ERROR",
      time_bucket_size_ms: 3_600_000,
    });
    const bucketRows = buckets.aggregates as Row[];
    assertEquals(bucketRows.reduce((n, r) => n + (r.count as number), 0), ids.failing.length);
    for (const r of bucketRows) assertEquals(Number((r.group as Row).time_bucket) % 3_600_000, 0);
    const queued = await ok("get_workflow_aggregates", {
      application_name: APP,
      group_by_queue_name: true,
      queue_name: ["jobs", "serial"],
    });
    assertEquals(
      (queued.aggregates as Row[]).map((r) => [(r.group as Row).queue_name, r.count]).sort(),
      [["jobs", ids.jobs.length], ["serial", 2]],
    );
    const none = await call("get_workflow_aggregates", { application_name: APP, select_count: true });
    assertEquals(none.isError, true);
    assertStringIncludes(textOf(none), "group_by_");
  });

  await t.step("get_step_aggregates counts steps per name and status", async () => {
    const out = await ok("get_step_aggregates", {
      application_name: APP,
      group_by_function_name: true,
      group_by_status: true,
      select_count: true,
      select_max_duration_ms: true,
      step_name: ["validate", "charge"],
    });
    const rows = (out.aggregates as Row[]).map((
      r,
    ) => [(r.group as Row).function_name, (r.group as Row).status, r.count])
      .sort();
    assertEquals(rows, [["charge", "ERROR", ids.failing.length], ["validate", "SUCCESS", ids.failing.length]]);
    assertEquals(typeof (out.aggregates as Row[])[0].maxDurationMs, "number");
  });

  await t.step("list_schedules and get_schedule show the schedule with its context", async () => {
    const out = await ok("list_schedules", { application_name: APP });
    const s = (out.schedules as Row[]).find((x) => x.scheduleName === EXTRAS.schedule);
    assert(s, "the sample's schedule is listed");
    assertEquals([s.workflowName, s.cronExpression, s.status, s.context], [
      EXTRAS.scheduledWorkflow,
      "0 0 1 1 *",
      "ACTIVE",
      render({ team: "ops" }),
    ]);
    assert(typeof s.scheduleId === "string" && s.scheduleId !== "");
    assertEquals((await ok("list_schedules", { application_name: APP, status: "PAUSED" })).schedules, []);
    assertEquals(
      ((await ok("list_schedules", { application_name: APP, schedule_name_prefix: "nightly" })).schedules as Row[])
        .map((x) => x.scheduleName),
      [EXTRAS.schedule],
    );
    assertEquals(
      (await ok("list_schedules", { application_name: APP, workflow_name: "no_such_workflow" })).schedules,
      [],
    );
    const one = (await ok("get_schedule", { application_name: APP, schedule_name: EXTRAS.schedule })).schedule as Row;
    assertEquals(one, s);
    const missing = await call("get_schedule", { application_name: APP, schedule_name: "no-such-schedule" });
    assertEquals(missing.isError, true);
    assertStringIncludes(textOf(missing), "no-such-schedule");
  });

  await t.step("list_application_versions shows the running version first", async () => {
    const out = await ok("list_application_versions", { application_name: APP });
    const versions = out.versions as Row[];
    assertEquals(versions[0].versionName, sample.applicationVersion);
    assertMatch(String(versions[0].versionTimestamp), ISO);
    assertMatch(String(versions[0].createdAt), ISO);
    assertEquals(Object.keys(versions[0]).sort(), ["createdAt", "versionId", "versionName", "versionTimestamp"]);
  });

  await t.step("list_queues and get_queue show each queue's configuration and what waits on it", async () => {
    const out = await ok("list_queues", { application_name: APP });
    const queues = new Map((out.queues as Row[]).map((q) => [q.queue_name, q]));
    const serial = queues.get("serial")!;
    assertEquals([serial.enqueued, serial.pending, serial.oldest_enqueued_id], [1, 1, ids.serialWaiting]);
    assertEquals((serial.config as Row).concurrency, 1);
    assertEquals((queues.get("jobs")!.config as Row).workerConcurrency, 4);
    assertEquals((queues.get(EXTRAS.partitionedQueue)!.config as Row).partitionQueue, true);
    const q = await ok("get_queue", { application_name: APP, queue_name: "serial" });
    assertEquals([(q.queue as Row).name, (q.queue as Row).concurrency, q.enqueued, q.pending], ["serial", 1, 1, 1]);
    assertMatch(String(q.oldest_enqueued_at), ISO);
    assertEquals((q.queue as Row).pollingIntervalSecs, 0.1);
    const missing = await call("get_queue", { application_name: APP, queue_name: "no-such-queue" });
    assertEquals(missing.isError, true);
    assertStringIncludes(textOf(missing), "no-such-queue");
  });

  await t.step("export_workflow returns DBOS's serialized workflow, in parts that join to the whole", async () => {
    const whole = await ok("export_workflow", { application_name: APP, workflow_id: EXTRAS.messenger });
    assertEquals(whole.complete, true);
    const rows = JSON.parse(gunzipSync(Buffer.from(String(whole.serialized_workflow), "base64")).toString("utf8"));
    assertEquals(rows.length, 1);
    assertEquals(rows[0].workflow_status.workflow_uuid, EXTRAS.messenger);
    assertEquals(rows[0].workflow_status.name, "messenger");
    assertEquals(rows[0].workflow_events.map((e: Row) => e.key).sort(), ["phase", "progress"]);
    assertEquals(rows[0].streams.length, 4, "a, b, the close marker, x");
    const parts: string[] = [];
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const part = await ok("export_workflow", {
        application_name: APP,
        workflow_id: EXTRAS.messenger,
        byte_offset: offset,
        max_bytes: 256,
      });
      parts.push(String(part.serialized_workflow));
      offset = part.next_byte_offset as number | undefined;
      assert(parts.length < 200, "the parts end");
    }
    assert(parts.length > 1, "a 256-byte part size splits the export");
    assertEquals(parts.join(""), whole.serialized_workflow);
    const family = await ok("export_workflow", {
      application_name: APP,
      workflow_id: ids.parent,
      export_children: true,
    });
    const fam = JSON.parse(gunzipSync(Buffer.from(String(family.serialized_workflow), "base64")).toString("utf8"));
    assertEquals(fam.map((r: Row) => (r.workflow_status as Row).workflow_uuid).sort(), [ids.child, ids.parent].sort());
    const missing = await call("export_workflow", { application_name: APP, workflow_id: "wf-no-such" });
    assertEquals(missing.isError, true);
    assertStringIncludes(textOf(missing), "wf-no-such");
  });

  await t.step("summarize_workflows counts exactly what list_workflows lists", async () => {
    const all = (await ok("list_workflows", { application_name: APP, limit: 500, start_time: "1d" }))
      .workflows as Row[];
    const out = await ok("summarize_workflows", { application_name: APP, start_time: "1d" });
    assertEquals(out.total, all.length);
    assertEquals((out.by_status as Record<string, number>).ERROR, ids.failing.length);
    const errors = out.errors as Row[];
    assertEquals(errors.length, 1);
    assertEquals(errors[0].count, ids.failing.length);
    assertEquals((errors[0].step as Row).stepName, "charge");
  });
}
