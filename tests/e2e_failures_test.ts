// Failure paths end to end over stdio, under the README's flags: a login that
// stays pending, is denied or expires; a corrupt credentials file; an
// unreachable Conductor; a withheld permission. Each answers a clear isError
// result and the server keeps serving.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { conductorModeFlags, spawnConductorModeServer } from "./_server_process.ts";
import { type LoginEmulator, startLoginEmulator } from "./fixtures/login_emulator.ts";
import { deviceLogin, writeCredentials } from "./fixtures/faults.ts";
import { join } from "../src/util/path.ts";

type Result = { isError?: boolean; structuredContent?: Record<string, unknown> };

async function withServer(
  login: LoginEmulator,
  fn: (s: {
    call: (name: string, args?: Record<string, unknown>) => Promise<Result>;
    home: string;
    stderr: () => string;
  }) => Promise<void>,
  opts: { flags?: (home: string, hosts: string[]) => string[]; conductorUrl?: string; loginWaitMs?: number } = {},
) {
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-home-" });
  // Port 9 on loopback (discard) is closed here: an unreachable Conductor.
  // By default a Conductor that serves only the profile (`GET /v2/users/me`) that a login needs.
  const conductorUrl = opts.conductorUrl ?? login.conductorUrl;
  const server = await spawnConductorModeServer(
    { conductorUrl, loginUrl: login.loginUrl, home },
    { args: ["--login-wait", String(opts.loginWaitMs ?? 1500), "--timeout", "3000"], flags: opts.flags },
  );
  try {
    await fn({
      call: async (name, args = {}) => await server.client.callTool({ name, arguments: args }) as Result,
      home,
      stderr: server.stderr,
    });
    // Whatever happened, the server still answers.
    const tools = await server.client.listTools();
    assert(tools.tools.length > 0);
  } finally {
    await server.close();
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("login_complete answers 'pending' while the user has not finished, then completes", async () => {
  await using login = await startLoginEmulator({ script: { outcome: "manual" } });
  await withServer(login, async ({ call }) => {
    const started = await call("login");
    const code = String(started.structuredContent?.user_code);
    const pending = await call("login_complete");
    assertEquals(pending.isError, undefined);
    assertEquals(pending.structuredContent?.status, "pending");
    assertStringIncludes(textOf(pending), "call login_complete again");
    login.approve(code);
    const done = await call("login_complete");
    assertEquals(done.structuredContent?.status, "complete");
  });
});

Deno.test("login_complete explains a denied and an expired login, and login can start over", async () => {
  await using login = await startLoginEmulator({ script: { outcome: "access_denied" } });
  await withServer(login, async ({ call, home }) => {
    await call("login");
    const denied = await call("login_complete");
    assertEquals(denied.isError, true);
    assertStringIncludes(textOf(denied).toLowerCase(), "denied");
    assertStringIncludes(textOf(denied), "login");
    const again = await call("login_complete");
    assertEquals(again.isError, true);
    assertStringIncludes(textOf(again), "login");

    const started = await call("login");
    login.setScript(String(started.structuredContent?.user_code), { outcome: "expired_token" });
    const expired = await call("login_complete");
    assertEquals(expired.isError, true);
    assertStringIncludes(textOf(expired).toLowerCase(), "expired");
    await Deno.stat(join(home, "pending_login")).then(
      () => {
        throw new Error("a final outcome removes the pending login");
      },
      () => {},
    );
  });
});

Deno.test("a corrupt credentials file means 'log in again', not a crash", async () => {
  await using login = await startLoginEmulator();
  await withServer(login, async ({ call, home }) => {
    for (const content of ["", "{not json", JSON.stringify({ userName: "x" })]) {
      await Deno.writeTextFile(join(home, "credentials"), content, { mode: 0o600 });
      const res = await call("list_applications");
      assertEquals(res.isError, true);
      assertStringIncludes(textOf(res), "login");
    }
  });
});

Deno.test("an unreachable Conductor gives an error naming it, and the server keeps serving", async () => {
  await using login = await startLoginEmulator();
  await withServer(login, async ({ call, home }) => {
    // The profile is Conductor's too: a login cannot complete without it, and says so.
    await call("login");
    const completing = await call("login_complete");
    assertEquals(completing.isError, true);
    assertStringIncludes(textOf(completing), "DBOS Conductor");
    assertStringIncludes(textOf(completing), "127.0.0.1:9");
    await writeCredentials(home, await deviceLogin(login), { organization: "acme" });
    const res = await call("list_workflows", { application_name: "app" });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "DBOS Conductor");
    assertStringIncludes(textOf(res), "127.0.0.1:9");
  }, { conductorUrl: "http://127.0.0.1:9/conductor" });
});

Deno.test("a withheld write permission is named in the error, without a stack trace", async () => {
  await using login = await startLoginEmulator();
  await withServer(login, async ({ call, home }) => {
    const res = await call("login");
    assertEquals(res.isError, true);
    const text = textOf(res);
    assertStringIncludes(text, `--allow-write=${home}`);
    assert(!/\n\s+at /.test(text), "no stack trace");
  }, {
    flags: (home, hosts) => conductorModeFlags({ hosts, home }).filter((f) => !f.startsWith("--allow-write")),
  });
});
