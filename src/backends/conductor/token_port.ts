/**
 * What a backend needs from the login: a valid access token and the
 * organization it belongs to, and a way to recover from a rejected token.
 *
 * @module
 */
import type { CallOptions } from "../backend.ts";

/** A usable access token and whom it belongs to. */
export interface AccessGrant {
  /**
   * Bearer token for Conductor (a user JWT or a `dbos_` API key), or `""`
   * when no `Authorization` header is to be sent (self-hosted Conductor
   * without authentication). Never log or return it.
   */
  token: string;
  /** Where the token came from, for advice on a 401 or 403: `login` (default), `token` (DBOS_TOKEN), `none`. */
  credential?: "login" | "token" | "none";
  /** The organization the user belongs to (the `{org}` of Conductor paths). */
  organization: string;
  /** The user's name, when known. */
  userName?: string;
}

/** Gives out access tokens, refreshing them when it can. */
export interface TokenSource {
  /**
   * Returns a grant whose token has not expired, refreshing it first when it
   * has and a refresh token is available.
   *
   * @throws {NotLoggedInError} when there is no usable login.
   */
  getAccess(opts?: CallOptions): Promise<AccessGrant>;
  /**
   * Called when a service rejected `rejectedToken` (HTTP 401/403). Refreshes
   * once if a refresh token is available and returns the new grant, or
   * returns `null` when it cannot (the caller then tells the agent to log in).
   */
  refreshAfterRejection(rejectedToken: string, opts?: CallOptions): Promise<AccessGrant | null>;
}
