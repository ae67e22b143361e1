// Turns what Postgres, the `pg` driver and the DBOS client throw into
// errors an agent can act on: the database is unreachable, the login was
// refused, the DBOS schema is missing or too old, a statement timed out, the
// connection is read-only. Messages name the application and the database
// as host:port/name, never with a password.
import { DbosMcpError, errorMessage, isNotCapable, UpstreamError } from "../../core/errors.ts";
import type { Scrubber } from "../../core/secrets.ts";

/** Why a system database cannot serve, in a few words (shown by list_applications). */
export type UnavailableKind =
  | "unreachable"
  | "auth_failed"
  | "no_database"
  | "no_schema"
  | "schema_version"
  | "permission"
  | "timeout"
  | "read_only"
  | "error";

/** A system database answered with an error, or could not be reached. */
export class SystemDatabaseError extends UpstreamError {
  /** Postgres SQLSTATE, when Postgres answered. */
  readonly sqlState: string | undefined;
  /** The category, for list_applications. */
  readonly kind: UnavailableKind;
  /** A short reason such as "unreachable: connection refused". */
  readonly reason: string;

  /** Creates the error. */
  constructor(
    message: string,
    options: {
      kind: UnavailableKind;
      reason: string;
      sqlState?: string;
      code?: "UPSTREAM" | "TIMEOUT" | "NETWORK";
      retryable?: boolean;
      hint?: string;
      cause?: unknown;
    },
  ) {
    super(message, {
      code: options.code ?? "UPSTREAM",
      retryable: options.retryable ?? false,
      hint: options.hint,
      cause: options.cause,
    });
    this.name = "SystemDatabaseError";
    this.sqlState = options.sqlState;
    this.kind = options.kind;
    this.reason = options.reason;
  }
}

/** How to name one system database in messages. */
export interface DatabaseLabel {
  /** The application it serves. */
  app: string;
  /** `host:port/database`, without credentials. */
  where: string;
  /** The login user, if the URL names one. */
  user: string | undefined;
  /** The database name. */
  database: string;
  /** The DBOS system schema. */
  schema: string;
  /** The statement timeout in milliseconds, for the timeout message. */
  statementTimeoutMs: number;
  /** The schema version, once a probe found one this server serves. */
  schemaVersion?: number;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
};

/** Reads the SQLSTATE or system error code of `err` (looking inside an AggregateError too). */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && code !== "") return code;
  const inner = (err as { errors?: unknown }).errors;
  if (Array.isArray(inner)) {
    for (const e of inner) {
      const c = errorCode(e);
      if (c) return c;
    }
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause && cause !== err ? errorCode(cause) : undefined;
}

/**
 * The error to throw for `err`, raised while doing `what` (e.g. "list
 * workflows") against the database of `label`. Permission errors from Deno
 * and this server's own errors pass through unchanged; the driver's message
 * is scrubbed by `secrets` (which knows the database passwords) before it is
 * quoted.
 */
