// What the device login (`device_login.ts`) and its token source
// (`device_login_tokens.ts`) share: the saved login (on disk, or in memory
// when the folder cannot be written), the settings of the login service and
// of the profile call, and whether this process logged out. Internal to
// src/auth.
import type { AccessGrant } from "../backends/conductor/token_port.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { errorMessage, MissingPermissionError } from "../core/errors.ts";
import type { FetchLike } from "../util/http_client.ts";
import type { SecretSet } from "../core/secrets.ts";
import { type Credentials, CredentialsFileError, CredentialStore } from "./credentials.ts";
import { DEFAULT_CLIENT_ID, fetchUserProfile, type LoginServiceOptions, type TokenSet } from "./device_flow.ts";
import { jwtExpiry } from "./_jwt.ts";

/** Options of a device login (`openDeviceLogin`). */
export interface DeviceLoginOptions {
  /**
   * The credentials folder, already resolved (e.g. `/home/me/.dbos-mcp`), or
   * `undefined` when it is unknown (HOME could not be read): the login is
   * created all the same, and each operation that needs the folder fails
   * with a {@linkcode MissingPermissionError} naming `--allow-env=HOME` and
   * `--home`.
   */
  home: string | undefined;
  /** Base URL of the login service, e.g. `https://login.dbos.dev`. */
  loginUrl: string;
  /** DBOS Conductor API base, whose `/v2/users/me` tells whom a login belongs to. */
  conductorUrl: string;
  /** Limit for each HTTP exchange, in milliseconds. */
  timeoutMs: number;
  /** Records every token the login sees, so output can be scrubbed of them. */
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
   * Longest time `completeLogin` polls before it answers `pending`, in
   * milliseconds.
   *
   * @default {20000}
   */
  loginWaitMs?: number;
  /** Receives warnings. @default {(msg) => console.error(`dbos-mcp: warning: ${msg}`)} */
  warn?: (message: string) => void;
  /** The store to use instead of one on `home` (tests, custom storage). */
  store?: CredentialStore;
  /** The organization to use instead of the profile's (`--org`); the saved login keeps the profile's. */
  org?: string;
}

/** The state and settings both halves of a device login share. */
export class DeviceLoginState {
  readonly loginUrl: string;
  readonly conductorUrl: string;
  readonly timeoutMs: number;
  readonly clientId: string;
  readonly clock: Clock;
  readonly fetch: FetchLike | undefined;
  readonly secrets: SecretSet;
  readonly envRefreshToken: string | undefined;
  readonly loginWaitMs: number;
  readonly warn: (message: string) => void;
  /** The organization that overrides the profile's, if any. */
  readonly org: string | undefined;
  /** Set by `logout()`: do not log in from the environment again in this process. */
  loggedOut = false;

  readonly #knownStore: CredentialStore | undefined;
  /** A login kept in memory because the folder could not be written. */
  #memory: Credentials | null = null;
  #warnedMemory = false;

  constructor(options: DeviceLoginOptions) {
    this.warn = options.warn ?? ((msg) => console.error(`dbos-mcp: warning: ${msg}`));
    this.#knownStore = options.store ??
      (options.home === undefined ? undefined : new CredentialStore(options.home, { warn: this.warn }));
    this.loginUrl = options.loginUrl;
    this.conductorUrl = options.conductorUrl;
    this.timeoutMs = options.timeoutMs;
    this.clientId = options.clientId ?? DEFAULT_CLIENT_ID;
    this.clock = options.clock ?? systemClock;
    this.fetch = options.fetch;
    this.secrets = options.secrets;
    this.envRefreshToken = options.envRefreshToken || undefined;
    this.loginWaitMs = options.loginWaitMs ?? 20_000;
    this.org = options.org || undefined;
    this.secrets.add(this.envRefreshToken);
  }

