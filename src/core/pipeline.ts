/**
 * The one path every tool call takes: policy decision, argument validation,
 * plugins' `beforeCall` (which may refuse), the handler, private mode's
 * payload descriptions (`core/private.ts`), the output-schema check, plugins' `transformResult` (redaction), a last scrub of known
 * secrets, and plugins' `afterCall` (audit), refused calls included. This is
 * the only try/catch of the call path: every failure becomes an `isError`
 * result whose text says what to do next.
 *
 * @module
 */
import { decide, type ToolPolicy } from "./policy.ts";
import type { CallDecision, CallInfo, CallOutcome, ClientInfo, Plugin, ToolResult } from "../plugin_host/contract.ts";
import type { JsonObject, SchemaIssue, SchemaResult, SessionFacilities, ToolContext, ToolDefinition } from "./tool.ts";
import { DbosMcpError, errorMessage, isNotCapable, MissingPermissionError } from "./errors.ts";
import type { LogFn } from "../util/log.ts";
import type { SecretSet } from "./secrets.ts";
import { byteLength, clip, jsonBytes, largestFitting, prefixBound } from "./budget.ts";
import { privatize } from "./private.ts";

/** What the pipeline needs. */
export interface PipelineOptions {
  /** Every tool, built-in and from plugins, by name. */
  tools: ReadonlyMap<string, ToolDefinition>;
  /** The plugin that added each plugin tool, by tool name. */
  owners?: ReadonlyMap<string, string>;
  /** Read-only mode and tool filters. */
  policy: ToolPolicy;
  /** Loaded plugins, in order. */
  plugins: readonly Plugin[];
  /** Builds the handler context of one call. */
  context(signal: AbortSignal, session: SessionFacilities): ToolContext;
  /** Known secrets to scrub from every result. */
  secrets: SecretSet;
  /** Diagnostics. */
  log: LogFn;
  /** Budget of a whole result (JSON plus text), in bytes. */
  maxResultBytes: number;
  /**
   * Private mode: every payload field of a result (marked with `payload` in
   * the tool's output schema) is replaced by a description of its type and size.
   */
  private?: boolean;
}

/** The answer to one call: a result, or a refusal of an unknown tool (a JSON-RPC error for the client). */
export type PipelineAnswer =
  | { kind: "result"; result: ToolResult }
  | { kind: "unknown-tool"; message: string };

/** Runs tool calls through policy, plugins and handlers. */
export class CallPipeline {
  #o: PipelineOptions;
  #transforms: boolean;
  #listeners: boolean;

  /** Creates the pipeline. */
  constructor(options: PipelineOptions) {
    this.#o = options;
    this.#transforms = options.plugins.some((p) => p.transformResult);
    this.#listeners = options.plugins.some((p) => p.afterCall);
  }

