/**
 * Which tools a server offers and accepts: one pure function, used both when
 * listing tools and when a call arrives, so the two can never disagree.
 * Order: an unknown tool is refused; read-only mode refuses every tool that
 * mutates; `--exclude-tools` refuses what it matches; a non-empty `--tools`
 * refuses what it does not match; a non-empty `--toolsets` refuses the tools
 * of the other toolsets.
 *
 * @module
 */
import type { CallDecision } from "../plugin_host/contract.ts";
import type { ToolDefinition } from "./tool.ts";
import { inToolsets } from "./toolsets.ts";

/** The policy settings. */
export interface ToolPolicy {
  /** Refuse every tool that mutates. */
  readOnly: boolean;
  /** Only these globs (empty: every tool). */
  tools: readonly string[];
  /** Never these globs (wins over `tools`). */
  excludeTools: readonly string[];
  /** Only the tools of these toolsets (absent or empty: every tool); see `toolsets.ts`. */
  toolsets?: readonly string[];
}

/** Whether `name` matches a glob of `*` (any run) and `?` (one character). */
export function globMatch(glob: string, name: string): boolean {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(name);
}

/**
 * Decides whether `tool` (looked up by `name`; `undefined` when unknown) may
 * be listed and called under `policy`.
 *
 * @example
 * ```ts
 * import { decide } from "./policy.ts";
 * const cancel = { name: "cancel_workflow", mutates: true };
 * decide(cancel, "cancel_workflow", { readOnly: true, tools: [], excludeTools: [] });
 * // { allowed: false, code: "READ_ONLY", reason: "cancel_workflow is disabled in read-only mode: ..." }
 * ```
 */
export function decide(
  tool: Pick<ToolDefinition, "name" | "mutates"> | undefined,
  name: string,
  policy: ToolPolicy,
): CallDecision {
  if (!tool) {
    return { allowed: false, code: "UNKNOWN_TOOL", reason: `Unknown tool '${String(name).slice(0, 100)}'.` };
  }
  if (policy.readOnly && tool.mutates) {
    return {
      allowed: false,
      code: "READ_ONLY",
      reason: `${tool.name} is disabled in read-only mode: this server refuses every change to workflows.`,
    };
  }
  if (policy.excludeTools.some((g) => globMatch(g, tool.name))) {
    return { allowed: false, code: "EXCLUDED", reason: `${tool.name} is disabled on this server (--exclude-tools).` };
  }
  if (policy.tools.length > 0 && !policy.tools.some((g) => globMatch(g, tool.name))) {
    return { allowed: false, code: "NOT_ENABLED", reason: `${tool.name} is not enabled on this server (--tools).` };
  }
  if (policy.toolsets && !inToolsets(tool.name, policy.toolsets)) {
    return {
      allowed: false,
      code: "NOT_ENABLED",
      reason: `${tool.name} is not in the toolsets this server offers (--toolsets ${policy.toolsets.join(",")}).`,
    };
  }
  return { allowed: true };
}
