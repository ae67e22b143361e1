// Fuzzing the server as a process, over stdio, with fast-check: batches of
// generated tool calls (unknown tools, wrong types, missing and extra fields,
// huge strings, unicode, null bytes, path-like ids such as `../x`, `a/b`,
// `%2F`, `?x=1`) sent at once to ONE server spawned under the README's flags.
// Every answer must be a well-formed JSON-RPC response to its request, with
// no stack trace and no internal error; the process must never die; and
// every request the Conductor emulator receives must carry each application
// name and workflow id as exactly one path segment, equal to what the agent
// passed. The audit and redact plugins are loaded, so their hooks are fuzzed
// too; there the live application's answers are canned (syntheticAnswer).
// Then the same in system-database mode, end to end through the real backend
// against the real sample app's database, on a PostgreSQL whose URL carries a
// password: the figure counts the calls whose tool ran there ("through a real
// backend"). Set DBOS_MCP_FUZZ_SEED to replay a run.
import fc from "fast-check";
import { assert, assertEquals } from "./_assert.ts";
import { hasStackTrace, recordFigures, SecretSweep, stopwatch } from "./_hardening.ts";
import { conductorModeArgs, conductorModeFlags, hostPortsOf, sysdbModeFlags } from "./_server_process.ts";
import { type JsonRpcResponse, spawnPeer, type StdioPeer } from "./fixtures/stdio_peer.ts";
import { type RecordedRequest, startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { deviceLogin, writeCredentials } from "./fixtures/faults.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { seedWorkflowsSql } from "./fixtures/dbos_schema.ts";
import { startSampleApp } from "./fixtures/sample_app_process.ts";
import { verifyAuditLog } from "../plugins/audit.ts";
import { join } from "../src/util/path.ts";

/** Epoch milliseconds as the ISO 8601 text v2 answers carry. */
const isoAt = (ms: number): string => new Date(ms).toISOString();

const ORG = "acme";
/** The application the synthetic executor answers for. */
const APP = "sample-app";
/** An application Conductor knows, with no executor connected (503 for workflow calls). */
const IDLE = "idle-app";
const BATCH = 50;
const CONDUCTOR_RUNS = 80; // 4,000 calls, answered by a synthetic executor (syntheticAnswer) or the emulator
const SYSDB_RUNS = 160; // 8,000 calls, end to end through the real backend and the real sample app's database
const SEED = Number(Deno.env.get("DBOS_MCP_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));

/** The ids the synthetic executor hands out (they come back as path segments). */
const SYNTHETIC_IDS = ["wf-1", "wf-2", "wf-3", "wf-fork-1", "wf-child-1"];

const BACKEND_TOOLS = [
  "list_applications",
  "list_executors",
  "list_workflows",
  "get_workflow",
  "list_steps",
  "summarize_workflows",
  "list_queues",
  "workflow_tree",
  "cancel_workflow",
  "resume_workflow",
  "fork_workflow",
];
const AUTH_TOOLS = ["login", "login_complete", "logout"];
const FIELDS = [
  "application_name",
  "workflow_id",
  "status",
  "limit",
  "offset",
  "cursor",
  "start_time",
  "end_time",
  "workflow_name",
  "workflow_uuids",
  "include_steps",
  "full",
  "fields",
  "byte_offset",
  "start_step",
  "new_workflow_id",
  "application_version",
  "depth",
  "max_nodes",
  "max_workflows",
  "top",
  "queue_name",
  "sort_desc",
  "load_input",
  "load_output",
  "executor_id",
  "queues_only",
  "workflow_id_prefix",
  "forked_from",
  "authenticated_user",
  "parent_workflow_id",
  "schedule_name",
  "completed_after",
  "completed_before",
  "dequeued_after",
  "dequeued_before",
  "has_parent",
  "was_forked_from",
  "cancel_children",
  "queue_partition_key",
];
const PATH_LIKE = [
  "../x",
  "a/b",
  "%2F",
  "?x=1",
  "#frag",
  "..",
  ".",
  "",
  " ",
  "a%2Fb",
  "%",
  "%zz",
  "%252F",
  "a\u0000b",
  "\u0000",
  "\uD800",
  "x\uDC00y",
  "😀/..",
  "..%2F..%2Fetc%2Fpasswd",
  "../../../../etc/passwd",
  "a b",
  "\\..\\x",
  "x?y#z",
  "/",
  "//",
  "a;b=c",
  "a\nb",
  "\r\n",
  "sample-app/../idle-app",
  "sample-app?x=1",
  "sample-app%00",
  "wf-1/steps",
  "wf-1/cancel",
  "\u202Eevil",
  "ｗｆ－１",
  "__proto__",
  "constructor",
];

// ---- generated calls -------------------------------------------------------

const huge = fc.tuple(fc.integer({ min: 5_000, max: 150_000 }), fc.constantFrom("x", "é", "😀", "\u0000", "/", "%2F"))
  .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)));