  /** The tools a client may see: exactly those the policy would let it call. */
  listable(): ToolDefinition[] {
    return [...this.#o.tools.values()].filter((t) => decide(t, t.name, this.#o.policy).allowed);
  }

  /** Runs one call for a session. Never throws. */
  async call(
    name: string,
    args: unknown,
    signal: AbortSignal,
    session: { id: string; client?: ClientInfo },
    facilities: SessionFacilities = NO_FACILITIES,
  ): Promise<PipelineAnswer> {
    const started = performance.now();
    const tool = this.#o.tools.get(name);
    const call: CallInfo = Object.freeze({
      id: crypto.randomUUID(),
      tool: String(name),
      mutates: tool?.mutates ?? false,
      args: args ?? {},
      session: Object.freeze({ ...session }),
      startedAt: Date.now(),
    });
    let decision = decide(tool, name, this.#o.policy);
    let result: ToolResult;
    // The JSON of `result.structuredContent` while it is known to be current: each result is serialized once.
    let json: string | undefined;
    if (!decision.allowed || !tool) {
      result = errorResult(decision.allowed ? "" : decision.reason, refusalHint(decision));
    } else {
      const parsed = parseArguments(tool, args);
      if ("thrown" in parsed) {
        result = errorResult(
          `Invalid arguments for ${tool.name}: they could not be read (${errorMessage(parsed.thrown).split("\n")[0]}).`,
          "Fix the arguments (see the tool's input schema) and call again.",
        );
      } else if (!parsed.success) {
        result = errorResult(
          `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error.issues)}`,
          "Fix the arguments (see the tool's input schema) and call again.",
        );
      } else {
        const refusal = await this.#before(call);
        if (refusal) {
          decision = refusal.decision;
          result = errorResult(refusal.decision.reason, refusal.hint);
        } else {
          ({ result, json } = await this.#run(tool, parsed.data, signal, facilities));
        }
      }
    }
    if (result.isError) result = this.#bounded(result);
    if (this.#transforms) {
      result = await this.#transform(call, result);
      json = undefined; // a plugin may have changed anything, in place or not
    }
    ({ result, json } = this.#scrub(result, json));
    if (this.#listeners) {
      const outcome: CallOutcome = {
        decision,
        ok: !result.isError,
        ...(result.isError ? { error: result.content.map((c) => c.text).join("\n") } : {}),
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        resultBytes: resultBytes(result, json),
      };
      await this.#after(call, outcome, result);
    }
    if (!decision.allowed && decision.code === "UNKNOWN_TOOL") {
      const names = this.listable().map((t) => t.name).join(", ");
      return { kind: "unknown-tool", message: `${decision.reason} Available tools: ${names}.` };
    }
    return { kind: "result", result };
  }

  async #before(call: CallInfo): Promise<{ decision: CallDecision & { allowed: false }; hint?: string } | undefined> {
    for (const plugin of this.#o.plugins) {
      if (!plugin.beforeCall) continue;
      try {
        await plugin.beforeCall(call);
      } catch (err) {
        const message = errorMessage(err);
        return {
          decision: { allowed: false, code: "PLUGIN", reason: `Refused by plugin '${plugin.name}': ${message}` },
          hint: err instanceof DbosMcpError ? err.hint : undefined,
        };
      }
    }
    return undefined;
  }

  async #run(
    tool: ToolDefinition,
    args: unknown,
    signal: AbortSignal,
    facilities: SessionFacilities,
  ): Promise<Serialized> {
    try {
      let raw: JsonObject = await tool.handler(args, this.#o.context(signal, facilities));
      // Private mode: payloads never go further than here (the text rendering is made from what is left).
      if (this.#o.private) raw = privatize(tool.output, raw);
      // What the client receives always matches the advertised output schema.
      const checked = tool.output.safeParse(raw);
      if (!checked.success) {
        return {
          result: errorResult(
            `${tool.name} got an answer it cannot present: ${describeIssues(checked.error.issues)}.`,
            "The backend answered in an unexpected shape; check the server's backend configuration.",
          ),
        };
      }
      return this.#fit(tool, checked.data, args);
    } catch (err) {
      return { result: this.#failure(tool.name, err) };
    }
  }

  /** Enforces the answer budget, for every tool: the tool's own `fit`, else dropping trailing array items. */
  #fit(tool: ToolDefinition, data: JsonObject, args: unknown): Serialized {
    const max = this.#o.maxResultBytes;
    const size = (d: JsonObject, text: string) => byteLength(JSON.stringify(d)) + byteLength(text);
    let text = tool.render(data);
    const json = JSON.stringify(data);
    if (byteLength(json) + byteLength(text) <= max) {
      return { result: { content: [{ type: "text", text }], structuredContent: data }, json };
    }
    let fitted: JsonObject;
    let note = "";
    if (tool.fit) {
      fitted = tool.fit(data, max, args);
    } else {
      const dropNote = (n: number) => `\n[${n} item(s) dropped to stay within the ${max}-byte answer budget]`;
      // Room for the note, with as many digits as dropping every item would take.
      const items = Object.values(data).reduce((n: number, v) => n + (Array.isArray(v) ? v.length : 0), 0);
      const room = byteLength(dropNote(items));
      const shrunk = dropTrailingItems(data, (d) => size(d, tool.render(d)) + room <= max, max);
      fitted = shrunk.data;
      if (shrunk.dropped > 0) note = dropNote(shrunk.dropped);
    }
    const checked = tool.output.safeParse(fitted);
    text = checked.success ? tool.render(checked.data) + note : "";
    if (!checked.success || size(checked.data, text) > max) {
      return {
        result: errorResult(
          `The answer of ${tool.name} would be larger than the ${max}-byte answer budget.`,
          "Narrow the query (filters, a smaller limit, fewer fields), or raise --max-result-bytes.",
        ),
      };
    }
    return { result: { content: [{ type: "text", text }], structuredContent: checked.data } };
  }

  /** An error answer within the answer budget too: its text clipped, with a marker. */
  #bounded(result: ToolResult): ToolResult {
    const max = this.#o.maxResultBytes;
    const text = result.content.map((c) => c.text).join("\n");
    if (text.length * 3 <= max) return result;
    const clipped = clip(text, max - 200, "narrow the arguments to see the rest");
    return clipped === text ? result : { ...result, content: [{ type: "text", text: clipped }] };
  }

  async #transform(call: CallInfo, result: ToolResult): Promise<ToolResult> {
    let current = result;
    for (const plugin of this.#o.plugins) {
      if (!plugin.transformResult) continue;
      try {
        current = await plugin.transformResult(call, current);
      } catch (err) {
        // Never fall back to the untransformed result: it may hold what the plugin was to remove.
        this.#o.log(`plugin '${plugin.name}' failed in transformResult: ${errorMessage(err)}`);
        return errorResult(
          `Plugin '${plugin.name}' failed while processing the result of ${call.tool}, so the result was withheld.`,
          "Try again; if it keeps failing, report it to whoever maintains that plugin.",
        );
      }
    }
    return current;
  }

  async #after(call: CallInfo, outcome: CallOutcome, result: ToolResult): Promise<void> {
    for (const plugin of this.#o.plugins) {
      if (!plugin.afterCall) continue;
      try {
        await plugin.afterCall(call, outcome, result);
      } catch (err) {
        this.#o.log(`plugin '${plugin.name}' failed in afterCall for ${call.tool}: ${errorMessage(err)}`);
      }
    }
  }

  /** Removes known secrets; `json` is the structured part's JSON when known, and comes back current. */
  #scrub(result: ToolResult, json: string | undefined): Serialized {
    const secrets = this.#o.secrets;
    const content = result.content.map((c) => {
      const text = secrets.scrub(c.text);
      return text === c.text ? c : { ...c, text };
    });
    let structuredContent = result.structuredContent;
    if (structuredContent) {
      json ??= JSON.stringify(structuredContent);
      // The JSON holds each secret raw or JSON-escaped (both are recorded); scrub the strings, not the JSON text.
      if (secrets.containsKnown(json)) {
        structuredContent = secrets.scrubKnownValue(structuredContent);
        json = JSON.stringify(structuredContent);
      }
    } else {
      json = undefined;
    }
    return { result: { ...result, content, ...(structuredContent ? { structuredContent } : {}) }, json };
  }

