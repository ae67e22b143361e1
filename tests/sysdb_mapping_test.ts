// The pure parts of the system-database backend: the DBOS client's shapes to
// the contract's, the list filter to the client's input, the configured
// databases, and the errors an agent reads. No database here.
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import {
  type ClientWorkflow,
  errorText,
  likeLiteral,
  toClientListInput,
  toStep,
  toWorkflow,
  valueText,
} from "../src/backends/sysdb/_map.ts";
import { targetsFromConfig, withStartupOptions } from "../src/backends/sysdb/_targets.ts";
import { type DatabaseLabel, describeDatabaseError, SystemDatabaseError } from "../src/backends/sysdb/_errors.ts";
import { findPassword, parsePassLine } from "../src/backends/sysdb/_password.ts";
import { ConfigError, NotFoundError } from "../src/core/errors.ts";
import { SecretSet } from "../src/core/secrets.ts";

const FULL: ClientWorkflow = {
  workflowID: "wf-1",
  status: "ERROR",
  workflowName: "checkout",
  workflowClassName: "Shop",
  workflowConfigName: "",
  queueName: "jobs",
  authenticatedUser: "alice",
  assumedRole: "",
  authenticatedRoles: ["admin", "ops"],
  input: [{ orderId: "o-1", at: new Date(Date.UTC(2026, 0, 31, 12)) }, 7n],
  output: undefined,
  error: new Error("payment declined"),
  executorId: "exec-1",
  applicationVersion: "v3",
  applicationName: "shop",
  createdAt: 1767225600000,
  updatedAt: 1767225600500,
  timeoutMS: 60000,
  deadlineEpochMS: undefined,
  deduplicationID: "dedup-1",
  priority: 0,
  queuePartitionKey: undefined,
  dequeuedAt: 1767225600100,
  delayUntilEpochMS: undefined,
  completedAt: 1767225600500,
  forkedFrom: "wf-0",
  wasForkedFrom: false,
  parentWorkflowID: "wf-parent",
  attributes: { tenant: "t1" },
  scheduleName: undefined,
};

Deno.test("toWorkflow() gives v2's camelCase shape, times as ISO 8601, empty values left out", () => {
  assertEquals(toWorkflow(FULL), {
    workflowId: "wf-1",
    status: "ERROR",
    workflowName: "checkout",
    workflowClass: "Shop",
    user: "alice",
    roles: '["admin","ops"]',
    input: '[{"orderId":"o-1","at":"2026-01-31T12:00:00.000Z"},"7"]',
    error: "payment declined",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.500Z",
    attributes: '{"tenant":"t1"}',
    queueName: "jobs",
    appVersion: "v3",
    executorId: "exec-1",
    timeoutMs: 60000,
    deduplicationId: "dedup-1",
    priority: 0,
    dequeuedAt: "2026-01-01T00:00:00.100Z",
    forkedFrom: "wf-0",
    wasForkedFrom: false,
    parentWorkflowId: "wf-parent",
    completedAt: "2026-01-01T00:00:00.500Z",
    applicationName: "shop",
  });
});

Deno.test("toWorkflow() leaves input and output out when they were not loaded, and keeps falsy outputs", () => {
  const w = toWorkflow({ workflowID: "a", status: "SUCCESS", workflowName: "n", createdAt: 1, output: 0 });
  assertEquals(w.input, undefined);
  assertEquals(w.output, "0");
  assertEquals(toWorkflow({ workflowID: "a", status: "SUCCESS", workflowName: "n", output: "" }).output, '""');
});

Deno.test("toStep() keeps the numeric id, turns outputs and errors into text and times into ISO 8601", () => {
  assertEquals(
    toStep({
      functionID: 2,
      name: "charge",
      output: null,
      error: Object.assign(new Error("card expired"), { name: "PaymentError" }),
      childWorkflowID: null,
      startedAtEpochMs: 10,
      completedAtEpochMs: 20,
    }),
    {
      stepId: 2,
      stepName: "charge",
      error: "PaymentError: card expired",
      startedAt: "1970-01-01T00:00:00.010Z",
      completedAt: "1970-01-01T00:00:00.020Z",
    },
  );
  assertEquals(
    toStep({ functionID: 0, name: "child", output: { v: 1 }, error: null, childWorkflowID: "wf-c" }),
    { stepId: 0, stepName: "child", output: '{"v":1}', childWorkflowId: "wf-c" },
  );
});

Deno.test("valueText() writes JSON for maps, sets, big integers and errors, and inspects what JSON cannot hold", () => {
  assertEquals(valueText(new Map([["a", 1]])), '{"a":1}');
  assertEquals(valueText(new Set([1, 2])), "[1,2]");
  assertEquals(valueText({ n: 12345678901234567890n }), '{"n":"12345678901234567890"}');
  assertEquals(valueText([new TypeError("bad")]), '[{"name":"TypeError","message":"bad"}]');
  assertEquals(valueText("text"), '"text"');
  const loop: Record<string, unknown> = { a: 1 };
  loop.self = loop;
  assertStringIncludes(valueText(loop), "a: 1");
});

