// Private mode in system-database mode, end to end: the server spawned over
// stdio with --private (and nothing else: no redact plugin) against a real
// PostgreSQL written by the real sample DBOS application. Inputs, outputs
// and step outputs come back only as `<private: TYPE, N bytes>`; errors,
// names, statuses and times come back as they are.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { hostPortsOf, spawnServer, sysdbModeFlags } from "./_server_process.ts";
import { recorder } from "./_scenarios.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { startSampleApp } from "./fixtures/sample_app_process.ts";
import { SECRETS_STEPS, SEEDS } from "./fixtures/sample_secrets.ts";

const DESCRIPTION = /^<private: (array|object|string|number|boolean|null|undefined|text), \d+ bytes>$/;

Deno.test("--private in system-database mode returns payloads as type and size, and errors as they are", async (t) => {
  await using pg = await startPostgres();
  const controlDir = await Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" });
  const url = pg.url("sample_app_dbos_sys");
  await using sample = await startSampleApp({ databaseUrl: url, controlDir });
  const server = await spawnServer({
    flags: sysdbModeFlags({ hostPorts: hostPortsOf([url]) }),
    args: ["--private"],
    env: { DBOS_SYSTEM_DATABASE_URL: url },
  });
  const { call, results } = recorder(server);
  const APP = sample.appName;
  const id = sample.ids.secrets;
  // Secrets carried by payloads never appear; those inside step errors do (errors are not payloads).
  const inPayloads = SEEDS.filter((s) => s.place !== "step_error").map((s) => s.value);
  try {
    await t.step("get_workflow describes the input and output and keeps status, name and times", async () => {
      const res = await call("get_workflow", { application_name: APP, workflow_id: id, full: true });
      assert(!res.isError, JSON.stringify(res));
      const w = res.structuredContent?.workflow as Record<string, string>;
      assertMatch(w.input, DESCRIPTION);
      assertMatch(w.output, DESCRIPTION);
      assertStringIncludes(w.input, "<private: array, ");
      assertStringIncludes(w.output, "<private: object, ");
      // The size is the size of the real value (the seeded input is several KB), not of the description.
      assert(Number(/(\d+) bytes/.exec(w.input)![1]) > 2000, w.input);
      assertEquals(w.status, "SUCCESS");
      assertEquals(w.workflowName, "secrets");
      assertEquals(w.workflowId, id);
      assertMatch(String(w.createdAt), /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
      const text = JSON.stringify(res.content);
      assertStringIncludes(text, `input: ${w.input}`);
    });

    await t.step("step outputs are described and step errors are kept, with the failing step marked", async () => {
      const res = await call("get_workflow", {
        application_name: APP,
        workflow_id: id,
        full: true,
        include_steps: true,
      });
      const steps = res.structuredContent?.steps as Record<string, unknown>[];
      assertEquals(steps.length, SECRETS_STEPS.length);
      for (const [i, s] of SECRETS_STEPS.entries()) {
        assertEquals(steps[i].stepName, s.name);
        if ("error" in s) {
          assertStringIncludes(String(steps[i].error), s.error.split("\n")[0].slice(0, 20));
          assertEquals(steps[i].output, undefined);
        } else {
          assertMatch(String(steps[i].output), DESCRIPTION);
        }
      }
      assertEquals(res.structuredContent?.failing_step, steps.find((s) => s.error)!.stepId);
      const list = await call("list_steps", { application_name: APP, workflow_id: id, full: true });
      assertEquals((list.structuredContent?.steps as unknown[]).length, SECRETS_STEPS.length);
    });

    await t.step("list_workflows with inputs and outputs loaded describes them too", async () => {
      const res = await call("list_workflows", {
        application_name: APP,
        workflow_uuids: [id],
        load_input: true,
        load_output: true,
      });
      const [w] = res.structuredContent?.workflows as Record<string, string>[];
      assertMatch(w.input, DESCRIPTION);
      assertMatch(w.output, DESCRIPTION);
    });

    await t.step("no secret carried by a payload appears in any answer, text or structured", () => {
      const everything = JSON.stringify(results);
      assertEquals(inPayloads.filter((s) => everything.includes(s)).map((s) => s.slice(0, 8)), []);
      // Control: without redaction, the step errors' own secrets are there (private mode keeps errors).
      const errorSecrets = SEEDS.filter((s) => s.place === "step_error").map((s) => s.value);
      assert(errorSecrets.some((s) => everything.includes(s)), "step errors are returned as they are");
    });
  } finally {
    await server.close();
    await Deno.remove(controlDir, { recursive: true });
  }
});
