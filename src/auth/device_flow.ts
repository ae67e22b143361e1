/**
 * The OAuth 2.0 device authorization grant (RFC 8628) against the DBOS login
 * service (an Auth0 tenant), and the Conductor profile call
 * (`GET /v2/users/me`) that tells whom a token belongs to. Stateless functions: `DeviceLogin` (`device_login.ts`) keeps
 * the state. The wire contract is in `conductor-api.md`, "Login (device flow)".
 *
 * No function here puts a token, refresh token or device code in an error
 * message: each records the secrets it sees in the {@linkcode SecretSet} of
 * its options (the server's, so they are scrubbed everywhere) and scrubs the
 * service's answers with it before quoting them.
 *
 * @module
 */
import { DbosMcpError, NotLoggedInError, UpstreamError } from "../core/errors.ts";
import { SecretSet } from "../core/secrets.ts";
import { bodyExcerpt, type FetchLike, httpRequest, type HttpResponse, parseJsonBody } from "../util/http_client.ts";

/** The DBOS login service. */
export const DEFAULT_LOGIN_URL = "https://login.dbos.dev";
/** The OAuth client id of DBOS tools. */
export const DEFAULT_CLIENT_ID = "6p7Sjxf13cyLMkdwn14MxlH7JdhILled";
/** The OAuth audience of the DBOS Cloud API. */
export const DEFAULT_AUDIENCE = "dbos-cloud-api";
/** The scope that makes the login service issue a refresh token. */
export const DEFAULT_SCOPE = "offline_access";
/** The grant type of RFC 8628 polling. */
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

const LOGIN_SERVICE = "the DBOS login service";
const CONDUCTOR_SERVICE = "DBOS Conductor";
const LOGIN_AGAIN = "Call `login` again to get a new link, then have the user open it and approve.";

/** Where and how to reach the login service. */
export interface LoginServiceOptions {
  /** Base URL of the login service, e.g. `https://login.dbos.dev`. */
  loginUrl: string;
  /** Limit for each HTTP exchange, in milliseconds. */
  timeoutMs: number;
  /**
   * OAuth client id.
   *
   * @default {DEFAULT_CLIENT_ID}
   */
  clientId?: string;
  /** The `fetch` to use (tests inject one). @default {globalThis.fetch} */
  fetch?: FetchLike;
  /** Aborts the request. */
  signal?: AbortSignal;
  /**
   * Where the tokens and codes this call sees are recorded, and what the
   * service's answers are scrubbed with before an error quotes them.
   *
   * @default {a new SecretSet for the call}
   */
  secrets?: SecretSet;
}

/** Options of {@linkcode startDeviceLogin}. */
export interface StartDeviceLoginOptions extends LoginServiceOptions {
  /** OAuth audience. @default {DEFAULT_AUDIENCE} */
  audience?: string;
  /** OAuth scope; `offline_access` asks for a refresh token. @default {DEFAULT_SCOPE} */
  scope?: string;
}

/** The answer of the device authorization endpoint. */
export interface DeviceAuthorization {
  /** Secret code to poll the token endpoint with. Never log or return it. */
  device_code: string;
  /** Code the user confirms in the browser. */
  user_code: string;
  /** Page where the user enters `user_code`. */
  verification_uri: string;
  /** Page with `user_code` filled in (falls back to `verification_uri`). */
  verification_uri_complete: string;
  /** Lifetime of the device code, in seconds. */
  expires_in: number;
  /** Seconds to wait between polls (5 when the service did not say). */
  interval: number;
}

/** Tokens returned by the token endpoint. */
export interface TokenSet {
  /** The access token. Never log or return it. */
  accessToken: string;
  /** A refresh token, when one was issued. Never log or return it. */
  refreshToken?: string;
  /** Lifetime of the access token in seconds, when given. */
  expiresIn?: number;
  /** Token type, normally `Bearer`. */
  tokenType?: string;
}

/** The result of one poll of the token endpoint. */
export type DevicePollResult =
  | { status: "pending" }
  | { status: "slow_down" }
  | { status: "complete"; tokens: TokenSet };

/** Whom a token belongs to, from the Conductor profile (`GET /v2/users/me`). */
export interface UserProfile {
  /** `name` of the profile. */
  name: string;
  /** `orgName` of the profile. */
  organization: string;
}

/** The user did not approve the login before the device code expired. */
export class LoginExpiredError extends DbosMcpError {
  /** Creates the error; the default hint tells the agent to call `login` again. */
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { code: "LOGIN_EXPIRED", hint: options.hint ?? LOGIN_AGAIN, cause: options.cause });
    this.name = "LoginExpiredError";
  }
}

