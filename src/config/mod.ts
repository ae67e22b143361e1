/**
 * The configuration: one table of options, each with a flag, an environment
 * variable, a config-file key, a default and a parser. `--help`, the parser,
 * the config file and the README's configuration reference all come from
 * this table. Precedence: flag, then environment, then config file, then
 * default.
 *
 * @module
 */
import { ConfigError } from "../core/errors.ts";
import { join } from "../util/path.ts";

/** One application's system database (system-database mode). */
export interface AppDatabase {
  /** Application name, as tools address it. */
  name: string;
  /** Postgres URL of its DBOS system database. */
  url: string;
}

/** The server's resolved configuration. */
export interface Config {
  /** DBOS Conductor REST base URL, without a trailing slash. */
  conductorUrl: string;
  /** DBOS Cloud API base URL (user profile), without a trailing slash. */
  cloudUrl: string;
  /** Login service (OAuth device flow) base URL, without a trailing slash. */
  loginUrl: string;
  /**
   * Folder holding `credentials` and `pending_login`. `undefined` when it
   * could not be resolved (no `--home` and `HOME` not readable).
   */
  home: string | undefined;
  /** Time limit of each request to a remote service, in milliseconds. */
  timeoutMs: number;
  /** How long `login_complete` waits for the user before answering "pending", in milliseconds. */
  loginWaitMs: number;
  /** A refresh token to use instead of an interactive login (headless use). */
  refreshToken: string | undefined;

  /** One application's system database URL (system-database mode). */
  databaseUrl: string | undefined;
  /** Name of the application of {@linkcode Config.databaseUrl}. */
  appName: string | undefined;
  /** Several applications, each with its own system database. */
  apps: AppDatabase[];
  /** DBOS system schema. */
  schema: string;
  /** Connections per system database. */
  poolSize: number;
  /** Statement timeout of system-database queries, in milliseconds. */
  statementTimeoutMs: number;

  /** Hide and refuse every tool that mutates; open databases read-only. */
  readOnly: boolean;
  /** Only tools matching one of these globs (empty: all). */
  tools: string[];
  /** No tool matching one of these globs (wins over `tools`). */
  excludeTools: string[];
  /** Plugins to load: paths, specifiers or first-party short names. */
  plugins: string[];
  /** Options of each plugin, by plugin spec or name (config file only). */
  pluginOptions: Record<string, Record<string, unknown>>;
  /** The JSON config file read, if any. */
  configFile: string | undefined;
  /** Audit log path (JSON Lines), for the `audit` plugin. */
  auditLog: string | undefined;
  /** Refuse every call when the audit log cannot be written. */
  auditRequired: boolean;
  /** Private mode: workflow inputs, outputs and other payloads are described (type, size), never returned. */
  private: boolean;
  /** Production: read-only, redaction, private mode and a required audit log. */
  production: boolean;
  /** Budget of a whole tool result (structured JSON plus text), in bytes. */
  maxResultBytes: number;
  /** Budget of each workflow input, output or error and step output, in bytes. */
  maxFieldBytes: number;
  /** Serve Streamable HTTP on `HOST:PORT` instead of stdio. */
  http: string | undefined;
  /** Bearer secret HTTP clients must send (required beyond loopback). */
  httpToken: string | undefined;
  /** Do not ask the user to confirm cancel and fork (elicitation). */
  noConfirm: boolean;
}

/** Defaults of {@linkcode Config} (home is derived from `HOME`). */
export const DEFAULTS: Readonly<Omit<Config, "home">> = Object.freeze({
  conductorUrl: "https://cloud.dbos.dev/conductor/v1alpha1",
  cloudUrl: "https://cloud.dbos.dev",
  loginUrl: "https://login.dbos.dev",
  timeoutMs: 30_000,
  loginWaitMs: 20_000,
  refreshToken: undefined,
  databaseUrl: undefined,
  appName: undefined,
  apps: [],
  schema: "dbos",
  poolSize: 2,
  statementTimeoutMs: 10_000,
  readOnly: false,
  tools: [],
  excludeTools: [],
  plugins: [],
  pluginOptions: {},
  configFile: undefined,
  auditLog: undefined,
  auditRequired: false,
  private: false,
  production: false,
  maxResultBytes: 24_576,
  maxFieldBytes: 1_024,
  http: undefined,
  httpToken: undefined,
  noConfirm: false,
});

/** A raw option value: a flag's text, a boolean flag, a repeated flag, or a config-file value. */
export type RawValue = string | boolean | string[] | unknown;

