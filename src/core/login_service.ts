/**
 * What the login tools (`login`, `login_complete`, `logout`) need from a
 * login, and the one set of shapes it answers with. Implemented by
 * `DeviceLogin` (`device_login.ts`). None of these shapes carries a token, a
 * refresh token or a device code.
 *
 * @module
 */
import type { CallOptions } from "../backends/backend.ts";

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
  /** What to do next, for the agent. */
  message: string;
}

/** The answer of {@linkcode LoginService.completeLogin} while the user has not finished. */
export interface LoginPending {
  /** Always `pending`. */
  status: "pending";
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

/** The answer of {@linkcode LoginService.completeLogin} once the login is saved. */
export interface LoginComplete {
  /** Always `complete`. */
  status: "complete";
  /** The user's name. */
  userName: string;
  /** The user's organization, from the profile. */
  organization: string;
  /** What happened, for the agent. */
  message: string;
}

/** The result of trying to complete a login. */
export type LoginOutcome = LoginPending | LoginComplete;

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

/**
 * Login operations used by the `login`, `login_complete` and `logout` tools.
 * Each takes the call's options, so a cancelled call stops its requests (a
 * cancelled `login_complete` stops polling).
 */
export interface LoginService {
  /** Starts a device login and returns at once. */
  startLogin(opts?: CallOptions): Promise<LoginStarted>;
  /** Waits a bounded time for the user to finish the pending login. */
  completeLogin(opts?: CallOptions): Promise<LoginOutcome>;
  /** Revokes the refresh token and deletes the credentials. */
  logout(opts?: CallOptions): Promise<LogoutOutcome>;
}