  #failure(toolName: string, err: unknown): ToolResult {
    if (err instanceof DbosMcpError) return errorResult(err.message, err.hint);
    if (isNotCapable(err)) {
      const e = new MissingPermissionError(`an operation needed by ${toolName}`, permissionFlag(errorMessage(err)), {
        cause: err,
      });
      return errorResult(e.message, e.hint);
    }
    this.#o.log(`internal error in ${toolName}: ${(err instanceof Error && err.stack) || errorMessage(err)}`);
    const owner = this.#o.owners?.get(toolName);
    if (owner) {
      return errorResult(
        `${toolName} (from plugin '${owner}') failed: ${errorMessage(err).split("\n")[0].slice(0, 300)}`,
        "Try again; if it keeps failing, report it to whoever maintains that plugin.",
      );
    }
    return errorResult(
      `Internal error in ${toolName}: ${errorMessage(err).split("\n")[0].slice(0, 300)}`,
      "This is a bug in dbos-mcp; try again, and report it if it persists.",
    );
  }
}

/** A result and, when known, the JSON of its structured part. */
interface Serialized {
  result: ToolResult;
  json?: string;
}

/** Bytes of `JSON.stringify(result)`, given the JSON of its structured part when known. */
function resultBytes(result: ToolResult, json: string | undefined): number {
  if (result.structuredContent === undefined || json === undefined) return byteLength(JSON.stringify(result));
  const { structuredContent: _, ...rest } = result;
  // `{...rest,"structuredContent":JSON}`: a comma after the rest's members, then the key and the JSON.
  const restJson = JSON.stringify(rest);
  return byteLength(restJson) + (restJson === "{}" ? 0 : 1) + '"structuredContent":'.length + byteLength(json);
}

