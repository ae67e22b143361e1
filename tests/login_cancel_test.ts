// A cancelled `login_complete` stops polling the login service: through MCP
// (the client's `notifications/cancelled`) and on the login itself (an
// aborted signal), with several callers sharing one polling loop.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { connectInProcess } from "./_mcp.ts";
import { ManualClock } from "./_manual_clock.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { openDeviceLogin } from "../src/auth/device_login.ts";
import { DEVICE_CODE_GRANT } from "../src/auth/device_flow.ts";
import { SecretSet } from "../src/core/secrets.ts";
import { join } from "../src/util/path.ts";

async function tempHome(): Promise<{ home: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-cancel-" });
  return { home: join(dir, ".dbos-mcp"), [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("login_complete cancelled by the client (notifications/cancelled) polls the login service no more", async () => {
  const clock = new ManualClock();
  await using emu = await startLoginEmulator({ now: () => clock.now(), interval: 1, script: { outcome: "manual" } });
  await using dir = await tempHome();
  await using mcp = await connectInProcess({
    config: {
      home: dir.home,
      loginUrl: emu.loginUrl,
      conductorUrl: emu.conductorUrl,
      loginWaitMs: 60_000,
      timeoutMs: 5_000,
    },
    clock,
    log: () => {},
  });
  const polls = () => emu.countRequests("/oauth/token", DEVICE_CODE_GRANT);
  assertEquals((await mcp.client.callTool({ name: "login", arguments: {} })).isError, undefined);

  const cancel = new AbortController();
  const call = mcp.client.callTool({ name: "login_complete", arguments: {} }, undefined, { signal: cancel.signal });
  await clock.sleeper(); // polled once, waiting the interval
  assertEquals(polls(), 1);
  clock.release();
  await clock.sleeper();
  assertEquals(polls(), 2);

  cancel.abort(new Error("the user gave up"));
  await assertRejects(() => call);
  await mcp.server.idle(5_000);
  assertEquals(clock.sleeping, 0, "the polling loop stopped waiting once the call was cancelled");
  clock.release();
  await mcp.server.idle(1_000);
  assertEquals(polls(), 2, "no poll after the cancellation");
  const pending = JSON.parse(await Deno.readTextFile(join(dir.home, "pending_login")));
  assert(typeof pending.device_code === "string", "the pending login is kept for the next login_complete");
});

Deno.test("DeviceLogin.completeLogin() stops polling when every caller aborted, not before", async () => {
  const clock = new ManualClock();
  await using emu = await startLoginEmulator({ now: () => clock.now(), interval: 1, script: { outcome: "manual" } });
  await using dir = await tempHome();
  const { login } = openDeviceLogin({
    home: dir.home,
    loginUrl: emu.loginUrl,
    conductorUrl: emu.conductorUrl,
    timeoutMs: 5_000,
    loginWaitMs: 60_000,
    clock,
    secrets: new SecretSet(),
    warn: () => {},
  });
  const polls = () => emu.countRequests("/oauth/token", DEVICE_CODE_GRANT);
  const started = await login.startLogin();

  const first = new AbortController();
  const second = new AbortController();
  const a = login.completeLogin({ signal: first.signal });
  const b = login.completeLogin({ signal: second.signal });
  await clock.sleeper();
  assertEquals(polls(), 1, "two callers share one polling loop");
  first.abort(new Error("first caller gone"));
  await assertRejects(() => a, Error, "first caller gone");
  clock.release();
  await clock.sleeper();
  assertEquals(polls(), 2, "the loop goes on for the caller still waiting");
  second.abort(new Error("second caller gone"));
  await assertRejects(() => b, Error, "second caller gone");
  assertEquals(clock.sleeping, 0, "the loop stopped once nobody waits");
  clock.release();
  assertEquals(polls(), 2);

  // The pending login survives: a new call resumes it and completes.
  emu.approve(started.user_code);
  const resumed = login.completeLogin();
  await clock.sleeper(); // honours the interval since the last poll
  clock.release();
  assertEquals((await resumed).status, "complete");
  assertEquals(polls(), 3);
});