const nasty: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...PATH_LIKE) },
  { weight: 6, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 5, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 5, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom(...PATH_LIKE), fc.string({ maxLength: 8 }), fc.constantFrom(...PATH_LIKE))
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: huge },
);

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: nasty },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A tool call's `params` (sent as is). */
type Params = unknown;

function callArbitrary(apps: { live: string; idle?: string; ids?: string[] }): fc.Arbitrary<Params> {
  const app = fc.oneof(
    { weight: 4, arbitrary: fc.constant(apps.live) },
    ...(apps.idle ? [{ weight: 1, arbitrary: fc.constant(apps.idle) }] : []),
    { weight: 5, arbitrary: nasty },
  );
  const known = apps.ids ?? ["wf-1", "wf-2"];
  const id = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...known) }, { weight: 5, arbitrary: nasty });
  const time = fc.oneof(fc.constantFrom("1h", "15m", "7d", "2026-01-01T00:00:00Z", "yesterday", "-1h", "0m"), nasty);
  const ref = { application_name: app, workflow_id: id };
  const opt = { requiredKeys: ["application_name"] as ("application_name")[] };
  const optRef = { requiredKeys: ["application_name", "workflow_id"] as ("application_name" | "workflow_id")[] };
  const call = (name: string, args: fc.Arbitrary<unknown>) => fc.record({ name: fc.constant(name), arguments: args });

  // Calls shaped like the tools' inputs, with nasty values: these reach the backend.
  const shaped = fc.oneof(
    call("list_applications", fc.constant({})),
    call("list_executors", fc.record({ application_name: app })),
    call(
      "list_workflows",
      fc.record({
        application_name: app,
        status: fc.constantFrom("ERROR", "error", " success ", "PENDING", "bogus"),
        workflow_name: nasty,
        start_time: time,
        end_time: time,
        limit: fc.integer({ min: -1, max: 600 }),
        offset: fc.integer({ min: -1, max: 5 }),
        cursor: nasty,
        sort_desc: fc.boolean(),
        workflow_id_prefix: nasty,
        workflow_uuids: fc.array(id, { maxLength: 3 }),
        load_input: fc.boolean(),
        queue_name: nasty,
        parent_workflow_id: fc.array(id, { maxLength: 2 }),
        has_parent: fc.boolean(),
        completed_after: time,
      }, opt),
    ),
    call(
      "get_workflow",
      fc.record({
        ...ref,
        include_steps: fc.boolean(),
        full: fc.boolean(),
        fields: fc.subarray(["input", "output", "error"]),
        byte_offset: fc.integer({ min: -1, max: 100 }),
      }, optRef),
    ),
    call(
      "list_steps",
      fc.record({ ...ref, limit: fc.integer({ min: -1, max: 5 }), offset: fc.integer({ min: -1, max: 5 }) }, optRef),
    ),
    call(
      "workflow_tree",
      fc.record({ ...ref, depth: fc.integer({ min: 0, max: 6 }), max_nodes: fc.integer({ min: 0, max: 10 }) }, optRef),
    ),
    call(
      "summarize_workflows",
      fc.record({
        application_name: app,
        start_time: time,
        workflow_name: nasty,
        top: fc.integer({ min: 0, max: 21 }),
        max_workflows: fc.integer({ min: 0, max: 20 }),
      }, opt),
    ),
    call("list_queues", fc.record({ application_name: app })),
    call("cancel_workflow", fc.record({ ...ref, cancel_children: fc.boolean() }, optRef)),
    call("resume_workflow", fc.record({ ...ref, queue_name: nasty }, optRef)),
    call(
      "fork_workflow",
      fc.record({
        ...ref,
        start_step: fc.integer({ min: -1, max: 5 }),
        new_workflow_id: nasty,
        application_version: nasty,
        queue_name: nasty,
        queue_partition_key: nasty,
      }, { requiredKeys: ["application_name", "workflow_id", "start_step"] }),
    ),
    call("login", fc.constant({})),
  );
  // Known tools with fields of any name and type, extra and missing ones included.
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: nasty });
  const scrambled = fc.oneof(
    fc.record({
      name: fc.constantFrom(...BACKEND_TOOLS),
      arguments: fc.dictionary(key, anyValue, { maxKeys: 5 }),
    }),
    // The login tools take no arguments: never a valid call here, so the session stays logged in.
    fc.record({
      name: fc.constantFrom(...AUTH_TOOLS),
      arguments: fc.dictionary(key, anyValue, { minKeys: 1, maxKeys: 3 }),
    }),
  );
  // Tools that do not exist.
  const unknown = fc.record({
    name: fc.oneof(
      nasty,
      fc.constantFrom(
        "LIST_WORKFLOWS",
        "list_workflows ",
        "list-workflows",
        "tools/list",
        "toString",
        "hasOwnProperty",
      ),
    ),
    arguments: fc.dictionary(key, anyValue, { maxKeys: 3 }),
  });
  // Params that break the protocol's shape: no name, a name that is not a string, arguments that are not an object.
  const malformed = fc.oneof(
    fc.constant(undefined),
    fc.jsonValue({ maxDepth: 2 }),
    fc.record({
      name: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.object()),
    }),
    fc.record({
      name: fc.constantFrom(...BACKEND_TOOLS),
      arguments: fc.oneof(fc.array(fc.integer()), fc.string(), fc.integer(), fc.constant(null), fc.boolean()),
    }),
  );
  return fc.oneof(
    { weight: 12, arbitrary: shaped },
    { weight: 5, arbitrary: scrambled },
    { weight: 2, arbitrary: unknown },
    { weight: 1, arbitrary: malformed },
  );
}

