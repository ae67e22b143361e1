/**
 * Completing a configuration: the one path from a partial configuration (a
 * library user's `createServer({ config })`, or what the command line
 * resolved) to the {@linkcode Config} the server runs with. Both the command
 * line and {@linkcode createServer} go through it, so the same options give
 * the same server.
 *
 * @module
 */
import { ConfigError } from "../core/errors.ts";
import { defaultHome, readEnv } from "./env.ts";
import { parseListen, requireTokenBeyondLoopback } from "./listen.ts";
import { type Config, DEFAULTS, KEYS, TABLE } from "./options.ts";

/** Options of {@linkcode completeConfig}. */
export interface CompleteConfigOptions {
  /** Environment lookup for the default home folder (`HOME`); default: the process's, where Deno may read it. */
  env?: (name: string) => string | undefined;
}

/** Checks `value` with the option's own parser (each accepts what it returns) and sets it. */
function setChecked<K extends keyof Config>(config: Config, key: K, value: unknown): void {
  config[key] = TABLE[key].parse(value, `config.${key}`);
}

/**
 * Completes a partial configuration:
 *
 * - every value given is checked by its option's parser, as on the command
 *   line (a field set to `undefined` counts as not given);
 * - missing fields take their defaults, and `home` the folder `~/.dbos-mcp`;
 * - `auditLog` loads the `audit` plugin;
 * - `production` means `readOnly`, `private`, the `redact` and `audit`
 *   plugins and `auditRequired`, and needs `auditLog`;
 * - `http` beyond loopback needs `httpToken`.
 *
 * Completing a complete configuration returns an equal one.
 *
 * @throws {ConfigError} naming the field whose value is invalid, or the rule broken.
 *
 * @example Production expands into read-only, redaction and a required audit
 * ```ts
 * import { completeConfig } from "./mod.ts";
 * const config = completeConfig({ production: true, auditLog: "/var/log/dbos-mcp/audit.jsonl" });
 * console.log(config.readOnly, config.auditRequired, config.plugins); // true true ["redact", "audit"]
 * ```
 */
export function completeConfig(given: Partial<Config> = {}, options: CompleteConfigOptions = {}): Config {
  const config: Config = structuredClone({ ...DEFAULTS, home: undefined });
  for (const key of KEYS) {
    if (given[key] !== undefined) setChecked(config, key, given[key]);
  }
  config.home ??= defaultHome(options.env ?? readEnv);

  const add = (plugin: string) => {
    if (!config.plugins.includes(plugin)) config.plugins.push(plugin);
  };
  if (config.production) {
    if (!config.auditLog) {
      throw new ConfigError("--production needs an audit log: pass --audit-log PATH (or DBOS_MCP_AUDIT_LOG)", {
        hint: "From code: createServer({ config: { production: true, auditLog: PATH } }).",
      });
    }
    config.readOnly = true;
    config.private = true;
    config.auditRequired = true;
    add("redact");
  }
  if (config.auditLog) add("audit");

  if (config.http) {
    const { hostname, port } = parseListen(config.http);
    requireTokenBeyondLoopback(hostname, port, config.httpToken);
  }
  return config;
}
