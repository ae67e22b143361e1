// The system databases of the configuration: one per `--app NAME=URL`, and
// one for `--database-url` (named by `--app-name`, or by the application
// names the database itself records). Pure: nothing here connects.
import type { Config } from "../../config/mod.ts";
import { ConfigError } from "../../core/errors.ts";

/** One configured system database. */
export interface DatabaseTarget {
  /** The URL as configured (with its password: never show it). */
  url: string;
  /** `host:port/database`, for messages. */
  where: string;
  /** Host and port, as `--allow-net` wants them (`host:port`). */
  hostPort: string;
  /** The login user named by the URL, if any. */
  user: string | undefined;
  /** The password in the URL, if any (to scrub it from messages). */
  password: string | undefined;
  /** The database name. */
  database: string;
  /**
   * The configured application name. `undefined` when the names come from
   * the database (`--database-url` without `--app-name`).
   */
  name: string | undefined;
  /**
   * The name shown while the database's own application names are unknown
   * (it is down, or records none): the database name without `_dbos_sys`.
   */
  fallbackName: string;
}

/** The flag of `target`, for error messages. */
export function describeTarget(target: DatabaseTarget): string {
  return target.name === undefined ? "--database-url" : `the application '${target.name}'`;
}

/**
 * The system databases `config` names, in order: each `--app`, then
 * `--database-url`.
 *
 * @throws {ConfigError} when an application name is given twice.
 */
export function targetsFromConfig(config: Pick<Config, "databaseUrl" | "appName" | "apps">): DatabaseTarget[] {
  const targets = config.apps.map((a) => target(a.url, a.name));
  if (config.databaseUrl) targets.push(target(config.databaseUrl, config.appName));
  const seen = new Set<string>();
  for (const t of targets) {
    if (t.name === undefined) continue;
    if (seen.has(t.name)) {
      throw new ConfigError(
        `The application '${t.name}' is configured twice (by --app and by --database-url with --app-name).`,
        { hint: "Give each system database its own application name." },
      );
    }
    seen.add(t.name);
  }
  return targets;
}

function target(url: string, name: string | undefined): DatabaseTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ConfigError("A system database URL is not a valid URL.", {
      hint: "Use postgres://user:password@host:5432/database.",
      cause: err,
    });
  }
  const host = parsed.hostname;
  const port = parsed.port || "5432";
  const database = safeDecode(parsed.pathname.replace(/^\//, "")) || safeDecode(parsed.username) || "postgres";
  const fallback = database.replace(/_dbos_sys$/, "").replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 128) || "default";
  return {
    url,
    where: `${host}:${port}/${database}`,
    hostPort: `${host}:${port}`,
    user: parsed.username ? safeDecode(parsed.username) : undefined,
    password: parsed.password ? parsed.password : undefined,
    database,
    name,
    fallbackName: fallback,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * `url` with libpq startup options added: `options` (appended to any the URL
 * already has) and `application_name` (unless the URL sets one).
 */
export function withStartupOptions(url: string, options: string, applicationName: string): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get("options");
  parsed.searchParams.set("options", existing ? `${existing} ${options}` : options);
  if (!parsed.searchParams.has("application_name")) parsed.searchParams.set("application_name", applicationName);
  return parsed.href;
}
