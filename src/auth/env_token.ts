/**
 * The token source of token mode: the credential in the `DBOS_TOKEN`
 * environment variable, read as `dbosctl` reads it. A value starting with
 * `dbos_` is a Conductor API key, which carries no user identity: the
 * organization must be configured (`--org`, `DBOS_ORG`). Anything else is a
 * user JWT: its organization is `--org` when given, else the `orgName` of
 * `GET {conductor-url}/v2/users/me`, asked once. Neither can be refreshed:
 * when Conductor rejects it, the error says what to change.
 *
 * The token never appears in a result, an error or a warning.
 *
 * @module
 */
import type { CallOptions } from "../backends/backend.ts";
import type { AccessGrant, RejectionOptions, TokenSource } from "../backends/conductor/token_port.ts";
import { ConfigError, DbosMcpError, NotLoggedInError, UpstreamError } from "../core/errors.ts";
import type { SecretSet } from "../core/secrets.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { FetchLike } from "../util/http_client.ts";
import { fetchUserProfile, type UserProfile } from "./device_flow.ts";
import { jwtExpiry } from "./_jwt.ts";
import { untilAborted } from "./_device_login_state.ts";

/** The prefix of Conductor API keys. */
export const API_KEY_PREFIX = "dbos_";

const NEW_TOKEN = "Set DBOS_TOKEN to a valid API key (with --org) or a fresh user JWT, and restart the server.";

/** Whether `token` is a Conductor API key (it starts with `dbos_`) rather than a user JWT. */
export function isApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** Options of {@linkcode EnvTokenSource}. */
export interface EnvTokenOptions {
  /** The value of `DBOS_TOKEN`. */
  token: string;
  /** The organization (`--org`, `DBOS_ORG`); required for an API key. */
  org?: string;
  /** DBOS Conductor API base, whose `/v2/users/me` names a JWT's organization. */
  conductorUrl: string;
  /** Limit for the profile request, in milliseconds. */
  timeoutMs: number;
  /** Records the token, so output can be scrubbed of it. */
  secrets: SecretSet;
  /** Source of time (a JWT's expiry). @default {systemClock} */
  clock?: Clock;
  /** The `fetch` to use. @default {globalThis.fetch} */
  fetch?: FetchLike;
}

/** Conductor refused a request made with `DBOS_TOKEN` for lack of a permission or of application scope (HTTP 403). */
export class TokenNotAllowedError extends DbosMcpError {
  /** Creates the error. */
  constructor(message: string, options: { hint: string; cause?: unknown }) {
    super(message, { code: "PERMISSION", hint: options.hint, cause: options.cause });
    this.name = "TokenNotAllowedError";
  }
}

/** Credentials from `DBOS_TOKEN`: an API key or a user JWT. */
export class EnvTokenSource implements TokenSource {
  /** `api-key` for a `dbos_` key, `jwt` otherwise. */
  readonly kind: "api-key" | "jwt";
  readonly #token: string;
  readonly #org: string | undefined;
  readonly #options: EnvTokenOptions;
  readonly #clock: Clock;
  #profile: Promise<UserProfile> | undefined;

  /**
   * Takes the token; nothing is sent until a grant is asked for.
   *
   * @throws {ConfigError} when the token is an API key and no organization is configured.
   */
  constructor(options: EnvTokenOptions) {
    this.#token = options.token.trim();
    options.secrets.add(options.token);
    options.secrets.add(this.#token);
    this.kind = isApiKey(this.#token) ? "api-key" : "jwt";
    this.#org = options.org;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    if (this.kind === "api-key" && !this.#org) {
      throw new ConfigError(
        "DBOS_TOKEN holds a Conductor API key, which carries no user identity, so the server cannot look up " +
          "its organization: pass --org NAME or set DBOS_ORG.",
      );
    }
  }

  /**
   * The token and its organization; for a JWT without `--org`, the
   * organization from the user's profile (asked once).
   *
   * @throws {NotLoggedInError} when the JWT has expired or Conductor does not accept it.
   */
  async getAccess(opts: CallOptions = {}): Promise<AccessGrant> {
    if (this.kind === "jwt") {
      const expiry = jwtExpiry(this.#token);
      if (expiry !== undefined && expiry <= this.#clock.now()) {
        throw new NotLoggedInError(
          `The user JWT in DBOS_TOKEN expired at ${new Date(expiry).toISOString()}; this server cannot renew it.`,
          { hint: NEW_TOKEN },
        );
      }
    }
    if (this.#org) return { token: this.#token, organization: this.#org };
    const profile = await untilAborted(this.#profileOnce(), opts.signal);
    return { token: this.#token, organization: profile.organization, userName: profile.name };
  }

  /** A key or JWT cannot be refreshed: throws an error saying why Conductor refused it and what to change. */
  refreshAfterRejection(_rejectedToken: string | null, opts: RejectionOptions = {}): Promise<AccessGrant | null> {
    const what = this.kind === "api-key" ? "the API key in DBOS_TOKEN" : "the user JWT in DBOS_TOKEN";
    if (opts.status === 403) {
      const message = this.kind === "api-key"
        ? `DBOS Conductor refused this request made with ${what} (HTTP 403): the key's scope does not allow it ` +
          "(it lacks the permission, e.g. application.write to cancel, resume or fork, or it is scoped to other " +
          "applications)."
        : `DBOS Conductor refused this request made with ${what} (HTTP 403): the user lacks the permission, or ` +
          `the organization '${this.#org ?? "?"}' is not theirs.`;
      return Promise.reject(
        new TokenNotAllowedError(message, {
          hint: this.kind === "api-key"
            ? "Stay within what the key allows (a key scoped to application.read can only read), or ask an " +
              "organization admin for a key with that permission and application, and restart with it."
            : "Check --org (DBOS_ORG), or ask an organization admin for the permission.",
        }),
      );
    }
    return Promise.reject(
      new NotLoggedInError(
        `DBOS Conductor did not accept ${what} (HTTP ${opts.status ?? 401}): it is invalid, revoked or expired.`,
        { hint: NEW_TOKEN },
      ),
    );
  }

  #profileOnce(): Promise<UserProfile> {
    this.#profile ??= fetchUserProfile(this.#token, {
      conductorUrl: this.#options.conductorUrl,
      timeoutMs: this.#options.timeoutMs,
      fetch: this.#options.fetch,
      secrets: this.#options.secrets,
    }).catch((err) => {
      this.#profile = undefined; // ask again on the next call
      if (err instanceof UpstreamError && (err.status === 401 || err.status === 403)) {
        throw new NotLoggedInError(
          `DBOS Conductor did not accept the user JWT in DBOS_TOKEN when asked whose it is (HTTP ${err.status}).`,
          { hint: `${NEW_TOKEN} Or pass --org NAME (DBOS_ORG) so that no profile is needed.`, cause: err },
        );
      }
      throw err;
    });
    return this.#profile;
  }
}