Deno.test("errorText() gives an error's message, with its class when that says more than Error", () => {
  assertEquals(errorText(new Error("boom")), "boom");
  assertEquals(
    errorText(Object.assign(new Error("x"), { name: "DBOSMaxStepRetriesError" })),
    "DBOSMaxStepRetriesError: x",
  );
  assertEquals(errorText({ name: "Error", message: "from JSON" }), "from JSON");
  assertEquals(errorText("plain"), "plain");
  assertEquals(errorText({ code: 1 }), '{"code":1}');
});

Deno.test("toClientListInput() maps every v2 search filter to the client's input, loading no payload by default", () => {
  assertEquals(
    toClientListInput({
      workflowIds: ["a", "b"],
      workflowName: ["checkout"],
      user: ["alice"],
      startTime: "2026-01-01T00:00:00.000Z",
      endTime: "2026-02-01T00:00:00.000Z",
      completedAfter: "2026-01-02T00:00:00.000Z",
      completedBefore: "2026-01-03T00:00:00.000Z",
      dequeuedAfter: "2026-01-04T00:00:00.000Z",
      dequeuedBefore: "2026-01-05T00:00:00.000Z",
      status: ["ERROR", "CANCELLED"],
      appVersion: ["v2"],
      forkedFrom: ["wf-0"],
      parentWorkflowId: ["p-1"],
      queueName: ["jobs"],
      limit: 51,
      offset: 100,
      sortDesc: true,
      workflowIdPrefix: ["wf-"],
      executorId: ["exec-1"],
      scheduleName: ["nightly"],
      queuesOnly: true,
      hasParent: true,
      wasForkedFrom: false,
    }, "shop"),
    {
      loadInput: false,
      loadOutput: false,
      workflowIDs: ["a", "b"],
      workflowName: ["checkout"],
      authenticatedUser: ["alice"],
      startTime: "2026-01-01T00:00:00.000Z",
      endTime: "2026-02-01T00:00:00.000Z",
      completedAfter: "2026-01-02T00:00:00.000Z",
      completedBefore: "2026-01-03T00:00:00.000Z",
      dequeuedAfter: "2026-01-04T00:00:00.000Z",
      dequeuedBefore: "2026-01-05T00:00:00.000Z",
      status: ["ERROR", "CANCELLED"],
      applicationVersion: ["v2"],
      forkedFrom: ["wf-0"],
      parentWorkflowID: ["p-1"],
      queueName: ["jobs"],
      limit: 51,
      offset: 100,
      sortDesc: true,
      workflow_id_prefix: ["wf-"],
      executorId: ["exec-1"],
      scheduleName: ["nightly"],
      queuesOnly: true,
      hasParent: true,
      wasForkedFrom: false,
      applicationName: "shop",
    },
  );
  assertEquals(toClientListInput({ workflowIds: [], status: [""], offset: 0, loadInput: true }, undefined), {
    loadInput: true,
    loadOutput: false,
  });
});

Deno.test("targetsFromConfig() names each database by --app, --app-name, or later by the database", () => {
  const targets = targetsFromConfig({
    apps: [{ name: "shop", url: "postgres://u:p%40ss@db.internal:6543/shop_dbos_sys" }],
    databaseUrl: "postgresql://admin@10.0.0.5/billing_dbos_sys?sslmode=require",
    appName: undefined,
  });
  assertEquals(targets.map((t) => [t.name, t.where, t.hostPort, t.user, t.password, t.fallbackName]), [
    ["shop", "db.internal:6543/shop_dbos_sys", "db.internal:6543", "u", "p%40ss", "shop"],
    [undefined, "10.0.0.5:5432/billing_dbos_sys", "10.0.0.5:5432", "admin", undefined, "billing"],
  ]);
  const err = assertThrows(() =>
    targetsFromConfig({
      apps: [{ name: "shop", url: "postgres://h/a" }],
      databaseUrl: "postgres://h/b",
      appName: "shop",
    })
  );
  assert(err instanceof ConfigError);
  assertStringIncludes(err.message, "'shop' is configured twice");
});

Deno.test("withStartupOptions() adds the startup options to those of the URL and names the connection", () => {
  const url = new URL(
    withStartupOptions("postgres://u:p@h:5/db?options=-c%20search_path%3Dx&sslmode=require", "-c a=1", "dbos-mcp"),
  );
  assertEquals(url.searchParams.get("options"), "-c search_path=x -c a=1");
  assertEquals(url.searchParams.get("application_name"), "dbos-mcp");
  assertEquals(url.searchParams.get("sslmode"), "require");
  const named = new URL(withStartupOptions("postgres://h/db?application_name=mine", "-c a=1", "dbos-mcp"));
  assertEquals(named.searchParams.get("application_name"), "mine");
});

