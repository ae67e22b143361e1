/**
 * The configuration: one table of options ({@linkcode OPTION_TABLE}), each
 * with a flag, an environment variable, a config-file key, a default and a
 * parser; `Config`, `DEFAULTS`, `--help`, the flag parser, the config file
 * and the README's configuration reference all come from it. Precedence:
 * flag, then environment, then config file, then default. Every
 * configuration, resolved from those sources or given in code, is completed
 * by {@linkcode completeConfig}.
 *
 * @module
 */
export {
  type AppDatabase,
  type CheckedTable,
  type Config,
  type ConfigOf,
  DEFAULTS,
  type KindOf,
  OPTION_TABLE,
  type OptionEntry,
  type OptionKind,
  OPTIONS,
  type OptionSpec,
  type Parser,
  type RawValue,
  type TableEntry,
  type ValueOf,
} from "./options.ts";
export { completeConfig, type CompleteConfigOptions } from "./complete.ts";
export { type ConfigSources, resolveConfig } from "./resolve.ts";
export { loadConfigFile } from "./file.ts";
export { defaultHome, readEnv } from "./env.ts";
export { isLoopback, parseListen } from "./listen.ts";
export { redactUrl } from "../core/secrets.ts";