/** One option of the configuration table. */
export interface OptionSpec {
  /** Key in {@linkcode Config}. */
  key: keyof Config;
  /** Long flag, without the dashes. `undefined` for options without a flag. */
  flag?: string;
  /** Environment variable, if any. */
  env?: string;
  /** Key in the config file; `undefined` when the file may not set it. */
  fileKey?: string;
  /** `string` takes a value, `boolean` none, `list` may repeat (comma-separated in the environment). */
  kind: "string" | "boolean" | "list";
  /** Placeholder for the value in `--help`. */
  value: string;
  /** Default, as shown in `--help` and the README. */
  defaultText: string;
  /** What it does. */
  description: string;
  /** Turns the raw value into the config value, or throws a {@linkcode ConfigError} naming `source`. */
  parse(raw: RawValue, source: string): unknown;
}

/**
 * Replaces the password of a URL with `***`, for messages. When the text is
 * not a URL, everything from the user's `:` to the last `@` of the text goes
 * (a password may hold a raw `@` or `/`).
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = "***";
    return url.href;
  } catch {
    return text.replace(/\/\/([^:/@\s]*):.*@/s, "//$1:***@");
  }
}

function str(raw: RawValue, source: string): string {
  if (typeof raw !== "string") throw new ConfigError(`${source} must be a string, got ${JSON.stringify(raw)}`);
  return raw;
}

function parseHttpUrl(raw: RawValue, source: string): string {
  const text = str(raw, source);
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new ConfigError(`${source} must be an http(s) URL, got ${JSON.stringify(redactUrl(text))}`, { cause: err });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`${source} must be an http(s) URL, got ${JSON.stringify(redactUrl(text))}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`${source} must be a plain base URL without credentials, query or fragment`);
  }
  return url.href.replace(/\/+$/, "");
}

function parsePostgresUrl(raw: RawValue, source: string): string {
  const text = str(raw, source).trim();
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "postgres:" && url.protocol !== "postgresql:") || !url.hostname) {
    throw new ConfigError(
      `${source} must be a Postgres URL such as postgres://user:password@host:5432/app_dbos_sys, got ${
        JSON.stringify(redactUrl(text))
      }`,
    );
  }
  return text;
}

function parseInteger(min: number, max: number, unit: string) {
  return (raw: RawValue, source: string): number => {
    const text = typeof raw === "number" ? String(raw) : str(raw, source).trim();
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(
        `${source} must be a whole number of ${unit} from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return n;
  };
}

function parsePath(raw: RawValue, source: string): string {
  const text = str(raw, source);
  if (text.trim() === "") throw new ConfigError(`${source} must be a path, got an empty string`);
  return text;
}

function parseName(raw: RawValue, source: string): string {
  const text = str(raw, source).trim();
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(text)) {
    throw new ConfigError(`${source} must be a name of letters, digits, '_', '.' or '-', got ${JSON.stringify(text)}`);
  }
  return text;
}

function parseSecret(raw: RawValue, source: string): string | undefined {
  const text = str(raw, source).trim();
  return text === "" ? undefined : text;
}

function parseBoolean(raw: RawValue, source: string): boolean {
  if (typeof raw === "boolean") return raw;
  const text = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  if (["1", "true", "yes", "on"].includes(text)) return true;
  if (["0", "false", "no", "off", ""].includes(text)) return false;
  throw new ConfigError(`${source} must be true or false (1/0), got ${JSON.stringify(raw)}`);
}

/** A list: repeated flags, a comma-separated environment value, or a JSON array of strings in the file. */
function listOf(item: (text: string, source: string) => string) {
  return (raw: RawValue, source: string): string[] => {
    const parts = typeof raw === "string"
      ? raw.split(",")
      : Array.isArray(raw) && raw.every((x) => typeof x === "string")
      ? raw.flatMap((x: string) => x.split(","))
      : undefined;
    if (!parts) throw new ConfigError(`${source} must be a list of strings, got ${JSON.stringify(raw)}`);
    return parts.map((p) => p.trim()).filter((p) => p !== "").map((p) => item(p, source));
  };
}

function parseGlob(text: string, source: string): string {
  if (!/^[A-Za-z0-9_*?-]{1,128}$/.test(text)) {
    throw new ConfigError(
      `${source} must list tool names or globs (letters, digits, '_', '-', '*', '?'), got '${text}'`,
    );
  }
  return text;
}

