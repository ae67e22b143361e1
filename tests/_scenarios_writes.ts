// The scenarios of the mutating tools of issue 15, shared by both backends:
// the same calls and the same assertions against the sample DBOS
// application's write extras (WRITES), in Conductor mode and in
// system-database mode (e2e_write_tools_test.ts).
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { type Call, eventually, okCaller, type Row } from "./_scenarios.ts";
import { FAILING_MESSAGE, type SampleApp, WRITES } from "./fixtures/sample_app_process.ts";

/** What the write scenarios need. */
export interface WriteScenarioContext {
  /** Calls a tool on the server under test. */
  call: Call;
  /** The application name the server shows for the sample app (started with `SAMPLE_WRITES=1`). */
  app: string;
  /** The running sample app. */
  sample: SampleApp;
}

/**
 * Runs the write scenarios as steps of `t`, in order (each leaves the
 * sample app's write extras as the next one expects them).
 */
export async function runWriteScenarios(t: Deno.TestContext, ctx: WriteScenarioContext): Promise<void> {
  const { call, app: APP, sample } = ctx;
  const ok = okCaller(call);
  const statusOf = async (id: string) =>
    String(((await ok("get_workflow", { application_name: APP, workflow_id: id })).workflow as Row).status);
  const until = (id: string, status: string) =>
    eventually(`${id} ${status}`, async () => (await statusOf(id)) === status ? true : undefined, 30_000);

  await t.step(
    "bulk_cancel_workflows dry run lists the running workflows and the unknown id, and changes nothing",
    async () => {
      const out = await ok("bulk_cancel_workflows", {
        application_name: APP,
        workflow_ids: [...WRITES.long, "wf-writes-nope"],
      });
      assertEquals(out.dry_run, true);
      assertEquals(out.not_found, ["wf-writes-nope"]);
      assertEquals(
        (out.workflows as Row[]).map((w) => `${w.workflowId} ${w.workflowName} ${w.status} ${w.changes}`),
        WRITES.long.map((id) => `${id} long_running PENDING true`),
      );
      for (const id of WRITES.long) assertEquals(await statusOf(id), "PENDING");
    },
  );

  await t.step("bulk_cancel_workflows of running workflows leaves them CANCELLED", async () => {
    const refused = await call("bulk_cancel_workflows", {
      application_name: APP,
      workflow_ids: [...WRITES.long, "wf-writes-nope"],
      dry_run: false,
    });
    assertEquals(refused.isError, true);
    assertStringIncludes(textOf(refused), "nothing was cancelled");
    for (const id of WRITES.long) assertEquals(await statusOf(id), "PENDING", "a refused call cancels nothing");
    const out = await ok("bulk_cancel_workflows", { application_name: APP, workflow_ids: WRITES.long, dry_run: false });
    assertEquals(out.dry_run, false);
    for (const id of WRITES.long) await until(id, "CANCELLED");
    const again = await ok("bulk_cancel_workflows", { application_name: APP, workflow_ids: WRITES.long });
    assertEquals((again.workflows as Row[]).map((w) => `${w.status} ${w.changes}`), [
      "CANCELLED false",
      "CANCELLED false",
    ]);
  });

  await t.step("bulk_resume_workflows restarts the cancelled workflows, which then finish", async () => {
    const dry = await ok("bulk_resume_workflows", { application_name: APP, workflow_ids: WRITES.long });
    assertEquals((dry.workflows as Row[]).map((w) => w.changes), [true, true]);
    await ok("bulk_resume_workflows", { application_name: APP, workflow_ids: WRITES.long, dry_run: false });
    for (const id of WRITES.long) await sample.release(id);
    for (const id of WRITES.long) await until(id, "SUCCESS");
  });

  let forkId = "";
  await t.step(
    "fork_from_failure from the last failure re-runs the failed step with the earlier outputs reused",
    async () => {
      const before = (await ok("list_steps", { application_name: APP, workflow_id: WRITES.flaky })).steps as Row[];
      assertEquals(before.map((s) => s.stepName), ["prepare", "charge"]);
      assertStringIncludes(String(before[1].error), FAILING_MESSAGE);
      const dry = await ok("fork_from_failure", {
        application_name: APP,
        workflow_ids: [WRITES.flaky],
        from_last_failure: true,
      });
      assertEquals(dry.new_workflow_ids, []);
      assertEquals((dry.workflows as Row[]).map((w) => `${w.status} ${w.changes}`), ["ERROR true"]);
      await Deno.writeTextFile(`${sample.controlDir}/${WRITES.fixFlag}`, "fixed");
      const out = await ok("fork_from_failure", {
        application_name: APP,
        workflow_ids: [WRITES.flaky],
        from_last_failure: true,
        dry_run: false,
      });
      const ids = out.new_workflow_ids as string[];
      assertEquals(ids.length, 1);
      forkId = ids[0];
      assertNotEquals(forkId, WRITES.flaky);
      await until(forkId, "SUCCESS");
      const fork = (await ok("get_workflow", { application_name: APP, workflow_id: forkId })).workflow as Row;
      assertEquals(fork.forkedFrom, WRITES.flaky);
      const steps = (await ok("list_steps", { application_name: APP, workflow_id: forkId })).steps as Row[];
      assertEquals(steps.map((s) => s.stepName), ["prepare", "charge"]);
      assertEquals(steps[0].output, before[0].output, "the step before the failure is reused, not re-run");
      assertEquals(steps[1].error, undefined, "the failed step ran again, and succeeded");
      assertStringIncludes(String(steps[1].output), "charged");
      assertEquals(await statusOf(WRITES.flaky), "ERROR", "the original is unchanged");
    },
  );

  await t.step("delete_workflow with delete_children removes the workflow and its child", async () => {
    assertEquals(await statusOf(WRITES.child), "SUCCESS");
    const out = await ok("delete_workflow", {
      application_name: APP,
      workflow_id: WRITES.parent,
      delete_children: true,
    });
    assertEquals(out.deleted, true);
    for (const id of [WRITES.parent, WRITES.child]) {
      const res = await call("get_workflow", { application_name: APP, workflow_id: id });
      assertEquals(res.isError, true, `${id} is gone`);
    }
    const again = await call("delete_workflow", { application_name: APP, workflow_id: WRITES.parent });
    assertEquals(again.isError, true);
    assertStringIncludes(textOf(again), "nothing was deleted");
  });

  await t.step(
    "bulk_delete_workflows deletes the original and its fork, after a dry run that deletes nothing",
    async () => {
      const ids = [WRITES.flaky, forkId];
      const dry = await ok("bulk_delete_workflows", { application_name: APP, workflow_ids: ids });
      assertEquals((dry.workflows as Row[]).map((w) => w.changes), [true, true]);
      assertEquals(await statusOf(WRITES.flaky), "ERROR");
      const out = await ok("bulk_delete_workflows", { application_name: APP, workflow_ids: ids, dry_run: false });
      assertEquals((out.workflows as Row[]).map((w) => w.status), ["DELETED", "DELETED"]);
      const left = await ok("list_workflows", { application_name: APP, workflow_uuids: ids });
      assertEquals(left.count, 0);
    },
  );

  /** The id of the schedule's newest run ("" before the first). */
  const fired = async () => {
    const out = await ok("list_workflows", {
      application_name: APP,
      schedule_name: WRITES.schedule,
      sort_desc: true,
      limit: 1,
    });
    return String((out.workflows as Row[])[0]?.workflowId ?? "");
  };

  await t.step("a paused schedule stops firing and a resumed one fires again", async () => {
    await eventually("the schedule fires", async () => (await fired()) !== "" ? true : undefined);
    const out = await ok("pause_schedule", { application_name: APP, schedule_name: WRITES.schedule });
    assertEquals(out.status, "PAUSED");
    // Real time, on purpose: the sample app's scheduler (polling every 300 ms) must see the pause.
    await new Promise((r) => setTimeout(r, 1_500));
    const paused = await fired();
    await new Promise((r) => setTimeout(r, 2_500));
    assertEquals(await fired(), paused, "no new run while paused");
    const resumed = await ok("resume_schedule", { application_name: APP, schedule_name: WRITES.schedule });
    assertEquals(resumed.status, "ACTIVE");
    await eventually("the schedule fires again", async () => (await fired()) !== paused ? true : undefined);
  });

  await t.step("trigger_schedule runs the scheduled workflow now", async () => {
    const out = await ok("trigger_schedule", { application_name: APP, schedule_name: WRITES.schedule });
    const id = String(out.new_workflow_id);
    await until(id, "SUCCESS");
    const w = (await ok("get_workflow", { application_name: APP, workflow_id: id })).workflow as Row;
    assertEquals(w.workflowName, WRITES.scheduledWorkflow);
  });

  await t.step("backfill_schedule counts the runs of a past window, refuses too many, and starts them", async () => {
    const end = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    const window = { start_time: new Date(end - 5_000).toISOString(), end_time: new Date(end).toISOString() };
    const dry = await ok("backfill_schedule", { application_name: APP, schedule_name: WRITES.schedule, ...window });
    assertEquals(dry.runs, 4, "every second strictly inside a 5-second window");
    assertEquals(dry.new_workflow_ids, []);
    const tooMany = await call("backfill_schedule", {
      application_name: APP,
      schedule_name: WRITES.schedule,
      ...window,
      max_runs: 3,
      dry_run: false,
    });
    assertEquals(tooMany.isError, true);
    assertStringIncludes(textOf(tooMany), "more than 3 workflows");
    const out = await ok("backfill_schedule", {
      application_name: APP,
      schedule_name: WRITES.schedule,
      ...window,
      dry_run: false,
    });
    const ids = out.new_workflow_ids as string[];
    assertEquals(ids.length, 4);
    for (const id of ids) {
      assertStringIncludes(id, WRITES.schedule);
      assert(!(await call("get_workflow", { application_name: APP, workflow_id: id })).isError, `${id} exists`);
    }
    const unknown = await call("pause_schedule", { application_name: APP, schedule_name: "no-such-schedule" });
    assertEquals(unknown.isError, true);
  });

  await t.step("set_latest_application_version makes the running version the latest", async () => {
    const out = await ok("set_latest_application_version", {
      application_name: APP,
      version_name: sample.applicationVersion,
    });
    assertStringIncludes(String(out.message), "is now the latest version");
  });
}
