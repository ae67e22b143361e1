/**
 * Assembles the MCP server: the backend (Conductor or system database, read-only
 * wrapped in read-only mode), the login, the plugins, the tool list, and the
 * one pipeline every call goes through (see `pipeline.ts`).
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
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/shared/transport"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { z } from "zod";
import { type Config, defaultHome, DEFAULTS } from "./config.ts";
import { ConductorBackend } from "./backends/conductor.ts";
import { LazyBackend } from "./backends/lazy.ts";
import { ReadOnlyBackend } from "./backends/read_only.ts";
import type { WorkflowBackend } from "./backends/backend.ts";
import { AuthSession } from "./auth/session.ts";
import type { LoginService } from "./auth/login_service.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { FetchLike } from "./http.ts";
import { type LogFn, stderrLogger } from "./log.ts";
import { SecretSet } from "./secrets.ts";
import type { SessionFacilities, ToolDefinition } from "./tool.ts";
import { CallPipeline } from "./pipeline.ts";
import type { Plugin, PluginHost } from "./plugin.ts";
import { checkShape, loadPlugin, PluginLoadError } from "./plugins.ts";
import { PROMPTS, RESOURCE_TEMPLATES, resourceCall, resourceContents, RESOURCES } from "./resources.ts";
import { BUILTIN_TOOLS } from "./tools/mod.ts";
import { NAME, VERSION } from "./version.ts";

/**
 * Instructions sent to the client at initialization, for the backend in use
 * and the policy in force.
 */
export function instructions(kind: WorkflowBackend["kind"], readOnly: boolean): string {
  return [
    "Inspect and manage DBOS durable workflows.",
    kind === "conductor"
      ? "Start with list_applications. If a tool says the login is missing or expired, call login, show the " +
        "user the URL it returns, then call login_complete."
      : "Start with list_applications (this server reads each application's DBOS system database directly; no " +
        "login is needed).",
    "Workflow operations (list_workflows, get_workflow, list_steps, cancel/resume/fork) only work for " +
    "applications whose status is AVAILABLE.",
    "For 'what failed and why', call summarize_workflows first, then get_workflow with include_steps: true.",
    readOnly
      ? "This server is read-only: it cannot cancel, resume or fork workflows."
      : "cancel_workflow, resume_workflow and fork_workflow change production state: confirm with the user first.",
  ].join("\n");
}

/** The instructions of a Conductor-mode server that may change workflows. */
export const INSTRUCTIONS: string = instructions("conductor", false);

/** Options of {@linkcode createServer}. */
export interface CreateServerOptions {
  /** Configuration; missing fields take their defaults. */
  config?: Partial<Config>;
  /** Use this backend instead of building one from the configuration. */
  backend?: WorkflowBackend;
  /** Plugins already built, loaded after those named in `config.plugins`. */
  plugins?: Plugin[];
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
  /** The configuration in force. */
  readonly config: Readonly<Config>;
  /** Every tool, built-in and from plugins (listed or not, depending on policy). */
  readonly tools: readonly ToolDefinition[];
  /** The backend in use (read-only wrapped in read-only mode). */
  readonly backend: WorkflowBackend;
  /** The loaded plugins, in order. */
  readonly plugins: readonly Plugin[];
  /** Resolves once no tool call is in flight, or after `maxWaitMs`. */
  idle(maxWaitMs: number): Promise<void>;
  /** Connects to a transport (stdio, in-memory, HTTP) and starts serving. */
  connect(transport: McpTransport): Promise<void>;
  /** Stops serving, closes the plugins (flushing the audit log) and releases the backend. */
  close(): Promise<void>;
}

/**
 * Builds a DBOS MCP server from a configuration: picks the backend
 * (Conductor, or the system database when one is configured), loads the
 * plugins and applies the tool policy.
 *
 * @throws {PluginLoadError} when a plugin cannot be loaded or set up.
 *
 * @example Serving over stdio
 * ```ts ignore
 * import { createServer } from "jsr:@x/dbos-mcp";
 * // @ts-types="@modelcontextprotocol/sdk/server/stdio"
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
 *
 * const server = await createServer({ config: { timeoutMs: 10_000, readOnly: true } });
 * await server.connect(new StdioServerTransport());
 * ```
 */
