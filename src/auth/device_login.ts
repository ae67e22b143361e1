/**
 * The device login of this server: starting and completing it in two tool
 * calls (so no call ever blocks on the user), describing it, and logging
 * out. {@linkcode openDeviceLogin} pairs it with its token source
 * ({@linkcode DeviceLoginTokens}), which hands the saved login's tokens to
 * the Conductor backend.
 *
 * Nothing returned by {@linkcode DeviceLogin} carries a token, a refresh
 * token or a device code; neither does any error or warning it produces.
 *
 * @module
 */
import type { CallOptions } from "../backends/backend.ts";
import { DbosMcpError, NotLoggedInError } from "../core/errors.ts";
import type { Credentials, PendingLogin } from "./credentials.ts";
import {
  LoginExpiredError,
  pollDeviceToken,
  revokeRefreshToken,
  startDeviceLogin,
  type TokenSet,
} from "./device_flow.ts";
import type {
  LoginComplete,
  LoginOutcome,
  LoginService,
  LoginStarted,
  LoginStatus,
  LogoutOutcome,
} from "../core/login_service.ts";
import { DeviceLoginTokens } from "./device_login_tokens.ts";
import { type DeviceLoginOptions, DeviceLoginState, expiryOf, untilAborted } from "./_device_login_state.ts";

export type { DeviceLoginOptions } from "./_device_login_state.ts";

/** There is no login in progress to complete. */
export class NoPendingLoginError extends DbosMcpError {
  /** Creates the error. */
  constructor(message: string) {
    super(message, {
      code: "NOT_LOGGED_IN",
      hint: "Call `login` first, have the user open the link it returns, then call `login_complete`.",
    });
    this.name = "NoPendingLoginError";
  }
}

/** A device login and the token source of the login it saves. */
export interface OpenedDeviceLogin {
  /** What the login tools drive. */
  login: DeviceLogin;
  /** What the Conductor backend takes its tokens from. */
  tokens: DeviceLoginTokens;
}

/**
 * Opens the device login on a credentials folder: nothing is read or sent
 * until a method is called.
 *
 * @example Logging in from two tool calls
 * ```ts ignore
 * import { openDeviceLogin } from "./device_login.ts";
 * import { SecretSet } from "../core/secrets.ts";
 * const { login, tokens } = openDeviceLogin({
 *   home: "/home/me/.dbos-mcp",
 *   loginUrl: "https://login.dbos.dev",
 *   conductorUrl: "https://cloud.dbos.dev/conductor",
 *   timeoutMs: 10_000,
 *   secrets: new SecretSet(),
 * });
 * const started = await login.startLogin(); // give started.verification_uri_complete to the user
 * const outcome = await login.completeLogin(); // { status: "pending" | "complete", ... }
 * const { token, organization } = await tokens.getAccess();
 * ```
 */
export function openDeviceLogin(options: DeviceLoginOptions): OpenedDeviceLogin {
  const state = new DeviceLoginState(options);
  return { login: new DeviceLogin(state), tokens: new DeviceLoginTokens(state) };
}

/** One run of the polling loop, and the callers waiting for it. */
interface Completion {
  promise: Promise<LoginOutcome>;
  /** Aborts the polling once every waiting caller has gone. */
  controller: AbortController;
  waiting: number;
}

/** The device login, backed by a credentials store. Made by {@linkcode openDeviceLogin}. */
export class DeviceLogin implements LoginService {
  readonly #state: DeviceLoginState;
  #completing: Completion | null = null;

  /** Creates the login on the state it shares with its token source. */
  constructor(state: DeviceLoginState) {
    this.#state = state;
  }

  /**
   * Starts a device login and saves it as the pending login; returns at once
   * with the link the user must open. Replaces any earlier pending login.
   */
  async startLogin(opts: CallOptions = {}): Promise<LoginStarted> {
    const state = this.#state;
    const store = state.store; // no folder to keep the login in: say so before asking for a code
    const auth = await startDeviceLogin({ ...state.loginOptions(opts.signal) });
    state.secrets.add(auth.device_code);
    const now = state.clock.now();
    const expiresAtMs = now + auth.expires_in * 1000;
    await store.writePendingLogin({
      device_code: auth.device_code,
      interval: auth.interval,
      expires_at: expiresAtMs / 1000,
      user_code: auth.user_code,
      verification_uri: auth.verification_uri,
      verification_uri_complete: auth.verification_uri_complete,
    });
    const minutes = Math.max(1, Math.round(auth.expires_in / 60));
    return {
      verification_uri: auth.verification_uri,
      verification_uri_complete: auth.verification_uri_complete,
      user_code: auth.user_code,
      expires_at: new Date(expiresAtMs).toISOString(),
      expires_in_seconds: auth.expires_in,
      interval: auth.interval,
      message: `Ask the user to open ${auth.verification_uri_complete} within ${minutes} minutes, check that the ` +
        `code shown is ${auth.user_code}, and approve; then call \`login_complete\`.`,
    };
  }

