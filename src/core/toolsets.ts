/**
 * Toolsets: named groups of tools, so that a server can offer an agent only
 * what it needs (`--toolsets core,bulk`), and every session pays only for
 * those tools' descriptions. A tool belongs to the first set whose
 * pattern matches its name, else to `core`; the login tools are offered with any
 * selection (nothing works without them). Read-only mode, `--tools` and
 * `--exclude-tools` still apply on top of the selection.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/** What each toolset holds, in words (for `--help` and the README), and which tool names it matches. */
export const TOOLSETS: Readonly<Record<string, { readonly about: string; readonly names: RegExp }>> = Object
  .freeze({
    core: {
      about: "applications, workflows, steps, queues; cancel, resume, fork and delete one workflow",
      names: /^$/,
    },
    bulk: { about: "bulk cancel, resume and delete, fork_from_failure", names: /^(bulk_.*|fork_from_failure)$/ },
    schedules: { about: "schedules: read, pause, resume, trigger, backfill", names: /_schedules?$/ },
    versions: { about: "application versions: list, set the latest", names: /application_versions?$/ },
    transfer: { about: "export and import workflows", names: /^(export|import)_workflows?$/ },
  });

/** The tools every selection offers. */
const ALWAYS = ["login", "login_complete", "logout"];

/** The toolset a tool of this name belongs to. */
export function toolsetOf(name: string): string {
  for (const [set, { names }] of Object.entries(TOOLSETS)) if (names.test(name)) return set;
  return "core";
}

/** Whether a selection of toolsets (empty, or holding `all`: every tool) offers tool `name`. */
export function inToolsets(name: string, selection: readonly string[]): boolean {
  if (selection.length === 0 || selection.includes("all") || ALWAYS.includes(name)) return true;
  return selection.includes(toolsetOf(name));
}

/** Parses `--toolsets`: comma-separated toolset names, or `all`. */
export function parseToolsets(raw: unknown, source: string): string[] {
  const parts = typeof raw === "string"
    ? raw.split(",")
    : Array.isArray(raw) && raw.every((x) => typeof x === "string")
    ? raw.flatMap((x: string) => x.split(","))
    : undefined;
  if (!parts) throw new ConfigError(`${source} must be a list of toolset names, got ${JSON.stringify(raw)}`);
  const names = parts.map((p) => p.trim().toLowerCase()).filter((p) => p !== "");
  const known = [...Object.keys(TOOLSETS), "all"];
  for (const name of names) {
    if (!known.includes(name)) {
      throw new ConfigError(
        `${source} names an unknown toolset '${name.slice(0, 64)}': the toolsets are ${known.join(", ")}`,
      );
    }
  }
  return [...new Set(names)];
}