function refusalHint(decision: CallDecision): string | undefined {
  if (decision.allowed) return undefined;
  switch (decision.code) {
    case "READ_ONLY":
      return "Nothing was sent. Ask a human operator to make the change, or use a server without --read-only.";
    case "EXCLUDED":
    case "NOT_ENABLED":
      return "Use one of the tools that tools/list shows.";
    default:
      return undefined;
  }
}

const NO_FACILITIES: SessionFacilities = {
  confirm: () => Promise.resolve("unsupported"),
  progress: () => Promise.resolve(),
};

/**
 * An `isError` result with a message and, on its own line, what to do next.
 * Bidirectional formatting characters (which could make an echoed argument
 * read as something else) are shown escaped, as `\u202E`.
 */
export function errorResult(message: string, hint?: string): ToolResult {
  const text = hint ? `${message}\n${hint}` : message;
  return { content: [{ type: "text", text: escapeBidi(text) }], isError: true };
}

const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** `text` with each bidirectional formatting character written as its `\uXXXX` escape. */
export function escapeBidi(text: string): string {
  return text.replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`);
}

/** Validates a call's arguments; a schema's transform that throws is caught and reported, not raised. */
function parseArguments(tool: ToolDefinition, args: unknown): SchemaResult<unknown> | { thrown: unknown } {
  try {
    return tool.input.safeParse(args ?? {});
  } catch (err) {
    return { thrown: err ?? "unknown error" };
  }
}

/** Maps Deno's `Requires net access to "x", run again with the --allow-net flag` to a flag. */
function permissionFlag(message: string): string {
  const m = message.match(/Requires (\w+) access to "?([^",]+)"?/);
  return m ? `--allow-${m[1]}=${m[2]}` : "the missing --allow-* flag";
}

function describeIssues(issues: readonly SchemaIssue[]): string {
  const listed = issues.slice(0, 10).map((i) => {
    if (i.code === "unrecognized_keys" && i.keys) {
      const names = i.keys.slice(0, 20).map((k) => `'${k.length > 64 ? `${k.slice(0, 63)}…` : k}'`).join(", ");
      return `unknown field(s) ${names}${i.keys.length > 20 ? ` and ${i.keys.length - 20} more` : ""}`;
    }
    const path = i.path.length ? i.path.map(String).join(".") : "(arguments)";
    return `${path}: ${i.message}`;
  });
  if (issues.length > 10) listed.push(`and ${issues.length - 10} more problem(s)`);
  return listed.join("; ");
}

/**
 * Drops items from the end of top-level arrays, the largest first, until `fits` holds or no array has items
 * left. Each array is measured once, and its kept prefix found by binary search, not item by item.
 */
function dropTrailingItems(
  data: JsonObject,
  fits: (d: JsonObject) => boolean,
  maxBytes: number,
): { data: JsonObject; dropped: number } {
  let current: JsonObject = { ...data };
  let dropped = 0;
  const arrays = Object.keys(current)
    .filter((k) => Array.isArray(current[k]) && (current[k] as unknown[]).length > 0)
    .map((k) => ({ k, bytes: jsonBytes(current[k]) }))
    .sort((a, b) => b.bytes - a.bytes)
    .map((a) => a.k);
  for (const key of arrays) {
    if (fits(current)) break;
    const arr = current[key] as unknown[];
    const base = current;
    const withPrefix = (n: number): JsonObject => {
      const next: JsonObject = { ...base, [key]: arr.slice(0, n) };
      if (typeof next.count === "number") next.count = n;
      return next;
    };
    const keep = largestFitting(prefixBound(arr, maxBytes), (n) => fits(withPrefix(n)));
    current = withPrefix(keep);
    dropped += arr.length - keep;
  }
  return { data: current, dropped };
}