  /**
   * Polls the login service for the pending login, for at most `loginWaitMs`
   * (honouring its interval and `slow_down`). Saves the login when the user
   * approved; otherwise answers `pending` and keeps the pending login.
   * Concurrent callers share one polling loop, which stops (keeping the
   * pending login) once every one of them has aborted.
   *
   * @throws {NoPendingLoginError} when `login` was not called first.
   * @throws {LoginExpiredError} when the link expired (the pending login is removed).
   * @throws {LoginDeniedError} when the user refused (the pending login is removed).
   */
  completeLogin(opts: CallOptions = {}): Promise<LoginOutcome> {
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    let run = this.#completing;
    if (!run || run.controller.signal.aborted) {
      // A loop whose callers all left is still saving its state: start after it.
      const previous = run ? run.promise.then(() => {}, () => {}) : Promise.resolve();
      const controller = new AbortController();
      const promise: Promise<LoginOutcome> = previous.then(() => this.#completeLogin(controller.signal)).finally(() => {
        if (this.#completing?.promise === promise) this.#completing = null;
      });
      this.#completing = run = { promise, controller, waiting: 0 };
    }
    const joined = run;
    joined.waiting++;
    const signal = opts.signal;
    const leave = () => {
      if (--joined.waiting === 0) joined.controller.abort(signal?.reason);
    };
    signal?.addEventListener("abort", leave, { once: true });
    const done = () => signal?.removeEventListener("abort", leave);
    joined.promise.then(done, done);
    return untilAborted(joined.promise, signal);
  }

  /**
   * Revokes the refresh token (a failure is reported, not fatal) and removes
   * the saved login and any pending login.
   */
  async logout(opts: CallOptions = {}): Promise<LogoutOutcome> {
    const state = this.#state;
    let creds: Credentials | null = null;
    try {
      creds = await state.load();
    } catch (err) {
      if (!(err instanceof NotLoggedInError)) throw err;
    }
    let revoked = false;
    let revokeNote = "";
    if (creds?.refreshToken) {
      try {
        await revokeRefreshToken(creds.refreshToken, state.loginOptions(opts.signal));
        revoked = true;
      } catch (err) {
        revokeNote = ` The refresh token could not be revoked at the login service (${
          state.safeMessage(err)
        }); it stays valid until it expires.`;
      }
    }
    const removedFile = await state.store.delete();
    const removed = state.forgetMemory() || removedFile;
    state.loggedOut = true;
    let message = removed ? "Logged out: the saved DBOS Cloud login was removed." : "There was no saved login.";
    if (revoked) message += " The refresh token was revoked.";
    message += revokeNote;
    if (state.envRefreshToken) {
      message += revoked && creds?.refreshToken === state.envRefreshToken
        ? " DBOS_MCP_REFRESH_TOKEN held that token and no longer works: unset it."
        : " DBOS_MCP_REFRESH_TOKEN is set: this process will not use it again, but unset it to stay logged out.";
    }
    return { revoked, removed, message };
  }

  /** Describes the saved login and any pending login, without tokens. */
  async status(): Promise<LoginStatus> {
    const state = this.#state;
    const problems: string[] = [];
    let creds: Credentials | null = null;
    try {
      creds = await state.load();
    } catch (err) {
      problems.push(state.safeMessage(err));
    }
    let pending: PendingLogin | null = null;
    try {
      pending = await state.store.readPendingLogin();
    } catch (err) {
      problems.push(state.safeMessage(err));
    }
    const now = state.clock.now();
    const envRefreshToken = state.canUseEnv();
    const status: LoginStatus = { loggedIn: false, hasRefreshToken: false, envRefreshToken, message: "" };
    if (creds) {
      const expiry = expiryOf(creds);
      const expired = expiry !== undefined && expiry <= now;
      status.hasRefreshToken = creds.refreshToken !== undefined;
      status.loggedIn = !expired || status.hasRefreshToken;
      if (creds.userName) status.userName = creds.userName;
      if (creds.organization) status.organization = creds.organization;
      if (expiry !== undefined) status.expiresAt = expiry;
      status.expired = expired;
    }
    if (pending) {
      const expiresAt = pending.expires_at * 1000;
      status.pendingLogin = {
        user_code: pending.user_code,
        verification_uri: pending.verification_uri,
        verification_uri_complete: pending.verification_uri_complete,
        expires_at: new Date(expiresAt).toISOString(),
        expired: expiresAt <= now,
      };
    }
    if (problems.length > 0) status.problem = problems.join(" ");
    status.message = describeStatus(status);
    return status;
  }

