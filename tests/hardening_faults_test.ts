// Upstream faults, end to end: the server spawned over stdio by the MCP SDK's
// client under the README's flags, talking to the Conductor emulator (which
// relays to a real DBOS application on a real PostgreSQL) and to the login
// emulator, each behind a loopback TCP proxy that can be taken down. Faults
// are injected one kind at a time: 500, 502, 503, 429 with Retry-After, a
// reply slower than the timeout, a connection reset mid-body, malformed JSON,
// an HTML error page, a 401 in the middle of the session, Conductor down, the
// login service down and failing. For each: the agent gets an isError result
// naming what failed (no stack trace); reads are retried, within bounds, and
// a transient fault is absorbed; a mutation is sent exactly once (the
// emulator counts); and once the fault clears the next call succeeds with
// the real application's answer.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { hasStackTrace, recordFigures, SecretSweep, stopwatch } from "./_hardening.ts";
import { spawnConductorModeServer } from "./_server_process.ts";
import { recorder, type Row } from "./_scenarios.ts";
import { ConductorFaults, deviceLogin, type FaultKind, writeCredentials } from "./fixtures/faults.ts";
import type { ConductorOperation } from "./fixtures/conductor_emulator.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";
import { startWorld } from "./fixtures/world.ts";
import { join } from "../src/util/path.ts";

const ORG = "acme";
const APP = "sample-app";
/**
 * The server's --timeout: generous, so that a slow, shared machine does not turn a normal reply into a
 * timeout fault (a reply the fault holds back waits twice as long).
 */
const TIMEOUT_MS = 4000;
/** 1 + the Conductor backend's read retries. */
const READ_ATTEMPTS = 3;

/** One fault kind and what the agent should see. */
interface FaultCase {
  /** The figure's name for it. */
  kind: string;
  /** Arms the fault for the given Conductor operations (for `times` requests, default all). */
  arm(operations: ConductorOperation[], times?: number): void | Promise<void>;
  /** Clears it. */
  clear(): void | Promise<void>;
  /** Words a failed read's error must contain. */
  says: string[];
  /** Requests a persistently failing read makes to Conductor (undefined: none reaches it). */
  readAttempts: number | undefined;
  /** Whether a fault on one request only is absorbed (by a retry or a refresh): the agent sees the answer. */
  transientAbsorbed: boolean;
  /** The mutation tried under the fault. */
  mutation: "cancel_workflow" | "fork_workflow";
  /** How many mutation requests the fault hits (default all). */
  mutationTimes?: number;
  /** Words the mutation's error must contain, or `"succeeds"` (e.g. re-sent after a refresh). */
  mutationSays: string[] | "succeeds";
  /** Mutation requests that arrive at Conductor (the emulator counts them, rejected and faulted ones included). */
  mutationArrived: number;
  /** Of those, how many reached the application (not answered by the fault, nor refused for the token). */
  mutationDelivered: number;
}