export async function createServer(options: CreateServerOptions = {}): Promise<DbosMcpServer> {
  const config: Config = { ...structuredClone(DEFAULTS), home: undefined, ...options.config };
  config.home ??= defaultHome();
  const secrets = new SecretSet();
  secrets.add(config.refreshToken);
  const log = options.log ?? stderrLogger(secrets);
  const clock = options.clock ?? systemClock;

  let login: (LoginService & AuthSession) | undefined;
  let backend = options.backend;
  if (!backend && (config.databaseUrl || config.apps.length > 0)) {
    // System-database mode: the DBOS SDK loads on the first call, not at start-up.
    backend = new LazyBackend("sysdb", async () => {
      const { createSysdbBackend } = await import("./backends/sysdb.ts");
      return await createSysdbBackend(config, { readOnly: config.readOnly, log });
    });
  }
  if (!backend) {
    const session = new AuthSession({
      home: config.home,
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
  const activeBackend = config.readOnly ? new ReadOnlyBackend(backend) : backend;

  const host: PluginHost = Object.freeze({ config, readOnly: config.readOnly, backend: activeBackend, log });
  const plugins: Plugin[] = [];
  const tools: ToolDefinition[] = BUILTIN_TOOLS.filter((t) => !t.backends || t.backends.includes(activeBackend.kind));
  const owners = new Map<string, string>();
  try {
    for (const spec of config.plugins) {
      plugins.push(await loadPlugin(spec, config.pluginOptions[spec] ?? {}, host));
    }
    for (const plugin of options.plugins ?? []) {
      checkShape(plugin?.name ?? "(unnamed)", plugin);
      await plugin.setup?.(host);
      plugins.push(plugin);
    }
    for (const plugin of plugins) {
      for (const tool of plugin.tools ?? []) {
        owners.set(tool.name, plugin.name);
        if (tools.some((t) => t.name === tool.name)) {
          throw new PluginLoadError(plugin.name, `its tool '${tool.name}' has the name of another tool`);
        }
        tools.push(tool);
      }
    }
  } catch (err) {
    await Promise.allSettled(plugins.map((p) => p.close?.()));
    throw err;
  }

  let toolBackend: WorkflowBackend = activeBackend;
  for (const plugin of plugins) if (plugin.wrapBackend) toolBackend = plugin.wrapBackend(toolBackend);

  const pipeline = new CallPipeline({
    tools: new Map(tools.map((t) => [t.name, t])),
    owners,
    policy: { readOnly: config.readOnly, tools: config.tools, excludeTools: config.excludeTools },
    plugins,
    context: (signal, facilities) => ({
      ...facilities,
      backend: toolBackend,
      login,
      signal,
      limits: { maxFieldBytes: config.maxFieldBytes, maxResultBytes: config.maxResultBytes },
    }),
    secrets,
    log,
    maxResultBytes: config.maxResultBytes,
  });
  const listed: Tool[] = pipeline.listable().map(describeTool);

  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await work();
    } finally {
      if (--inFlight === 0) onIdle?.();
    }
  };

  /** One MCP session: an SDK server bound to the shared pipeline. */
  const openSession = (): Server => {
    const server = new Server({ name: NAME, version: VERSION }, {
      capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} },
      instructions: instructions(activeBackend.kind, config.readOnly),
    });
    const sessionId = crypto.randomUUID();
    const session = () => ({ id: sessionId, client: server.getClientVersion() });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listed }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra): Promise<CallToolResult> =>
      track(async () => {
        const progressToken = request.params._meta?.progressToken;
        const facilities: SessionFacilities = {
          confirm: (message) => confirmWith(server, message, config.noConfirm),
          progress: async (progress, total, message) => {
            if (progressToken === undefined) return;
            await extra.sendNotification({
              method: "notifications/progress",
              params: {
                progressToken,
                progress,
                ...(total !== undefined ? { total } : {}),
                ...(message ? { message } : {}),
              },
            }).catch(() => {});
          },
        };
        const answer = await pipeline.call(
          request.params.name,
          request.params.arguments,
          extra.signal,
          session(),
          facilities,
        );
        if (answer.kind === "unknown-tool") throw new McpError(ErrorCode.InvalidParams, answer.message);
        return answer.result as CallToolResult;
      }));
    server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: RESOURCES }));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: RESOURCE_TEMPLATES }));
    server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
      track(async () => {
        const uri = request.params.uri;
        const call = resourceCall(uri);
        if (!call) {
          throw new McpError(
            ErrorCode.InvalidParams,
            `Unknown resource '${
              uri.slice(0, 200)
            }': use dbos://applications or dbos://applications/{app}/workflows/{id}.`,
          );
        }
        const read = resourceContents(uri, await pipeline.call(call.tool, call.args, extra.signal, session()));
        if (!read.ok) throw new McpError(ErrorCode.InvalidParams, read.message);
        return { contents: read.contents };
      }));
    server.setRequestHandler(ListPromptsRequestSchema, () => ({
      prompts: PROMPTS.map(({ name, title, description, arguments: args }) => ({
        name,
        title,
        description,
        arguments: args,
      })),
    }));
    server.setRequestHandler(GetPromptRequestSchema, (request) => {
      const prompt = PROMPTS.find((p) => p.name === request.params.name);
      if (!prompt) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown prompt '${String(request.params.name).slice(0, 100)}'; prompts: ${
            PROMPTS.map((p) => p.name).join(", ")
          }.`,
        );
      }
      const args = request.params.arguments ?? {};
      for (const a of prompt.arguments) {
        if (a.required && !args[a.name]) {
          throw new McpError(ErrorCode.InvalidParams, `Prompt ${prompt.name} needs the argument '${a.name}'.`);
        }
      }
      return {
        description: prompt.description,
        messages: [{ role: "user" as const, content: { type: "text" as const, text: prompt.render(args) } }],
      };
    });
    return server;
  };
  const sessions = new Set<Server>();

  let closing: Promise<void> | undefined;
  return {
    config,
    tools,
    backend: activeBackend,
    plugins,
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
    connect: async (transport) => {
      const server = openSession();
      sessions.add(server);
      server.onclose = () => sessions.delete(server);
      await server.connect(transport as Transport);
    },
    close: () =>
      closing ??= (async () => {
        await Promise.allSettled([...sessions].map((s) => s.close()));
        for (const plugin of plugins) {
          try {
            await plugin.close?.();
          } catch (err) {
            log(`plugin '${plugin.name}' failed to close: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
        await activeBackend.close();
      })(),
  };
}

/** Asks the client's user to confirm, when the client can (elicitation) and confirmations are on. */
async function confirmWith(
  server: Server,
  message: string,
  off: boolean,
): Promise<"accept" | "decline" | "unsupported"> {
  if (off || !server.getClientCapabilities()?.elicitation) return "unsupported";
  const answer = await server.elicitInput({
    message,
    requestedSchema: {
      type: "object",
      properties: { confirm: { type: "boolean", title: "Confirm", description: "Go ahead with this change?" } },
      required: ["confirm"],
    },
  });
  return answer.action === "accept" && answer.content?.confirm === true ? "accept" : "decline";
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