function parseApps(raw: RawValue, source: string): AppDatabase[] {
  // The file may also give an object { name: url }.
  const items = raw && typeof raw === "object" && !Array.isArray(raw)
    ? Object.entries(raw as Record<string, unknown>).map(([k, v]) => `${k}=${v}`)
    : raw;
  if (!Array.isArray(items) || !items.every((x) => typeof x === "string")) {
    throw new ConfigError(`${source} must be NAME=URL entries, got ${JSON.stringify(raw)}`);
  }
  const seen = new Set<string>();
  return items.map((entry: string) => {
    const at = entry.indexOf("=");
    if (at <= 0) {
      throw new ConfigError(
        `${source} must be NAME=URL (e.g. shop=postgres://host/shop_dbos_sys), got '${redactUrl(entry)}'`,
      );
    }
    const name = parseName(entry.slice(0, at), source);
    if (seen.has(name)) throw new ConfigError(`${source} names the application '${name}' twice`);
    seen.add(name);
    return { name, url: parsePostgresUrl(entry.slice(at + 1), `${source} (${name})`) };
  });
}

function parsePluginOptions(raw: RawValue, source: string): Record<string, Record<string, unknown>> {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(`${source} must be an object mapping plugin names to option objects`);
  }
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!v || typeof v !== "object" || Array.isArray(v)) {
      throw new ConfigError(`${source}.${k} must be an object of options`);
    }
  }
  return raw as Record<string, Record<string, unknown>>;
}