Deno.test("upstream faults: clear errors, bounded retries, mutations sent once, recovery", async (t) => {
  const elapsed = stopwatch();
  const sweep = new SecretSweep();
  const survived: string[] = [];
  await using login = await startLoginEmulator({ organization: ORG });
  await using loginProxy = await startTcpProxy({ targetPort: Number(new URL(login.loginUrl).port) });
  const faults = new ConductorFaults();
  await using world = await startWorld({
    org: ORG,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    conductor: { onRequest: faults.onRequest },
  });
  await using conductorProxy = await startTcpProxy({ targetPort: world.conductor.port });
  const viaProxy = (url: string, port: number) => url.replace(/:\d+\//, `:${port}/`);
  const home = join(await Deno.makeTempDir({ prefix: "dbos-mcp-faults-" }), "home");
  await writeCredentials(home, await deviceLogin(login), { organization: ORG });
  const server = await spawnConductorModeServer({
    conductorUrl: viaProxy(world.conductor.baseUrl, conductorProxy.port),
    loginUrl: viaProxy(login.loginUrl, loginProxy.port),
    home,
  }, { args: ["--timeout", String(TIMEOUT_MS)] });
  const { call, results } = recorder(server);
  const requestsOf = (op: ConductorOperation, since: number) =>
    world.conductor.requests.slice(since).filter((r) => r.operation === op).length;
  const readWorks = async () => {
    const res = await call("list_workflows", { application_name: APP, limit: 50 });
    assert(!res.isError, `the read succeeds once the fault is cleared: ${textOf(res)}`);
    const ids = (res.structuredContent?.workflows as Row[]).map((w) => w.workflowId);
    assert(ids.includes(world.app.ids.pipeline[0]), "with the real application's workflows");
  };
  const expired = () => login.expireAccessTokensNow();
  const withStatusFault = (kind: FaultKind) => (operations: ConductorOperation[], times?: number) =>
    faults.inject({ kind, operations, times, delayMs: TIMEOUT_MS * 2, retryAfterSec: 1 });
  const clearFaults = () => faults.clear();
  const maybe = "may or may not have taken effect: check the workflow with get_workflow";
  const status = (code: number, detail: string[]): Partial<FaultCase> => ({
    says: ["DBOS Conductor failed to list workflows", `HTTP ${code}`, ...detail],
    readAttempts: READ_ATTEMPTS,
    transientAbsorbed: true,
    mutation: "cancel_workflow",
    mutationSays: [`DBOS Conductor failed to cancel workflow '${world.app.ids.long[1]}'`, `HTTP ${code}`, maybe],
    mutationArrived: 1,
    mutationDelivered: 0,
  });

  const cases = ([
    { kind: "HTTP 500", arm: withStatusFault("http_500"), ...status(500, ["pool is exhausted"]) },
    { kind: "HTTP 502", arm: withStatusFault("http_502"), ...status(502, []) },
    { kind: "HTTP 503", arm: withStatusFault("http_503"), ...status(503, ["Service Unavailable"]) },
    { kind: "HTML error page", arm: withStatusFault("html_page"), ...status(502, ["an HTML page"]) },
    {
      kind: "HTTP 429 with Retry-After",
      arm: withStatusFault("http_429"),
      says: ["DBOS Conductor is rate-limiting requests (HTTP 429, asking to wait 1 s)", "list workflows"],
      readAttempts: READ_ATTEMPTS,
      transientAbsorbed: true,
      mutation: "cancel_workflow",
      mutationSays: ["rate-limiting", "did not cancel workflow", "Wait a little, then try again"],
      mutationArrived: 1,
      mutationDelivered: 0,
    },
    {
      kind: "reply slower than the timeout",
      arm: withStatusFault("slow"),
      says: [`DBOS Conductor did not answer within ${TIMEOUT_MS} ms`, "POST"],
      readAttempts: 1, // a timed-out read is not tried again: that would triple the wait
      transientAbsorbed: false,
      mutation: "cancel_workflow",
      mutationSays: [`DBOS Conductor did not answer within ${TIMEOUT_MS} ms`, maybe],
      mutationArrived: 1,
      mutationDelivered: 1, // held past the timeout, then relayed: it may well have happened
    },
    {
      kind: "connection reset mid-body",
      arm: withStatusFault("reset"),
      says: ["DBOS Conductor broke off its answer", "the connection broke in the middle of the answer"],
      readAttempts: READ_ATTEMPTS,
      transientAbsorbed: true,
      mutation: "fork_workflow",
      mutationSays: ["DBOS Conductor broke off its answer", maybe],
      mutationArrived: 1,
      mutationDelivered: 0,
    },
    {
      kind: "malformed JSON",
      arm: withStatusFault("malformed_json"),
      says: ["DBOS Conductor answered HTTP 200 with a body that is not JSON", "application/json"],
      readAttempts: 1, // a 200 was an answer: trying again would not make it JSON
      transientAbsorbed: false,
      mutation: "fork_workflow",
      mutationSays: ["DBOS Conductor answered HTTP 200 with a body that is not JSON"],
      mutationArrived: 1,
      mutationDelivered: 0,
    },
    {
      kind: "401 mid-session (refresh)",
      arm: withStatusFault("unauthorized"),
      says: [
        "DBOS Conductor refused to list workflows",
        "(HTTP 401: Unauthorized: the token was revoked)",
        "Call the `login` tool",
      ],
      readAttempts: 2, // the rejected request, then one more after one refresh
      transientAbsorbed: true, // refreshed and re-sent: the agent never knows
      mutation: "cancel_workflow",
      mutationTimes: 1, // one 401 in the middle of the session
      mutationSays: "succeeds", // a 401 did nothing: it is sent again with the fresh token, once
      mutationArrived: 2,
      mutationDelivered: 1,
    },
    {
      kind: "Conductor down",
      arm: () => conductorProxy.down(),
      clear: () => conductorProxy.up(),
      says: ["Could not reach DBOS Conductor", "connection refused"],
      readAttempts: undefined,
      transientAbsorbed: false,
      mutation: "cancel_workflow",
      mutationSays: ["Could not reach DBOS Conductor", "connection refused"],
      mutationArrived: 0,
      mutationDelivered: 0,
    },
    {
      kind: "login service down",
      arm: () => {
        expired();
        loginProxy.down();
      },
      clear: () => loginProxy.up(),
      says: ["Could not reach the DBOS login service", "connection refused"],
      readAttempts: 1, // refused for the expired token; the refresh fails, so nothing is re-sent
      transientAbsorbed: false,
      mutation: "cancel_workflow",
      mutationSays: ["Could not reach the DBOS login service", "connection refused"],
      mutationArrived: 0, // the confirmation's status read is refused first: the cancel is never sent
      mutationDelivered: 0,
    },
    {
      kind: "login service failing (HTML 503)",
      arm: () => {
        expired();
        login.failNext(503, 1000);
      },
      clear: () => login.failNext(503, 0),
      says: ["DBOS login service answered HTTP 503", "while refreshing the login: an HTML page"],
      readAttempts: 1,
      transientAbsorbed: false,
      mutation: "cancel_workflow",
      mutationSays: ["DBOS login service answered HTTP 503"],
      mutationArrived: 0, // the confirmation's status read is refused first: the cancel is never sent
      mutationDelivered: 0,
    },
  ] as (Omit<FaultCase, "clear"> & { clear?: FaultCase["clear"] })[]).map((c): FaultCase => ({
    clear: clearFaults,
    ...c,
  }));

  try {
    await t.step("the world answers before any fault", readWorks);

    for (const c of cases) {
      await t.step(c.kind, async (t) => {
        const passed: boolean[] = [];
        passed.push(
          await t.step("a read fails with an error naming what failed, after bounded retries", async () => {
            const since = world.conductor.requests.length;
            await c.arm(["searchWorkflows"]);
            const res = await call("list_workflows", { application_name: APP });
            await c.clear();
            assertEquals(res.isError, true, `the read fails under the fault: ${JSON.stringify(res).slice(0, 300)}`);
            const text = textOf(res);
            for (const words of c.says) assertStringIncludes(text, words);
            assert(!hasStackTrace(text), "no stack trace");
            if (c.readAttempts !== undefined) assertEquals(requestsOf("searchWorkflows", since), c.readAttempts);
          }),
        );
        if (c.transientAbsorbed) {
          passed.push(
            await t.step("a fault on one request only is absorbed: the agent sees the answer", async () => {
              const since = world.conductor.requests.length;
              await c.arm(["searchWorkflows"], 1);
              const started = performance.now();
              const res = await call("list_workflows", { application_name: APP });
              await c.clear();
              assert(!res.isError, `retried and answered: ${textOf(res)}`);
              assertEquals(requestsOf("searchWorkflows", since), 2);
              if (c.kind.startsWith("HTTP 429")) assert(performance.now() - started >= 1000, "Retry-After honoured");
            }),
          );
        }
        passed.push(
          await t.step("a mutation is sent exactly once", async () => {
            const fork = c.mutation === "fork_workflow";
            const op: ConductorOperation = fork ? "forkWorkflow" : "cancelWorkflow";
            const arrivedBefore = world.conductor.mutationCount();
            const since = world.conductor.requests.length;
            await c.arm([op], c.mutationTimes);
            const res = await call(c.mutation, {
              application_name: APP,
              workflow_id: fork ? world.app.ids.pipeline[1] : world.app.ids.long[1],
              ...(fork ? { start_step: 1 } : {}),
            });
            const injected = faults.injected;
            await c.clear();
            const arrived = world.conductor.mutationCount() - arrivedBefore;
            const authorized = world.conductor.requests.slice(since).filter((r) => r.operation === op && r.authorized);
            assertEquals(arrived, c.mutationArrived, `${arrived} ${op} request(s) arrived at Conductor`);
            assertEquals(authorized.length - injected, c.mutationDelivered, "reached the application");
            const text = textOf(res);
            if (c.mutationSays === "succeeds") {
              assert(!res.isError, `the mutation went through: ${text}`);
            } else {
              assertEquals(res.isError, true, `the mutation fails under the fault: ${text}`);
              for (const words of c.mutationSays) assertStringIncludes(text, words);
              assert(!hasStackTrace(text), "no stack trace");
            }
          }),
        );
        passed.push(await t.step("once the fault clears, the next call succeeds with the real answer", readWorks));
        if (passed.every(Boolean)) survived.push(c.kind);
      });
    }
  } finally {
    faults.clear();
    await server.close();
    sweep.capture("results", JSON.stringify(results));
    sweep.capture("stderr", server.stderr());
    sweep.lookFor(login.allSecrets());
    sweep.lookFor([world.pg.password, encodeURIComponent(world.pg.password)]);
    await Deno.remove(join(home, ".."), { recursive: true });
  }

  await t.step("no token, refresh token, device code or database password in any result or on stderr", () => {
    assertEquals(sweep.leaks(), []);
  });
  await recordFigures("faults", {
    faultKinds: survived,
    ...sweep.figures(),
    durationMs: elapsed(),
  });
});