/** The user (or the login service) refused the login. */
export class LoginDeniedError extends DbosMcpError {
  /** Creates the error; the default hint tells the agent to call `login` again. */
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, {
      code: "LOGIN_DENIED",
      hint: options.hint ??
        "If that was a mistake, call `login` again and have the user approve the request in the browser.",
      cause: options.cause,
    });
    this.name = "LoginDeniedError";
  }
}

/** The login service no longer accepts a refresh token (revoked, expired, or of another client). */
export class RefreshRejectedError extends NotLoggedInError {
  /** The OAuth error code, e.g. `invalid_grant`. */
  readonly oauthError: string;
  /** Creates the error. */
  constructor(message: string, options: { oauthError: string; hint?: string; cause?: unknown }) {
    super(message, { hint: options.hint, cause: options.cause });
    this.name = "RefreshRejectedError";
    this.oauthError = options.oauthError;
  }
}

/**
 * Starts a device login: `POST {loginUrl}/oauth/device/code` with
 * `client_id`, `audience` and `scope`, form-encoded.
 *
 * @throws {UpstreamError} when the service fails or answers something unexpected.
 *
 * @example Starting a login
 * ```ts ignore
 * const auth = await startDeviceLogin({ loginUrl: DEFAULT_LOGIN_URL, timeoutMs: 10_000 });
 * console.log(`Open ${auth.verification_uri_complete}`);
 * ```
 */
export async function startDeviceLogin(options: StartDeviceLoginOptions): Promise<DeviceAuthorization> {
  const form = new URLSearchParams({
    client_id: options.clientId ?? DEFAULT_CLIENT_ID,
    audience: options.audience ?? DEFAULT_AUDIENCE,
    scope: options.scope ?? DEFAULT_SCOPE,
  });
  const url = endpoint(options.loginUrl, "/oauth/device/code");
  const secrets = known(options);
  const res = await postForm(url, form, options);
  if (res.status !== 200) throw unexpected(res, "POST", url, LOGIN_SERVICE, "starting a login", secrets);
  const doc = asObject(parseJsonBody(res, LOGIN_SERVICE));
  const { device_code, user_code, verification_uri } = doc;
  if (typeof device_code === "string") secrets.add(device_code);
  if (typeof device_code !== "string" || typeof user_code !== "string" || typeof verification_uri !== "string") {
    throw new UpstreamError(
      `${capitalize(LOGIN_SERVICE)} answered POST ${url} without a device_code, user_code or verification_uri.`,
      { status: res.status, hint: "This is a problem on the service's side; try `login` again later." },
    );
  }
  return {
    device_code,
    user_code,
    verification_uri,
    verification_uri_complete: typeof doc.verification_uri_complete === "string"
      ? doc.verification_uri_complete
      : verification_uri,
    expires_in: positiveNumber(doc.expires_in) ?? 900,
    interval: positiveNumber(doc.interval) ?? 5,
  };
}

/**
 * Polls the token endpoint once for a device login:
 * `POST {loginUrl}/oauth/token` with `grant_type` (device code), `device_code`
 * and `client_id`, form-encoded.
 *
 * @returns `pending` while the user has not finished, `slow_down` when the
 * service asks to poll less often (add 5 s to the interval), or the tokens.
 * @throws {LoginExpiredError} when the device code expired (`expired_token`, `invalid_grant`).
 * @throws {LoginDeniedError} when the login was refused (`access_denied`).
 * @throws {UpstreamError} when the service fails or answers something unexpected.
 */
export async function pollDeviceToken(deviceCode: string, options: LoginServiceOptions): Promise<DevicePollResult> {
  const form = new URLSearchParams({
    grant_type: DEVICE_CODE_GRANT,
    device_code: deviceCode,
    client_id: options.clientId ?? DEFAULT_CLIENT_ID,
  });
  const url = endpoint(options.loginUrl, "/oauth/token");
  const secrets = known(options, deviceCode);
  const res = await postForm(url, form, options);
  if (res.status === 200) return { status: "complete", tokens: readTokens(res, url, secrets) };
  const oauth = oauthError(res);
  if (res.status >= 400 && res.status < 500) {
    switch (oauth?.error) {
      case "authorization_pending":
        return { status: "pending" };
      case "slow_down":
        return { status: "slow_down" };
      case "expired_token":
        throw new LoginExpiredError("The login link expired before the user approved it in the browser.");
      case "invalid_grant":
        throw new LoginExpiredError(
          `The login service no longer accepts this login request (${describe(oauth, secrets)}).`,
        );
      case "access_denied":
        throw new LoginDeniedError(`The login was denied in the browser (${describe(oauth, secrets)}).`);
    }
    if (res.status === 429 && oauth === null) return { status: "slow_down" };
  }
  throw unexpected(res, "POST", url, LOGIN_SERVICE, "checking the login", secrets);
}