  /** The credentials folder's store; without one (HOME unknown), what to grant or pass. */
  get store(): CredentialStore {
    if (this.#knownStore) return this.#knownStore;
    throw new MissingPermissionError("reading HOME to find ~/.dbos-mcp", "--allow-env=HOME (or pass --home DIR)");
  }

  /** Reads the saved login (from disk each time, so other processes' logins are seen), or the in-memory one. */
  async load(): Promise<Credentials | null> {
    let creds: Credentials | null;
    try {
      creds = await this.store.read();
    } catch (err) {
      // A login kept in memory is newer than whatever made the file unreadable.
      if (this.#memory) return this.#memory;
      throw err;
    }
    if (creds === null) return this.#memory;
    this.secrets.add(creds.token);
    this.secrets.add(creds.refreshToken);
    return creds;
  }

  /** Saves a login; keeps it in memory (with one warning) when the folder cannot be written. */
  async save(creds: Credentials): Promise<void> {
    try {
      await this.store.write(creds);
      this.#memory = null;
    } catch (err) {
      if (!isPermissionProblem(err)) throw err;
      this.#memory = creds;
      if (!this.#warnedMemory) {
        this.#warnedMemory = true;
        this.warn(
          `Could not save the DBOS Cloud login in ${this.#knownStore?.home ?? "~/.dbos-mcp"} (${
            this.safeMessage(err)
          }); keeping it in memory for this process only.`,
        );
      }
    }
  }

  /** Forgets the login kept in memory; returns whether there was one. */
  forgetMemory(): boolean {
    const had = this.#memory !== null;
    this.#memory = null;
    return had;
  }

  /** Whether `DBOS_MCP_REFRESH_TOKEN` may be used to log in. */
  canUseEnv(): boolean {
    return this.envRefreshToken !== undefined && !this.loggedOut;
  }

  /** Whether the login's token expires within `marginMs`. */
  expiresWithin(creds: Credentials, marginMs: number): boolean {
    const expiry = expiryOf(creds);
    return expiry !== undefined && expiry - this.clock.now() <= marginMs;
  }

  /** When fresh tokens expire: the JWT's `exp`, else `expires_in` from now. */
  expiryFromTokens(tokens: TokenSet): number | undefined {
    return jwtExpiry(tokens.accessToken) ??
      (tokens.expiresIn !== undefined ? this.clock.now() + tokens.expiresIn * 1000 : undefined);
  }

  /** Where and how to reach the login service. */
  loginOptions(signal?: AbortSignal): LoginServiceOptions {
    return {
      loginUrl: this.loginUrl,
      timeoutMs: this.timeoutMs,
      clientId: this.clientId,
      fetch: this.fetch,
      signal,
      secrets: this.secrets,
    };
  }

  /** Builds credentials from fresh tokens, asking Conductor whom they belong to. */
  async credentialsFrom(tokens: TokenSet, signal?: AbortSignal, refreshFallback?: string): Promise<Credentials> {
    const profile = await this.profileOf(tokens.accessToken, signal);
    const creds: Credentials = {
      token: tokens.accessToken,
      userName: profile.name,
      organization: profile.organization,
    };
    const refreshToken = tokens.refreshToken ?? refreshFallback;
    if (refreshToken) creds.refreshToken = refreshToken;
    const expiresAt = this.expiryFromTokens(tokens);
    if (expiresAt !== undefined) creds.expiresAt = expiresAt;
    return creds;
  }

  /** Whom `token` belongs to. */
  profileOf(token: string, signal?: AbortSignal): Promise<{ name: string; organization: string }> {
    return fetchUserProfile(token, {
      conductorUrl: this.conductorUrl,
      timeoutMs: this.timeoutMs,
      fetch: this.fetch,
      signal,
      secrets: this.secrets,
    });
  }

  /** An error's message, scrubbed of secrets, with the flag that fixes a missing grant. */
  safeMessage(err: unknown): string {
    const text = errorMessage(err);
    // A missing grant is only worth reporting with the flag that fixes it.
    const flag = err instanceof MissingPermissionError ? ` Grant ${err.flag}.` : "";
    return this.secrets.scrub(text + flag);
  }
}

/** The grant of a saved login. */
export function grantOf(creds: Credentials): AccessGrant {
  const grant: AccessGrant = { token: creds.token, organization: creds.organization };
  if (creds.userName) grant.userName = creds.userName;
  return grant;
}

/** When the saved login's token expires (epoch ms), when known. */
export function expiryOf(creds: Credentials): number | undefined {
  return jwtExpiry(creds.token) ?? creds.expiresAt;
}

/** Whether `err` means the credentials folder may not be read or written. */
export function isPermissionProblem(err: unknown): boolean {
  return err instanceof MissingPermissionError ||
    (err instanceof CredentialsFileError && err.code === "PERMISSION");
}

/** `promise`, or a rejection with `signal`'s reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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
