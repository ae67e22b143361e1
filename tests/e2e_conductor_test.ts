// End to end, with real parts: the server spawned over stdio by the MCP SDK's
// client under the README's permission flags (network scoped to the
// emulators' ports, files to a temporary home), the login emulator, the
// Conductor emulator relaying to a real DBOS application (SDK 5.2.11) over
// the executor websocket protocol, and a throwaway PostgreSQL. The workflow
// scenarios are shared with system-database mode (`_scenarios.ts`); login,
// refresh, logout and the executor's live view are Conductor's own.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { spawnConductorModeServer } from "./_server_process.ts";
import { okCaller, recorder, type Result, type Row, runWorkflowScenarios } from "./_scenarios.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { startWorld } from "./fixtures/world.ts";
import { join } from "../src/util/path.ts";

const ORG = "acme";
const APP = "sample-app";

Deno.test("end to end over stdio: login, inspect and steer a real DBOS app through Conductor", async (t) => {
  await using login = await startLoginEmulator({ organization: ORG, userName: "ada", script: { pendingPolls: 1 } });
  await using world = await startWorld({
    org: ORG,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    // The profile a login reads (`GET /v2/users/me`) is Conductor's.
    conductor: { onRequest: (_rec, req) => login.usersMe(req) },
  });
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-home-" });
  const targets = { conductorUrl: world.conductor.baseUrl, loginUrl: login.loginUrl, home };
  const server = await spawnConductorModeServer(targets, { args: ["--login-wait", "10000", "--timeout", "15000"] });
  const { call, results } = recorder(server);
  const ok = okCaller(call);

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

    await t.step("list_executors shows the app's connected executor", async () => {
      const out = await ok("list_executors", { application_name: APP });
      const executors = out.executors as Row[];
      assertEquals(executors.length, 1);
      assertEquals(executors[0].executorId, world.app.executorId);
      assertEquals(executors[0].status, "HEALTHY");
      assertEquals(out.note, undefined, "Conductor's executors are live, not derived");
    });

    await t.step("an id with '/', '..', '?', '#' and '%' travels as one path segment", async () => {
      const before = world.conductor.requests.length;
      await ok("get_workflow", { application_name: APP, workflow_id: world.app.ids.odd });
      const req = world.conductor.requests.slice(before).find((r) => r.operation === "getWorkflow");
      assert(req, "the emulator saw the request");
      assertEquals(req.segments.at(-1), world.app.ids.odd);
      assertEquals(req.query, "");
    });

    await runWorkflowScenarios(t, { call, app: APP, sample: world.app });

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
        assertEquals(apps.find((a) => a.name === APP)?.status, "AVAILABLE");
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
