// Which DBOS schema versions system-database mode serves, found by test:
// databases written by real applications on each 5.x minor release the npm
// registry serves (latest patch of each, installed as fixtures under their
// own import aliases) get every tool, the shared scenarios included; those
// of 3.x and 4.x applications are refused with their registered name, their
// SDK generation and a hint that works as written (the test runs it).
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { hostPortsOf, spawnServer, sysdbModeFlags } from "./_server_process.ts";
import { okCaller, recorder, type Row, runWorkflowScenarios } from "./_scenarios.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { FAILING_MESSAGE, type SampleApp, startSampleApp } from "./fixtures/sample_app_process.ts";
import { type SdkKey, sdkVersion } from "./fixtures/sdk_versions.ts";
import { WRITER_IDS, writeWithSdk } from "./fixtures/sdk_writer_process.ts";
import {
  CLIENT_SDK_VERSION,
  limitedCapabilities,
  MIGRATE_COMMAND,
  MIN_SCHEMA_VERSION,
  SCHEMA_NEEDS,
  schemaNeedError,
  sdkGeneration,
} from "../src/backends/sysdb/_schema_versions.ts";

/** The supported releases, the schema version each writes (measured), and the generation the server names. */
const SUPPORTED: { sdk: SdkKey; schema: number; generation: string }[] = [
  { sdk: "5.0", schema: 114, generation: "5.0" },
  { sdk: "5.1", schema: 122, generation: "5.1" },
  { sdk: "5.2", schema: 123, generation: "5.2 or 5.3" },
  { sdk: "5.3", schema: 123, generation: "5.2 or 5.3" },
];

const appNameOf = (sdk: string) => `sdk-${sdk.replace(".", "-")}`;
const dbNameOf = (sdk: string) => `v${sdk.replace(".", "_")}_dbos_sys`;

Deno.test("every tool works on the databases of applications on each 5.x SDK release", async (t) => {
  await using pg = await startPostgres();
  const controlDirs = await Promise.all(SUPPORTED.map(() => Deno.makeTempDir({ prefix: "dbos-mcp-ctl-" })));
  const urls = SUPPORTED.map((s) => pg.url(dbNameOf(s.sdk)));
  // Each app runs the sample scenario on its own release, in its own database, all at once.
  const started = await Promise.allSettled(SUPPORTED.map((s, i) =>
    startSampleApp({
      databaseUrl: urls[i],
      appName: appNameOf(s.sdk),
      controlDir: controlDirs[i],
      sdk: s.sdk,
      readyTimeoutMs: 120_000,
    })
  ));
  const apps = started.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  const server = started.every((r) => r.status === "fulfilled")
    ? await spawnServer({
      flags: sysdbModeFlags({ hostPorts: hostPortsOf(urls) }),
      args: SUPPORTED.flatMap((s, i) => ["--app", `${appNameOf(s.sdk)}=${urls[i]}`]),
    })
    : undefined;
  try {
    for (const r of started) if (r.status === "rejected") throw r.reason;
    const { call, results } = recorder(server!);
    const ok = okCaller(call);

    for (const [i, s] of SUPPORTED.entries()) {
      const sample = apps[i] as SampleApp;
      const APP = appNameOf(s.sdk);
      const version = await sdkVersion(s.sdk);
      await t.step(`SDK ${version}: schema ${s.schema}, listed AVAILABLE with its generation`, async () => {
        const recorded = await pg.query("SELECT max(version) FROM dbos.dbos_migrations", dbNameOf(s.sdk));
        assertEquals(Number(recorded), s.schema, `SDK ${version} records schema ${s.schema}`);
        const app = ((await ok("list_applications")).applications as Row[]).find((a) => a.name === APP)!;
        assertEquals(app.status, "AVAILABLE");
        assertEquals(app.schemaVersion, String(s.schema));
        assertEquals(app.sdkGeneration, s.generation);
        assertEquals(app.reason, undefined);
        assertEquals(app.limited, limitedCapabilities(s.schema));
        if (s.schema < 123) assertStringIncludes(String(app.limited), "enqueue needs schema version 123");
        else assertEquals(app.limited, undefined, "nothing is limited on the client's own schema");
      });

      await t.step(`SDK ${version}: the insight tools and list_executors read its workflows`, async () => {
        const executors = (await ok("list_executors", { application_name: APP })).executors as Row[];
        assertEquals(executors.map((e) => e.executorId), [sample.executorId]);
        assertEquals(executors[0].pendingWorkflows, 3, "wf-long-1, wf-long-2 and wf-serial-blocker run");
        const summary = await ok("summarize_workflows", { application_name: APP });
        const byStatus = summary.by_status as Record<string, number>;
        assertEquals([byStatus.ERROR, byStatus.PENDING, byStatus.ENQUEUED], [2, 3, 1]);
        const errors = summary.errors as Row[];
        assertStringIncludes(String(errors[0].message), FAILING_MESSAGE);
        assertEquals((errors[0].step as Row).stepName, "charge");
        const queues = (await ok("list_queues", { application_name: APP })).queues as Row[];
        const serial = queues.find((q) => q.queue_name === "serial")!;
        assertEquals([serial.enqueued, serial.pending], [1, 1]);
        const tree = await ok("workflow_tree", { application_name: APP, workflow_id: sample.ids.parent });
        assertEquals((tree.nodes as Row[]).map((n) => [n.workflow_id, n.status]), [
          [sample.ids.parent, "SUCCESS"],
          [sample.ids.child, "SUCCESS"],
        ]);
      });

      await t.step(`SDK ${version}: the shared scenarios`, async (st) => {
        await runWorkflowScenarios(st, { call, app: APP, sample });
      });
    }

    await t.step("no result and no line on stderr carries the database password", () => {
      assert(!(JSON.stringify(results) + server!.stderr()).includes(pg.password));
    });
  } finally {
    await server?.close();
    await Promise.all(apps.map((a) => a.stop()));
    for (const d of controlDirs) await Deno.remove(d, { recursive: true });
  }
});