const LABEL: DatabaseLabel = {
  app: "shop",
  where: "db:5432/shop_dbos_sys",
  user: "svc",
  database: "shop_dbos_sys",
  schema: "dbos",
  statementTimeoutMs: 10_000,
};
const scrub = new SecretSet();
scrub.add("s3cr%40t");
const describe = (err: unknown, mutates = false) =>
  describeDatabaseError(err, LABEL, "list the workflows of application 'shop'", scrub, mutates) as SystemDatabaseError;
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

Deno.test("describeDatabaseError() names each failure's cause and what to do", () => {
  const cases: [unknown, string, string][] = [
    [
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      "unreachable",
      "unreachable: connection refused",
    ],
    [
      new AggregateError([Object.assign(new Error("x"), { code: "ENOTFOUND" })]),
      "unreachable",
      "unreachable: host not found",
    ],
    [new Error("Connection terminated unexpectedly"), "unreachable", "unreachable: connection lost"],
    [new Error("timeout exceeded when trying to connect"), "unreachable", "unreachable: connection timed out"],
    [
      pgError("28P01", 'password authentication failed for user "svc"'),
      "auth_failed",
      "authentication failed for user 'svc'",
    ],
    [
      pgError("3D000", 'database "shop_dbos_sys" does not exist'),
      "no_database",
      "database 'shop_dbos_sys' does not exist",
    ],
    [
      pgError("42P01", 'relation "dbos.workflow_status" does not exist'),
      "no_schema",
      "no DBOS schema 'dbos' in database 'shop_dbos_sys'",
    ],
    [
      pgError("42703", 'column "creator_xid" does not exist'),
      "schema_version",
      "schema version not readable by this client",
    ],
    [pgError("57014", "canceling statement due to statement timeout"), "timeout", "statement timeout"],
    [Object.assign(new Error("cancelled"), { name: "DBOSQueryTimeoutError" }), "timeout", "statement timeout"],
    [pgError("25006", "cannot execute UPDATE in a read-only transaction"), "read_only", "read-only connection"],
    [
      pgError("42501", "permission denied for schema dbos"),
      "permission",
      "user 'svc' lacks privileges on schema 'dbos'",
    ],
    [pgError("22P02", "invalid input syntax"), "error", "error: invalid input syntax"],
  ];
  for (const [err, kind, reason] of cases) {
    const e = describe(err);
    assert(e instanceof SystemDatabaseError, `${reason}: a SystemDatabaseError`);
    assertEquals([e.kind, e.reason], [kind, reason]);
    assertStringIncludes(e.message, "Cannot list the workflows of application 'shop'");
    assert(e.hint && e.hint.length > 10, "every error says what to do");
    assertEquals(e.cause, err);
  }
  assertEquals(describe(pgError("ECONNREFUSED", "x")).retryable, true);
  assertStringIncludes(describe(new Error("Connection terminated"), true).hint!, "may or may not have been made");
});

Deno.test("describeDatabaseError() keeps passwords out and passes the server's own errors through", () => {
  const e = describe(new Error("oops for postgres://svc:s3cr%40t@db/x and s3cr@t"));
  assert(!e.message.includes("s3cr"), e.message);
  const own = new NotFoundError("x");
  assertEquals(describeDatabaseError(own, LABEL, "x", scrub), own);
  const denied = new Deno.errors.NotCapable('Requires net access to "db:5432"');
  assertEquals(describeDatabaseError(denied, LABEL, "x", scrub), denied);
});

Deno.test("findPassword() reads a password file as libpq does: first match wins, '*' matches, '\\:' escapes", () => {
  const text = [
    "# a comment",
    "otherhost:5432:*:svc:nope",
    "db.internal:6543:shop_dbos_sys:svc:pa\\:ss\\\\word",
    "*:*:*:*:fallback",
  ].join("\n");
  const target = { hostPort: "db.internal:6543", database: "shop_dbos_sys", user: "svc" };
  assertEquals(findPassword(text, target), "pa:ss\\word");
  assertEquals(findPassword(text, { ...target, database: "other" }), "fallback");
  assertEquals(findPassword("h:1:d:u:p", { hostPort: "[::1]:1", database: "d", user: "u" }), undefined);
  assertEquals(parsePassLine("too:few:fields"), undefined);
});

Deno.test("likeLiteral() escapes LIKE's wildcards and its escape character so a prefix matches only itself", () => {
  assertEquals(likeLiteral("wf-1"), "wf-1");
  assertEquals(likeLiteral("a_b%c\\d"), "a\\_b\\%c\\\\d");
  assertEquals(toClientListInput({ workflowIdPrefix: ["job_%"] }, undefined).workflow_id_prefix, ["job\\_\\%"]);
});
