/**
 * The token source of a self-hosted Conductor without authentication
 * (`--no-auth`): no login and no `Authorization` header; the organization
 * is `local` unless `--org` says otherwise (such a Conductor serves only
 * `local`).
 *
 * @module
 */
import type { AccessGrant, RejectionOptions, TokenSource } from "../backends/conductor/token_port.ts";
import { NotLoggedInError } from "../core/errors.ts";

/** The organization of a Conductor without authentication. */
export const NO_AUTH_ORG = "local";

/** Credentials of a Conductor without authentication: none. */
export class NoAuthTokenSource implements TokenSource {
  readonly #grant: AccessGrant;

  /** Serves `org` (default {@linkcode NO_AUTH_ORG}). */
  constructor(org: string = NO_AUTH_ORG) {
    this.#grant = { token: null, organization: org };
  }

  /** A grant without a token: no `Authorization` header is sent. */
  getAccess(): Promise<AccessGrant> {
    return Promise.resolve({ ...this.#grant });
  }

  /** Conductor asked for credentials this server was told not to send: says so. */
  refreshAfterRejection(_rejectedToken: string | null, opts: RejectionOptions = {}): Promise<AccessGrant | null> {
    return Promise.reject(
      new NotLoggedInError(
        `DBOS Conductor refused a request without credentials (HTTP ${opts.status ?? 401}): this server runs with ` +
          "--no-auth (DBOS_MCP_NO_AUTH), which sends none, but this Conductor requires authentication.",
        {
          hint: "Restart without --no-auth: log in with the login tools, or set DBOS_TOKEN to an API key (with " +
            "--org).",
        },
      ),
    );
  }
}
