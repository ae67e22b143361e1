/**
 * What the Conductor backend needs from its credentials: a grant (a token,
 * or none at all for a Conductor without authentication, and the
 * organization of Conductor paths), and a way to recover from a rejected
 * one. The backend's port: `src/auth/` implements it (device login, the
 * `DBOS_TOKEN` environment variable, no authentication); nothing here
 * depends on `src/auth/`.
 *
 * @module
 */
import type { CallOptions } from "../backend.ts";

/** A usable credential and whom it belongs to. */
export interface AccessGrant {
  /**
   * Bearer token for Conductor (a user JWT or an API key), or `null` to send
   * no `Authorization` header at all (a self-hosted Conductor without
   * authentication). Never log or return it.
   */
  token: string | null;
  /** The organization (the `{org}` of Conductor paths). */
  organization: string;
  /** The user's name, when known. */
  userName?: string;
}

/** What {@linkcode TokenSource.refreshAfterRejection} is told of the rejection. */
export interface RejectionOptions extends CallOptions {
  /** The HTTP status of the rejection (401: credentials not accepted; 403: not allowed). */
  status?: number;
}

/** Gives out credentials, refreshing them when it can. */
export interface TokenSource {
  /**
   * Returns a grant whose token has not expired, refreshing it first when it
   * has and a refresh token is available.
   *
   * @throws {NotLoggedInError} when there are no usable credentials.
   */
  getAccess(opts?: CallOptions): Promise<AccessGrant>;
  /**
   * Called when a service rejected `rejectedToken` (HTTP 401/403). Refreshes
   * once if it can and returns the new grant; returns `null` when it cannot
   * (the caller then tells the agent to log in), or throws an error that
   * says what to do when logging in is not the remedy (an API key lacking a
   * permission, a server without authentication).
   */
  refreshAfterRejection(rejectedToken: string | null, opts?: RejectionOptions): Promise<AccessGrant | null>;
}

/** The `Authorization` header of a grant: a bearer token, or no header when the grant has no token. */
export function authorizationHeader(grant: AccessGrant): Record<string, string> {
  return grant.token === null ? {} : { Authorization: `Bearer ${grant.token}` };
}
