/**
 * The configuration: one table of options, each with a flag, an environment
 * variable, a default and a parser. `--help`, the parser and the README's
 * configuration reference all come from this table.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { join } from "./_path.ts";

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
}

/** Defaults of {@linkcode Config} (home is derived from `HOME`). */
export const DEFAULTS: Readonly<Omit<Config, "home" | "refreshToken">> = Object.freeze({
  conductorUrl: "https://cloud.dbos.dev/conductor/v1alpha1",
  cloudUrl: "https://cloud.dbos.dev",
  loginUrl: "https://login.dbos.dev",
  timeoutMs: 30_000,
  loginWaitMs: 20_000,
});

/** One option of the configuration table. */
export interface OptionSpec {
  /** Key in {@linkcode Config}. */
  key: keyof Config;
  /** Long flag, without the dashes. `undefined` for environment-only options. */
  flag?: string;
  /** Environment variable. */
  env: string;
  /** Placeholder for the value in `--help`. */
  value: string;
  /** Default, as shown in `--help` and the README. */
  defaultText: string;
  /** What it does. */
  description: string;
  /** Turns the text into the value, or throws a {@linkcode ConfigError} naming `source`. */
  parse(text: string, source: string): Config[keyof Config];
}

function parseUrl(text: string, source: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new ConfigError(`${source} must be an http(s) URL, got ${JSON.stringify(text)}`, { cause: err });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`${source} must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`${source} must be a plain base URL without credentials, query or fragment`);
  }
  return url.href.replace(/\/+$/, "");
}

function parseMs(min: number, max: number) {
  return (text: string, source: string): number => {
    const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(
        `${source} must be a whole number of milliseconds from ${min} to ${max}, got ${JSON.stringify(text)}`,
      );
    }
    return n;
  };
}

function parsePath(text: string, source: string): string {
  if (text.trim() === "") throw new ConfigError(`${source} must be a folder path, got an empty string`);
  return text;
}

function parseSecret(text: string, _source: string): string | undefined {
  return text.trim() === "" ? undefined : text.trim();
}

/** Every option, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "conductorUrl",
    flag: "conductor-url",
    env: "DBOS_CONDUCTOR_URL",
    value: "URL",
    defaultText: DEFAULTS.conductorUrl,
    description: "DBOS Conductor API base (DBOS Cloud or self-hosted Conductor).",
    parse: parseUrl,
  },
  {
    key: "cloudUrl",
    flag: "cloud-url",
    env: "DBOS_CLOUD_URL",
    value: "URL",
    defaultText: DEFAULTS.cloudUrl,
    description: "DBOS Cloud API base, used to read the user profile after login.",
    parse: parseUrl,
  },
  {
    key: "loginUrl",
    flag: "login-url",
    env: "DBOS_LOGIN_URL",
    value: "URL",
    defaultText: DEFAULTS.loginUrl,
    description: "Login service (OAuth 2.0 device authorization).",
    parse: parseUrl,
  },
  {
    key: "home",
    flag: "home",
    env: "DBOS_MCP_HOME",
    value: "DIR",
    defaultText: "~/.dbos-mcp",
    description: "Folder for the credentials and the pending login (shared with the Python dbos-mcp).",
    parse: parsePath,
  },
  {
    key: "timeoutMs",
    flag: "timeout",
    env: "DBOS_MCP_TIMEOUT_MS",
    value: "MS",
    defaultText: String(DEFAULTS.timeoutMs),
    description: "Time limit of each request to Conductor, login or DBOS Cloud, in milliseconds.",
    parse: parseMs(1, 600_000),
  },
  {
    key: "loginWaitMs",
    flag: "login-wait",
    env: "DBOS_MCP_LOGIN_WAIT_MS",
    value: "MS",
    defaultText: String(DEFAULTS.loginWaitMs),
    description: "How long login_complete waits for the user before answering 'pending'.",
    parse: parseMs(0, 120_000),
  },
  {
    key: "refreshToken",
    env: "DBOS_MCP_REFRESH_TOKEN",
    value: "TOKEN",
    defaultText: "(none)",
    description: "Refresh token for headless use: exchanged for an access token when first needed.",
    parse: parseSecret,
  },
];

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

/**
 * Builds a {@linkcode Config} from flag values and the environment: a flag
 * beats its environment variable, which beats the default.
 *
 * @throws {ConfigError} naming the flag or variable whose value is invalid.
 *
 * @example Flags win over the environment
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * const env = { DBOS_MCP_TIMEOUT_MS: "5000" } as Record<string, string>;
 * const config = resolveConfig({ timeout: "1000" }, (k) => env[k]);
 * console.log(config.timeoutMs); // 1000
 * ```
 */
export function resolveConfig(
  flags: Record<string, unknown>,
  env: (name: string) => string | undefined = readEnv,
): Config {
  const config: Record<string, unknown> = { ...DEFAULTS, home: undefined, refreshToken: undefined };
  for (const opt of OPTIONS) {
    const flagValue = opt.flag ? flags[opt.flag] : undefined;
    if (typeof flagValue === "string") {
      config[opt.key] = opt.parse(flagValue, `--${opt.flag}`);
      continue;
    }
    const envValue = env(opt.env);
    if (envValue !== undefined && envValue !== "") config[opt.key] = opt.parse(envValue, opt.env);
  }
  if (config.home === undefined) config.home = defaultHome(env);
  return config as unknown as Config;
}
