/**
 * Assembles the MCP server, a short composition: complete the configuration,
 * open the backend (`backends/mod.ts`), load the plugins
 * (`plugin_host/loader.ts`), build the one pipeline every call goes through
 * (`core/pipeline.ts`), and bind each MCP session to it (`mcp/session.ts`).
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/index"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/shared/transport"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { completeConfig, type Config } from "./config/mod.ts";
import { openBackend } from "./backends/mod.ts";
import { openCredentials } from "./auth/mod.ts";
import type { WorkflowBackend } from "./backends/backend.ts";
import { type Clock, systemClock } from "./util/clock.ts";
import type { FetchLike } from "./util/http_client.ts";
import { type LogFn, stderrLogger } from "./util/log.ts";
import { SecretSet, urlPassword } from "./core/secrets.ts";
import { errorMessage } from "./core/errors.ts";
import { isOffered, type ToolDefinition } from "./core/tool.ts";
import { CallPipeline } from "./core/pipeline.ts";
import type { Plugin, PluginHost } from "./plugin_host/contract.ts";
import { loadPlugins } from "./plugin_host/loader.ts";
import { BUILTIN_TOOLS } from "./tools/mod.ts";
import { describeTool } from "./mcp/describe.ts";
import { instructions } from "./mcp/instructions.ts";
import { bindSession, plainErrorMessages } from "./mcp/session.ts";

export { INSTRUCTIONS } from "./mcp/instructions.ts";

/** Options of {@linkcode createServer}. */
export interface CreateServerOptions {
  /**
   * Configuration, completed exactly as the command line's: missing fields
   * take their defaults, values are checked, `auditLog` loads the audit
   * plugin and `production` means read-only, redaction and a required audit
   * (see {@linkcode completeConfig}).
   */
  config?: Partial<Config>;
  /** Use this backend instead of building one from the configuration. */
  backend?: WorkflowBackend;
  /** Plugins already built, loaded after those named in `config.plugins`. */
  plugins?: Plugin[];
  /** `fetch` used for every remote call (tests, proxies). */
  fetch?: FetchLike;
  /** Clock for waits and backoff. */
  clock?: Clock;
  /** Where diagnostics go (default: stderr); every line is scrubbed of known secrets first. */
  log?: LogFn;
  /**
   * The secrets this server scrubs from everything it writes out (results,
   * errors, diagnostics, audit records); the configuration's secrets are
   * added to it. Pass one to scrub the caller's own messages with it too.
   *
   * @default {a new SecretSet}
   */
  secrets?: SecretSet;
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
 * @throws {ConfigError} when the configuration is invalid, e.g. `production` without `auditLog`.
 * @throws {PluginLoadError} when a plugin cannot be loaded or set up.
 * @throws {ConfigError} when the credentials are misconfigured (e.g. an API
 * key in `DBOS_TOKEN` without `--org`).
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
  const config = completeConfig(options.config);
  const secrets = options.secrets ?? new SecretSet();
  secrets.add(config.refreshToken);
  secrets.add(config.httpToken);
  secrets.add(config.token);
  for (const url of [config.databaseUrl, ...config.apps.map((a) => a.url)]) secrets.add(urlPassword(url));
  // Every diagnostic line is scrubbed of known secrets, then goes through the plugins' redactText (once they
  // are loaded), then to the sink.
  const textFilters: ((text: string) => string)[] = [];
  const given = options.log;
  const sink: LogFn = given ? (message) => given(secrets.scrub(message)) : stderrLogger(secrets);
  const log: LogFn = (message) => sink(filterText(message, textFilters));
  const clock = options.clock ?? systemClock;

  const { backend, login } = openBackend(config, {
    secrets,
    log,
    clock,
    fetch: options.fetch,
    backend: options.backend,
    credentials: () => openCredentials(config, { secrets, log, clock, fetch: options.fetch }),
  });
  const host: PluginHost = Object.freeze({ config, readOnly: config.readOnly, backend, log, secrets });
  const builtins = BUILTIN_TOOLS.filter((t) => isOffered(t, { backend: backend.kind, login: login !== undefined }));
  const loaded = await loadPlugins(
    config.plugins,
    config.pluginOptions,
    options.plugins ?? [],
    host,
    new Set(builtins.map((t) => t.name)),
  );
  const { plugins } = loaded;
  for (const plugin of plugins) if (plugin.redactText) textFilters.push(plugin.redactText.bind(plugin));
  const tools: ToolDefinition[] = [...builtins, ...loaded.tools];

  let toolBackend: WorkflowBackend = backend;
  for (const plugin of plugins) if (plugin.wrapBackend) toolBackend = plugin.wrapBackend(toolBackend);

  const pipeline = new CallPipeline({
    tools: new Map(tools.map((t) => [t.name, t])),
    owners: loaded.owners,
    policy: {
      readOnly: config.readOnly,
      tools: config.tools,
      excludeTools: config.excludeTools,
      toolsets: config.toolsets,
    },
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
    private: config.private,
  });

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
  const sessionDeps = {
    pipeline,
    tools: pipeline.listable().map(describeTool),
    instructions: instructions(backend.kind, config.readOnly, login !== undefined),
    noConfirm: config.noConfirm,
    track,
  };
  const sessions = new Set<Server>();

  let closing: Promise<void> | undefined;
  return {
    config,
    tools,
    backend,
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
      const server = bindSession(sessionDeps);
      sessions.add(server);
      server.onclose = () => sessions.delete(server);
      await server.connect(plainErrorMessages(transport) as Transport);
    },
    close: () =>
      closing ??= (async () => {
        await Promise.allSettled([...sessions].map((s) => s.close()));
        for (const plugin of plugins) {
          try {
            await plugin.close?.();
          } catch (err) {
            log(`plugin '${plugin.name}' failed to close: ${errorMessage(err)}`);
          }
        }
        await backend.close();
      })(),
  };
}

/** `text` through each filter in turn; a filter that throws withholds the text. */
function filterText(text: string, filters: readonly ((text: string) => string)[]): string {
  let out = text;
  for (const filter of filters) {
    try {
      out = filter(out);
    } catch {
      return "[a diagnostic line was withheld: a plugin failed to redact it]";
    }
  }
  return out;
}

export { describeTool } from "./mcp/describe.ts";