export function describeDatabaseError(
  err: unknown,
  label: DatabaseLabel,
  what: string,
  secrets: Scrubber,
  mutates = false,
): unknown {
  if (err instanceof DbosMcpError || isNotCapable(err)) return err;
  const code = errorCode(err);
  const raw = secrets.scrub(errorMessage(err));
  const name = err instanceof Error ? err.name : "";
  const db = `the system database of application '${label.app}' (${label.where})`;
  const retryNote = mutates
    ? "The change may or may not have been made: check the workflow with get_workflow before trying again."
    : "The server keeps running: the next call tries again.";

  const network = code ? NETWORK_CODES[code] : undefined;
  const lost = /Connection terminated|timeout exceeded when trying to connect|connection timeout/i.test(raw);
  if (network || lost || code === "57P01" || code === "57P03" || code === "53300") {
    const detail = network ??
      (code === "57P03"
        ? "the server is starting up or shutting down"
        : code === "57P01"
        ? "the server shut the connection down"
        : code === "53300"
        ? "too many connections"
        : /timeout/i.test(raw)
        ? "connection timed out"
        : "connection lost");
    return new SystemDatabaseError(`Cannot ${what}: ${db} is unreachable (${detail}).`, {
      kind: "unreachable",
      reason: `unreachable: ${detail}`,
      code: "NETWORK",
      sqlState: code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined,
      retryable: true,
      hint: `Check that PostgreSQL is running at ${label.where} and accepts connections. ${retryNote}`,
      cause: err,
    });
  }
  if (code === "28P01" || code === "28000") {
    const who = label.user ? `user '${label.user}'` : "the user";
    return new SystemDatabaseError(`Cannot ${what}: PostgreSQL refused the login of ${who} to ${db}.`, {
      kind: "auth_failed",
      reason: `authentication failed for ${who}`,
      sqlState: code,
      hint: "Fix the user or password in the URL given to --app / --database-url, then restart the server.",
      cause: err,
    });
  }
  if (code === "3D000") {
    return new SystemDatabaseError(`Cannot ${what}: the database '${label.database}' of ${db} does not exist.`, {
      kind: "no_database",
      reason: `database '${label.database}' does not exist`,
      sqlState: code,
      hint: "Check the database name in the URL; DBOS creates it when the application first launches.",
      cause: err,
    });
  }
  // On a schema that was found (and is older than the client's), a missing table is one a later migration adds.
  if ((code === "42P01" && label.schemaVersion === undefined) || code === "3F000") {
    return noSchemaError(label, what, err);
  }
  if (code === "42703" || code === "42P01") {
    const at = label.schemaVersion === undefined ? "" : ` (at schema version ${label.schemaVersion})`;
    return new SystemDatabaseError(
      `Cannot ${what}: the DBOS schema '${label.schema}' of ${db}${at} lacks a ` +
        `${code === "42P01" ? "table" : "column"} this server's DBOS client needs for it (${raw}). ` +
        `The other tools keep working.`,
      {
        kind: "schema_version",
        reason: "schema version not readable by this client",
        sqlState: code,
        hint: "Call list_applications to see the schema version; upgrade the application's DBOS SDK " +
          "(it migrates the schema on launch) or migrate the schema with a current DBOS CLI: " +
          "`npx -y -p @dbos-inc/dbos-sdk@latest dbos schema <url>`.",
        cause: err,
      },
    );
  }
  if (code === "57014" || name === "DBOSQueryTimeoutError") {
    return new SystemDatabaseError(
      `Cannot ${what}: ${db} did not answer within ${label.statementTimeoutMs} ms (statement timeout).`,
      {
        kind: "timeout",
        reason: "statement timeout",
        code: "TIMEOUT",
        sqlState: code,
        retryable: true,
        hint: mutates ? retryNote : "Narrow the query (a status, a time range, a smaller limit or offset), or " +
          "restart the server with a larger --statement-timeout.",
        cause: err,
      },
    );
  }
  if (code === "25006") {
    return new SystemDatabaseError(`Cannot ${what}: the connection to ${db} is read-only.`, {
      kind: "read_only",
      reason: "read-only connection",
      sqlState: code,
      hint: "This server opens the database read-only (--read-only); use a server without it to change workflows.",
      cause: err,
    });
  }
  if (code === "42501") {
    const who = label.user ? `user '${label.user}'` : "the database user";
    return new SystemDatabaseError(`Cannot ${what}: ${who} may not use the DBOS schema '${label.schema}' of ${db}.`, {
      kind: "permission",
      reason: `${who} lacks privileges on schema '${label.schema}'`,
      sqlState: code,
      hint: `Grant the user access (e.g. \`npx dbos schema <url> -r <role>\`), or connect as the schema's owner.`,
      cause: err,
    });
  }
  return new SystemDatabaseError(`Cannot ${what}: ${db} answered with an error: ${raw.split("\n")[0].slice(0, 300)}`, {
    kind: "error",
    reason: `error: ${raw.split("\n")[0].slice(0, 200)}`,
    sqlState: code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined,
    retryable: false,
    hint: "Check the arguments; if the error persists, check the database's logs.",
    cause: err,
  });
}

/** The error for a database without the DBOS schema. */
export function noSchemaError(label: DatabaseLabel, what: string, cause?: unknown): SystemDatabaseError {
  return new SystemDatabaseError(
    `Cannot ${what}: the database '${label.database}' (${label.where}) of application '${label.app}' has no DBOS ` +
      `schema '${label.schema}'.`,
    {
      kind: "no_schema",
      reason: `no DBOS schema '${label.schema}' in database '${label.database}'`,
      hint: "Point the URL at the application's DBOS system database (the application creates the schema when it " +
        "launches, or run `npx dbos schema <url>`), or pass --schema if it uses another schema name.",
      cause,
    },
  );
}
