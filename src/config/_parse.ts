// The value parsers of the option table: each turns a raw value (a flag's
// text, a boolean flag, a repeated flag, an environment value, a config-file
// value, or a value a library user gave) into the option's value, or throws a
// ConfigError naming where the value came from. Each also accepts what it
// returns, so that completing an already complete configuration changes
// nothing.
import { ConfigError } from "../core/errors.ts";
import { redactUrl } from "../core/secrets.ts";
import { parseListen } from "./listen.ts";

/** A raw option value: a flag's text, a boolean flag, a repeated flag, or a config-file value. */
export type RawValue = string | boolean | string[] | unknown;

/** Turns a raw value into an option's value, or throws a {@linkcode ConfigError} naming `source`. */
export type Parser<T> = (raw: RawValue, source: string) => T;

/** One application's system database (system-database mode). */
export interface AppDatabase {
  /** Application name, as tools address it. */
  name: string;
  /** Postgres URL of its DBOS system database. */
  url: string;
}

function str(raw: RawValue, source: string): string {
  if (typeof raw !== "string") throw new ConfigError(`${source} must be a string, got ${JSON.stringify(raw)}`);
  return raw;
}

/** An http(s) base URL without credentials, query or fragment; the trailing slash dropped. */
export function parseHttpUrl(raw: RawValue, source: string): string {
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

/** A `postgres://` or `postgresql://` URL with a host; never repeats its password in an error. */
export function parsePostgresUrl(raw: RawValue, source: string): string {
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

/** A whole number from `min` to `max` (text or number). */
export function parseInteger(raw: RawValue, source: string, min: number, max: number, unit: string): number {
  const text = typeof raw === "number" ? String(raw) : str(raw, source).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${source} must be a whole number of ${unit} from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** A non-empty path. */
export function parsePath(raw: RawValue, source: string): string {
  const text = str(raw, source);
  if (text.trim() === "") throw new ConfigError(`${source} must be a path, got an empty string`);
  return text;
}

/** A name of letters, digits, `_`, `.` or `-`. */
export function parseName(raw: RawValue, source: string): string {
  const text = str(raw, source).trim();
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(text)) {
    throw new ConfigError(`${source} must be a name of letters, digits, '_', '.' or '-', got ${JSON.stringify(text)}`);
  }
  return text;
}

/** A secret; empty means none. */
export function parseSecret(raw: RawValue, source: string): string | undefined {
  const text = str(raw, source).trim();
  return text === "" ? undefined : text;
}

/** The bearer secret of the HTTP transport: 16 characters or more. */
export function parseHttpToken(raw: RawValue, source: string): string {
  const text = str(raw, source).trim();
  if (text.length < 16) throw new ConfigError(`${source} must be at least 16 characters long`);
  return text;
}

/** `true`/`false`, or in text `1`/`true`/`yes`/`on` and `0`/`false`/`no`/`off`/empty. */
export function parseBoolean(raw: RawValue, source: string): boolean {
  if (typeof raw === "boolean") return raw;
  const text = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  if (["1", "true", "yes", "on"].includes(text)) return true;
  if (["0", "false", "no", "off", ""].includes(text)) return false;
  throw new ConfigError(`${source} must be true or false (1/0), got ${JSON.stringify(raw)}`);
}

/** A list: repeated flags, a comma-separated environment value, or an array of strings. */
function listOf(raw: RawValue, source: string, item: (text: string, source: string) => string): string[] {
  const parts = typeof raw === "string"
    ? raw.split(",")
    : Array.isArray(raw) && raw.every((x) => typeof x === "string")
    ? raw.flatMap((x: string) => x.split(","))
    : undefined;
  if (!parts) throw new ConfigError(`${source} must be a list of strings, got ${JSON.stringify(raw)}`);
  return parts.map((p) => p.trim()).filter((p) => p !== "").map((p) => item(p, source));
}

function parseGlob(text: string, source: string): string {
  if (!/^[A-Za-z0-9_*?-]{1,128}$/.test(text)) {
    throw new ConfigError(
      `${source} must list tool names or globs (letters, digits, '_', '-', '*', '?'), got '${text}'`,
    );
  }
  return text;
}

/** An organization name as Conductor paths take it (3 to 30 of `a-z`, `0-9`, `_`). */
export function parseOrgName(raw: RawValue, source: string): string {
  const text = str(raw, source).trim();
  if (!/^[a-z0-9_]{3,30}$/.test(text)) {
    throw new ConfigError(
      `${source} must be an organization name of 3 to 30 lower-case letters, digits or '_', got ${
        JSON.stringify(text.slice(0, 40))
      }`,
    );
  }
  return text;
}

/** A list of tool names or globs. */
export function parseGlobs(raw: RawValue, source: string): string[] {
  return listOf(raw, source, parseGlob);
}

function parseHostName(text: string, source: string): string {
  const m = text.toLowerCase().match(
    /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/,
  );
  if (!m || (m[5] && Number(m[5].slice(1)) > 65535)) {
    throw new ConfigError(
      `${source} must list host names, IPv4 or [IPv6] addresses, each with an optional :PORT ` +
        `(e.g. mcp.example.com,10.0.0.5:8808), got '${text.slice(0, 100)}'`,
    );
  }
  return text.toLowerCase();
}

/** A list of host names (with optional ports) HTTP clients may use. */
export function parseHostNames(raw: RawValue, source: string): string[] {
  return listOf(raw, source, parseHostName);
}

/** A list of plugin specs. */
export function parseSpecs(raw: RawValue, source: string): string[] {
  return listOf(raw, source, (text) => text);
}

/**
 * Applications: `NAME=URL` entries, `{ name, url }` objects (what this
 * parser returns), or in the config file an object `{ NAME: URL }`.
 */
export function parseApps(raw: RawValue, source: string): AppDatabase[] {
  const items = raw && typeof raw === "object" && !Array.isArray(raw)
    ? Object.entries(raw as Record<string, unknown>).map(([k, v]) => `${k}=${v}`)
    : raw;
  const valid = Array.isArray(items) &&
    items.every((x) =>
      typeof x === "string" || (isRecord(x) && typeof x.name === "string" && typeof x.url === "string")
    );
  if (!valid) throw new ConfigError(`${source} must be NAME=URL entries, got ${JSON.stringify(raw)}`);
  const seen = new Set<string>();
  return items.map((entry: string | { name: string; url: string }) => {
    const at = typeof entry === "string" ? entry.indexOf("=") : -1;
    if (typeof entry === "string" && at <= 0) {
      throw new ConfigError(
        `${source} must be NAME=URL (e.g. shop=postgres://host/shop_dbos_sys), got '${redactUrl(entry)}'`,
      );
    }
    const [rawName, rawUrl] = typeof entry === "string"
      ? [entry.slice(0, at), entry.slice(at + 1)]
      : [entry.name, entry.url];
    const name = parseName(rawName, source);
    if (seen.has(name)) throw new ConfigError(`${source} names the application '${name}' twice`);
    seen.add(name);
    return { name, url: parsePostgresUrl(rawUrl, `${source} (${name})`) };
  });
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return !!x && typeof x === "object" && !Array.isArray(x);
}

/** Options of each plugin: an object of option objects. */
export function parsePluginOptions(raw: RawValue, source: string): Record<string, Record<string, unknown>> {
  if (!isRecord(raw)) {
    throw new ConfigError(`${source} must be an object mapping plugin names to option objects`);
  }
  for (const [k, v] of Object.entries(raw)) {
    if (!isRecord(v)) throw new ConfigError(`${source}.${k} must be an object of options`);
  }
  return raw as Record<string, Record<string, unknown>>;
}

/** `HOST:PORT`, `:PORT` or `PORT`, kept as text. */
export function parseListenText(raw: RawValue, source: string): string {
  const text = str(raw, source).trim();
  parseListen(text, source);
  return text;
}
