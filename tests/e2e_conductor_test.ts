// End to end, with real parts: the server spawned over stdio by the MCP SDK's
// client under the README's permission flags (network scoped to the
// emulators' ports, files to a temporary home), the login emulator, the
// Conductor emulator relaying to a real DBOS application (SDK 5.2.11) over
// the executor websocket protocol, and a throwaway PostgreSQL.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { spawnConductorModeServer } from "./_server_process.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { startWorld } from "./fixtures/world.ts";
import { FAILING_MESSAGE } from "./fixtures/sample_app_process.ts";
import { join } from "../src/_path.ts";

const ORG = "acme";
const APP = "sample-app";

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content?: unknown };
type Row = Record<string, unknown>;

/** Polls `check` (a remote process's state) every 200 ms until it holds, for at most `ms`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test("end to end over stdio: login, inspect and steer a real DBOS app through Conductor", async (t) => {
  await using login = await startLoginEmulator({ organization: ORG, userName: "ada", script: { pendingPolls: 1 } });
  await using world = await startWorld({ org: ORG, isValidToken: (tok) => login.isValidAccessToken(tok) });
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-home-" });
  const targets = { conductorUrl: world.conductor.baseUrl, loginUrl: login.loginUrl, cloudUrl: login.cloudUrl, home };
  const server = await spawnConductorModeServer(targets, { args: ["--login-wait", "10000", "--timeout", "15000"] });
  const results: unknown[] = [];
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<Result> => {
    const res = await server.client.callTool({ name, arguments: args }) as Result;
    results.push(res);
    return res;
  };
  const ok = async (name: string, args: Record<string, unknown> = {}): Promise<Row> => {
    const res = await call(name, args);
    assert(!res.isError, `${name} failed: ${textOf(res)}`);
    assert(res.structuredContent, `${name} has structuredContent`);
    return res.structuredContent;
  };
  const listIds = async (args: Record<string, unknown>): Promise<string[]> => {
    const out = await ok("list_workflows", { application_name: APP, limit: 500, ...args });
    return (out.workflows as Row[]).map((w) => String(w.WorkflowUUID));
  };
  const status = async (id: string) =>
    ((await ok("get_workflow", { application_name: APP, workflow_id: id })).workflow as Row).Status;
  const ids = world.app.ids;

  try {
    await t.step("before login, workflow tools answer with a hint to call login", async () => {
      const res = await call("list_applications");
      assertEquals(res.isError, true);
      assertStringIncludes(textOf(res), "Call the `login` tool");
    });

    await t.step("login returns at once with a URL, then login_complete saves the credentials", async () => {
      const started = await ok("login");
      assertEquals(started.status, "pending_user");
      assertStringIncludes(String(started.verification_uri_complete), login.loginUrl.split("/login")[0]);
      assert(String(started.user_code).length > 0);
      const pending = JSON.parse(await Deno.readTextFile(join(home, "pending_login")));
      assert(pending.device_code, "the pending login is kept in the home folder");

      const done = await ok("login_complete");
      assertEquals(done.status, "complete");
      assertEquals(done.userName, "ada");
      assertEquals(done.organization, ORG);

      const file = join(home, "credentials");
      const saved = JSON.parse(await Deno.readTextFile(file));
      for (const key of ["token", "userName", "organization", "refreshToken", "expiresAt"]) {
        assert(key in saved, `credentials keep ${key}`);
      }
      assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
      assertEquals((await Deno.stat(home)).mode! & 0o777, 0o700);
      await Deno.stat(join(home, "pending_login")).then(
        () => {
          throw new Error("pending_login should be gone after login_complete");
        },
        () => {},
      );
    });

    await t.step("list_applications shows the sample app AVAILABLE", async () => {
      const out = await ok("list_applications");
      const app = (out.applications as Row[]).find((a) => a.application_name === APP);
      assertEquals(app?.status, "AVAILABLE");
      assertEquals(out.count, (out.applications as Row[]).length);
    });

    await t.step("list_executors shows the app's connected executor", async () => {
      const out = await ok("list_executors", { application_name: APP });
      const executors = out.executors as Row[];
      assertEquals(executors.length, 1);
      assertEquals(executors[0].executor_id, world.app.executorId);
      assertEquals(executors[0].status, "HEALTHY");
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
      const enqueued = await listIds({ status: "ENQUEUED" });
      assertEquals(enqueued, [ids.serialWaiting]);
    });

    await t.step("list_workflows pages with limit and offset, in either order", async () => {
      // Workflows started together share a creation time, and the contract orders by creation time
      // only, so rows with equal times may come in any order: compare the times, not the ids.
      const page = async (args: Record<string, unknown>) =>
        await ok("list_workflows", { application_name: APP, ...args });
      const timesOf = (out: Row) => (out.workflows as Row[]).map((w) => Number(w.CreatedAt));
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
      const times = rows.map((w) => Number(w.CreatedAt)).sort((a, b) => a - b);
      const mid = times[Math.floor(times.length / 2)];
      const after = await listIds({ start_time: new Date(mid).toISOString() });
      const before = await listIds({ end_time: new Date(mid - 1).toISOString() });
      assertEquals(after.length, times.filter((x) => x >= mid).length);
      assertEquals(before.length, times.filter((x) => x <= mid - 1).length);
      assertEquals(await listIds({ start_time: new Date(times.at(-1)! + 60_000).toISOString() }), []);
    });

    await t.step("list_workflows includes inputs and outputs only when asked", async () => {
      const plain = (await ok("list_workflows", { application_name: APP, workflow_uuids: [ids.pipeline[1]] }))
        .workflows as Row[];
      assertEquals(plain[0].Input, undefined);
      assertEquals(plain[0].Output, undefined);
      const loaded = (await ok("list_workflows", {
        application_name: APP,
        workflow_uuids: [ids.pipeline[1]],
        load_input: true,
        load_output: true,
      })).workflows as Row[];
      assert(typeof loaded[0].Input === "string" && loaded[0].Input !== "");
      assert(typeof loaded[0].Output === "string" && loaded[0].Output !== "");
    });

    await t.step("get_workflow shows a failed workflow's error, list_steps its steps from 0", async () => {
      const wf = (await ok("get_workflow", { application_name: APP, workflow_id: ids.failing[0] })).workflow as Row;
      assertEquals(wf.Status, "ERROR");
      assertStringIncludes(String(wf.Error), FAILING_MESSAGE);
      const steps = await ok("list_steps", { application_name: APP, workflow_id: ids.failing[0] });
      const rows = steps.steps as Row[];
      assertEquals(rows[0].function_id, 0);
      assert(rows.some((s) => String(s.error ?? "").includes(FAILING_MESSAGE)), "the failing step has the error");
      const res = await call("list_steps", { application_name: APP, workflow_id: ids.failing[0] });
      assertStringIncludes(textOf(res), FAILING_MESSAGE);
    });

    await t.step("an id with '/', '..', '?', '#' and '%' travels as one path segment", async () => {
      const before = world.conductor.requests.length;
      const wf = (await ok("get_workflow", { application_name: APP, workflow_id: ids.odd })).workflow as Row;
      assertEquals(wf.WorkflowUUID, ids.odd);
      const req = world.conductor.requests.slice(before).find((r) => r.operation === "get_workflow");
      assert(req, "the emulator saw the request");
      assertEquals(req.segments.at(-1), ids.odd);
      assertEquals(req.query, "");
    });

    await t.step("unknown application and unknown workflow give clear errors", async () => {
      const noApp = await call("list_workflows", { application_name: "no-such-app" });
      assertEquals(noApp.isError, true);
      assertStringIncludes(textOf(noApp), "list_applications");
      const noWf = await call("get_workflow", { application_name: APP, workflow_id: "wf-does-not-exist" });
      assertEquals(noWf.isError, true);
      assertStringIncludes(textOf(noWf), "wf-does-not-exist");
    });

    await t.step("cancel a running workflow, see it CANCELLED, resume it and see it finish", async () => {
      const id = ids.long[0];
      assertEquals(await status(id), "PENDING");
      const cancelled = await ok("cancel_workflow", { application_name: APP, workflow_id: id });
      assertEquals(cancelled.workflow_id, id);
      await eventually("CANCELLED", async () => (await status(id)) === "CANCELLED" ? true : undefined);
      await world.app.release(id);
      const resumed = await ok("resume_workflow", { application_name: APP, workflow_id: id });
      assertMatch(String(resumed.message), /Resumed/);
      await eventually("SUCCESS after resume", async () => (await status(id)) === "SUCCESS" ? true : undefined);
    });

    await t.step("resume an ENQUEUED workflow starts it now, bypassing its queue", async () => {
      assertEquals(await status(ids.serialWaiting), "ENQUEUED");
      await ok("resume_workflow", { application_name: APP, workflow_id: ids.serialWaiting });
      await eventually("SUCCESS", async () => (await status(ids.serialWaiting)) === "SUCCESS" ? true : undefined);
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
      await eventually("fork SUCCESS", async () => (await status(newId)) === "SUCCESS" ? true : undefined);
      const stepsOf = async (id: string) =>
        (await ok("list_steps", { application_name: APP, workflow_id: id })).steps as Row[];
      const [a, b] = [await stepsOf(original), await stepsOf(newId)];
      assertEquals(b.map((s) => s.function_name), a.map((s) => s.function_name));
      assertEquals(b[0].output, a[0].output, "step 0 (a random value) was reused, not re-run");
      assertEquals(b[1].output, a[1].output);
      assertEquals(await listIds({ forked_from: original }), [newId]);
    });

    await t.step("an access token rejected by Conductor is refreshed once, transparently", async () => {
      const refreshesBefore = login.countRequests("/oauth/token", "refresh_token");
      login.expireAccessTokensNow();
      await ok("list_applications");
      assertEquals(login.countRequests("/oauth/token", "refresh_token"), refreshesBefore + 1);
    });

    await t.step("a headless server logs in with DBOS_MCP_REFRESH_TOKEN, no interactive login", async () => {
      const refreshToken = JSON.parse(await Deno.readTextFile(join(home, "credentials"))).refreshToken;
      const home2 = await Deno.makeTempDir({ prefix: "dbos-mcp-home2-" });
      const headless = await spawnConductorModeServer({ ...targets, home: home2 }, {
        env: { DBOS_MCP_REFRESH_TOKEN: refreshToken },
      });
      try {
        const res = await headless.client.callTool({ name: "list_applications", arguments: {} }) as Result;
        results.push(res);
        assert(!res.isError, textOf(res));
        const apps = res.structuredContent?.applications as Row[];
        assertEquals(apps.find((a) => a.application_name === APP)?.status, "AVAILABLE");
        assert(!headless.stderr().includes(refreshToken));
      } finally {
        await headless.close();
        await Deno.remove(home2, { recursive: true });
      }
    });

    await t.step("logout revokes the refresh token and deletes the credentials", async () => {
      const out = await ok("logout");
      assertEquals(out.revoked, true);
      assertEquals(out.removed, true);
      assertEquals(login.revokedTokens().length, 1);
      const after = await call("list_applications");
      assertEquals(after.isError, true);
      assertStringIncludes(textOf(after), "login");
    });

    await t.step("no token, refresh token or device code appears in any result or on stderr", () => {
      const everything = JSON.stringify(results) + server.stderr();
      const secrets = login.allSecrets();
      assert(secrets.length >= 3, "the emulator issued tokens");
      for (const secret of secrets) assert(!everything.includes(secret), "a secret leaked");
    });
  } finally {
    await server.close();
    await Deno.remove(home, { recursive: true });
  }
});