// ---- checks ----------------------------------------------------------------

/** What is wrong with `res` as the answer to request `id`, if anything. */
function problemWith(id: number, res: JsonRpcResponse): string | undefined {
  if (res.jsonrpc !== "2.0") return "jsonrpc is not '2.0'";
  if (res.id !== id) return `id ${JSON.stringify(res.id)} answers request ${id}`;
  if (("result" in res) === ("error" in res)) return "not exactly one of result and error";
  if (res.error) {
    const { code, message } = res.error;
    if (!Number.isInteger(code)) return "error.code is not an integer";
    if (typeof message !== "string" || message === "") return "error.message is not a non-empty string";
    if (hasStackTrace(message)) return "a stack trace in error.message";
    return undefined;
  }
  const result = res.result as Record<string, unknown> | null;
  if (!result || typeof result !== "object" || Array.isArray(result)) return "result is not an object";
  if (!Array.isArray(result.content) || result.content.length === 0) return "result.content is not a non-empty array";
  for (const c of result.content as Record<string, unknown>[]) {
    if (c?.type !== "text" || typeof c.text !== "string") return "a content item is not {type: 'text', text}";
  }
  if (result.isError !== undefined && typeof result.isError !== "boolean") return "isError is not a boolean";
  const sc = result.structuredContent;
  if (sc !== undefined && (sc === null || typeof sc !== "object" || Array.isArray(sc))) {
    return "structuredContent is not an object";
  }
  if (result.isError !== true && sc === undefined) return "a successful result without structuredContent";
  const text = (result.content as { text: string }[]).map((c) => c.text).join("\n");
  if (hasStackTrace(text)) return "a stack trace in the result";
  if (/Internal error in |This is a bug in dbos-mcp/.test(text)) return `an internal error: ${text.slice(0, 300)}`;
  return undefined;
}

