/**
 * The login of this server: starting and completing a device login in two
 * tool calls (so no call ever blocks on the user), handing out fresh access
 * tokens to the Conductor backend, refreshing them, and logging out.
 *
 * Nothing returned by {@linkcode AuthSession}, other than
 * {@linkcode AuthSession.getAccess}'s grant, carries a token, a refresh
 * token or a device code; neither does any error or warning it produces.
 *
 * @module
 */
import type { CallOptions } from "../backends/backend.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { DbosMcpError, errorMessage, MissingPermissionError, NotLoggedInError } from "../core/errors.ts";
import type { FetchLike } from "../util/http_client.ts";
import type { SecretSet } from "../core/secrets.ts";
import type { AccessGrant, TokenSource } from "../backends/conductor/token_port.ts";
import { type Credentials, CredentialsFileError, CredentialStore, type PendingLogin } from "./credentials.ts";
import {
  DEFAULT_CLIENT_ID,
  fetchUserProfile,
  LoginExpiredError,
  pollDeviceToken,
  refreshAccessToken,
  revokeRefreshToken,
  startDeviceLogin,
  type TokenSet,
} from "./device_flow.ts";
import type {
  LoginOutcome as BaseLoginOutcome,
  LoginService,
  LoginStarted as BaseLoginStarted,
  LoginStatus as BaseLoginStatus,
  LogoutOutcome,
} from "./login_service.ts";
import { jwtExpiry } from "./_jwt.ts";

/** Refresh a token this long before it expires. */
const REFRESH_MARGIN_MS = 30_000;

/** Options of {@linkcode AuthSession}. */
export interface AuthSessionOptions {
  /**
   * The credentials folder, already resolved (e.g. `/home/me/.dbos-mcp`), or
   * `undefined` when it is unknown (HOME could not be read): the session is
   * created all the same, and each operation that needs the folder fails
   * with a {@linkcode MissingPermissionError} naming `--allow-env=HOME` and
   * `--home`.
   */
  home: string | undefined;
  /** Base URL of the login service, e.g. `https://login.dbos.dev`. */
  loginUrl: string;
  /** Base URL of the DBOS Cloud API, e.g. `https://cloud.dbos.dev`. */
  cloudUrl: string;
  /** Limit for each HTTP exchange, in milliseconds. */
  timeoutMs: number;
  /** Records every token this session sees, so output can be scrubbed of them. */
  secrets: SecretSet;
  /** OAuth client id. @default {DEFAULT_CLIENT_ID} */
  clientId?: string;
  /** Source of time and delays. @default {systemClock} */
  clock?: Clock;
  /** The `fetch` to use. @default {globalThis.fetch} */
  fetch?: FetchLike;
  /**
   * A refresh token (from `DBOS_MCP_REFRESH_TOKEN`) to log in with when there
   * are no saved credentials.
   */
  envRefreshToken?: string;
  /**
   * Longest time {@linkcode AuthSession.completeLogin} polls before it
   * answers `pending`, in milliseconds.
   *
   * @default {20000}
   */
  loginWaitMs?: number;
  /** Receives warnings. @default {(msg) => console.error(`dbos-mcp: warning: ${msg}`)} */
  warn?: (message: string) => void;
  /** The store to use instead of one on `home` (tests, custom storage). */
  store?: CredentialStore;
}

/** What {@linkcode AuthSession.startLogin} returns: what the user must do. */
export interface LoginStarted extends BaseLoginStarted {
  /** What to do next, for the agent. */
  message: string;
}

/** {@linkcode AuthSession.completeLogin}'s answer while the user has not finished. */
export interface LoginPending extends Extract<BaseLoginOutcome, { status: "pending" }> {
  /** What to do next, for the agent. */
  message: string;
  /** When the link stops working (ISO 8601). */
  expires_at: string;
  /** Page with the code filled in, when known. */
  verification_uri_complete?: string;
  /** Page where the user enters the code, when known. */
  verification_uri?: string;
  /** The code, when known. */
  user_code?: string;
  /** Seconds between two polls (grows when the service asks to slow down). */
  interval: number;
}