/** Every option, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "conductorUrl",
    flag: "conductor-url",
    env: "DBOS_CONDUCTOR_URL",
    kind: "string",
    value: "URL",
    defaultText: DEFAULTS.conductorUrl,
    description: "DBOS Conductor API base (DBOS Cloud or self-hosted Conductor).",
    parse: parseHttpUrl,
  },
  {
    key: "cloudUrl",
    flag: "cloud-url",
    env: "DBOS_CLOUD_URL",
    kind: "string",
    value: "URL",
    defaultText: DEFAULTS.cloudUrl,
    description: "DBOS Cloud API base, used to read the user profile after login.",
    parse: parseHttpUrl,
  },
  {
    key: "loginUrl",
    flag: "login-url",
    env: "DBOS_LOGIN_URL",
    kind: "string",
    value: "URL",
    defaultText: DEFAULTS.loginUrl,
    description: "Login service (OAuth 2.0 device authorization).",
    parse: parseHttpUrl,
  },
  {
    key: "home",
    flag: "home",
    env: "DBOS_MCP_HOME",
    kind: "string",
    value: "DIR",
    defaultText: "~/.dbos-mcp",
    description: "Folder for the credentials and the pending login (shared with the Python dbos-mcp).",
    parse: parsePath,
  },
  {
    key: "timeoutMs",
    flag: "timeout",
    env: "DBOS_MCP_TIMEOUT_MS",
    kind: "string",
    value: "MS",
    defaultText: String(DEFAULTS.timeoutMs),
    description: "Time limit of each request to Conductor, login or DBOS Cloud, in milliseconds.",
    parse: parseInteger(1, 600_000, "milliseconds"),
  },
  {
    key: "loginWaitMs",
    flag: "login-wait",
    env: "DBOS_MCP_LOGIN_WAIT_MS",
    kind: "string",
    value: "MS",
    defaultText: String(DEFAULTS.loginWaitMs),
    description: "How long login_complete waits for the user before answering 'pending'.",
    parse: parseInteger(0, 120_000, "milliseconds"),
  },
  {
    key: "refreshToken",
    env: "DBOS_MCP_REFRESH_TOKEN",
    kind: "string",
    value: "TOKEN",
    defaultText: "(none)",
    description: "Refresh token for headless use: exchanged for an access token when first needed.",
    parse: parseSecret,
  },
  {
    key: "databaseUrl",
    flag: "database-url",
    env: "DBOS_SYSTEM_DATABASE_URL",
    kind: "string",
    value: "URL",
    defaultText: "(none)",
    description: "One application's DBOS system database: serve it directly, without Conductor.",
    parse: parsePostgresUrl,
  },
  {
    key: "appName",
    flag: "app-name",
    env: "DBOS_APP_NAME",
    kind: "string",
    value: "NAME",
    defaultText: "(from the database)",
    description: "Name of the application of --database-url.",
    parse: parseName,
  },
  {
    key: "apps",
    flag: "app",
    fileKey: "apps",
    kind: "list",
    value: "NAME=URL",
    defaultText: "(none)",
    description: "An application and its system database; repeat for several.",
    parse: parseApps,
  },
  {
    key: "schema",
    flag: "schema",
    env: "DBOS_SYSTEM_DATABASE_SCHEMA",
    kind: "string",
    value: "NAME",
    defaultText: DEFAULTS.schema,
    description: "DBOS system schema.",
    parse: parseName,
  },
  {
    key: "poolSize",
    flag: "pool-size",
    env: "DBOS_MCP_POOL_SIZE",
    kind: "string",
    value: "N",
    defaultText: String(DEFAULTS.poolSize),
    description: "Connections per system database.",
    parse: parseInteger(1, 50, "connections"),
  },
  {
    key: "statementTimeoutMs",
    flag: "statement-timeout",
    env: "DBOS_MCP_STATEMENT_TIMEOUT_MS",
    kind: "string",
    value: "MS",
    defaultText: String(DEFAULTS.statementTimeoutMs),
    description: "Statement timeout of system-database queries, in milliseconds.",
    parse: parseInteger(1, 600_000, "milliseconds"),
  },
  {
    key: "readOnly",
    flag: "read-only",
    env: "DBOS_MCP_READ_ONLY",
    kind: "boolean",
    value: "",
    defaultText: "false",
    description: "Hide and refuse every tool that changes workflows; open databases read-only.",
    parse: parseBoolean,
  },
  {
    key: "tools",
    flag: "tools",
    env: "DBOS_MCP_TOOLS",
    kind: "list",
    value: "GLOBS",
    defaultText: "(all)",
    description: "Only offer tools matching these comma-separated globs, e.g. 'list_*,get_workflow'.",
    parse: listOf(parseGlob),
  },
  {
    key: "excludeTools",
    flag: "exclude-tools",
    env: "DBOS_MCP_EXCLUDE_TOOLS",
    kind: "list",
    value: "GLOBS",
    defaultText: "(none)",
    description: "Never offer tools matching these globs (wins over --tools).",
    parse: listOf(parseGlob),
  },
  {
    key: "plugins",
    flag: "plugin",
    env: "DBOS_MCP_PLUGINS",
    fileKey: "plugins",
    kind: "list",
    value: "SPEC",
    defaultText: "(none)",
    description: "Load a plugin: a path, file:/jsr:/npm:/https: specifier, or 'redact'/'audit'; repeatable.",
    parse: listOf((t) => t),
  },
  {
    key: "pluginOptions",
    fileKey: "plugin-options",
    kind: "string",
    value: "",
    defaultText: "{}",
    description: "Options of each plugin, by name (config file only).",
    parse: parsePluginOptions,
  },
  {
    key: "configFile",
    flag: "config",
    env: "DBOS_MCP_CONFIG",
    kind: "string",
    value: "FILE",
    defaultText: "(none)",
    description: "JSON config file: any option above by its flag name, plus plugin-options.",
    parse: parsePath,
  },
  {
    key: "auditLog",
    flag: "audit-log",
    env: "DBOS_MCP_AUDIT_LOG",
    kind: "string",
    value: "PATH",
    defaultText: "(none)",
    description: "Audit log (JSON Lines, hash-chained); loads the audit plugin.",
    parse: parsePath,
  },
  {
    key: "auditRequired",
    flag: "audit-required",
    env: "DBOS_MCP_AUDIT_REQUIRED",
    kind: "boolean",
    value: "",
    defaultText: "false",
    description: "Refuse every call, not only mutations, when the audit log cannot be written.",
    parse: parseBoolean,
  },
  {
    key: "private",
    flag: "private",
    env: "DBOS_MCP_PRIVATE",
    kind: "boolean",
    value: "",
    defaultText: "false",
    description: "Private mode: never return workflow inputs, outputs or step outputs, only their type and size.",
    parse: parseBoolean,
  },
  {
    key: "production",
    flag: "production",
    env: "DBOS_MCP_PRODUCTION",
    kind: "boolean",
    value: "",
    defaultText: "false",
    description: "Production: --read-only, --private, the redact plugin and a required audit log (needs --audit-log).",
    parse: parseBoolean,
  },
  {
    key: "maxResultBytes",
    flag: "max-result-bytes",
    env: "DBOS_MCP_MAX_RESULT_BYTES",
    kind: "string",
    value: "N",
    defaultText: String(DEFAULTS.maxResultBytes),
    description: "Budget of each tool result (JSON plus text): items beyond it are dropped, with a cursor.",
    parse: parseInteger(2_048, 10_485_760, "bytes"),
  },
  {
    key: "maxFieldBytes",
    flag: "max-field-bytes",
    env: "DBOS_MCP_MAX_FIELD_BYTES",
    kind: "string",
    value: "N",
    defaultText: String(DEFAULTS.maxFieldBytes),
    description: "Budget of each workflow input, output, error and step output, with a marker of what was cut.",
    parse: parseInteger(64, 1_048_576, "bytes"),
  },
  {
    key: "http",
    flag: "http",
    env: "DBOS_MCP_HTTP",
    kind: "string",
    value: "HOST:PORT",
    defaultText: "(stdio)",
    description: "Serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio (host defaults to 127.0.0.1).",
    parse: parseListenText,
  },
  {
    key: "httpToken",
    flag: "http-token",
    env: "DBOS_MCP_HTTP_TOKEN",
    kind: "string",
    value: "SECRET",
    defaultText: "(none)",
    description: "Bearer secret HTTP clients must send; required when --http listens beyond loopback.",
    parse: (raw, source) => {
      const text = str(raw, source).trim();
      if (text.length < 16) throw new ConfigError(`${source} must be at least 16 characters long`);
      return text;
    },
  },
  {
    key: "noConfirm",
    flag: "no-confirm",
    env: "DBOS_MCP_NO_CONFIRM",
    kind: "boolean",
    value: "",
    defaultText: "false",
    description: "Do not ask the user to confirm cancel_workflow and fork_workflow (clients with elicitation).",
    parse: parseBoolean,
  },
];

function parseListenText(raw: RawValue, source: string): string {
  const text = str(raw, source).trim();
  if (!/^(?:(\[[0-9a-fA-F:]+\]|[^:\s]*):)?\d{1,5}$/.test(text) || Number(text.split(":").pop()) > 65535) {
    throw new ConfigError(
      `${source} must be HOST:PORT, :PORT or PORT (e.g. 127.0.0.1:8808), got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/** Reads an environment variable, or `undefined` when unset or when Deno may not read it. */