  async #completeLogin(signal: AbortSignal): Promise<LoginOutcome> {
    const state = this.#state;
    const store = state.store;
    const pending = await store.readPendingLogin();
    if (pending === null) {
      let already = "";
      try {
        const creds = await state.load();
        if (creds) already = ` (The saved login is ${creds.userName || "unknown user"} of ${creds.organization}.)`;
      } catch {
        // only a courtesy
      }
      throw new NoPendingLoginError(`There is no login in progress: call \`login\` first.${already}`);
    }
    state.secrets.add(pending.device_code);
    const expiresAtMs = pending.expires_at * 1000;
    const deadline = state.clock.now() + state.loginWaitMs;
    let interval = pending.interval;
    let lastPoll = pending.last_poll_at === undefined ? undefined : pending.last_poll_at * 1000;
    const keepState = () => store.writePendingLogin({ ...pending, interval, last_poll_at: lastPoll! / 1000 });
    let tokens: TokenSet;
    try {
      while (true) {
        signal.throwIfAborted();
        const now = state.clock.now();
        if (now >= expiresAtMs) throw new LoginExpiredError("The login link expired before the user approved it.");
        const wait = lastPoll === undefined ? 0 : Math.max(0, lastPoll + interval * 1000 - now);
        if (now + wait > deadline) {
          if (lastPoll !== undefined) await keepState();
          return {
            status: "pending",
            message: "The user has not finished logging in yet: still pending, call login_complete again " +
              "once the user has approved in the browser.",
            verification_uri_complete: pending.verification_uri_complete,
            verification_uri: pending.verification_uri,
            user_code: pending.user_code,
            expires_at: new Date(expiresAtMs).toISOString(),
            interval,
          };
        }
        if (wait > 0) await state.clock.sleep(wait, signal);
        lastPoll = state.clock.now();
        const result = await pollDeviceToken(pending.device_code, state.loginOptions(signal));
        if (result.status === "complete") {
          tokens = result.tokens;
          break;
        }
        if (result.status === "slow_down") interval += 5;
      }
    } catch (err) {
      if (err instanceof LoginExpiredError || (err instanceof DbosMcpError && err.code === "LOGIN_DENIED")) {
        await store.deletePendingLogin();
      } else if (lastPoll !== undefined) {
        await keepState().catch(() => {});
      }
      throw err;
    }
    state.secrets.add(tokens.accessToken);
    state.secrets.add(tokens.refreshToken);
    let creds: Credentials;
    try {
      creds = await state.credentialsFrom(tokens, signal);
    } catch (err) {
      // The device code is used up: only a new login can help.
      await store.deletePendingLogin().catch(() => {});
      throw err;
    }
    await state.save(creds);
    state.loggedOut = false;
    try {
      await store.deletePendingLogin();
    } catch (err) {
      state.warn(`The login is complete but the pending login could not be removed: ${state.safeMessage(err)}`);
    }
    const complete: LoginComplete = {
      status: "complete",
      userName: creds.userName,
      organization: state.org ?? creds.organization,
      message: `Logged in to DBOS Cloud as ${creds.userName} (organization ${creds.organization}).`,
    };
    if (state.org && state.org !== creds.organization) {
      complete.message += ` This server uses the organization ${state.org} (--org) instead.`;
    }
    return complete;
  }
}

function describeStatus(s: LoginStatus): string {
  const parts: string[] = [];
  if (s.loggedIn) {
    parts.push(
      `Logged in to DBOS Cloud as ${s.userName ?? "an unknown user"} (organization ${s.organization ?? "?"}).`,
    );
    if (s.expired) parts.push("The access token has expired and will be renewed on the next call.");
    else if (s.expiresAt) {
      parts.push(
        `The access token expires at ${new Date(s.expiresAt).toISOString()}${
          s.hasRefreshToken ? " and is renewed automatically" : ""
        }.`,
      );
    }
  } else if (s.expired) {
    parts.push("The saved DBOS Cloud login has expired and cannot be renewed: call `login`.");
  } else if (s.envRefreshToken) {
    parts.push("Not logged in yet; DBOS_MCP_REFRESH_TOKEN is set and will be used on the next call.");
  } else {
    parts.push("Not logged in to DBOS Cloud: call `login`.");
  }
  if (s.pendingLogin) {
    parts.push(
      s.pendingLogin.expired
        ? "A started login has expired: call `login` again."
        : `A login is in progress: once the user has approved it${
          s.pendingLogin.verification_uri_complete ? ` at ${s.pendingLogin.verification_uri_complete}` : ""
        }, call \`login_complete\`.`,
    );
  }
  if (s.problem) parts.push(s.problem);
  return parts.join(" ");
}
