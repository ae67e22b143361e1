/**
 * The plugin contract. A plugin is an ES module whose default export is a
 * {@linkcode Plugin} or a factory `(options, host) => Plugin`. It may add
 * tools, observe every call before and after, and transform results.
 * Plugins run with the server process's own Deno permissions.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { WorkflowBackend } from "../backends/backend.ts";
import type { JsonObject, ToolDefinition } from "../core/tool.ts";
import type { LogFn } from "../util/log.ts";
import type { Scrubber } from "../core/secrets.ts";

/** The client that opened the MCP session. */
export interface ClientInfo {
  /** Client name, e.g. `claude-code`. */
  name: string;
  /** Client version. */
  version: string;
}

/** One tool call, as plugins see it. */
export interface CallInfo {
  /** Unique id of this call. */
  readonly id: string;
  /** The tool called (as the client named it; may be unknown). */
  readonly tool: string;
  /** Whether the tool mutates workflows (false for unknown tools). */
  readonly mutates: boolean;
  /** The arguments as the client sent them (not yet validated). */
  readonly args: unknown;
  /** The MCP session: an id for this server process's connection, and the client. */
  readonly session: { readonly id: string; readonly client?: ClientInfo };
  /** When the call arrived (epoch ms). */
  readonly startedAt: number;
}

/** Whether a call may proceed; a refusal carries a code and a reason. */
export type CallDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: string; readonly reason: string };

/** How a call ended. */
export interface CallOutcome {
  /** The policy's (or a `beforeCall`'s) decision. */
  decision: CallDecision;
  /** True when the tool ran and succeeded. */
  ok: boolean;
  /** The error text the agent saw, when not ok. */
  error?: string;
  /** From arrival to answer, in milliseconds. */
  durationMs: number;
  /** Size of the result sent to the client, in bytes of JSON. */
  resultBytes: number;
}

/** A tool result as the client receives it. */
export interface ToolResult {
  /** Text content (one or more items). */
  content: { type: "text"; text: string }[];
  /** Structured content, matching the tool's output schema. */
  structuredContent?: JsonObject;
  /** True for a failed call. */
  isError?: boolean;
}

/** What the server offers a plugin at setup. */
export interface PluginHost {
  /** The resolved configuration (read it, don't change it). */
  readonly config: Readonly<Config>;
  /** Whether read-only mode is on. */
  readonly readOnly: boolean;
  /** The backend; in read-only mode its mutations refuse. */
  readonly backend: WorkflowBackend;
  /** Writes a diagnostic line to stderr (scrubbed of known secrets). */
  readonly log: LogFn;
  /**
   * Scrubs the secrets this server knows (tokens, database passwords) from
   * text: run whatever the plugin writes elsewhere (a file, a service)
   * through it. The audit plugin does for its records.
   */
  readonly secrets: Scrubber;
}

/** A plugin. Every member is optional but `name`. */
export interface Plugin {
  /** Name, used in messages and as the key of its options. */
  name: string;
  /** Called once at start-up; a throw stops start-up with a message naming the plugin. */
  setup?(host: PluginHost): void | Promise<void>;
  /** Extra tools; those with `mutates: true` obey read-only mode like built-in ones. */
  tools?: ToolDefinition[];
  /**
   * Wraps the backend that tools read from, e.g. to redact data before a tool
   * slices it into pages. Applied in plugin order, outside read-only mode's
   * wall.
   */
  wrapBackend?(backend: WorkflowBackend): WorkflowBackend;
  /** Called before an allowed call runs; throwing refuses the call with the error's message. */
  beforeCall?(call: CallInfo): void | Promise<void>;
  /** Transforms every result (errors included) before it is sent, in plugin order. */
  transformResult?(call: CallInfo, result: ToolResult): ToolResult | Promise<ToolResult>;
  /**
   * Redacts free text. The server passes every diagnostic line it writes
   * (stderr: plugin failures, internal errors, backend notes) through each
   * plugin's `redactText`, in plugin order, so that text is redacted like
   * results are. Must not throw (a throw withholds the line).
   */
  redactText?(text: string): string;
  /** Called after every call, refused ones included, with the result as sent. */
  afterCall?(call: CallInfo, outcome: CallOutcome, result: ToolResult): void | Promise<void>;
  /** Called when the server stops: flush and release. */
  close?(): void | Promise<void>;
}

/** A plugin factory: receives the plugin's options (from the config file) and the host. */
export type PluginFactory = (
  options: Record<string, unknown>,
  host: PluginHost,
) => Plugin | Promise<Plugin>;

/**
 * Declares a plugin (or a plugin factory) with its type checked.
 *
 * @example A plugin that adds a tool and counts calls
 * ```ts ignore
 * import { definePlugin, defineTool } from "jsr:@x/dbos-mcp";
 * import { z } from "npm:zod@4";
 *
 * export default definePlugin((options) => {
 *   let calls = 0;
 *   return {
 *     name: "call-counter",
 *     tools: [defineTool({
 *       name: "call_count",
 *       description: "How many tool calls this server has answered.",
 *       input: z.strictObject({}),
 *       output: z.object({ calls: z.number() }),
 *       annotations: { title: "Call count", readOnlyHint: true, openWorldHint: false },
 *       mutates: false,
 *       handler: () => Promise.resolve({ calls }),
 *       render: (r) => `${r.calls} calls`,
 *     })],
 *     afterCall: () => {
 *       calls++;
 *     },
 *   };
 * });
 * ```
 */
export function definePlugin<P extends Plugin | PluginFactory>(plugin: P): P {
  return plugin;
}
