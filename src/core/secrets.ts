/**
 * The one mechanism that keeps secrets out of what this process writes:
 * the {@linkcode SecretSet} of every secret value it knows (access and
 * refresh tokens, device codes, database passwords, the HTTP bearer token),
 * handed to every part that sees a secret and to every path that writes text
 * out (tool results, error messages, stderr, audit records). There is one
 * rule, documented on {@linkcode SecretSet}, and one marker,
 * {@linkcode REDACTED}.
 *
 * @module
 */

/** What a known secret is replaced with, everywhere. */
export const REDACTED = "[REDACTED]";

/**
 * Secrets shorter than this are not recorded: removing every occurrence of
 * one or two characters would destroy ordinary text, and such a value
 * protects nothing anyway.
 */
export const MIN_SECRET_LENGTH = 3;

const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/**
 * What a part that writes text out needs from the {@linkcode SecretSet}: a
 * way to scrub, not to add or to read the secrets.
 */
export interface Scrubber {
  /** Returns `text` with every known secret, and anything shaped like a JWT, replaced. */
  scrub(text: string): string;
  /** Returns `value` with every string in it (keys too) scrubbed by {@linkcode Scrubber.scrub}; `value` is not changed. */
  scrubValue<T>(value: T): T;
}

/**
 * The secret values this process knows, and the one rule for removing them
 * from text:
 *
 * - every value of at least {@linkcode MIN_SECRET_LENGTH} (3) characters is
 *   recorded (shorter ones are ignored);
 * - it is recorded in each form it may be written in: as given, its
 *   percent-decoded and percent-encoded forms (a password inside a URL) and
 *   its JSON-escaped form (a value inside JSON text);
 * - every occurrence of any form, anywhere in the text (inside other words
 *   too), is replaced by {@linkcode REDACTED}, longest value first so a
 *   secret that contains another is removed whole;
 * - {@linkcode SecretSet.scrub} also replaces anything shaped like a JWT with
 *   `[REDACTED:jwt]`, known or not.
 *
 * A short secret that is also an ordinary word (a database password such as
 * `dbos`) is therefore removed wherever that word appears, names included:
 * prefer long secrets.
 *
 * @example
 * ```ts
 * import { SecretSet } from "./secrets.ts";
 * const secrets = new SecretSet();
 * secrets.add("s3cr@t");
 * secrets.scrub("postgres://svc:s3cr%40t@db/x"); // "postgres://svc:[REDACTED]@db/x"
 * ```
 */
export class SecretSet implements Scrubber {
  #values = new Set<string>();
  /** The recorded forms, longest first; rebuilt after an `add`. */
  #sorted: string[] | undefined = [];

  /** Remembers a secret value and its other forms (ignored when shorter than {@linkcode MIN_SECRET_LENGTH}). */
  add(value: string | undefined | null): void {
    if (typeof value !== "string" || value.length < MIN_SECRET_LENGTH) return;
    for (const form of formsOf(value)) {
      if (form.length >= MIN_SECRET_LENGTH && !this.#values.has(form)) {
        this.#values.add(form);
        this.#sorted = undefined;
      }
    }
  }

  /** Whether `text` contains a known secret (in any recorded form). */
  containsKnown(text: string): boolean {
    for (const v of this.#values) if (text.includes(v)) return true;
    return false;
  }

  /** Returns `text` with every known secret replaced by {@linkcode REDACTED}. */
  scrubKnown(text: string): string {
    this.#sorted ??= [...this.#values].sort((a, b) => b.length - a.length);
    let out = text;
    for (const v of this.#sorted) {
      if (out.includes(v)) out = out.split(v).join(REDACTED);
    }
    return out;
  }

  /** {@linkcode SecretSet.scrubKnown}, and JWT-shaped strings replaced by `[REDACTED:jwt]`. */
  scrub(text: string): string {
    return this.scrubKnown(text).replace(JWT, "[REDACTED:jwt]");
  }

  /** Returns `value` with every string in it (keys too) scrubbed by {@linkcode SecretSet.scrub}; `value` is not changed. */
  scrubValue<T>(value: T): T {
    return walk(value, (s) => this.scrub(s)) as T;
  }

  /** Returns `value` with every string in it (keys too) scrubbed by {@linkcode SecretSet.scrubKnown}. */
  scrubKnownValue<T>(value: T): T {
    return walk(value, (s) => this.scrubKnown(s)) as T;
  }
}

/** The forms a secret may be written in. */
function formsOf(value: string): Set<string> {
  const forms = new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
  try {
    const decoded = decodeURIComponent(value);
    forms.add(decoded);
    forms.add(JSON.stringify(decoded).slice(1, -1));
  } catch {
    // not percent-encoded
  }
  return forms;
}

/** A copy of a JSON-like value with `fn` applied to every string, keys included. */
function walk(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === "string") return fn(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, fn));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[fn(k)] = walk(v, fn);
    return out;
  }
  return value;
}

/**
 * Replaces the password of every URL in `text` (`scheme://user:password@`)
 * with {@linkcode REDACTED}, for messages written before the
 * {@linkcode SecretSet} knows the password (bad command-line values). Over
 * the whole text and up to the last `@` of a word, so a password with an
 * unencoded `/` or `@` is removed whole.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./secrets.ts";
 * redactUrl("postgres://svc:pw@db:5432/x"); // "postgres://svc:[REDACTED]@db:5432/x"
 * ```
 */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^\s:/@]*):\S*@/g, `//$1:${REDACTED}@`);
}

/**
 * The password of a URL such as `postgres://user:password@host/db`, as
 * written in it (percent-encoded; {@linkcode SecretSet.add} records the
 * decoded form too), or `undefined` when it has none or is not a URL.
 */
export function urlPassword(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    return new URL(text).password || undefined;
  } catch {
    return undefined;
  }
}