/** Every string inside a value (keys included), for the set of names and ids the agent passed. */
function stringsIn(value: unknown, out: Set<string>): void {
  if (typeof value === "string") out.add(value);
  else if (Array.isArray(value)) { for (const v of value) stringsIn(v, out); }
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      stringsIn(v, out);
    }
  }
}

const OPS_WITH_ID = new Set<string>([
  "getWorkflow",
  "listWorkflowSteps",
  "cancelWorkflow",
  "resumeWorkflow",
  "forkWorkflow",
]);

/** A query string the server may send: only list steps' `limit` and `offset`, as non-negative integers. */
function queryProblem(rec: RecordedRequest): string | undefined {
  if (rec.query === "") return undefined;
  if (rec.operation !== "listWorkflowSteps") return "a query string on an operation that takes none";
  const params = [...new URLSearchParams(rec.query)];
  const bad = params.find(([k, v]) => !["limit", "offset"].includes(k) || !/^\d+$/.test(v));
  if (bad || new Set(params.map(([k]) => k)).size !== params.length) return "a query string beyond limit and offset";
  return undefined;
}

/** Checks one request the Conductor emulator received against the strings the agent passed. */
function pathProblem(rec: RecordedRequest, passed: Set<string>): string | undefined {
  const where = `${rec.method} ${rec.rawPath}${rec.query}`;
  const query = queryProblem(rec);
  if (query) return `${query} reached Conductor: ${where}`;
  if (!rec.operation) return `a path that names no Conductor operation: ${where}`;
  if (rec.segments[0] !== "orgs" || rec.segments[1] !== ORG) return `the organization is not one segment: ${where}`;
  if (rec.operation !== "listApps" && !passed.has(rec.segments[3])) {
    return `the application segment ${JSON.stringify(rec.segments[3])} is not a name the agent passed: ${where}`;
  }
  if (OPS_WITH_ID.has(rec.operation) && !passed.has(rec.segments[5]) && !SYNTHETIC_IDS.includes(rec.segments[5])) {
    return `the workflow segment ${JSON.stringify(rec.segments[5])} is not an id the agent passed: ${where}`;
  }
  return undefined;
}

// ---- a synthetic executor for APP --------------------------------------------

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
}

function syntheticWorkflow(id: string, name: string, i: number): Record<string, unknown> {
  const t = Date.UTC(2026, 0, 1) + i * 1000;
  return {
    workflowId: id,
    status: i % 2 ? "ERROR" : "SUCCESS",
    workflowName: name,
    error: i % 2 ? `payment declined: card expired ✗ (${name.slice(0, 50)})` : null,
    input: `[ ${JSON.stringify(name.slice(0, 200))} ]`,
    output: null,
    createdAt: isoAt(t),
    updatedAt: isoAt(t + 500),
    queueName: i === 3 ? "jobs" : null,
    appVersion: "v1",
  };
}

/** Answers for APP as Conductor v2 would (ids echoed back), or undefined to let the emulator answer. */
function syntheticAnswer(rec: RecordedRequest): Response | undefined {
  if (rec.segments[3] !== APP) return undefined;
  const id = rec.segments[5];
  switch (rec.operation) {
    case "listExecutors":
      return json([{ executorId: "ex-1", appVersion: "v1", status: "HEALTHY", hostname: "h1" }]);
    case "searchWorkflows": {
      const body = (rec.body ?? {}) as Record<string, unknown>;
      const names = Array.isArray(body.workflowName) ? body.workflowName : [];
      const name = typeof names[0] === "string" ? names[0] : "checkout";
      const all = [1, 2, 3].map((i) => syntheticWorkflow(`wf-${i}`, name, i));
      const offset = typeof body.offset === "number" ? body.offset : 0;
      const limit = typeof body.limit === "number" ? body.limit : all.length;
      return json(all.slice(offset, offset + limit));
    }
    case "getWorkflow":
      return json(syntheticWorkflow(id, "checkout", id === "wf-child-1" ? 2 : 1));
    case "listWorkflowSteps":
      return json([
        { stepId: 0, stepName: "reserve", output: '"ok"' },
        { stepId: 1, stepName: "spawn", childWorkflowId: id === "wf-child-1" ? null : "wf-child-1" },
        { stepId: 2, stepName: "charge", error: "card declined 💳" },
      ]);
    case "cancelWorkflow":
    case "resumeWorkflow":
      return new Response(null, { status: 204 });
    case "forkWorkflow":
      return json({ workflowId: "wf-fork-1" }, 201);
  }
  return undefined;
}