/**
 * Exchanges a refresh token for a new access token:
 * `POST {loginUrl}/oauth/token` with `grant_type=refresh_token`, `client_id`
 * and `refresh_token`, form-encoded. The refresh token stays the same unless
 * the answer carries a new one.
 *
 * @throws {RefreshRejectedError} when the refresh token is no longer accepted.
 * @throws {UpstreamError} when the service fails or answers something unexpected.
 */
export async function refreshAccessToken(refreshToken: string, options: LoginServiceOptions): Promise<TokenSet> {
  const form = new URLSearchParams({
    grant_type: "refresh_token",
    client_id: options.clientId ?? DEFAULT_CLIENT_ID,
    refresh_token: refreshToken,
  });
  const url = endpoint(options.loginUrl, "/oauth/token");
  const secrets = known(options, refreshToken);
  const res = await postForm(url, form, options);
  if (res.status === 200) return readTokens(res, url, secrets);
  const oauth = oauthError(res);
  if (res.status >= 400 && res.status < 500 && oauth !== null && res.status !== 429) {
    throw new RefreshRejectedError(
      `The login service did not accept the saved refresh token (${describe(oauth, secrets)}).`,
      { oauthError: oauth.error },
    );
  }
  throw unexpected(res, "POST", url, LOGIN_SERVICE, "refreshing the login", secrets);
}

/**
 * Revokes a refresh token: `POST {loginUrl}/oauth/revoke` with JSON
 * `{client_id, token}`.
 *
 * @throws {UpstreamError} when the service does not confirm the revocation.
 */
export async function revokeRefreshToken(refreshToken: string, options: LoginServiceOptions): Promise<void> {
  const url = endpoint(options.loginUrl, "/oauth/revoke");
  const secrets = known(options, refreshToken);
  const res = await httpRequest({
    service: LOGIN_SERVICE,
    method: "POST",
    url,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ client_id: options.clientId ?? DEFAULT_CLIENT_ID, token: refreshToken }),
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  }, options.fetch);
  if (res.status >= 200 && res.status < 300) return;
  throw unexpected(res, "POST", url, LOGIN_SERVICE, "revoking the refresh token", secrets);
}

/** Options of {@linkcode fetchUserProfile}. */
export interface ProfileOptions {
  /** DBOS Conductor API base, e.g. `https://cloud.dbos.dev/conductor` (the `{conductor-url}` of `/v2/...`). */
  conductorUrl: string;
  /** Limit for the HTTP exchange, in milliseconds. */
  timeoutMs: number;
  /** The `fetch` to use. @default {globalThis.fetch} */
  fetch?: FetchLike;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** As {@linkcode LoginServiceOptions.secrets}. @default {a new SecretSet for the call} */
  secrets?: SecretSet;
}

/**
 * Asks DBOS Conductor whom a user token belongs to:
 * `GET {conductorUrl}/v2/users/me` with a bearer token; the user's name is
 * the profile's `name` and the organization its `orgName` (an API key has no
 * profile).
 *
 * @throws {UpstreamError} when Conductor refuses the token, has no profile endpoint, or fails.
 *
 * @example
 * ```ts ignore
 * const { name, organization } = await fetchUserProfile(token, {
 *   conductorUrl: "https://cloud.dbos.dev/conductor",
 *   timeoutMs: 10_000,
 * });
 * ```
 */
