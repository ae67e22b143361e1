/**
 * Assembles the MCP server: the backend, the login, the tool list and the
 * one pipeline every tool call goes through (argument validation, the
 * handler, result shaping, and the only try/catch of the call path, which
 * turns every failure into an `isError` result the agent can act on).
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/index"
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/shared/transport"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { z } from "zod";
import { type Config, defaultHome, DEFAULTS } from "./config.ts";
import { ConductorBackend } from "./backends/conductor.ts";
import type { WorkflowBackend } from "./backends/backend.ts";
import { AuthSession } from "./auth/session.ts";
import type { LoginService } from "./auth/login_service.ts";
import { type Clock, systemClock } from "./clock.ts";
import { ConfigError, DbosMcpError, isNotCapable, MissingPermissionError } from "./errors.ts";
import type { FetchLike } from "./http.ts";
import { type LogFn, stderrLogger } from "./log.ts";
import { SecretSet } from "./secrets.ts";
import type { JsonObject, SchemaIssue, ToolContext, ToolDefinition } from "./tool.ts";
import { BUILTIN_TOOLS } from "./tools/mod.ts";
import { NAME, VERSION } from "./version.ts";

/** Instructions sent to the client at initialization. */
export const INSTRUCTIONS: string = [
  "Inspect and manage DBOS durable workflows.",
  "Start with list_applications. If a tool says the login is missing or expired, call login, show the user " +
  "the URL it returns, then call login_complete.",
  "Workflow operations (list_workflows, get_workflow, list_steps, cancel/resume/fork) only work for " +
  "applications whose status is AVAILABLE.",
  "cancel_workflow, resume_workflow and fork_workflow change production state: confirm with the user first.",
].join("\n");

/** Options of {@linkcode createServer}. */
export interface CreateServerOptions {
  /** Configuration; missing fields take their defaults. */
  config?: Partial<Config>;
  /** Use this backend instead of building one from the configuration. */
  backend?: WorkflowBackend;
  /** `fetch` used for every remote call (tests, proxies). */
  fetch?: FetchLike;
  /** Clock for waits and backoff. */
  clock?: Clock;
  /** Where diagnostics go (default: stderr). */
  log?: LogFn;
}

/**
 * A transport of the MCP SDK (stdio, in-memory, Streamable HTTP), described
 * structurally so the public API does not depend on the SDK's types.
 */
export interface McpTransport {
  /** Starts receiving messages. */
  start(): Promise<void>;
  /** Sends one JSON-RPC message. */
  // deno-lint-ignore no-explicit-any
  send(message: any, options?: any): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
  /** Called when the connection closes. */
  onclose?: () => void;
  /** Called on a transport error. */
  onerror?: (error: Error) => void;
  /** Called for each message received. */
  // deno-lint-ignore no-explicit-any
  onmessage?: (message: any, extra?: any) => void;
  /** Session id, for transports that have one. */
  sessionId?: string;
}

/** A configured MCP server, ready to connect to a transport. */
export interface DbosMcpServer {
  /** The tools this server offers. */
  readonly tools: readonly ToolDefinition[];
  /** The backend in use. */
  readonly backend: WorkflowBackend;
  /** Resolves once no tool call is in flight, or after `maxWaitMs`. */
  idle(maxWaitMs: number): Promise<void>;
  /** Connects to a transport (stdio, in-memory, HTTP) and starts serving. */
  connect(transport: McpTransport): Promise<void>;
  /** Stops serving and releases the backend. */
  close(): Promise<void>;
}

