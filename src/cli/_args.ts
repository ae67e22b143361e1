// Command-line parsing. Stand-in for `@std/cli` parseArgs (JSR is not
// reachable where this is built): a thin wrapper over `node:util` parseArgs in
// strict mode, so unknown flags are errors. Swap for @std/cli in one place.
import { parseArgs as nodeParseArgs } from "node:util";
import { errorMessage } from "../core/errors.ts";

/** Declaration of one flag. */
export interface FlagSpec {
  /** `string` takes a value; `boolean` does not. */
  type: "string" | "boolean";
  /** One-letter alias. */
  short?: string;
  /** May be given more than once. */
  multiple?: boolean;
}

/** Result of {@linkcode parseFlags}. */
export interface ParsedFlags {
  /** Flag values by long name. */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** Arguments that are not flags. */
  positionals: string[];
}

/** Thrown for an unknown flag or a flag missing its value. */
export class FlagParseError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FlagParseError";
  }
}

/** Parses `args` strictly against `spec`. */
export function parseFlags(args: string[], spec: Record<string, FlagSpec>): ParsedFlags {
  try {
    const { values, positionals } = nodeParseArgs({
      args,
      options: spec,
      strict: true,
      allowPositionals: true,
    });
    return { values: values as ParsedFlags["values"], positionals };
  } catch (err) {
    const msg = errorMessage(err);
    const unknown = msg.match(/Unknown option '([^']+)'/);
    if (unknown) throw new FlagParseError(`unknown flag ${unknown[1]}`, { cause: err });
    const missing = msg.match(/Option '([^']+?)(?: <value>)?' argument missing/);
    if (missing) throw new FlagParseError(`${missing[1].replace(/^-\w, /, "")} needs a value`, { cause: err });
    const unexpected = msg.match(/Option '([^']+)' does not take an argument/);
    if (unexpected) throw new FlagParseError(`${unexpected[1].replace(/^-\w, /, "")} takes no value`, { cause: err });
    throw new FlagParseError(msg.split("\n")[0], { cause: err });
  }
}
