import {
  type DeviceLoginOptions,
  NoPendingLoginError,
  openDeviceLogin,
  type OpenedDeviceLogin,
} from "../src/auth/device_login.ts";
import { type Credentials, CredentialStore } from "../src/auth/credentials.ts";
import {
  DEFAULT_CLIENT_ID,
  DEVICE_CODE_GRANT,
  LoginDeniedError,
  LoginExpiredError,
  revokeRefreshToken,
} from "../src/auth/device_flow.ts";
import { jwtExpiry } from "../src/auth/_jwt.ts";
import { MissingPermissionError, NotLoggedInError, UpstreamError } from "../src/core/errors.ts";
import { SecretSet } from "../src/core/secrets.ts";
import { join } from "../src/util/path.ts";
import { assert, assertEquals, assertNotEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { FakeClock } from "./_fake_clock.ts";
import { type LoginEmulator, type LoginEmulatorOptions, startLoginEmulator } from "./fixtures/login_emulator.ts";

interface Harness extends AsyncDisposable {
  clock: FakeClock;
  emu: LoginEmulator;
  dir: string;
  home: string;
  store: CredentialStore;
  warnings: string[];
  session: OpenedDeviceLogin;
  /** Another session on another folder, sharing the emulator and the clock. */
  newSession(options?: Partial<DeviceLoginOptions>): OpenedDeviceLogin;
}

/** A login emulator, a temporary folder and a session, all private to one test. */
async function harness(
  emulator: LoginEmulatorOptions = {},
  options: Partial<DeviceLoginOptions> = {},
): Promise<Harness> {
  const clock = new FakeClock();
  const emu = await startLoginEmulator({ now: () => clock.now(), ...emulator });
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-auth-" });
  const home = join(dir, ".dbos-mcp");
  const warnings: string[] = [];
  const newSession = (extra: Partial<DeviceLoginOptions> = {}) =>
    openDeviceLogin({
      home,
      loginUrl: emu.loginUrl,
      conductorUrl: emu.conductorUrl,
      timeoutMs: 5_000,
      clock,
      secrets: new SecretSet(),
      warn: (msg) => warnings.push(msg),
      ...options,
      ...extra,
    });
  return {
    clock,
    emu,
    dir,
    home,
    store: new CredentialStore(home, { warn: () => {} }),
    warnings,
    session: newSession(),
    newSession,
    async [Symbol.asyncDispose]() {
      await emu.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Fails when any token, refresh token or device code the emulator handed out appears in `values`. */
function assertNoSecrets(emu: LoginEmulator, ...values: unknown[]): void {
  const text = values.map((v) =>
    v instanceof Error
      ? JSON.stringify({ name: v.name, message: v.message, hint: (v as { hint?: string }).hint })
      : JSON.stringify(v)
  ).join("\n");
  for (const secret of emu.allSecrets()) {
    assert(!text.includes(secret), `a secret leaked into: ${text.slice(0, 300)}`);
  }
  assert(!/eyJ[A-Za-z0-9_-]{8,}\./.test(text), "something JWT-shaped leaked");
}

async function caught(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

/** Logs in through the device flow (the emulator approves at once by default). */
async function login(h: Harness, session = h.session) {
  const started = await session.login.startLogin();
  const outcome = await session.login.completeLogin();
  assertEquals(outcome.status, "complete");
  return { started, outcome };
}

async function savedCredentials(h: Harness): Promise<Credentials> {
  const creds = await h.store.read();
  assert(creds !== null, "expected saved credentials");
  return creds;
}

Deno.test("DeviceLogin.startLogin() saves the pending login and returns the link at once", async () => {
  await using h = await harness({ interval: 2, expiresIn: 600 });
  const started = await h.session.login.startLogin();
  assertEquals(started.interval, 2);
  assertEquals(started.expires_in_seconds, 600);
  assertEquals(started.expires_at, new Date(h.clock.now() + 600_000).toISOString());
  assertStringIncludes(started.verification_uri_complete, started.user_code);
  assert(started.verification_uri.startsWith(h.emu.loginUrl));
  assertStringIncludes(started.message, "login_complete");
  assertEquals(h.clock.sleeps, []);
  const pending = await h.store.readPendingLogin();
  assertEquals(pending?.interval, 2);
  assertEquals(pending?.expires_at, (h.clock.now() + 600_000) / 1000);
  assertEquals(pending?.user_code, started.user_code);
  assertEquals(pending?.verification_uri_complete, started.verification_uri_complete);
  const req = h.emu.requests[0];
  assertEquals(req.path, "/login/oauth/device/code");
  assertStringIncludes(req.contentType ?? "", "application/x-www-form-urlencoded");
  assertEquals(req.form, { client_id: DEFAULT_CLIENT_ID, audience: "dbos-cloud-api", scope: "offline_access" });
  assertNoSecrets(h.emu, started);
});

Deno.test("DeviceLogin.completeLogin() saves the login when the user approved", async () => {
  await using h = await harness();
  const { started, outcome } = await login(h);
  assertEquals(outcome, {
    status: "complete",
    userName: "alice",
    organization: "acme",
    message: "Logged in to DBOS Cloud as alice (organization acme).",
  });
  const creds = await savedCredentials(h);
  assertEquals(creds.userName, "alice");
  assertEquals(creds.organization, "acme");
  assert(h.emu.isValidAccessToken(creds.token));
  assertEquals(creds.refreshToken, h.emu.issuedTokens().refreshTokens[0]);
  assertEquals(creds.expiresAt, jwtExpiry(creds.token));
  assertEquals(creds.expiresAt, h.clock.now() + 3600_000);
  assertEquals(await h.store.readPendingLogin(), null);
  if (Deno.build.os !== "windows") assertEquals((await Deno.stat(h.store.credentialsPath)).mode! & 0o777, 0o600);
  const poll = h.emu.requests.find((r) => r.form?.grant_type === DEVICE_CODE_GRANT);
  assertEquals(Object.keys(poll?.form ?? {}).sort(), ["client_id", "device_code", "grant_type"]);
  assertEquals(poll?.form?.client_id, DEFAULT_CLIENT_ID);
  const profile = h.emu.requests.find((r) => r.path.endsWith("/v2/users/me"));
  assertEquals(profile?.authorization, `Bearer ${creds.token}`);
  const grant = await h.session.tokens.getAccess();
  assertEquals(grant, { token: creds.token, organization: "acme", userName: "alice" });
  assertNoSecrets(h.emu, started, outcome, await h.session.login.status(), h.warnings);
});

Deno.test("DeviceLogin.completeLogin() polls at the interval until the user finishes", async () => {
  await using h = await harness({ script: { pendingPolls: 2 } });
  await login(h);
  assertEquals(h.clock.sleeps, [1000, 1000]);
  assertEquals(h.emu.countRequests("/oauth/token", DEVICE_CODE_GRANT), 3);
});

Deno.test("DeviceLogin.completeLogin() adds 5 s to the interval on slow_down", async () => {
  await using h = await harness({ script: { slowDown: 2 } });
  await login(h);
  assertEquals(h.clock.sleeps, [6000, 11000]);
});

Deno.test("DeviceLogin.completeLogin() accepts 'authorization_pending' as HTTP 400 too", async () => {
  await using h = await harness({ script: { pendingPolls: 1 }, pendingStatus: 400 });
  await login(h);
  assertEquals(h.clock.sleeps, [1000]);
});

Deno.test("DeviceLogin.completeLogin() returns pending when the user has not finished", async () => {
  await using h = await harness({ script: { outcome: "manual" } }, { loginWaitMs: 5_000 });
  const started = await h.session.login.startLogin();
  const start = h.clock.now();
  const outcome = await h.session.login.completeLogin();
  assertEquals(outcome.status, "pending");
  assert(outcome.status === "pending");
  assertStringIncludes(outcome.message, "call login_complete again");
  assertEquals(outcome.verification_uri_complete, started.verification_uri_complete);
  assertEquals(h.clock.sleeps, [1000, 1000, 1000, 1000, 1000]);
  assert(h.clock.now() - start <= 5_000);
  const pending = await h.store.readPendingLogin();
  assertEquals(pending?.last_poll_at, (start + 5_000) / 1000);
  assertEquals(await h.store.read(), null);
  h.emu.approve(started.user_code);
  const done = await h.session.login.completeLogin();
  assertEquals(done.status, "complete");
  assertNoSecrets(h.emu, outcome, done);
});

Deno.test("DeviceLogin.completeLogin() keeps the slowed-down interval for the next call", async () => {
  await using h = await harness({ script: { slowDown: 1, outcome: "manual" } }, { loginWaitMs: 5_000 });
  const started = await h.session.login.startLogin();
  const first = await h.session.login.completeLogin();
  assert(first.status === "pending");
  assertEquals(first.interval, 6);
  assertEquals((await h.store.readPendingLogin())?.interval, 6);
  assertEquals(h.emu.countRequests("/oauth/token"), 1);
  // A new process (a new session) honours the saved interval and last poll.
  h.emu.approve(started.user_code);
  const other = h.newSession({ loginWaitMs: 20_000 });
  const done = await other.login.completeLogin();
  assertEquals(done.status, "complete");
  assertEquals(h.clock.sleeps, [6000]);
});

Deno.test("DeviceLogin.completeLogin() throws LoginExpiredError and forgets the login on expired_token", async () => {
  await using h = await harness({ script: { pendingPolls: 1, outcome: "expired_token" } });
  await h.session.login.startLogin();
  const err = await assertRejects(() => h.session.login.completeLogin(), LoginExpiredError);
  assertEquals(err.code, "LOGIN_EXPIRED");
  assertStringIncludes(err.hint ?? "", "`login` again");
  assertEquals(await h.store.readPendingLogin(), null);
  assertNoSecrets(h.emu, err);
});

Deno.test("DeviceLogin.completeLogin() throws LoginDeniedError and forgets the login on access_denied", async () => {
  await using h = await harness({ script: { outcome: "manual" } }, { loginWaitMs: 3_000 });
  const started = await h.session.login.startLogin();
  assertEquals((await h.session.login.completeLogin()).status, "pending");
  h.emu.deny(started.user_code);
  const err = await assertRejects(() => h.session.login.completeLogin(), LoginDeniedError);
  assertEquals(err.code, "LOGIN_DENIED");
  assertStringIncludes(err.hint ?? "", "`login` again");
  assertEquals(await h.store.readPendingLogin(), null);
  assertEquals(await h.store.read(), null);
  assertNoSecrets(h.emu, err);
});

Deno.test("DeviceLogin.completeLogin() throws LoginExpiredError when the link timed out", async () => {
  await using h = await harness({ expiresIn: 900 });
  await h.session.login.startLogin();
  h.clock.advance(900_000);
  await assertRejects(() => h.session.login.completeLogin(), LoginExpiredError);
  assertEquals(h.emu.countRequests("/oauth/token"), 0);
  assertEquals(await h.store.readPendingLogin(), null);
});

Deno.test("DeviceLogin.completeLogin() tells to call login first when no login was started", async () => {
  await using h = await harness();
  const err = await assertRejects(() => h.session.login.completeLogin(), NoPendingLoginError);
  assertStringIncludes(err.message, "call `login` first");
});

Deno.test("DeviceLogin.completeLogin() works when the login service gives no refresh token", async () => {
  await using h = await harness({ issueRefreshTokens: false });
  await login(h);
  const creds = await savedCredentials(h);
  assertEquals(creds.refreshToken, undefined);
  assertEquals((await h.session.login.status()).hasRefreshToken, false);
});

Deno.test("DeviceLogin.startLogin() reports a failing login service without crashing", async () => {
  await using h = await harness();
  h.emu.failNext(503);
  const err = await assertRejects(() => h.session.login.startLogin(), UpstreamError);
  assertStringIncludes(err.message, "DBOS login service");
  assertStringIncludes(err.message, "503");
  assertStringIncludes(err.message, "an HTML page");
  assertEquals(err.retryable, true);
});

Deno.test("DeviceLogin.completeLogin() keeps the pending login when the login service fails", async () => {
  await using h = await harness({ script: { pendingPolls: 1 } });
  await h.session.login.startLogin();
  h.emu.failNext(502);
  const err = await assertRejects(() => h.session.login.completeLogin(), UpstreamError);
  assertStringIncludes(err.message, "502");
  assert((await h.store.readPendingLogin()) !== null);
  assertNoSecrets(h.emu, err);
  assertEquals((await h.session.login.completeLogin()).status, "complete");
});

Deno.test("DeviceLoginTokens.getAccess() throws NotLoggedInError when nobody logged in", async () => {
  await using h = await harness();
  const err = await assertRejects(() => h.session.tokens.getAccess(), NotLoggedInError);
  assertStringIncludes(err.hint ?? "", "`login`");
});

Deno.test("DeviceLoginTokens.getAccess() refreshes a token that expires within 30 s", async () => {
  await using h = await harness();
  await login(h);
  const before = await savedCredentials(h);
  h.clock.advance(3600_000 - 29_000);
  const grant = await h.session.tokens.getAccess();
  assertNotEquals(grant.token, before.token);
  assert(h.emu.isValidAccessToken(grant.token));
  assertEquals(grant.organization, "acme");
  const after = await savedCredentials(h);
  assertEquals(after.token, grant.token);
  assertEquals(after.refreshToken, before.refreshToken);
  assertEquals(after.userName, "alice");
  assertEquals(after.expiresAt, h.clock.now() + 3600_000);
  const refresh = h.emu.requests.find((r) => r.form?.grant_type === "refresh_token");
  assertEquals(refresh?.form, {
    grant_type: "refresh_token",
    client_id: DEFAULT_CLIENT_ID,
    refresh_token: before.refreshToken!,
  });
  // A token with more than 30 s left is used as it is.
  assertEquals((await h.session.tokens.getAccess()).token, grant.token);
  assertEquals(h.emu.countRequests("/oauth/token", "refresh_token"), 1);
});

Deno.test("DeviceLoginTokens.getAccess() saves a rotated refresh token", async () => {
  await using h = await harness({ rotateRefreshTokens: true });
  await login(h);
  const before = await savedCredentials(h);
  h.clock.advance(3600_000);
  await h.session.tokens.getAccess();
  const after = await savedCredentials(h);
  assertNotEquals(after.refreshToken, before.refreshToken);
  assertEquals(after.refreshToken, h.emu.issuedTokens().refreshTokens[1]);
});

Deno.test("DeviceLoginTokens.getAccess() shares one refresh between concurrent callers", async () => {
  await using h = await harness();
  await login(h);
  h.clock.advance(3600_000);
  const grants = await Promise.all(Array.from({ length: 5 }, () => h.session.tokens.getAccess()));
  assertEquals(new Set(grants.map((g) => g.token)).size, 1);
  assertEquals(h.emu.countRequests("/oauth/token", "refresh_token"), 1);
});

Deno.test("DeviceLoginTokens.getAccess() throws NotLoggedInError when the token expired and cannot be refreshed", async () => {
  await using h = await harness({ issueRefreshTokens: false });
  await login(h);
  h.clock.advance(3600_000 - 10_000);
  const nearlyExpired = await h.session.tokens.getAccess();
  assert(h.emu.isValidAccessToken(nearlyExpired.token), "a token with 10 s left is still handed out");
  h.clock.advance(10_000);
  const err = await assertRejects(() => h.session.tokens.getAccess(), NotLoggedInError);
  assertStringIncludes(err.message, "expired");
  assertNoSecrets(h.emu, err);
});

Deno.test("DeviceLoginTokens.getAccess() throws NotLoggedInError when the refresh token was revoked", async () => {
  await using h = await harness();
  await login(h);
  const creds = await savedCredentials(h);
  await revokeRefreshToken(creds.refreshToken!, { loginUrl: h.emu.loginUrl, timeoutMs: 5_000 });
  h.clock.advance(3600_000);
  const err = await assertRejects(() => h.session.tokens.getAccess(), NotLoggedInError);
  assertStringIncludes(err.message, "could not be renewed");
  assertStringIncludes(err.hint ?? "", "`login`");
  assertNoSecrets(h.emu, err);
});

Deno.test("DeviceLoginTokens.getAccess() uses credentials written by the Python server", async () => {
  await using h = await harness();
  await login(h);
  const creds = await savedCredentials(h);
  await Deno.writeTextFile(
    h.store.credentialsPath,
    JSON.stringify({ token: creds.token, userName: "alice", organization: "acme" }, null, 2),
  );
  assertEquals(await h.newSession().tokens.getAccess(), {
    token: creds.token,
    organization: "acme",
    userName: "alice",
  });
});

Deno.test("DeviceLoginTokens.getAccess() fills in a missing organization from the Conductor profile", async () => {
  await using h = await harness();
  await login(h);
  const creds = await savedCredentials(h);
  await Deno.writeTextFile(h.store.credentialsPath, JSON.stringify({ token: creds.token }));
  const grant = await h.newSession().tokens.getAccess();
  assertEquals(grant, { token: creds.token, organization: "acme", userName: "alice" });
  assertEquals((await savedCredentials(h)).organization, "acme");
});

Deno.test("DeviceLoginTokens.getAccess() sees a login saved by another process", async () => {
  await using h = await harness();
  const reader = h.newSession();
  await assertRejects(() => reader.tokens.getAccess(), NotLoggedInError);
  await login(h);
  assertEquals((await reader.tokens.getAccess()).token, (await savedCredentials(h)).token);
});

Deno.test("DeviceLoginTokens.refreshAfterRejection() refreshes once and returns the new token", async () => {
  await using h = await harness();
  await login(h);
  const rejected = await h.session.tokens.getAccess();
  h.emu.expireAccessTokensNow();
  assert(!h.emu.isValidAccessToken(rejected.token));
  const renewed = await h.session.tokens.refreshAfterRejection(rejected.token);
  assert(renewed !== null);
  assertNotEquals(renewed.token, rejected.token);
  assert(h.emu.isValidAccessToken(renewed.token));
  assertEquals(renewed.organization, "acme");
  assertEquals((await savedCredentials(h)).token, renewed.token);
  // A second caller rejected with the same old token gets the new one without another refresh.
  const again = await h.newSession().tokens.refreshAfterRejection(rejected.token);
  assertEquals(again?.token, renewed.token);
  assertEquals(h.emu.countRequests("/oauth/token", "refresh_token"), 1);
});

Deno.test("DeviceLoginTokens.refreshAfterRejection() shares one refresh between concurrent callers", async () => {
  await using h = await harness();
  await login(h);
  const rejected = await h.session.tokens.getAccess();
  h.emu.expireAccessTokensNow();
  const grants = await Promise.all([1, 2, 3].map(() => h.session.tokens.refreshAfterRejection(rejected.token)));
  assertEquals(new Set(grants.map((g) => g?.token)).size, 1);
  assertEquals(h.emu.countRequests("/oauth/token", "refresh_token"), 1);
});

Deno.test("DeviceLoginTokens.refreshAfterRejection() returns null when there is no way to refresh", async () => {
  await using h = await harness({ issueRefreshTokens: false });
  assertEquals(await h.session.tokens.refreshAfterRejection("not-a-token-at-all"), null);
  await login(h);
  const rejected = await h.session.tokens.getAccess();
  h.emu.expireAccessTokensNow();
  assertEquals(await h.session.tokens.refreshAfterRejection(rejected.token), null);
});

Deno.test("DeviceLoginTokens.refreshAfterRejection() returns null when the refresh token was revoked", async () => {
  await using h = await harness();
  await login(h);
  const creds = await savedCredentials(h);
  await revokeRefreshToken(creds.refreshToken!, { loginUrl: h.emu.loginUrl, timeoutMs: 5_000 });
  h.emu.expireAccessTokensNow();
  assertEquals(await h.session.tokens.refreshAfterRejection(creds.token), null);
});

Deno.test("DeviceLoginTokens.getAccess() logs in with DBOS_MCP_REFRESH_TOKEN when no login is saved", async () => {
  await using h = await harness();
  await login(h);
  const { refreshToken } = await savedCredentials(h);
  await h.store.delete();
  const session = h.newSession({ envRefreshToken: refreshToken });
  const status = await session.login.status();
  assertEquals(status.loggedIn, false);
  assertEquals(status.envRefreshToken, true);
  const grant = await session.tokens.getAccess();
  assert(h.emu.isValidAccessToken(grant.token));
  assertEquals(grant.organization, "acme");
  const saved = await savedCredentials(h);
  assertEquals(saved.token, grant.token);
  assertEquals(saved.refreshToken, refreshToken);
  assertEquals(saved.userName, "alice");
  assertEquals(h.warnings, []);
  assertNoSecrets(h.emu, status, await session.login.status());
});

Deno.test("DeviceLoginTokens.getAccess() keeps an environment login in memory when the folder cannot be written", async () => {
  await using h = await harness();
  await login(h);
  const { refreshToken } = await savedCredentials(h);
  await h.store.delete();
  class ReadOnlyStore extends CredentialStore {
    override write(): Promise<void> {
      return Promise.reject(new MissingPermissionError(`writing ${this.credentialsPath}`, `--allow-write=${h.home}`));
    }
  }
  const session = h.newSession({ envRefreshToken: refreshToken, store: new ReadOnlyStore(h.home) });
  const first = await session.tokens.getAccess();
  const second = await session.tokens.getAccess();
  assertEquals(second.token, first.token);
  assertEquals(await h.store.read(), null);
  assertEquals(h.emu.countRequests("/oauth/token", "refresh_token"), 1);
  assertEquals(h.warnings.length, 1);
  assertStringIncludes(h.warnings[0], "in memory");
  assertEquals((await session.login.status()).loggedIn, true);
  assertNoSecrets(h.emu, h.warnings);
});

Deno.test("DeviceLoginTokens.getAccess() says DBOS_MCP_REFRESH_TOKEN was refused when the login service rejects it", async () => {
  await using h = await harness();
  const session = h.newSession({ envRefreshToken: "v1.not-a-refresh-token-the-service-knows" });
  const err = await assertRejects(() => session.tokens.getAccess(), NotLoggedInError);
  assertStringIncludes(err.message, "DBOS_MCP_REFRESH_TOKEN");
  assert(!err.message.includes("v1.not-a-refresh-token-the-service-knows"));
});

Deno.test("DeviceLogin.logout() revokes the refresh token and removes the credentials", async () => {
  await using h = await harness();
  await login(h);
  const creds = await savedCredentials(h);
  const out = await h.session.login.logout();
  assertEquals(out.revoked, true);
  assertEquals(out.removed, true);
  assertStringIncludes(out.message, "revoked");
  assertEquals(h.emu.revokedTokens(), [creds.refreshToken!]);
  const revoke = h.emu.requests.find((r) => r.path.endsWith("/oauth/revoke"));
  assertStringIncludes(revoke?.contentType ?? "", "application/json");
  assertEquals(revoke?.json, { client_id: DEFAULT_CLIENT_ID, token: creds.refreshToken });
  assertEquals(await h.store.read(), null);
  await assertRejects(() => h.session.tokens.getAccess(), NotLoggedInError);
  assertEquals(await h.session.login.logout(), {
    revoked: false,
    removed: false,
    message: "There was no saved login.",
  });
  assertNoSecrets(h.emu, out);
});

Deno.test("DeviceLogin.logout() reports a failed revocation and still removes the credentials", async () => {
  await using h = await harness();
  await login(h);
  h.emu.failNext(500);
  const out = await h.session.login.logout();
  assertEquals(out.revoked, false);
  assertEquals(out.removed, true);
  assertStringIncludes(out.message, "could not be revoked");
  assertEquals(await h.store.read(), null);
  assertNoSecrets(h.emu, out);
});

Deno.test("DeviceLogin.status() describes the login without tokens", async () => {
  await using h = await harness();
  const none = await h.session.login.status();
  assertEquals(none.loggedIn, false);
  assertStringIncludes(none.message, "call `login`");
  const started = await h.session.login.startLogin();
  const pending = await h.session.login.status();
  assertEquals(pending.pendingLogin?.user_code, started.user_code);
  assertEquals(pending.pendingLogin?.expired, false);
  await h.session.login.completeLogin();
  const done = await h.session.login.status();
  assertEquals(done.loggedIn, true);
  assertEquals(done.userName, "alice");
  assertEquals(done.organization, "acme");
  assertEquals(done.hasRefreshToken, true);
  assertEquals(done.expiresAt, h.clock.now() + 3600_000);
  assertEquals(done.pendingLogin, undefined);
  h.clock.advance(7200_000);
  const expired = await h.session.login.status();
  assertEquals(expired.expired, true);
  assertEquals(expired.loggedIn, true, "an expired token with a refresh token is still a usable login");
  assertNoSecrets(h.emu, none, pending, done, expired);
});

Deno.test("DeviceLogin.status() reports a corrupt credentials file instead of throwing", async () => {
  await using h = await harness();
  await Deno.mkdir(h.home, { recursive: true });
  await Deno.writeTextFile(h.store.credentialsPath, "{corrupt");
  const status = await h.session.login.status();
  assertEquals(status.loggedIn, false);
  assertStringIncludes(status.problem ?? "", "corrupt");
});

Deno.test("The device login never puts a token in a result, an error or a warning", async () => {
  await using h = await harness({ script: { pendingPolls: 1, slowDown: 1 } }, { loginWaitMs: 1_000 });
  const seen: unknown[] = [];
  seen.push(await h.session.login.startLogin());
  seen.push(await h.session.login.completeLogin());
  h.clock.advance(6_000);
  seen.push(await h.session.login.completeLogin());
  seen.push(await h.session.login.status());
  h.clock.advance(6_000);
  seen.push(await h.session.login.completeLogin());
  h.clock.advance(3600_000);
  const grant = await h.session.tokens.getAccess();
  h.emu.expireAccessTokensNow();
  await h.session.tokens.refreshAfterRejection(grant.token);
  const creds = await savedCredentials(h);
  await revokeRefreshToken(creds.refreshToken!, { loginUrl: h.emu.loginUrl, timeoutMs: 5_000 });
  h.clock.advance(3600_000);
  seen.push(await caught(() => h.session.tokens.getAccess()));
  seen.push(await h.session.login.logout());
  seen.push(await caught(() => h.session.tokens.getAccess()));
  seen.push(await caught(() => h.session.login.completeLogin()));
  seen.push(await caught(() => h.newSession({ envRefreshToken: creds.refreshToken }).tokens.getAccess()));
  h.emu.failNext(500);
  seen.push(await caught(() => h.session.login.startLogin()));
  assertEquals(seen.length, 11);
  assertEquals((seen[4] as { status: string }).status, "complete");
  assert(h.emu.allSecrets().length >= 4);
  assertNoSecrets(h.emu, ...seen, h.warnings);
});

Deno.test("jwtExpiry() reads the exp claim and ignores tokens that are not JWTs", () => {
  const payload = btoa(JSON.stringify({ exp: 1_767_229_200 })).replace(/=+$/, "");
  assertEquals(jwtExpiry(`eyJhbGciOiJSUzI1NiJ9.${payload}.sig`), 1_767_229_200_000);
  assertEquals(jwtExpiry("opaque-token"), undefined);
  assertEquals(jwtExpiry("a.b.c"), undefined);
  assertEquals(jwtExpiry(`x.${btoa(JSON.stringify({ sub: "u" }))}.y`), undefined);
});

Deno.test("login emulator rejects JSON bodies and unknown clients on its form endpoints", async () => {
  await using h = await harness();
  const post = async (path: string, body: string, type: string) => {
    const res = await fetch(`${h.emu.loginUrl}${path}`, { method: "POST", body, headers: { "content-type": type } });
    return { status: res.status, body: await res.json() };
  };
  const json = JSON.stringify({ client_id: DEFAULT_CLIENT_ID, audience: "dbos-cloud-api" });
  assertEquals((await post("/oauth/device/code", json, "application/json")).status, 400);
  assertEquals((await post("/oauth/token", json, "application/json")).status, 400);
  const wrongClient = await post(
    "/oauth/device/code",
    "client_id=other&audience=dbos-cloud-api",
    "application/x-www-form-urlencoded",
  );
  assertEquals(wrongClient.status, 401);
  const form = `client_id=${DEFAULT_CLIENT_ID}&audience=dbos-cloud-api`;
  assertEquals((await post("/oauth/revoke", form, "application/x-www-form-urlencoded")).status, 400);
  const profile = await fetch(`${h.emu.conductorUrl}/v2/users/me`, { headers: { authorization: "Bearer nope" } });
  await profile.body?.cancel();
  assertEquals(profile.status, 401);
});