export async function fetchUserProfile(accessToken: string, options: ProfileOptions): Promise<UserProfile> {
  const url = endpoint(options.conductorUrl, "/v2/users/me");
  const secrets = known(options, accessToken);
  const res = await httpRequest({
    service: CONDUCTOR_SERVICE,
    method: "GET",
    url,
    headers: { Authorization: `Bearer ${accessToken}`, Accept: "application/json" },
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  }, options.fetch);
  if (res.status === 401 || res.status === 403) {
    throw new UpstreamError(
      `DBOS Conductor refused the login when asked for the user's profile (HTTP ${res.status}: ${
        secrets.scrub(bodyExcerpt(res.text)) || "no details"
      }).`,
      {
        status: res.status,
        retryable: false,
        hint: "If this account has not signed up for DBOS Cloud yet, sign up at https://console.dbos.dev; " +
          "then call `login` again.",
      },
    );
  }
  if (res.status === 404) {
    throw new UpstreamError(`DBOS Conductor has no user profile at GET ${url} (HTTP 404).`, {
      status: 404,
      retryable: false,
      hint: "Check --conductor-url (the Conductor API base, e.g. https://cloud.dbos.dev/conductor). A self-hosted " +
        "Conductor without authentication has no users: run this server with --no-auth.",
    });
  }
  if (res.status !== 200) {
    throw unexpected(res, "GET", url, CONDUCTOR_SERVICE, "reading the user's profile", secrets);
  }
  const doc = asObject(parseJsonBody(res, CONDUCTOR_SERVICE));
  if (typeof doc.name !== "string" || typeof doc.orgName !== "string") {
    throw new UpstreamError(`DBOS Conductor answered GET ${url} without the user's name and orgName.`, {
      status: res.status,
      hint: "Check that --conductor-url is the Conductor API base; if it is, try again later.",
    });
  }
  return { name: doc.name, organization: doc.orgName };
}

function endpoint(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

function postForm(url: string, form: URLSearchParams, options: LoginServiceOptions): Promise<HttpResponse> {
  return httpRequest({
    service: LOGIN_SERVICE,
    method: "POST",
    url,
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: form,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  }, options.fetch);
}

function readTokens(res: HttpResponse, url: string, secrets: SecretSet): TokenSet {
  let doc: Record<string, unknown>;
  try {
    doc = asObject(JSON.parse(res.text));
  } catch {
    // Never quote a token response: it may hold tokens.
    throw new UpstreamError(`${capitalize(LOGIN_SERVICE)} answered POST ${url} with a body that is not JSON.`, {
      status: res.status,
      hint: "This is a problem on the service's side; try again later.",
    });
  }
  if (typeof doc.access_token !== "string" || doc.access_token.length === 0) {
    throw new UpstreamError(`${capitalize(LOGIN_SERVICE)} answered POST ${url} without an access_token.`, {
      status: res.status,
      hint: "This is a problem on the service's side; try again later.",
    });
  }
  const tokens: TokenSet = { accessToken: doc.access_token };
  secrets.add(doc.access_token);
  if (typeof doc.refresh_token === "string" && doc.refresh_token.length > 0) {
    tokens.refreshToken = doc.refresh_token;
    secrets.add(doc.refresh_token);
  }
  const expiresIn = positiveNumber(doc.expires_in);
  if (expiresIn !== undefined) tokens.expiresIn = expiresIn;
  if (typeof doc.token_type === "string") tokens.tokenType = doc.token_type;
  return tokens;
}

interface OAuthError {
  error: string;
  description?: string;
}

function oauthError(res: HttpResponse): OAuthError | null {
  try {
    const doc = JSON.parse(res.text);
    if (doc && typeof doc === "object" && typeof doc.error === "string") {
      return {
        error: doc.error,
        description: typeof doc.error_description === "string" ? doc.error_description : undefined,
      };
    }
  } catch {
    // not JSON
  }
  return null;
}

function describe(err: OAuthError, secrets: SecretSet): string {
  const text = err.description
    ? `${err.error}: ${bodyExcerpt(JSON.stringify({ message: err.description }))}`
    : err.error;
  return secrets.scrub(text);
}

function unexpected(
  res: HttpResponse,
  method: string,
  url: string,
  service: string,
  doing: string,
  secrets: SecretSet,
): UpstreamError {
  const excerpt = secrets.scrub(bodyExcerpt(res.text));
  const server = res.status >= 500;
  return new UpstreamError(
    `${capitalize(service)} answered HTTP ${res.status} to ${method} ${url} while ${doing}${
      excerpt ? `: ${excerpt}` : ""
    }.`,
    {
      status: res.status,
      retryable: server || res.status === 429,
      hint: server || res.status === 429
        ? "This is a problem on the service's side; try again in a minute."
        : `Check that ${new URL(url).origin} is the right address for ${service}; then try again.`,
    },
  );
}

/** The secret set of a call (the caller's, else a new one), with `values` recorded in it. */
function known(options: { secrets?: SecretSet }, ...values: string[]): SecretSet {
  const secrets = options.secrets ?? new SecretSet();
  for (const v of values) secrets.add(v);
  return secrets;
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, unknown> : {};
}

function positiveNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value;
  if (typeof value === "string" && /^\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
