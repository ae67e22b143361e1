/**
 * The token source of the device login: hands out the saved login's access
 * token to the Conductor backend, refreshes it before it expires or after
 * Conductor rejected it, and logs in with `DBOS_MCP_REFRESH_TOKEN` when no
 * login is saved. Implements the backend's {@linkcode TokenSource} port.
 *
 * @module
 */
import type { CallOptions } from "../backends/backend.ts";
import type { AccessGrant, TokenSource } from "../backends/conductor/token_port.ts";
import { NotLoggedInError } from "../core/errors.ts";
import type { Credentials } from "./credentials.ts";
import { refreshAccessToken, type TokenSet } from "./device_flow.ts";
import { type DeviceLoginState, expiryOf, grantOf, isPermissionProblem, untilAborted } from "./_device_login_state.ts";

/** Refresh a token this long before it expires. */
const REFRESH_MARGIN_MS = 30_000;

/**
 * Access tokens from the saved device login. Made by `openDeviceLogin`,
 * which shares its state with the `DeviceLogin` that saves the login.
 */
export class DeviceLoginTokens implements TokenSource {
  readonly #state: DeviceLoginState;
  #inflight: Promise<AccessGrant> | null = null;

  /** Creates the token source on the device login's shared state. */
  constructor(state: DeviceLoginState) {
    this.#state = state;
  }

  /**
   * Returns a grant whose token does not expire within 30 s, refreshing it
   * first when needed; logs in with `envRefreshToken` when no login is saved.
   * Concurrent callers share one refresh.
   *
   * @throws {NotLoggedInError} when there is no usable login.
   */
  async getAccess(opts: CallOptions = {}): Promise<AccessGrant> {
    const state = this.#state;
    let creds: Credentials | null;
    try {
      creds = await state.load();
    } catch (err) {
      if (!state.canUseEnv() || !(err instanceof NotLoggedInError || isPermissionProblem(err))) throw err;
      state.warn(`${state.safeMessage(err)} Using DBOS_MCP_REFRESH_TOKEN instead.`);
      creds = null;
    }
    if (creds === null) {
      if (state.canUseEnv()) return await this.#shared(() => this.#loginFromEnv(), opts.signal);
      throw new NotLoggedInError("You are not logged in to DBOS Cloud.");
    }
    if (!this.#expiresSoon(creds) && this.#hasOrganization(creds)) return this.#grant(creds);
    const stale = creds;
    return await this.#shared(() => this.#refresh(stale.token), opts.signal);
  }

  /**
   * Called after a service rejected `rejectedToken`: returns the saved grant
   * when its token already differs (another call or process refreshed it),
   * refreshes once when a refresh token is available, or returns `null`.
   */
  async refreshAfterRejection(rejectedToken: string | null, opts: CallOptions = {}): Promise<AccessGrant | null> {
    const state = this.#state;
    if (rejectedToken === null) return null;
    let creds: Credentials | null;
    try {
      creds = await state.load();
    } catch (err) {
      if (err instanceof NotLoggedInError) return null;
      throw err;
    }
    if (creds === null) {
      if (!state.canUseEnv()) return null;
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

  async #loginFromEnv(): Promise<AccessGrant> {
    const state = this.#state;
    const envToken = state.envRefreshToken!;
    let tokens: TokenSet;
    try {
      tokens = await refreshAccessToken(envToken, state.loginOptions());
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
    state.secrets.add(tokens.accessToken);
    state.secrets.add(tokens.refreshToken);
    const creds = await state.credentialsFrom(tokens, undefined, envToken);
    await state.save(creds);
    return this.#grant(creds);
  }

  /** Refreshes the saved login unless its token already differs from `staleToken` and is fresh. */
  async #refresh(staleToken: string, afterRejection = false): Promise<AccessGrant> {
    const state = this.#state;
    const current = await state.load();
    if (current === null) {
      if (state.canUseEnv()) return await this.#loginFromEnv();
      throw new NotLoggedInError("You are not logged in to DBOS Cloud (the saved login was removed).");
    }
    const fresh = current.token !== staleToken && !this.#expiresSoon(current);
    if (fresh || (!afterRejection && !this.#expiresSoon(current))) {
      return this.#grant(this.#hasOrganization(current) ? current : await this.#withProfile(current));
    }
    const expiry = expiryOf(current);
    const usable = !afterRejection && (expiry === undefined || expiry > state.clock.now());
    if (!current.refreshToken) {
      if (usable) return this.#grant(current);
      throw new NotLoggedInError(
        afterRejection
          ? "DBOS Cloud no longer accepts the saved login, and it has no refresh token."
          : `Your DBOS Cloud login expired at ${new Date(expiry!).toISOString()} and has no refresh token.`,
      );
    }
    let tokens: TokenSet;
    try {
      tokens = await refreshAccessToken(current.refreshToken, state.loginOptions());
    } catch (err) {
      if (usable) return this.#grant(current);
      if (err instanceof NotLoggedInError) {
        throw new NotLoggedInError(`Your DBOS Cloud login expired and could not be renewed: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    state.secrets.add(tokens.accessToken);
    state.secrets.add(tokens.refreshToken);
    let next: Credentials = { ...current, token: tokens.accessToken };
    if (tokens.refreshToken) next.refreshToken = tokens.refreshToken;
    const expiresAt = state.expiryFromTokens(tokens);
    if (expiresAt === undefined) delete next.expiresAt;
    else next.expiresAt = expiresAt;
    if (!this.#hasOrganization(next)) next = await this.#withProfile(next, false);
    await state.save(next);
    return this.#grant(next);
  }

  /** Fills in the user's name and organization from the profile (a hand-written credentials file may lack them). */
  async #withProfile(creds: Credentials, save = true): Promise<Credentials> {
    const profile = await this.#state.profileOf(creds.token);
    const next = { ...creds, userName: profile.name, organization: profile.organization };
    if (save) await this.#state.save(next);
    return next;
  }

  /** The grant of a saved login, with `--org` in place of its organization when given. */
  #grant(creds: Credentials): AccessGrant {
    const grant = grantOf(creds);
    if (this.#state.org) grant.organization = this.#state.org;
    return grant;
  }

  /** Whether the organization is known without asking for the profile. */
  #hasOrganization(creds: Credentials): boolean {
    return Boolean(creds.organization || this.#state.org);
  }

  #expiresSoon(creds: Credentials): boolean {
    return this.#state.expiresWithin(creds, REFRESH_MARGIN_MS);
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
}
