/**
 * Typed errors. Every failure on the call path is one of these; the server
 * turns it into an `isError` tool result in one place (see `server.ts`), so
 * the message and the `hint` are all an agent has to act on: write them to
 * say what to do next.
 *
 * @module
 */

/** Machine-readable category of a {@linkcode DbosMcpError}. */
export type ErrorCode =
  | "NOT_LOGGED_IN"
  | "LOGIN_PENDING"
  | "LOGIN_EXPIRED"
  | "LOGIN_DENIED"
  | "NOT_FOUND"
  | "UPSTREAM"
  | "TIMEOUT"
  | "NETWORK"
  | "INVALID_ARGUMENT"
  | "PERMISSION"
  | "FORBIDDEN"
  | "CONFIG"
  | "POLICY"
  | "INTERNAL";

/** Options of {@linkcode DbosMcpError}. */
export interface DbosMcpErrorOptions {
  /** Category of the failure. */
  code: ErrorCode;
  /** What the agent (or user) should do next. */
  hint?: string;
  /** Whether the same call may succeed if simply tried again later. */
  retryable?: boolean;
  /** The underlying error. Never shown to the agent. */
  cause?: unknown;
}

/**
 * Base class of every error this server raises on purpose.
 *
 * @example Raising an error with a recovery hint
 * ```ts
 * import { DbosMcpError } from "./errors.ts";
 * const err = new DbosMcpError("Conductor is down", {
 *   code: "UPSTREAM",
 *   hint: "Try again in a minute.",
 *   retryable: true,
 * });
 * ```
 */
export class DbosMcpError extends Error {
  /** Category of the failure. */
  readonly code: ErrorCode;
  /** What to do next, if anything. */
  readonly hint: string | undefined;
  /** Whether trying again later may help. */
  readonly retryable: boolean;

  /** Creates an error with a code and an optional hint. */
  constructor(message: string, options: DbosMcpErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "DbosMcpError";
    this.code = options.code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
  }
}

/** The user is not logged in, or the login expired and could not be refreshed. */
export class NotLoggedInError extends DbosMcpError {
  /** Creates the error; the default hint tells the agent to call `login`. */
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, {
      code: "NOT_LOGGED_IN",
      hint: options.hint ??
        "Call the `login` tool, have the user open the URL it returns, then call `login_complete`.",
      cause: options.cause,
    });
    this.name = "NotLoggedInError";
  }
}

/** An application, workflow or other named thing does not exist. */
export class NotFoundError extends DbosMcpError {
  /** Creates the error. */
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { code: "NOT_FOUND", hint: options.hint, cause: options.cause });
    this.name = "NotFoundError";
  }
}

/** A remote service (Conductor, login, DBOS Cloud) failed or answered badly. */
export class UpstreamError extends DbosMcpError {
  /** HTTP status, when there was one. */
  readonly status: number | undefined;
  /** Creates the error. */
  constructor(
    message: string,
    options: {
      status?: number;
      code?: "UPSTREAM" | "TIMEOUT" | "NETWORK";
      hint?: string;
      retryable?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, {
      code: options.code ?? "UPSTREAM",
      hint: options.hint,
      retryable: options.retryable ?? true,
      cause: options.cause,
    });
    this.name = "UpstreamError";
    this.status = options.status;
  }
}

/** The arguments of a call are invalid. */
export class InvalidArgumentError extends DbosMcpError {
  /** Creates the error. */
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { code: "INVALID_ARGUMENT", hint: options.hint, cause: options.cause });
    this.name = "InvalidArgumentError";
  }
}

/**
 * The remote service refused the credentials in use the permission for an
 * operation (HTTP 403): an API key scoped to other applications or to reads
 * only, a role without the permission, or an organization over its plan.
 */
export class AccessDeniedError extends DbosMcpError {
  /** The permission that was missing, when it can be inferred (e.g. `application.write`). */
  readonly permission: string | undefined;
  /** Creates the error. */
  constructor(message: string, options: { permission?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { code: "FORBIDDEN", hint: options.hint, cause: options.cause });
    this.name = "AccessDeniedError";
    this.permission = options.permission;
  }
}

/** Deno refused an operation because a permission flag is missing. */
export class MissingPermissionError extends DbosMcpError {
  /** The flag that would allow the operation, e.g. `--allow-net=login.dbos.dev`. */
  readonly flag: string;
  /** Creates the error. */
  constructor(what: string, flag: string, options: { cause?: unknown } = {}) {
    super(`Deno did not allow ${what}.`, {
      code: "PERMISSION",
      hint: `Restart the server with ${flag} (see the permissions table in the README).`,
      cause: options.cause,
    });
    this.name = "MissingPermissionError";
    this.flag = flag;
  }
}

/** The configuration (flags, environment, config file) is invalid. */
export class ConfigError extends DbosMcpError {
  /** Creates the error. */
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { code: "CONFIG", hint: options.hint, cause: options.cause });
    this.name = "ConfigError";
  }
}

/** Returns true when `err` is Deno's "permission not granted" error. */
export function isNotCapable(err: unknown): boolean {
  return err instanceof Deno.errors.NotCapable || (err instanceof Error && err.name === "NotCapable");
}

/**
 * The message of an unknown thrown value: an `Error`'s `message`, else the
 * value as a string. The one way to quote a caught error; scrub the result
 * (see `secrets.ts`) before it leaves the process.
 *
 * @example
 * ```ts
 * import { errorMessage } from "./errors.ts";
 * errorMessage(new Error("boom")); // "boom"
 * errorMessage("plain"); // "plain"
 * ```
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}
