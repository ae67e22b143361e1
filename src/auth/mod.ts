/**
 * The credentials of Conductor mode, chosen from the configuration: the
 * device login (with its login tools), `DBOS_TOKEN` (an API key or a user
 * JWT), or none (`--no-auth`). Each implements the Conductor backend's token
 * port (`src/backends/conductor/token_port.ts`).
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { ConfigError } from "../core/errors.ts";
import type { SecretSet } from "../core/secrets.ts";
import type { ConductorCredentials } from "../backends/mod.ts";
import type { Clock } from "../util/clock.ts";
import type { FetchLike } from "../util/http_client.ts";
import type { LogFn } from "../util/log.ts";
import { openDeviceLogin } from "./device_login.ts";
import { EnvTokenSource } from "./env_token.ts";
import { NoAuthTokenSource } from "./no_auth.ts";

/** What {@linkcode openCredentials} needs besides the configuration. */
export interface CredentialsDeps {
  /** Records every token, key and code seen, for scrubbing. */
  secrets: SecretSet;
  /** Where warnings go. */
  log: LogFn;
  /** Source of time and delays. */
  clock: Clock;
  /** `fetch` for the login service and the profile. */
  fetch?: FetchLike;
}

/**
 * How the Conductor backend is authenticated: `none` with `--no-auth`,
 * `token` when `DBOS_TOKEN` is set, else `device-login` (the login tools).
 *
 * @throws {ConfigError} when both `--no-auth` and `DBOS_TOKEN` are given.
 */
export function credentialsMode(config: Pick<Config, "noAuth" | "token">): CredentialsMode {
  if (config.noAuth && config.token) {
    throw new ConfigError(
      "Both --no-auth (DBOS_MCP_NO_AUTH) and DBOS_TOKEN are set: --no-auth sends no credentials at all. " +
        "Unset DBOS_TOKEN for a Conductor without authentication, or drop --no-auth to use the token.",
    );
  }
  return config.noAuth ? "none" : config.token ? "token" : "device-login";
}

/** The three kinds of credentials of Conductor mode (see {@linkcode credentialsMode}). */
export type CredentialsMode = "device-login" | "token" | "none";

/**
 * Opens the credentials {@linkcode credentialsMode} picks.
 *
 * @throws {ConfigError} when the credentials are misconfigured.
 */
export function openCredentials(config: Readonly<Config>, deps: CredentialsDeps): ConductorCredentials {
  switch (credentialsMode(config)) {
    case "none":
      return { tokens: new NoAuthTokenSource(config.org) };
    case "token":
      return {
        tokens: new EnvTokenSource({
          token: config.token!,
          org: config.org,
          conductorUrl: config.conductorUrl,
          timeoutMs: config.timeoutMs,
          secrets: deps.secrets,
          clock: deps.clock,
          fetch: deps.fetch,
        }),
      };
    case "device-login":
      return openDeviceLogin({
        home: config.home,
        loginUrl: config.loginUrl,
        conductorUrl: config.conductorUrl,
        org: config.org,
        timeoutMs: config.timeoutMs,
        loginWaitMs: config.loginWaitMs,
        envRefreshToken: config.refreshToken,
        clock: deps.clock,
        fetch: deps.fetch,
        secrets: deps.secrets,
        warn: deps.log,
      });
  }
}
