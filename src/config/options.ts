/**
 * The option table: every option of the server, declared once. Its flag,
 * environment variable, config-file key, default, `--help` text and parser
 * are one entry of {@linkcode OPTION_TABLE}; {@linkcode Config},
 * {@linkcode DEFAULTS} and {@linkcode OPTIONS} (the `--help` order) are
 * derived from it, and `deno check` refuses an entry whose default, parser
 * and flag kind disagree.
 *
 * Adding an option is one entry in {@linkcode OPTION_TABLE}:
 *
 * ```ts ignore
 * // A JSDoc comment above the entry becomes the JSDoc of the Config field.
 * org: {
 *   flag: "org",                 // --org; omit for an option without a flag
 *   env: "DBOS_MCP_ORG",         // omit when there is no environment variable
 *   kind: "string",              // "boolean" (no value) or "list" (repeatable); must match the parser's type
 *   value: "NAME",               // placeholder in --help ("" for booleans)
 *   default: undefined,          // the type of the parser's value (or undefined: the field is then optional)
 *   description: "What it does, for --help.",
 *   parse: parseName,            // a function (raw, source) => value, with explicit types
 * },
 * ```
 *
 * `defaultText` (the default as `--help` and the README show it) is derived
 * from `default` unless given; `fileKey` is the config-file key when it is
 * not the flag name.
 *
 * @module
 */
import {
  type AppDatabase,
  parseApps,
  parseBoolean,
  parseGlobs,
  parseHostNames,
  parseHttpToken,
  parseHttpUrl,
  parseInteger,
  parseListenText,
  parseName,
  parseOrgName,
  parsePath,
  parsePluginOptions,
  parsePostgresUrl,
  type Parser,
  parseSecret,
  parseSpecs,
  type RawValue,
} from "./_parse.ts";
import { parseToolsets } from "../core/toolsets.ts";

export type { AppDatabase, Parser, RawValue };

/** `string` takes a value, `boolean` none, `list` may repeat (comma-separated in the environment). */
export type OptionKind = "string" | "boolean" | "list";

/** The kind an option whose value is of type `V` must declare: booleans are `boolean`, arrays `list`. */
export type KindOf<V> = [Exclude<V, undefined>] extends [boolean] ? "boolean"
  : [Exclude<V, undefined>] extends [readonly unknown[]] ? "list"
  : "string";

/** One entry of {@linkcode OPTION_TABLE}: an option whose value is of type `V`. */
export interface OptionEntry<V> {
  /** Long flag, without the dashes. Absent for options without a flag. */
  flag?: string;
  /** Environment variable, if any. */
  env?: string;
  /** Key in the config file when it is not the flag name; options with neither are not read from the file. */
  fileKey?: string;
  /** How the flag is read; must agree with the value's type (see {@linkcode KindOf}). */
  kind: KindOf<V>;
  /** Placeholder for the value in `--help`. */
  value: string;
  /** The value when no source sets the option. */
  default: V;
  /** The default as `--help` and the README show it; derived from `default` when absent. */
  defaultText?: string;
  /** What it does, for `--help`. */
  description: string;
  /** Turns a raw value into the option's value, or throws a `ConfigError` naming `source`. */
  parse: Parser<V>;
}

/** The value type of a table entry: its parser's, plus `undefined` when that is its default. */
export type ValueOf<E> = E extends { parse: Parser<infer V>; default: infer D }
  ? undefined extends D ? V | undefined : V
  : never;

/** The configuration a table describes: one field per entry, of the entry's value type. */
export type ConfigOf<T> = { [K in keyof T]: ValueOf<T[K]> };

/** A table whose every entry agrees with itself: default, parser and kind of one value type. */
export type CheckedTable<T> = { [K in keyof T]: OptionEntry<ConfigOf<T>[K]> };

/** The shape of any entry before {@linkcode CheckedTable} relates its default, parser and kind. */
export type TableEntry = Omit<OptionEntry<unknown>, "kind"> & { kind: OptionKind };