export function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The default home folder, `~/.dbos-mcp`, or `undefined` when the user's home is unknown. */
export function defaultHome(env: (name: string) => string | undefined = readEnv): string | undefined {
  const base = env("HOME") ?? env("USERPROFILE");
  return base ? join(base, ".dbos-mcp") : undefined;
}

/** Where {@linkcode resolveConfig} reads raw values from. */
export interface ConfigSources {
  /** Flag values by flag name (strings, booleans, or string arrays for repeatable flags). */
  flags?: Record<string, unknown>;
  /** Environment lookup. */
  env?: (name: string) => string | undefined;
  /** The parsed config file, and its path for messages. */
  file?: { path: string; doc: Record<string, unknown> };
}

/**
 * Builds a {@linkcode Config}: each option from its flag, else its
 * environment variable, else the config file, else the default. Then applies
 * `--production` (read-only, redact and audit plugins, audit required).
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
  const config: Record<string, unknown> = structuredClone({ ...DEFAULTS, home: undefined });
  for (const opt of OPTIONS) {
    const flagValue = opt.flag ? flags[opt.flag] : undefined;
    const present = Array.isArray(flagValue) ? flagValue.length > 0 : flagValue !== undefined && flagValue !== false;
    if (present) {
      config[opt.key] = opt.parse(flagValue, `--${opt.flag}`);
      continue;
    }
    const envValue = opt.env ? env(opt.env) : undefined;
    if (envValue !== undefined && envValue !== "") {
      config[opt.key] = opt.parse(envValue, opt.env!);
      continue;
    }
    const key = opt.fileKey ?? opt.flag;
    if (file && key && key in file.doc && key !== "config") {
      config[opt.key] = opt.parse(file.doc[key], `'${key}' in ${file.path}`);
    }
  }
  if (config.home === undefined) config.home = defaultHome(env);
  return applyProduction(config as unknown as Config);
}

function checkFileKeys(path: string, doc: Record<string, unknown>): void {
  const allowed = OPTIONS.map((o) => o.fileKey ?? o.flag).filter((k): k is string => !!k && k !== "config");
  for (const key of Object.keys(doc)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`Unknown key '${key}' in ${path}; allowed keys: ${allowed.join(", ")}`);
    }
  }
}

/** `--audit-log` loads the audit plugin; `--production` adds read-only, redaction and a required audit. */
function applyProduction(config: Config): Config {
  const plugins = [...config.plugins];
  const add = (name: string) => {
    if (!plugins.includes(name)) plugins.push(name);
  };
  if (!config.production) {
    if (config.auditLog) add("audit");
    return { ...config, plugins };
  }
  if (!config.auditLog) {
    throw new ConfigError("--production needs an audit log: pass --audit-log PATH (or DBOS_MCP_AUDIT_LOG)");
  }
  add("redact");
  add("audit");
  return { ...config, readOnly: true, private: true, auditRequired: true, plugins };
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
      : (err as Error).message;
    throw new ConfigError(`Cannot read the config file ${path}: ${why}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`The config file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(`The config file ${path} must hold a JSON object of options`);
  }
  return { path, doc: doc as Record<string, unknown> };
}
