/**
 * Chooses and opens the backend a configuration asks for: the DBOS system
 * database when one is configured (loaded lazily, so Conductor mode never
 * loads the DBOS SDK or the Postgres driver), DBOS Conductor otherwise, with
 * the credentials the caller opens for it (`src/auth/mod.ts`: device login,
 * `DBOS_TOKEN`, or none with `--no-auth`; only the device login has login
 * tools), so that `auth/` depends on this folder's token port and nothing
 * here points back up. In
 * read-only mode the backend is wrapped in the read-only wall, so a
 * mutation is refused here even if a tool or plugin asked for one.
 *
 * Adding a backend is a change to this file: a new branch in
 * {@linkcode openBackend}, nothing in the server.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { SecretSet } from "../core/secrets.ts";
import type { LoginService } from "../core/login_service.ts";
import type { TokenSource } from "./conductor/token_port.ts";
import type { Clock } from "../util/clock.ts";
import type { FetchLike } from "../util/http_client.ts";
import type { LogFn } from "../util/log.ts";
import type { WorkflowBackend } from "./backend.ts";
import { ConductorBackend } from "./conductor/client.ts";
import { lazyBackend } from "./lazy.ts";
import { readOnlyBackend } from "./read_only.ts";

/** What {@linkcode openBackend} needs besides the configuration. */
export interface BackendDeps {
  /** Records every secret the backend or the login sees, for scrubbing. */
  secrets: SecretSet;
  /** Where diagnostics go. */
  log: LogFn;
  /** Source of time and delays. */
  clock: Clock;
  /** `fetch` for every remote call. */
  fetch?: FetchLike;
  /** A backend built by the caller, used instead of one from the configuration (still wrapped when read-only). */
  backend?: WorkflowBackend;
  /** Opens the Conductor backend's credentials; called only in Conductor mode. */
  credentials: () => ConductorCredentials;
}

/** The credentials of the Conductor backend: its token source and, for the device login, the login. */
export interface ConductorCredentials {
  /** Gives out the token (or no token) of each request. */
  tokens: TokenSource;
  /** The login the login tools drive, when there is one. */
  login?: LoginService;
}

/** An opened backend and, where the backend has one, its login. */
export interface OpenedBackend {
  /** The backend the tools call (already behind the read-only wall in read-only mode). */
  backend: WorkflowBackend;
  /** The login the login tools drive, when the backend has one (Conductor with the device login). */
  login?: LoginService;
}

/** Whether the configuration names a system database (system-database mode). */
export function usesSystemDatabase(config: Pick<Config, "databaseUrl" | "apps">): boolean {
  return Boolean(config.databaseUrl) || config.apps.length > 0;
}

/**
 * Opens the backend of a completed configuration. Nothing is connected
 * yet: the system database is opened on the first call, and Conductor is
 * reached per call.
 *
 * @throws {ConfigError} from `deps.credentials` when the credentials are
 * misconfigured (an API key in `DBOS_TOKEN` without `--org`; both
 * `--no-auth` and `DBOS_TOKEN`).
 */
export function openBackend(config: Readonly<Config>, deps: BackendDeps): OpenedBackend {
  const opened = deps.backend ? { backend: deps.backend } : open(config, deps);
  return config.readOnly ? { ...opened, backend: readOnlyBackend(opened.backend) } : opened;
}

function open(config: Readonly<Config>, deps: BackendDeps): OpenedBackend {
  if (usesSystemDatabase(config)) {
    const backend = lazyBackend("sysdb", async () => {
      const { createSysdbBackend } = await import("./sysdb/backend.ts");
      return await createSysdbBackend(config, { readOnly: config.readOnly, log: deps.log, secrets: deps.secrets });
    });
    return { backend };
  }
  const { tokens, login } = deps.credentials();
  const backend = new ConductorBackend({
    baseUrl: config.conductorUrl,
    tokens,
    timeoutMs: config.timeoutMs,
    clock: deps.clock,
    fetch: deps.fetch,
  });
  return login ? { backend, login } : { backend };
}