/** {@linkcode AuthSession.completeLogin}'s answer once the login is saved. */
export interface LoginComplete extends Extract<BaseLoginOutcome, { status: "complete" }> {
  /** What happened, for the agent. */
  message: string;
}

/** What {@linkcode AuthSession.completeLogin} returns. */
export type LoginOutcome = LoginPending | LoginComplete;

/** What {@linkcode AuthSession.status} returns. No tokens. */
export interface LoginStatus extends BaseLoginStatus {
  /** Whether the access token has expired (absent when there is no saved login). */
  expired?: boolean;
  /** Whether `DBOS_MCP_REFRESH_TOKEN` is set and will be used when no login is saved. */
  envRefreshToken: boolean;
  /** A login that was started and not completed. */
  pendingLogin?: {
    /** The code the user should see. */
    user_code?: string;
    /** Page where the user enters the code. */
    verification_uri?: string;
    /** Page with the code filled in. */
    verification_uri_complete?: string;
    /** When the link stops working (ISO 8601). */
    expires_at: string;
    /** Whether the link has already stopped working. */
    expired: boolean;
  };
  /** Why the saved login or the pending login could not be read, if so. */
  problem?: string;
  /** One-sentence summary, for the agent. */
  message: string;
}

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

/**
 * The login of this server, backed by a {@linkcode CredentialStore}. It is the
 * {@linkcode TokenSource} of the Conductor backend.
 *
 * @example Logging in from two tool calls
 * ```ts ignore
 * import { AuthSession } from "./session.ts";
 * import { SecretSet } from "../core/secrets.ts";
 * const session = new AuthSession({
 *   home: "/home/me/.dbos-mcp",
 *   loginUrl: "https://login.dbos.dev",
 *   cloudUrl: "https://cloud.dbos.dev",
 *   timeoutMs: 10_000,
 *   secrets: new SecretSet(),
 * });
 * const started = await session.startLogin(); // give started.verification_uri_complete to the user
 * const outcome = await session.completeLogin(); // { status: "pending" | "complete", ... }
 * const { token, organization } = await session.getAccess();
 * ```
 */
export class AuthSession implements TokenSource, LoginService {
  readonly #knownStore: CredentialStore | undefined;
  readonly #loginUrl: string;
  readonly #cloudUrl: string;
  readonly #timeoutMs: number;
  readonly #clientId: string;
  readonly #clock: Clock;
  readonly #fetch: FetchLike | undefined;
  readonly #secrets: SecretSet;
  readonly #envRefreshToken: string | undefined;
  readonly #loginWaitMs: number;
  readonly #warn: (message: string) => void;

  /** A login kept in memory because the folder could not be written. */
  #memory: Credentials | null = null;
  #warnedMemory = false;
  /** Set by `logout()`: do not log in from the environment again in this process. */
  #loggedOut = false;
  #inflight: Promise<AccessGrant> | null = null;
  #completing: Promise<LoginOutcome> | null = null;