/**
 * Every option, in `--help` order. The JSDoc of each entry is the JSDoc of
 * its {@linkcode Config} field.
 */
export const OPTION_TABLE = {
  /** DBOS Conductor REST base URL, without a trailing slash. */
  conductorUrl: {
    flag: "conductor-url",
    env: "DBOS_CONDUCTOR_URL",
    kind: "string",
    value: "URL",
    default: "https://cloud.dbos.dev/conductor",
    description: "Conductor API base (DBOS Cloud, or http://HOST:8090 self-hosted), without /v2.",
    parse: parseHttpUrl,
  },
  /** Login service (OAuth device flow) base URL, without a trailing slash. */
  loginUrl: {
    flag: "login-url",
    env: "DBOS_LOGIN_URL",
    kind: "string",
    value: "URL",
    default: "https://login.dbos.dev",
    description: "Login service (OAuth 2.0 device authorization).",
    parse: parseHttpUrl,
  },
  /**
   * Folder holding `credentials` and `pending_login`. `undefined` when it
   * could not be resolved (no `--home` and `HOME` not readable).
   */
  home: {
    flag: "home",
    env: "DBOS_MCP_HOME",
    kind: "string",
    value: "DIR",
    default: undefined,
    defaultText: "~/.dbos-mcp",
    description: "Folder for the credentials and the pending login (shared with the Python dbos-mcp).",
    parse: parsePath,
  },
  /** Time limit of each request to a remote service, in milliseconds. */
  timeoutMs: {
    flag: "timeout",
    env: "DBOS_MCP_TIMEOUT_MS",
    kind: "string",
    value: "MS",
    default: 30_000,
    description: "Time limit of each request to Conductor, login or DBOS Cloud, in milliseconds.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 1, 600_000, "milliseconds"),
  },
  /** How long `login_complete` waits for the user before answering "pending", in milliseconds. */
  loginWaitMs: {
    flag: "login-wait",
    env: "DBOS_MCP_LOGIN_WAIT_MS",
    kind: "string",
    value: "MS",
    default: 20_000,
    description: "How long login_complete waits for the user before answering 'pending'.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 0, 120_000, "milliseconds"),
  },
  /** A refresh token to use instead of an interactive login (headless use). */
  refreshToken: {
    env: "DBOS_MCP_REFRESH_TOKEN",
    kind: "string",
    value: "TOKEN",
    default: undefined,
    description: "Refresh token for headless use: exchanged for an access token when first needed.",
    parse: parseSecret,
  },
  /** A Conductor API key (`dbos_...`) or user JWT from `DBOS_TOKEN`, used instead of the device login. */
  token: {
    env: "DBOS_TOKEN",
    kind: "string",
    value: "TOKEN",
    default: undefined,
    description: "Conductor API key (dbos_...) or user JWT, instead of the device login (never a flag).",
    parse: parseSecret,
  },
  /** Organization of Conductor paths; overrides the login's; required with an API key. */
  org: {
    flag: "org",
    env: "DBOS_ORG",
    kind: "string",
    value: "NAME",
    default: undefined,
    defaultText: "(from the login)",
    description: "Organization of Conductor paths; overrides the login's; required with an API key.",
    parse: parseOrgName,
  },
  /** Self-hosted Conductor without authentication: no login, no `Authorization` header, org `local`. */
  noAuth: {
    flag: "no-auth",
    env: "DBOS_MCP_NO_AUTH",
    kind: "boolean",
    value: "",
    default: false,
    description: "Self-hosted Conductor without authentication: no login, no Authorization header (org 'local').",
    parse: parseBoolean,
  },
  /** One application's system database URL (system-database mode). */
  databaseUrl: {
    flag: "database-url",
    env: "DBOS_SYSTEM_DATABASE_URL",
    kind: "string",
    value: "URL",
    default: undefined,
    description: "One application's DBOS system database: serve it directly, without Conductor.",
    parse: parsePostgresUrl,
  },
  /** Name of the application of {@linkcode Config.databaseUrl}. */
  appName: {
    flag: "app-name",
    env: "DBOS_APP_NAME",
    kind: "string",
    value: "NAME",
    default: undefined,
    defaultText: "(from the database)",
    description: "Name of the application of --database-url.",
    parse: parseName,
  },
  /** Several applications, each with its own system database. */
  apps: {
    flag: "app",
    fileKey: "apps",
    kind: "list",
    value: "NAME=URL",
    default: [],
    description: "An application and its system database; repeat for several.",
    parse: parseApps,
  },
  /** DBOS system schema. */
  schema: {
    flag: "schema",
    env: "DBOS_SYSTEM_DATABASE_SCHEMA",
    kind: "string",
    value: "NAME",
    default: "dbos",
    description: "DBOS system schema.",
    parse: parseName,
  },
  /** Connections per system database. */
  poolSize: {
    flag: "pool-size",
    env: "DBOS_MCP_POOL_SIZE",
    kind: "string",
    value: "N",
    default: 2,
    description: "Connections per system database.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 1, 50, "connections"),
  },
  /** Statement timeout of system-database queries, in milliseconds. */
  statementTimeoutMs: {
    flag: "statement-timeout",
    env: "DBOS_MCP_STATEMENT_TIMEOUT_MS",
    kind: "string",
    value: "MS",
    default: 10_000,
    description: "Statement timeout of system-database queries, in milliseconds.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 1, 600_000, "milliseconds"),
  },
  /** Hide and refuse every tool that mutates; open databases read-only. */
  readOnly: {
    flag: "read-only",
    env: "DBOS_MCP_READ_ONLY",
    kind: "boolean",
    value: "",
    default: false,
    description: "Hide and refuse every tool that changes workflows; open databases read-only.",
    parse: parseBoolean,
  },
  /** Only tools matching one of these globs (empty: all). */
  tools: {
    flag: "tools",
    env: "DBOS_MCP_TOOLS",
    kind: "list",
    value: "GLOBS",
    default: [],
    defaultText: "(all)",
    description: "Only offer tools matching these comma-separated globs, e.g. 'list_*,get_workflow'.",
    parse: parseGlobs,
  },
  /** No tool matching one of these globs (wins over `tools`). */
  excludeTools: {
    flag: "exclude-tools",
    env: "DBOS_MCP_EXCLUDE_TOOLS",
    kind: "list",
    value: "GLOBS",
    default: [],
    description: "Never offer tools matching these globs (wins over --tools).",
    parse: parseGlobs,
  },
  /** Only the tools of these toolsets (empty: all); see `core/toolsets.ts`. */
  toolsets: {
    flag: "toolsets",
    env: "DBOS_MCP_TOOLSETS",
    kind: "list",
    value: "SETS",
    default: [],
    defaultText: "(all)",
    description:
      "Only offer these toolsets: core, bulk, schedules, versions, transfer, or all (login is always offered).",
    parse: parseToolsets,
  },
  /** Plugins to load: paths, specifiers or first-party short names. */
  plugins: {
    flag: "plugin",
    env: "DBOS_MCP_PLUGINS",
    fileKey: "plugins",
    kind: "list",
    value: "SPEC",
    default: [],
    description: "Load a plugin: a path, file:/jsr:/npm:/https: specifier, or 'redact'/'audit'; repeatable.",
    parse: parseSpecs,
  },
  /** Options of each plugin, by plugin spec or name (config file only). */
  pluginOptions: {
    fileKey: "plugin-options",
    kind: "string",
    value: "",
    default: {},
    defaultText: "{}",
    description: "Options of each plugin, by name (config file only).",
    parse: parsePluginOptions,
  },
  /** The JSON config file read, if any. */
  configFile: {
    flag: "config",
    env: "DBOS_MCP_CONFIG",
    kind: "string",
    value: "FILE",
    default: undefined,
    description: "JSON config file: any option above by its flag name, plus plugin-options.",
    parse: parsePath,
  },
  /** Audit log path (JSON Lines), for the `audit` plugin; setting it loads that plugin. */
  auditLog: {
    flag: "audit-log",
    env: "DBOS_MCP_AUDIT_LOG",
    kind: "string",
    value: "PATH",
    default: undefined,
    description: "Audit log (JSON Lines, hash-chained); loads the audit plugin.",
    parse: parsePath,
  },
  /** Refuse every call when the audit log cannot be written. */
  auditRequired: {
    flag: "audit-required",
    env: "DBOS_MCP_AUDIT_REQUIRED",
    kind: "boolean",
    value: "",
    default: false,
    description: "Refuse every call, not only mutations, when the audit log cannot be written.",
    parse: parseBoolean,
  },
  /** Private mode: workflow inputs, outputs, step outputs and other payloads are never returned, only their type and size. */
  private: {
    flag: "private",
    env: "DBOS_MCP_PRIVATE",
    kind: "boolean",
    value: "",
    default: false,
    description: "Private mode: never return workflow inputs, outputs or step outputs, only their type and size.",
    parse: parseBoolean,
  },
  /** Production: read-only, private, redaction and a required audit log (needs {@linkcode Config.auditLog}). */
  production: {
    flag: "production",
    env: "DBOS_MCP_PRODUCTION",
    kind: "boolean",
    value: "",
    default: false,
    description: "Production: --read-only, --private, the redact plugin and a required audit log (needs --audit-log).",
    parse: parseBoolean,
  },
  /** Budget of a whole tool result (structured JSON plus text), in bytes. */
  maxResultBytes: {
    flag: "max-result-bytes",
    env: "DBOS_MCP_MAX_RESULT_BYTES",
    kind: "string",
    value: "N",
    default: 24_576,
    description: "Budget of each tool result (JSON plus text): items beyond it are dropped, with a cursor.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 2_048, 10_485_760, "bytes"),
  },
  /** Budget of each workflow input, output or error and step output, in bytes. */
  maxFieldBytes: {
    flag: "max-field-bytes",
    env: "DBOS_MCP_MAX_FIELD_BYTES",
    kind: "string",
    value: "N",
    default: 1_024,
    description: "Budget of each workflow input, output, error and step output, with a marker of what was cut.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 64, 1_048_576, "bytes"),
  },
  /** Serve Streamable HTTP on `HOST:PORT` instead of stdio. */
  http: {
    flag: "http",
    env: "DBOS_MCP_HTTP",
    kind: "string",
    value: "HOST:PORT",
    default: undefined,
    defaultText: "(stdio)",
    description: "Serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio (host defaults to 127.0.0.1).",
    parse: parseListenText,
  },
  /** Bearer secret HTTP clients must send (required beyond loopback). */
  httpToken: {
    flag: "http-token",
    env: "DBOS_MCP_HTTP_TOKEN",
    kind: "string",
    value: "SECRET",
    default: undefined,
    description: "Bearer secret HTTP clients must send; required when --http listens beyond loopback.",
    parse: parseHttpToken,
  },
  /** Largest HTTP request body, in bytes. */
  httpMaxBodyBytes: {
    flag: "http-max-body-bytes",
    env: "DBOS_MCP_HTTP_MAX_BODY_BYTES",
    kind: "string",
    value: "N",
    default: 4_194_304,
    description: "Largest HTTP request body, in bytes: a larger one (or Content-Length) is refused with 413.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 1_024, 268_435_456, "bytes"),
  },
  /** Most MCP sessions open at once over HTTP. */
  httpMaxSessions: {
    flag: "http-max-sessions",
    env: "DBOS_MCP_HTTP_MAX_SESSIONS",
    kind: "string",
    value: "N",
    default: 64,
    description: "Most MCP sessions open at once over HTTP: one more initialize is refused with 503.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 1, 10_000, "sessions"),
  },
  /** End an HTTP session after this long without a request or a call in flight, in milliseconds. */
  httpIdleTimeoutMs: {
    flag: "http-idle-timeout",
    env: "DBOS_MCP_HTTP_IDLE_TIMEOUT_MS",
    kind: "string",
    value: "MS",
    default: 1_800_000,
    description: "End an HTTP session after this many milliseconds without a request or a call in flight.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 1_000, 86_400_000, "milliseconds"),
  },
  /** Time limit to read an HTTP request's head, then its body, in milliseconds. */
  httpReadTimeoutMs: {
    flag: "http-read-timeout",
    env: "DBOS_MCP_HTTP_READ_TIMEOUT_MS",
    kind: "string",
    value: "MS",
    default: 30_000,
    description:
      "Time limit to read an HTTP request's line and headers, then again its body, in milliseconds: a slower one is refused with 408.",
    parse: (raw: RawValue, source: string): number => parseInteger(raw, source, 100, 600_000, "milliseconds"),
  },
  /** More Host names HTTP clients may use (DNS rebinding check). */
  httpAllowedHosts: {
    flag: "http-allowed-hosts",
    env: "DBOS_MCP_HTTP_ALLOWED_HOSTS",
    kind: "list",
    value: "HOSTS",
    default: [],
    defaultText: "(the bind address; on loopback also localhost, 127.0.0.1, [::1])",
    description: "More Host names HTTP clients may use, e.g. 'mcp.example.com,10.0.0.5:8808' (DNS rebinding check).",
    parse: parseHostNames,
  },
  /** Do not ask the user to confirm cancel and fork (elicitation). */
  noConfirm: {
    flag: "no-confirm",
    env: "DBOS_MCP_NO_CONFIRM",
    kind: "boolean",
    value: "",
    default: false,
    description: "Do not ask the user to confirm cancel_workflow and fork_workflow (clients with elicitation).",
    parse: parseBoolean,
  },
} satisfies Record<string, TableEntry>;