/** The releases below the supported range: what each records, and what the server makes of it. */
const UNSUPPORTED: { sdk: SdkKey; schema: number; generation: string; registered: boolean }[] = [
  // 4.27 records application names (migration 103); 3.5 does not.
  { sdk: "4.27", schema: 108, generation: "4.x", registered: true },
  { sdk: "3.5", schema: 24, generation: "3.x or 4.0", registered: false },
];

Deno.test("3.x and 4.x databases are refused by name, with their SDK generation and a hint that works", async (t) => {
  await using pg = await startPostgres();
  // 3.x also needs an application database of its own.
  await pg.createDatabase("v3_5_app");
  await Promise.all(UNSUPPORTED.map((u) =>
    writeWithSdk({
      sdk: u.sdk,
      databaseUrl: pg.url(dbNameOf(u.sdk)),
      appName: `legacy-${u.sdk.replace(".", "-")}`,
      appDatabaseUrl: u.sdk === "3.5" ? pg.url("v3_5_app") : undefined,
    })
  ));
  // One server per database: its names come from the database (--database-url without --app-name).
  const servers = await Promise.all(UNSUPPORTED.map((u) =>
    spawnServer({
      flags: sysdbModeFlags({ hostPorts: hostPortsOf([pg.url(dbNameOf(u.sdk))]) }),
      args: ["--database-url", pg.url(dbNameOf(u.sdk))],
    })
  ));
  try {
    for (const [i, u] of UNSUPPORTED.entries()) {
      const { call, results } = recorder(servers[i]);
      const ok = okCaller(call);
      const version = await sdkVersion(u.sdk);
      const APP = u.registered ? `legacy-${u.sdk.replace(".", "-")}` : dbNameOf(u.sdk).replace(/_dbos_sys$/, "");
      const db = dbNameOf(u.sdk);

      await t.step(
        `SDK ${version} (schema ${u.schema}): listed as '${APP}', UNAVAILABLE, with what to do`,
        async () => {
          assertEquals(Number(await pg.query("SELECT max(version) FROM dbos.dbos_migrations", db)), u.schema);
          const res = await call("list_applications");
          const apps = res.structuredContent!.applications as Row[];
          assertEquals(apps.map((a) => a.name), [APP]);
          const app = apps[0];
          assertEquals(app.status, "UNAVAILABLE");
          assertEquals(app.schemaVersion, String(u.schema));
          assertEquals(app.sdkGeneration, u.generation);
          assertEquals(app.reason, `schema version ${u.schema}, this client needs ${MIN_SCHEMA_VERSION} or later`);
          assertStringIncludes(String(app.hint), "Upgrade the application to DBOS TypeScript SDK 5.0 or later");
          assertStringIncludes(
            String(app.hint),
            `\`npx -y -p @dbos-inc/dbos-sdk@${CLIENT_SDK_VERSION} dbos schema <url>\``,
          );
          assertStringIncludes(String(app.hint), "allowed to change the schema");
          assertStringIncludes(textOf(res), `DBOS TypeScript SDK ${u.generation}`);
        },
      );

      await t.step(`SDK ${version}: every tool answers the same refusal, and changes nothing`, async () => {
        const ref = { application_name: APP, workflow_id: WRITER_IDS.waiter };
        const calls: [string, Record<string, unknown>][] = [
          ["list_executors", { application_name: APP }],
          ["list_workflows", { application_name: APP }],
          ["get_workflow", ref],
          ["list_steps", ref],
          ["summarize_workflows", { application_name: APP }],
          ["list_queues", { application_name: APP }],
          ["workflow_tree", ref],
          ["cancel_workflow", ref],
          ["resume_workflow", ref],
          ["fork_workflow", { ...ref, start_step: 0, new_workflow_id: "wf-legacy-fork" }],
        ];
        for (const [tool, args] of calls) {
          const res = await call(tool, args);
          assertEquals(res.isError, true, `${tool} is refused`);
          const text = textOf(res);
          assertStringIncludes(text, `application '${APP}'`, tool);
          assertStringIncludes(text, `is at schema version ${u.schema}`, tool);
          assertStringIncludes(text, `the schema of DBOS TypeScript SDK ${u.generation}`, tool);
          assertStringIncludes(text, MIGRATE_COMMAND, tool);
        }
        const fork = textOf(await call("fork_workflow", { ...ref, start_step: 0, new_workflow_id: "wf-legacy-fork" }));
        assertStringIncludes(fork, `The fork of workflow '${WRITER_IDS.waiter}' was refused, nothing was sent`);
        const cancel = textOf(await call("cancel_workflow", ref));
        assertStringIncludes(cancel, `The cancel of workflow '${WRITER_IDS.waiter}' was refused, nothing was sent`);
        const resume = textOf(await call("resume_workflow", ref));
        assertStringIncludes(resume, `Cannot resume workflow '${WRITER_IDS.waiter}'`);
        assertStringIncludes(resume, "The resume was refused: nothing was resumed.");
        const rows = await pg.query(
          "SELECT workflow_uuid || '=' || status FROM dbos.workflow_status WHERE workflow_uuid LIKE 'wf-legacy-%' " +
            "ORDER BY workflow_uuid",
          db,
        );
        assert(rows.includes(`${WRITER_IDS.waiter}=PENDING`), "the waiter was not cancelled");
        assert(!rows.includes("wf-legacy-fork"), "no fork was made");
        assert(!JSON.stringify(results).includes(pg.password), "no password in any result");
      });

      await t.step(`SDK ${version}: the hint's CLI migrates the schema, and then every tool serves it`, async () => {
        // The hint's command, run from the cached package by Deno rather than npx (no network in tests).
        const migrate = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--frozen",
            "--config",
            new URL("../deno.json", import.meta.url).pathname,
            `npm:@dbos-inc/dbos-sdk@${CLIENT_SDK_VERSION}/dbos`,
            "schema",
            pg.url(db),
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        assert(migrate.success, new TextDecoder().decode(migrate.stderr).slice(-2000));
        assertEquals(Number(await pg.query("SELECT max(version) FROM dbos.dbos_migrations", db)), 123);
        // Without a list_applications first: the server looks at the schema again by itself.
        const wf = (await ok("get_workflow", { application_name: APP, workflow_id: WRITER_IDS.pipeline }))
          .workflow as Row;
        assertEquals(wf.status, "SUCCESS");
        assertStringIncludes(String(wf.output), "fetched order-1 transformed stored");
        const steps = (await ok("list_steps", { application_name: APP, workflow_id: WRITER_IDS.failing }))
          .steps as Row[];
        assertEquals(steps.map((s) => s.stepName), ["validate", "charge"]);
        assertStringIncludes(String(steps[1].error), FAILING_MESSAGE);
        const apps = (await ok("list_applications")).applications as Row[];
        assertEquals(apps.map((a) => [a.name, a.status, a.schemaVersion]), [[APP, "AVAILABLE", "123"]]);
        const tree = await ok("workflow_tree", { application_name: APP, workflow_id: WRITER_IDS.parent });
        assertEquals((tree.nodes as Row[]).map((n) => n.workflow_id), [WRITER_IDS.parent, WRITER_IDS.child]);
        await ok("cancel_workflow", { application_name: APP, workflow_id: WRITER_IDS.waiter });
        const fork = await ok("fork_workflow", {
          application_name: APP,
          workflow_id: WRITER_IDS.pipeline,
          start_step: 2,
          new_workflow_id: "wf-legacy-fork",
        });
        assertEquals(fork.new_workflow_id, "wf-legacy-fork");
        const forkSteps = (await ok("list_steps", { application_name: APP, workflow_id: "wf-legacy-fork" }))
          .steps as Row[];
        assertEquals(forkSteps.map((s) => s.stepName), ["fetch_data", "transform"], "steps before 2 are copied");
      });
    }
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

Deno.test("schema needs: a capability newer than the minimum is limited, and its error says the rest work", () => {
  for (const need of Object.values(SCHEMA_NEEDS)) assert(need.version > MIN_SCHEMA_VERSION, need.capability);
  assertEquals(limitedCapabilities(123), undefined);
  assertEquals(
    limitedCapabilities(114),
    "enqueue needs schema version 123 (DBOS SDK 5.2 or later); rewind needs schema version 121 (DBOS SDK 5.1 or later)",
  );
  assertEquals(limitedCapabilities(122), "enqueue needs schema version 123 (DBOS SDK 5.2 or later)");
  const label = {
    app: "shop",
    where: "127.0.0.1:5432/shop_dbos_sys",
    user: "postgres",
    database: "shop_dbos_sys",
    schema: "dbos",
    statementTimeoutMs: 1000,
  };
  const err = schemaNeedError(label, "enqueue workflow 'w' of application 'shop'", SCHEMA_NEEDS.enqueue, 122);
  assertStringIncludes(err.message, "needs DBOS schema version 123");
  assertStringIncludes(err.message, "is at version 122 (DBOS TypeScript SDK 5.1)");
  assertStringIncludes(err.message, "The other tools work on it.");
  assertStringIncludes(String(err.hint), MIGRATE_COMMAND);
  assertEquals(err.kind, "schema_version");
  assertMatch(sdkGeneration(undefined), /unknown/);
  assertEquals([sdkGeneration(41), sdkGeneration(111), sdkGeneration(124)], [
    "4.x",
    "between 4.x and 5.0 (no release)",
    "newer than 5.3",
  ]);
});

Deno.test("the CLI the hint names is the server's own DBOS client release", async () => {
  assertEquals(await sdkVersion("5.3"), CLIENT_SDK_VERSION);
});