// ---- the fuzz loop ---------------------------------------------------------

/** Whether a tool result was refused before its tool ran (bad arguments, or a tool not offered). */
function refusedBeforeTheTool(result: unknown): boolean {
  const r = result as { isError?: boolean; content?: { text?: string }[] };
  if (!r?.isError) return false;
  const text = r.content?.[0]?.text ?? "";
  return text.startsWith("Invalid arguments for ") || /is (not available|disabled|not enabled|excluded)/.test(text);
}

interface FuzzOutcome {
  calls: number;
  toolCalls: number;
  /** Tool calls whose arguments were valid, so that the tool ran against the backend. */
  ranTool: number;
  jsonRpcErrors: number;
  isErrors: number;
  /** Tool calls answered with a result (each went through the server's pipeline), by tool name. */
  resultsByTool: Map<string, number>;
  /** Calls of unknown tools (refused by the pipeline, answered with a JSON-RPC error). */
  unknownTools: number;
}

/**
 * Sends `runs` batches of BATCH generated calls to `peer`, all of a batch at
 * once, and checks every answer; `batchChecks` is told the strings each batch
 * passed, and says what was wrong with the requests the emulator saw.
 */
async function fuzz(
  peer: StdioPeer,
  arb: fc.Arbitrary<Params>,
  runs: number,
  batchChecks: { begin(passed: Set<string>): void; end(): string[] } | undefined,
): Promise<FuzzOutcome> {
  const outcome: FuzzOutcome = {
    calls: 0,
    toolCalls: 0,
    ranTool: 0,
    jsonRpcErrors: 0,
    isErrors: 0,
    resultsByTool: new Map(),
    unknownTools: 0,
  };
  let nextId = 1_000_000;
  await fc.assert(
    fc.asyncProperty(fc.array(arb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
      const passed = new Set<string>();
      stringsIn(batch, passed);
      batchChecks?.begin(passed);
      const sent = batch.map((params) => ({ id: nextId++, params }));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<Error>((r) => (timer = setTimeout(() => r(new Error("no answer in 30 s")), 30_000)));
      const answers = await Promise.all(
        sent.map(({ id, params }) =>
          Promise.race([peer.request("tools/call", params, id).catch((err: Error) => err), deadline])
        ),
      );
      clearTimeout(timer);
      for (const [i, res] of answers.entries()) {
        const call = JSON.stringify(sent[i].params)?.slice(0, 300);
        if (res instanceof Error) {
          throw new Error(`no answer to ${call}: ${res.message}\nstderr:\n${peer.stderr().slice(-2000)}`);
        }
        const problem = problemWith(sent[i].id, res);
        if (problem) throw new Error(`${problem}\ncall: ${call}\nanswer: ${JSON.stringify(res).slice(0, 600)}`);
        if (res.error) {
          outcome.jsonRpcErrors++;
          if (/Unknown tool '/.test(String(res.error.message))) outcome.unknownTools++;
        } else {
          if ((res.result as { isError?: boolean }).isError) outcome.isErrors++;
          const name = (sent[i].params as { name: string }).name;
          outcome.resultsByTool.set(name, (outcome.resultsByTool.get(name) ?? 0) + 1);
        }
        if (!res.error && !refusedBeforeTheTool(res.result)) outcome.ranTool++;
      }
      if (peer.exited()) throw new Error(`the server died: ${peer.stderr().slice(-2000)}`);
      const problems = batchChecks?.end() ?? [];
      if (problems.length > 0) {
        throw new Error(`${problems.length} bad request(s):\n${problems.slice(0, 5).join("\n")}`);
      }
      outcome.calls += batch.length;
      outcome.toolCalls += batch.filter((p) => typeof (p as { name?: unknown })?.name === "string").length;
    }),
    {
      numRuns: runs,
      seed: SEED,
      endOnFailure: true,
      // Report the first failure in a few lines, not the whole batch (it may hold 100 KB strings).
      reporter(details) {
        if (!details.failed) return;
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : "";
        throw new Error(`fuzzing failed (seed ${details.seed}, path ${details.counterexamplePath}): ${cause}`);
      },
    },
  );
  return outcome;
}

Deno.test("fuzzing: 12,000 generated tool calls over stdio never crash the server nor bend a path", async (t) => {
  const elapsed = stopwatch();
  const sweep = new SecretSweep();
  let fuzzedCalls = 0;
  let realBackendCalls = 0;
  let crashes = 0;
  const extra: Record<string, number | string> = { seed: SEED };
  console.log(`fuzz seed ${SEED} (replay with DBOS_MCP_FUZZ_SEED=${SEED})`);

  await t.step("Conductor mode, audit and redact plugins loaded: 4,000 calls", async () => {
    await using login = await startLoginEmulator({ organization: ORG });
    const passedNow = { set: new Set<string>() };
    const problems: string[] = [];
    await using conductor = await startConductorEmulator({
      org: ORG,
      isValidToken: (tok) => login.isValidAccessToken(tok),
      applications: [IDLE],
      onRequest: (rec, req) => {
        const profile = login.usersMe(req);
        if (profile) return profile;
        const problem = pathProblem(rec, passedNow.set);
        if (problem) problems.push(problem);
        return syntheticAnswer(rec);
      },
    });
    const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-fuzz-" });
    const home = join(dir, "home");
    const auditLog = join(dir, "audit.jsonl");
    await writeCredentials(home, await deviceLogin(login), { organization: ORG });
    const hosts = [new URL(conductor.baseUrl).host, new URL(login.loginUrl).host];
    const peer = spawnPeer({
      flags: conductorModeFlags({ hosts: [...new Set(hosts)], home, paths: [dir] }),
      args: [
        ...conductorModeArgs({
          conductorUrl: conductor.baseUrl,
          loginUrl: login.loginUrl,
          home,
        }),
        "--timeout",
        "10000",
        "--audit-log",
        auditLog,
        "--plugin",
        "redact",
      ],
    });
    let closing = false;
    try {
      const init = await peer.initialize();
      assert(init.result, "initialize answers");
      const started = performance.now();
      const outcome = await fuzz(peer, callArbitrary({ live: APP, idle: IDLE }), CONDUCTOR_RUNS, {
        begin: (passed) => {
          passedNow.set = passed;
          problems.length = 0;
        },
        end: () => [...problems],
      });
      const seconds = (performance.now() - started) / 1000;
      fuzzedCalls += outcome.calls;
      extra["conductor calls/s"] = Math.round(outcome.calls / seconds);
      extra["conductor requests seen"] = conductor.requests.length;
      console.log(
        `conductor mode: ${outcome.calls} calls in ${seconds.toFixed(1)} s (${outcome.jsonRpcErrors} JSON-RPC ` +
          `errors, ${outcome.isErrors} isError results), ${conductor.requests.length} requests reached Conductor`,
      );
      assert(conductor.requests.length > outcome.calls / 5, "a good share of the calls reached Conductor");
      assert(conductor.requests.some((r) => r.segments[3] === APP && r.status === 200), "some calls succeeded");

      assertEquals(peer.badLines, [], "stdout carries JSON-RPC only");
      assertEquals(peer.unmatched, [], "no answer without a request");
      closing = true;
      const status = await peer.close();
      assertEquals(status.code, 0, "closing stdin ends the server with status 0");

      const audit = await verifyAuditLog(auditLog);
      assert(audit.ok, `the audit log's chain is intact: ${JSON.stringify(audit)}`);
      // Every call that reached the server has its call record: each tool's results, one to one, and the
      // refusals of unknown tools; every intent (mutation) has its call record after it.
      const text = await Deno.readTextFile(auditLog);
      const callRecords = new Map<string, number>();
      let calls = 0;
      for (const line of text.split("\n")) {
        if (line === "") continue;
        const r = JSON.parse(line) as { kind: string; tool: string };
        if (r.kind !== "call") continue;
        calls++;
        callRecords.set(r.tool, (callRecords.get(r.tool) ?? 0) + 1);
      }
      const results = [...outcome.resultsByTool.values()].reduce((a, b) => a + b, 0);
      assert(results > outcome.toolCalls / 4, `most tool calls got a result (${results} of ${outcome.toolCalls})`);
      assertEquals(calls, results + outcome.unknownTools, "the audit log holds the calls: one record per call");
      for (const [tool, n] of outcome.resultsByTool) {
        assertEquals(callRecords.get(tool) ?? 0, n, `the audit log holds every call of ${tool}`);
      }
      assertEquals(audit.openIntents, 0, "every intent has its call record");
      extra["audit records"] = audit.records;
      sweep.capture("conductor-mode audit log", text);
    } finally {
      if (peer.exited() && !closing) crashes++;
      await peer.close();
      sweep.capture("conductor-mode stdout", peer.stdout());
      sweep.capture("conductor-mode stderr", peer.stderr());
      sweep.lookFor(login.allSecrets());
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("system-database mode, the real sample app's database, URL with a password: 8,000 calls", async () => {
    await using pg = await startPostgres();
    const url = pg.url("fuzz_dbos_sys");
    const controlDir = await Deno.makeTempDir({ prefix: "dbos-mcp-fuzz-ctl-" });
    // The real DBOS application makes its schema and runs its scenarios; 200 seeded workflows join them.
    await using sample = await startSampleApp({ databaseUrl: url, controlDir, appName: APP });
    await pg.query(seedWorkflowsSql({ count: 200, appName: APP }), "fuzz_dbos_sys");
    const peer = spawnPeer({
      flags: sysdbModeFlags({ hostPorts: hostPortsOf([url]) }),
      args: ["--app", `${APP}=${url}`],
    });
    let closing = false;
    try {
      assert((await peer.initialize()).result, "initialize answers");
      const started = performance.now();
      // The sample app's own workflows (failed, parent and child, an id with path characters) and seeded ones.
      const ids = [
        ...sample.ids.failing.slice(0, 2),
        sample.ids.parent,
        sample.ids.child,
        sample.ids.odd,
        "wf-00000001",
      ];
      const outcome = await fuzz(peer, callArbitrary({ live: APP, ids }), SYSDB_RUNS, undefined);
      const seconds = (performance.now() - started) / 1000;
      fuzzedCalls += outcome.calls;
      realBackendCalls += outcome.ranTool;
      extra["sysdb calls/s"] = Math.round(outcome.calls / seconds);
      assert(outcome.ranTool > outcome.calls / 4, `${outcome.ranTool} of ${outcome.calls} calls ran their tool`);
      console.log(
        `system-database mode: ${outcome.calls} calls in ${seconds.toFixed(1)} s (${outcome.jsonRpcErrors} ` +
          `JSON-RPC errors, ${outcome.isErrors} isError results)`,
      );
      assertEquals(peer.badLines, [], "stdout carries JSON-RPC only");
      assertEquals(peer.unmatched, [], "no answer without a request");
      closing = true;
      const status = await peer.close();
      assertEquals(status.code, 0, "closing stdin ends the server with status 0");
    } finally {
      if (peer.exited() && !closing) crashes++;
      await peer.close();
      sweep.capture("sysdb-mode stdout", peer.stdout());
      sweep.capture("sysdb-mode stderr", peer.stderr());
      sweep.lookFor([pg.password, encodeURIComponent(pg.password)]);
      await Deno.remove(controlDir, { recursive: true }).catch(() => {});
    }
  });

  await t.step("no token, refresh token, device code or database password in anything the servers wrote", () => {
    assertEquals(sweep.leaks(), []);
  });

  await recordFigures("fuzz", {
    fuzzedCalls,
    realBackendCalls,
    crashes,
    ...sweep.figures(),
    extra,
    durationMs: elapsed(),
  });
});
