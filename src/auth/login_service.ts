/**
 * What the login tools need from the login (implemented by `AuthSession`).
 *
 * @module
 */

/** The start of a device login: where the user goes and the code to confirm. */
export interface LoginStarted {
  /** Page where the user logs in. */
  verification_uri: string;
  /** Same page with the code filled in. */
  verification_uri_complete: string;
  /** Code the user confirms on the page. */
  user_code: string;
  /** When the code expires (ISO 8601). */
  expires_at: string;
  /** Seconds until the code expires. */
  expires_in_seconds: number;
  /** Seconds between polls. */
  interval: number;
}

/** The result of trying to complete a login. */
export type LoginOutcome =
  | { status: "complete"; userName: string; organization: string }
  | { status: "pending"; message: string; expires_at?: string };

/** The result of a logout. */
export interface LogoutOutcome {
  /** Whether the refresh token was revoked at the login service. */
  revoked: boolean;
  /** Whether local credentials were removed. */
  removed: boolean;
  /** What happened, in words. */
  message: string;
}

/** The login state, without any token. */
export interface LoginStatus {
  /** Whether usable credentials exist. */
  loggedIn: boolean;
  /** User name. */
  userName?: string;
  /** Organization. */
  organization?: string;
  /** When the access token expires (epoch ms). */
  expiresAt?: number;
  /** Whether a refresh token is stored. */
  hasRefreshToken: boolean;
}

/** Login operations used by the `login`, `login_complete` and `logout` tools. */
export interface LoginService {
  /** Starts a device login and returns at once. */
  startLogin(): Promise<LoginStarted>;
  /** Waits a bounded time for the user to finish the pending login. */
  completeLogin(): Promise<LoginOutcome>;
  /** Revokes the refresh token and deletes the credentials. */
  logout(): Promise<LogoutOutcome>;
}