/** The server's configuration: one field per entry of {@linkcode OPTION_TABLE}, of that entry's value type. */
export type Config = ConfigOf<typeof OPTION_TABLE>;

/** The table, seen through its check: `deno check` fails here when an entry's default, parser or kind disagree. */
export const TABLE: CheckedTable<typeof OPTION_TABLE> = OPTION_TABLE;

/** Every key of {@linkcode Config}, in table order. */
export const KEYS: readonly (keyof Config)[] = Object.keys(TABLE) as (keyof Config)[];

/** One option of the configuration table, as `--help`, the flag parser and the config file see it. */
export interface OptionSpec {
  /** Key in {@linkcode Config}. */
  key: keyof Config;
  /** Long flag, without the dashes. `undefined` for options without a flag. */
  flag?: string;
  /** Environment variable, if any. */
  env?: string;
  /** Key in the config file when it is not the flag name. */
  fileKey?: string;
  /** `string` takes a value, `boolean` none, `list` may repeat (comma-separated in the environment). */
  kind: OptionKind;
  /** Placeholder for the value in `--help`. */
  value: string;
  /** The value when no source sets the option. */
  default: unknown;
  /** Default, as shown in `--help` and the README. */
  defaultText: string;
  /** What it does. */
  description: string;
  /** Turns the raw value into the config value, or throws a `ConfigError` naming `source`. */
  parse(raw: RawValue, source: string): unknown;
}

function defaultText(value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return "(none)";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function specOf<K extends keyof Config>(key: K): OptionSpec {
  const entry = TABLE[key];
  return { key, ...entry, defaultText: entry.defaultText ?? defaultText(entry.default) };
}

/** Every option, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = Object.freeze(KEYS.map(specOf));

/** Sets `config[key]` to the option's default. */
function setDefault<K extends keyof Config>(config: Partial<Config>, key: K): void {
  config[key] = structuredClone(TABLE[key].default);
}

function isComplete(config: Partial<Config>): config is Config {
  return KEYS.every((key) => key in config);
}

function tableDefaults(): Config {
  const config: Partial<Config> = {};
  for (const key of KEYS) setDefault(config, key);
  if (!isComplete(config)) throw new Error("the option table lost a key while building its defaults");
  return config;
}

const { home: _home, ...defaults } = tableDefaults();

/** Defaults of {@linkcode Config} (home is derived from `HOME`). */
export const DEFAULTS: Readonly<Omit<Config, "home">> = Object.freeze(defaults);
