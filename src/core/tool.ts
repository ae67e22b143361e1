/**
 * A tool is a value: its name, what agents read about it, its input and
 * output schemas, its annotations, whether it mutates anything, its handler
 * and its text rendering. The server registers every tool the same way from
 * this data (see `server.ts`), and policy reads `mutates`.
 *
 * @module
 */
import type { WorkflowBackend } from "../backends/backend.ts";
import type { LoginService } from "./login_service.ts";

/** MCP tool annotations; `readOnlyHint` is always set explicitly. */
export interface ToolAnnotations {
  /** Human-readable title. */
  title: string;
  /** True when the tool changes nothing anywhere. */
  readOnlyHint: boolean;
  /** True when the tool may destroy or interrupt work. */
  destructiveHint?: boolean;
  /** True when calling it twice with the same arguments has no further effect. */
  idempotentHint?: boolean;
  /** True when the tool talks to systems outside this process. */
  openWorldHint?: boolean;
}

/** What a tool handler gets besides its arguments. */
export interface ToolContext {
  /** The workflow backend (Conductor or system database). */
  backend: WorkflowBackend;
  /** The login, when the server has one (Conductor mode with the device login). */
  login: LoginService | undefined;
  /** Aborted when the client cancels the call. */
  signal: AbortSignal;
  /** Answer budgets: each payload field, and the whole result (JSON plus text), in bytes. */
  limits: { maxFieldBytes: number; maxResultBytes: number };
  /**
   * Asks the user to confirm (MCP elicitation): `accept`, `decline`, or
   * `unsupported` when the client cannot ask or confirmations are off.
   */
  confirm(message: string): Promise<"accept" | "decline" | "unsupported">;
  /** Reports progress of a long call, when the client asked for it (a progress token); else does nothing. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

/** Per-call facilities of the client's session, given to handlers through {@linkcode ToolContext}. */
export type SessionFacilities = Pick<ToolContext, "confirm" | "progress">;

/** One problem found by a {@linkcode Schema}. */
export interface SchemaIssue {
  /** Kind of problem, e.g. `invalid_type`, `unrecognized_keys`. */
  code: string;
  /** Where in the value. */
  path: readonly PropertyKey[];
  /** What is wrong. */
  message: string;
  /** For `unrecognized_keys`: the unknown keys. */
  keys?: readonly string[];
}

/** The result of {@linkcode Schema.safeParse}. */
export type SchemaResult<T> =
  | { success: true; data: T }
  | { success: false; error: { issues: readonly SchemaIssue[] } };

/**
 * A schema of tool arguments or results. zod 4 schemas satisfy it (the
 * server turns them into JSON Schema for `tools/list`); it is described
 * structurally so the public API does not depend on zod's types.
 */
export interface Schema<T> {
  /** Checks `data`; on success returns it parsed (defaults applied). */
  safeParse(data: unknown): SchemaResult<T>;
}

/** A JSON object, as tools return in `structuredContent`. */
export type JsonObject = { [key: string]: unknown };

/**
 * The definition of one tool.
 *
 * @typeParam A The type of the (parsed) arguments.
 * @typeParam O The type of the structured result.
 */
// deno-lint-ignore no-explicit-any
export interface ToolDefinition<A = any, O extends JsonObject = JsonObject> {
  /** Name agents call it by (snake_case). */
  name: string;
  /** Description written for an agent: what it does, when to use it, what to call next. */
  description: string;
  /** Arguments: a strict zod object (its field descriptions are shown to agents). */
  input: Schema<A>;
  /** Shape of `structuredContent`: a zod object. */
  output: Schema<O>;
  /** MCP annotations. */
  annotations: ToolAnnotations;
  /** True when the tool changes workflows (policy hides these in read-only mode). */
  mutates: boolean;
  /** Which backends offer the tool; all when absent. */
  backends?: readonly WorkflowBackend["kind"][];
  /**
   * The tool drives the login ({@linkcode ToolContext.login}): it is offered
   * only when the server has one (Conductor mode with the device login, not
   * with `DBOS_TOKEN` or `--no-auth`).
   */
  needsLogin?: boolean;
  /** Does the work. Throw a `DbosMcpError` with a hint to fail. */
  handler(args: A, ctx: ToolContext): Promise<O>;
  /** A short, readable text rendering of the result. */
  render(result: O): string;
  /**
   * Shrinks a result that is over the answer budget (JSON plus text, in
   * bytes), keeping it valid: drop trailing items with a cursor and a note,
   * clip payloads with a marker. Without it, the server drops trailing items
   * of the result's largest array.
   */
  fit?(result: O, maxBytes: number, args: A): O;
}

/** What decides whether a server offers a tool: its backend, and whether it has a login. */
export interface ToolHostFacts {
  /** The backend in use. */
  backend: WorkflowBackend["kind"];
  /** Whether the server has a login service (the login tools' {@linkcode ToolContext.login}). */
  login: boolean;
}

/** Whether a server with `host`'s backend and login offers `tool` (its `backends` and `needsLogin`). */
export function isOffered(tool: Pick<ToolDefinition, "backends" | "needsLogin">, host: ToolHostFacts): boolean {
  if (tool.backends && !tool.backends.includes(host.backend)) return false;
  return !tool.needsLogin || host.login;
}

/**
 * Declares a tool, keeping the handler's argument type tied to its schema.
 *
 * @example A read-only tool
 * ```ts ignore
 * import { z } from "zod";
 * export const ping = defineTool({
 *   name: "ping",
 *   description: "Checks the server answers.",
 *   input: z.strictObject({}),
 *   output: z.object({ ok: z.boolean() }),
 *   annotations: { title: "Ping", readOnlyHint: true, openWorldHint: false },
 *   mutates: false,
 *   handler: () => Promise.resolve({ ok: true }),
 *   render: () => "ok",
 * });
 * ```
 */
export function defineTool<A, O extends JsonObject>(tool: ToolDefinition<A, O>): ToolDefinition<A, O> {
  return tool;
}
