/**
 * The JSON config file: reading it, and the keys it may hold (each option's
 * `fileKey`, else its flag name; never `config` itself).
 *
 * @module
 */
import { ConfigError, errorMessage } from "../core/errors.ts";
import { OPTIONS, type OptionSpec } from "./options.ts";

/** The config-file key of an option, or `undefined` when the file may not set it. */
export function fileKeyOf(opt: OptionSpec): string | undefined {
  const key = opt.fileKey ?? opt.flag;
  return key === "config" ? undefined : key;
}

/**
 * Refuses a key no option reads from the file.
 *
 * @throws {ConfigError} naming the key and the allowed ones.
 */
export function checkFileKeys(path: string, doc: Record<string, unknown>): void {
  const allowed = OPTIONS.map(fileKeyOf).filter((k): k is string => k !== undefined);
  for (const key of Object.keys(doc)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`Unknown key '${key}' in ${path}; allowed keys: ${allowed.join(", ")}`);
    }
  }
}

/**
 * Reads and parses a JSON config file.
 *
 * @throws {ConfigError} when it cannot be read or is not a JSON object.
 */
export async function loadConfigFile(path: string): Promise<{ path: string; doc: Record<string, unknown> }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotCapable
      ? `Deno may not read it: add --allow-read=${path}`
      : err instanceof Deno.errors.NotFound
      ? "no such file"
      : errorMessage(err);
    throw new ConfigError(`Cannot read the config file ${path}: ${why}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`The config file ${path} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(`The config file ${path} must hold a JSON object of options`);
  }
  return { path, doc: doc as Record<string, unknown> };
}
