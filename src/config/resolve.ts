/**
 * Resolving the configuration from its sources: each option from its flag,
 * else its environment variable, else the config file; then
 * {@linkcode completeConfig} (defaults, home, `--audit-log`, `--production`
 * and the checks), the same step {@linkcode createServer} takes.
 *
 * @module
 */
import { completeConfig } from "./complete.ts";
import { readEnv } from "./env.ts";
import { checkFileKeys, fileKeyOf } from "./file.ts";
import { type Config, OPTIONS, TABLE } from "./options.ts";

/** Where {@linkcode resolveConfig} reads raw values from. */
export interface ConfigSources {
  /** Flag values by flag name (strings, booleans, or string arrays for repeatable flags). */
  flags?: Record<string, unknown>;
  /** Environment lookup. */
  env?: (name: string) => string | undefined;
  /** The parsed config file, and its path for messages. */
  file?: { path: string; doc: Record<string, unknown> };
}

function setParsed<K extends keyof Config>(given: Partial<Config>, key: K, raw: unknown, source: string): void {
  given[key] = TABLE[key].parse(raw, source);
}

/**
 * Builds a {@linkcode Config}: each option from its flag, else its
 * environment variable, else the config file, else the default. Then
 * completes it like {@linkcode completeConfig} (`--audit-log` loads the audit
 * plugin; `--production` adds read-only, redaction and a required audit).
 *
 * @throws {ConfigError} naming the flag, variable or file key whose value is invalid.
 *
 * @example Flags win over the environment
 * ```ts
 * import { resolveConfig } from "./mod.ts";
 * const env = { DBOS_MCP_TIMEOUT_MS: "5000" } as Record<string, string>;
 * const config = resolveConfig({ flags: { timeout: "1000" }, env: (k) => env[k] });
 * console.log(config.timeoutMs); // 1000
 * ```
 */
export function resolveConfig(sources: ConfigSources = {}): Config {
  const flags = sources.flags ?? {};
  const env = sources.env ?? readEnv;
  const file = sources.file;
  if (file) checkFileKeys(file.path, file.doc);
  const given: Partial<Config> = {};
  for (const opt of OPTIONS) {
    const flagValue = opt.flag ? flags[opt.flag] : undefined;
    const present = Array.isArray(flagValue) ? flagValue.length > 0 : flagValue !== undefined && flagValue !== false;
    if (present) {
      setParsed(given, opt.key, flagValue, `--${opt.flag}`);
      continue;
    }
    const envValue = opt.env ? env(opt.env) : undefined;
    if (envValue !== undefined && envValue !== "") {
      setParsed(given, opt.key, envValue, opt.env!);
      continue;
    }
    const key = fileKeyOf(opt);
    if (file && key && key in file.doc) setParsed(given, opt.key, file.doc[key], `'${key}' in ${file.path}`);
  }
  return completeConfig(given, { env });
}