  /** Creates the session; nothing is read or sent until a method is called. */
  constructor(options: AuthSessionOptions) {
    this.#warn = options.warn ?? ((msg) => console.error(`dbos-mcp: warning: ${msg}`));
    this.#knownStore = options.store ??
      (options.home === undefined ? undefined : new CredentialStore(options.home, { warn: this.#warn }));
    this.#loginUrl = options.loginUrl;
    this.#cloudUrl = options.cloudUrl;
    this.#timeoutMs = options.timeoutMs;
    this.#clientId = options.clientId ?? DEFAULT_CLIENT_ID;
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch;
    this.#secrets = options.secrets;
    this.#envRefreshToken = options.envRefreshToken || undefined;
    this.#loginWaitMs = options.loginWaitMs ?? 20_000;
    this.#secrets.add(this.#envRefreshToken);
  }

  /** The credentials folder's store; without one (HOME unknown), what to grant or pass. */
  get #store(): CredentialStore {
    if (this.#knownStore) return this.#knownStore;
    throw new MissingPermissionError("reading HOME to find ~/.dbos-mcp", "--allow-env=HOME (or pass --home DIR)");
  }

  /**
   * Starts a device login and saves it as the pending login; returns at once
   * with the link the user must open. Replaces any earlier pending login.
   */
  async startLogin(opts: CallOptions = {}): Promise<LoginStarted> {
    const store = this.#store; // no folder to keep the login in: say so before asking for a code
    const auth = await startDeviceLogin({ ...this.#loginOptions(opts.signal) });
    this.#secrets.add(auth.device_code);
    const now = this.#clock.now();
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
   *
   * @throws {NoPendingLoginError} when `login` was not called first.
   * @throws {LoginExpiredError} when the link expired (the pending login is removed).
   * @throws {LoginDeniedError} when the user refused (the pending login is removed).
   */
  completeLogin(opts: CallOptions = {}): Promise<LoginOutcome> {
    if (!this.#completing) {
      const run = async () => {
        try {
          return await this.#completeLogin(opts.signal);
        } finally {
          this.#completing = null;
        }
      };
      this.#completing = run();
    }
    return this.#completing;
  }

  /**
   * Revokes the refresh token (a failure is reported, not fatal) and removes
   * the saved login and any pending login.
   */
  async logout(opts: CallOptions = {}): Promise<LogoutOutcome> {
    let creds: Credentials | null = null;
    try {
      creds = await this.#load();
    } catch (err) {
      if (!(err instanceof NotLoggedInError)) throw err;
    }
    let revoked = false;
    let revokeNote = "";
    if (creds?.refreshToken) {
      try {
        await revokeRefreshToken(creds.refreshToken, this.#loginOptions(opts.signal));
        revoked = true;
      } catch (err) {
        revokeNote = ` The refresh token could not be revoked at the login service (${
          this.#safeMessage(err)
        }); it stays valid until it expires.`;
      }
    }
    const removedFile = await this.#store.delete();
    const removed = removedFile || this.#memory !== null;
    this.#memory = null;
    this.#loggedOut = true;
    let message = removed ? "Logged out: the saved DBOS Cloud login was removed." : "There was no saved login.";
    if (revoked) message += " The refresh token was revoked.";
    message += revokeNote;
    if (this.#envRefreshToken) {
      message += revoked && creds?.refreshToken === this.#envRefreshToken
        ? " DBOS_MCP_REFRESH_TOKEN held that token and no longer works: unset it."
        : " DBOS_MCP_REFRESH_TOKEN is set: this process will not use it again, but unset it to stay logged out.";
    }
    return { revoked, removed, message };
  }

  /**
   * Returns a grant whose token does not expire within 30 s, refreshing it
   * first when needed; logs in with `envRefreshToken` when no login is saved.
   * Concurrent callers share one refresh.
   *
   * @throws {NotLoggedInError} when there is no usable login.
   */
  async getAccess(opts: CallOptions = {}): Promise<AccessGrant> {
    let creds: Credentials | null;
    try {
      creds = await this.#load();
    } catch (err) {
      if (!this.#canUseEnv() || !(err instanceof NotLoggedInError || isPermissionProblem(err))) throw err;
      this.#warn(`${this.#safeMessage(err)} Using DBOS_MCP_REFRESH_TOKEN instead.`);
      creds = null;
    }
    if (creds === null) {
      if (this.#canUseEnv()) return await this.#shared(() => this.#loginFromEnv(), opts.signal);
      throw new NotLoggedInError("You are not logged in to DBOS Cloud.");
    }
    if (!this.#expiresSoon(creds) && creds.organization) return grantOf(creds);
    const stale = creds;
    return await this.#shared(() => this.#refresh(stale.token), opts.signal);
  }

  /**
   * Called after a service rejected `rejectedToken`: returns the saved grant
   * when its token already differs (another call or process refreshed it),
   * refreshes once when a refresh token is available, or returns `null`.
   */
  async refreshAfterRejection(rejectedToken: string, opts: CallOptions = {}): Promise<AccessGrant | null> {
    let creds: Credentials | null;
    try {
      creds = await this.#load();
    } catch (err) {
      if (err instanceof NotLoggedInError) return null;
      throw err;
    }
    if (creds === null) {
      if (!this.#canUseEnv()) return null;
      return await this.#orNull(this.#shared(() => this.#loginFromEnv(), opts.signal));
    }
    if (creds.token !== rejectedToken) return await this.#orNull(this.getAccess(opts));
    if (!creds.refreshToken) return null;
    let grant = await this.#orNull(this.#shared(() => this.#refresh(rejectedToken, true), opts.signal));
    if (grant?.token === rejectedToken) {
      // We joined an operation that did not refresh (e.g. one filling in the profile): refresh now.
      grant = await this.#orNull(this.#shared(() => this.#refresh(rejectedToken, true), opts.signal));
    }
    return grant?.token === rejectedToken ? null : grant;
  }

  /** Describes the saved login and any pending login, without tokens. */
  async status(): Promise<LoginStatus> {
    const problems: string[] = [];
    let creds: Credentials | null = null;
    try {
      creds = await this.#load();
    } catch (err) {
      problems.push(this.#safeMessage(err));
    }
    let pending: PendingLogin | null = null;
    try {
      pending = await this.#store.readPendingLogin();
    } catch (err) {
      problems.push(this.#safeMessage(err));
    }
    const now = this.#clock.now();
    const envRefreshToken = this.#canUseEnv();
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

  async #completeLogin(signal: AbortSignal | undefined): Promise<LoginOutcome> {
    const pending = await this.#store.readPendingLogin();
    if (pending === null) {
      let already = "";
      try {
        const creds = await this.#load();
        if (creds) already = ` (The saved login is ${creds.userName || "unknown user"} of ${creds.organization}.)`;
      } catch {
        // only a courtesy
      }
      throw new NoPendingLoginError(`There is no login in progress: call \`login\` first.${already}`);
    }
    this.#secrets.add(pending.device_code);
    const expiresAtMs = pending.expires_at * 1000;
    const deadline = this.#clock.now() + this.#loginWaitMs;
    let interval = pending.interval;
    let lastPoll = pending.last_poll_at === undefined ? undefined : pending.last_poll_at * 1000;
    const keepState = () => this.#store.writePendingLogin({ ...pending, interval, last_poll_at: lastPoll! / 1000 });
    let tokens: TokenSet;
    try {
      while (true) {
        const now = this.#clock.now();
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
        if (wait > 0) await this.#clock.sleep(wait, signal);
        lastPoll = this.#clock.now();
        const result = await pollDeviceToken(pending.device_code, this.#loginOptions(signal));
        if (result.status === "complete") {
          tokens = result.tokens;
          break;
        }
        if (result.status === "slow_down") interval += 5;
      }
    } catch (err) {
      if (err instanceof LoginExpiredError || (err instanceof DbosMcpError && err.code === "LOGIN_DENIED")) {
        await this.#store.deletePendingLogin();
      } else if (lastPoll !== undefined) {
        await keepState().catch(() => {});
      }
      throw err;
    }
    this.#secrets.add(tokens.accessToken);
    this.#secrets.add(tokens.refreshToken);
    let creds: Credentials;
    try {
      creds = await this.#credentialsFrom(tokens, signal);
    } catch (err) {
      // The device code is used up: only a new login can help.
      await this.#store.deletePendingLogin().catch(() => {});
      throw err;
    }
    await this.#save(creds);
    this.#loggedOut = false;
    try {
      await this.#store.deletePendingLogin();
    } catch (err) {
      this.#warn(`The login is complete but the pending login could not be removed: ${this.#safeMessage(err)}`);
    }
    return {
      status: "complete",
      userName: creds.userName,
      organization: creds.organization,
      message: `Logged in to DBOS Cloud as ${creds.userName} (organization ${creds.organization}).`,
    };
  }

  /** Builds credentials from fresh tokens, asking DBOS Cloud whom they belong to. */
  async #credentialsFrom(tokens: TokenSet, signal?: AbortSignal, refreshFallback?: string): Promise<Credentials> {
    const profile = await fetchUserProfile(tokens.accessToken, {
      cloudUrl: this.#cloudUrl,
      timeoutMs: this.#timeoutMs,
      fetch: this.#fetch,
      signal,
      secrets: this.#secrets,
    });
    const creds: Credentials = {
      token: tokens.accessToken,
      userName: profile.name,
      organization: profile.organization,
    };
    const refreshToken = tokens.refreshToken ?? refreshFallback;
    if (refreshToken) creds.refreshToken = refreshToken;
    const expiresAt = this.#expiryFromTokens(tokens);
    if (expiresAt !== undefined) creds.expiresAt = expiresAt;
    return creds;
  }

  async #loginFromEnv(): Promise<AccessGrant> {
    const envToken = this.#envRefreshToken!;
    let tokens: TokenSet;
    try {
      tokens = await refreshAccessToken(envToken, this.#loginOptions());
    } catch (err) {
      if (err instanceof NotLoggedInError) {
        throw new NotLoggedInError(
          `You are not logged in, and the login service did not accept DBOS_MCP_REFRESH_TOKEN (${err.message})`,
          {
            hint: "Replace or unset DBOS_MCP_REFRESH_TOKEN, or call `login`, have the user open the link, " +
              "then call `login_complete`.",
            cause: err,
          },
        );
      }
      throw err;
    }
    this.#secrets.add(tokens.accessToken);
    this.#secrets.add(tokens.refreshToken);
    const creds = await this.#credentialsFrom(tokens, undefined, envToken);
    await this.#save(creds);
    return grantOf(creds);
  }

  /** Refreshes the saved login unless its token already differs from `staleToken` and is fresh. */
  async #refresh(staleToken: string, afterRejection = false): Promise<AccessGrant> {
    const current = await this.#load();
    if (current === null) {
      if (this.#canUseEnv()) return await this.#loginFromEnv();
      throw new NotLoggedInError("You are not logged in to DBOS Cloud (the saved login was removed).");
    }
    const fresh = current.token !== staleToken && !this.#expiresSoon(current);
    if (fresh || (!afterRejection && !this.#expiresSoon(current))) {
      return grantOf(current.organization ? current : await this.#withProfile(current));
    }
    const expiry = expiryOf(current);
    const usable = !afterRejection && (expiry === undefined || expiry > this.#clock.now());
    if (!current.refreshToken) {
      if (usable) return grantOf(current);
      throw new NotLoggedInError(
        afterRejection
          ? "DBOS Cloud no longer accepts the saved login, and it has no refresh token."
          : `Your DBOS Cloud login expired at ${new Date(expiry!).toISOString()} and has no refresh token.`,
      );
    }
    let tokens: TokenSet;
    try {
      tokens = await refreshAccessToken(current.refreshToken, this.#loginOptions());
    } catch (err) {
      if (usable) return grantOf(current);
      if (err instanceof NotLoggedInError) {
        throw new NotLoggedInError(`Your DBOS Cloud login expired and could not be renewed: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    this.#secrets.add(tokens.accessToken);
    this.#secrets.add(tokens.refreshToken);
    let next: Credentials = { ...current, token: tokens.accessToken };
    if (tokens.refreshToken) next.refreshToken = tokens.refreshToken;
    const expiresAt = this.#expiryFromTokens(tokens);
    if (expiresAt === undefined) delete next.expiresAt;
    else next.expiresAt = expiresAt;
    if (!next.organization) next = await this.#withProfile(next, false);
    await this.#save(next);
    return grantOf(next);
  }

  /** Fills in the user's name and organization from DBOS Cloud (a hand-written credentials file may lack them). */
  async #withProfile(creds: Credentials, save = true): Promise<Credentials> {
    const profile = await fetchUserProfile(creds.token, {
      cloudUrl: this.#cloudUrl,
      timeoutMs: this.#timeoutMs,
      fetch: this.#fetch,
      secrets: this.#secrets,
    });
    const next = { ...creds, userName: profile.name, organization: profile.organization };
    if (save) await this.#save(next);
    return next;
  }

  /** Reads the saved login (from disk each time, so other processes' logins are seen), or the in-memory one. */
  async #load(): Promise<Credentials | null> {
    let creds: Credentials | null;
    try {
      creds = await this.#store.read();
    } catch (err) {
      // A login kept in memory is newer than whatever made the file unreadable.
      if (this.#memory) return this.#memory;
      throw err;
    }
    if (creds === null) return this.#memory;
    this.#secrets.add(creds.token);
    this.#secrets.add(creds.refreshToken);
    return creds;
  }

  /** Saves a login; keeps it in memory (with one warning) when the folder cannot be written. */
  async #save(creds: Credentials): Promise<void> {
    try {
      await this.#store.write(creds);
      this.#memory = null;
    } catch (err) {
      if (!isPermissionProblem(err)) throw err;
      this.#memory = creds;
      if (!this.#warnedMemory) {
        this.#warnedMemory = true;
        this.#warn(
          `Could not save the DBOS Cloud login in ${this.#knownStore?.home ?? "~/.dbos-mcp"} (${
            this.#safeMessage(err)
          }); keeping it in memory for this process only.`,
        );
      }
    }
  }

  #expiresSoon(creds: Credentials): boolean {
    const expiry = expiryOf(creds);
    return expiry !== undefined && expiry - this.#clock.now() <= REFRESH_MARGIN_MS;
  }

  #expiryFromTokens(tokens: TokenSet): number | undefined {
    return jwtExpiry(tokens.accessToken) ??
      (tokens.expiresIn !== undefined ? this.#clock.now() + tokens.expiresIn * 1000 : undefined);
  }

  #canUseEnv(): boolean {
    return this.#envRefreshToken !== undefined && !this.#loggedOut;
  }

  #loginOptions(signal?: AbortSignal) {
    return {
      loginUrl: this.#loginUrl,
      timeoutMs: this.#timeoutMs,
      clientId: this.#clientId,
      fetch: this.#fetch,
      signal,
      secrets: this.#secrets,
    };
  }

  /** Runs `fn` unless a token operation is already in flight, then waits for it (or for `signal`). */
  #shared(fn: () => Promise<AccessGrant>, signal?: AbortSignal): Promise<AccessGrant> {
    if (!this.#inflight) {
      const run = async () => {
        try {
          return await fn();
        } finally {
          this.#inflight = null;
        }
      };
      this.#inflight = run();
    }
    return untilAborted(this.#inflight, signal);
  }

  async #orNull(grant: Promise<AccessGrant>): Promise<AccessGrant | null> {
    try {
      return await grant;
    } catch (err) {
      if (err instanceof NotLoggedInError) return null;
      throw err;
    }
  }

  #safeMessage(err: unknown): string {
    const text = errorMessage(err);
    // A missing grant is only worth reporting with the flag that fixes it.
    const flag = err instanceof MissingPermissionError ? ` Grant ${err.flag}.` : "";
    return this.#secrets.scrub(text + flag);
  }
}

function grantOf(creds: Credentials): AccessGrant {
  const grant: AccessGrant = { token: creds.token, organization: creds.organization };
  if (creds.userName) grant.userName = creds.userName;
  return grant;
}

function expiryOf(creds: Credentials): number | undefined {
  return jwtExpiry(creds.token) ?? creds.expiresAt;
}

function isPermissionProblem(err: unknown): boolean {
  return err instanceof MissingPermissionError ||
    (err instanceof CredentialsFileError && err.code === "PERMISSION");
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
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