/**
 * Builds a DBOS MCP server from a configuration.
 *
 * @example Serving over stdio
 * ```ts ignore
 * import { createServer } from "jsr:@x/dbos-mcp";
 * // @ts-types="@modelcontextprotocol/sdk/server/stdio"
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
 *
 * const server = createServer({ config: { timeoutMs: 10_000 } });
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createServer(options: CreateServerOptions = {}): DbosMcpServer {
  const config: Config = {
    ...DEFAULTS,
    home: undefined,
    refreshToken: undefined,
    ...options.config,
  };
  if (config.home === undefined && !options.config?.home) config.home = defaultHome();
  const secrets = new SecretSet();
  secrets.add(config.refreshToken);
  const log = options.log ?? stderrLogger(secrets);
  const clock = options.clock ?? systemClock;

  let login: (LoginService & AuthSession) | undefined;
  let backend = options.backend;
  if (!backend) {
    const session = new AuthSession({
      home: config.home ?? missingHome(),
      loginUrl: config.loginUrl,
      cloudUrl: config.cloudUrl,
      timeoutMs: config.timeoutMs,
      loginWaitMs: config.loginWaitMs,
      envRefreshToken: config.refreshToken,
      clock,
      fetch: options.fetch,
      secrets,
      warn: log,
    });
    login = session;
    backend = new ConductorBackend({
      baseUrl: config.conductorUrl,
      tokens: session,
      timeoutMs: config.timeoutMs,
      clock,
      fetch: options.fetch,
    });
  }
  const activeBackend = backend;
  const tools = BUILTIN_TOOLS.filter((t) => !t.backends || t.backends.includes(activeBackend.kind));
  const byName = new Map(tools.map((t) => [t.name, t]));

  const server = new Server({ name: NAME, version: VERSION }, {
    capabilities: { tools: {} },
    instructions: INSTRUCTIONS,
  });

  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const listed: Tool[] = tools.map(describeTool);
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listed }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool '${String(request.params.name).slice(0, 100)}'. Available tools: ${
          tools.map((t) => t.name).join(", ")
        }.`,
      );
    }
    const ctx: ToolContext = { backend: activeBackend, login, signal: extra.signal };
    inFlight++;
    try {
      return await runTool(tool, request.params.arguments, ctx, secrets, log);
    } finally {
      if (--inFlight === 0) onIdle?.();
    }
  });

  return {
    tools,
    backend: activeBackend,
    idle: async (maxWaitMs) => {
      // Let requests already read from the transport reach their handlers first.
      await new Promise((r) => setTimeout(r, 0));
      if (inFlight === 0) return;
      const idle = new Promise<void>((resolve) => (onIdle = resolve));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)));
      await Promise.race([idle, timeout]);
      clearTimeout(timer);
    },
    connect: (transport) => server.connect(transport as Transport),
    close: async () => {
      await server.close();
      await activeBackend.close();
    },
  };
}

function missingHome(): never {
  throw new MissingPermissionError(
    "reading HOME to find ~/.dbos-mcp",
    "--allow-env=HOME (or pass --home DIR)",
  );
}

/** The `tools/list` entry of a tool: JSON Schemas from its zod schemas, and its annotations. */
export function describeTool(tool: ToolDefinition): Tool {
  return {
    name: tool.name,
    title: tool.annotations.title,
    description: tool.description,
    inputSchema: jsonSchema(tool.input as unknown as z.ZodType, "input") as Tool["inputSchema"],
    outputSchema: jsonSchema(tool.output as unknown as z.ZodType, "output") as Tool["outputSchema"],
    annotations: { ...tool.annotations },
  };
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** The call pipeline: validate, run, shape; every failure becomes an `isError` result. */
async function runTool(
  tool: ToolDefinition,
  rawArgs: unknown,
  ctx: ToolContext,
  secrets: SecretSet,
  log: LogFn,
): Promise<CallToolResult> {
  const parsed = tool.input.safeParse(rawArgs ?? {});
  if (!parsed.success) {
    return errorResult(
      secrets,
      `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}`,
      "Fix the arguments (see the tool's input schema) and call again.",
    );
  }
  try {
    const raw: JsonObject = await tool.handler(parsed.data, ctx);
    // What the client receives always matches the advertised output schema.
    const checked = tool.output.safeParse(raw);
    if (!checked.success) {
      return errorResult(
        secrets,
        `${tool.name} got an answer it cannot present: ${describeIssues(checked.error)}.`,
        "The backend answered in an unexpected shape; check that --conductor-url points at DBOS Conductor.",
      );
    }
    const text = secrets.scrub(tool.render(checked.data));
    return { content: [{ type: "text", text }], structuredContent: checked.data };
  } catch (err) {
    return failure(tool, err, secrets, log);
  }
}

function failure(tool: ToolDefinition, err: unknown, secrets: SecretSet, log: LogFn): CallToolResult {
  if (err instanceof DbosMcpError) return errorResult(secrets, err.message, err.hint);
  if (isNotCapable(err)) {
    const flag = permissionFlag((err as Error).message);
    const e = new MissingPermissionError(`an operation needed by ${tool.name}`, flag, { cause: err });
    return errorResult(secrets, e.message, e.hint);
  }
  if (err instanceof ConfigError) return errorResult(secrets, err.message, err.hint);
  log(`internal error in ${tool.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return errorResult(
    secrets,
    `Internal error in ${tool.name}: ${message.slice(0, 300)}`,
    "This is a bug in dbos-mcp; try again, and report it if it persists.",
  );
}

/** Maps Deno's "Requires net access to "x", run again with the --allow-net flag" to a flag. */
function permissionFlag(message: string): string {
  const m = message.match(/Requires (\w+) access to "?([^",]+)"?/);
  if (!m) return "the missing --allow-* flag";
  return `--allow-${m[1]}=${m[2]}`;
}

function errorResult(secrets: SecretSet, message: string, hint?: string): CallToolResult {
  const text = secrets.scrub(hint ? `${message}\n${hint}` : message);
  return { content: [{ type: "text", text }], isError: true };
}

function describeIssues(error: { issues: readonly SchemaIssue[] }): string {
  return error.issues.slice(0, 10).map((i) => {
    const path = i.path.length ? i.path.map(String).join(".") : "(arguments)";
    if (i.code === "unrecognized_keys" && i.keys) {
      return `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(", ")}`;
    }
    return `${path}: ${i.message}`;
  }).join("; ");
}
