/**
 * The set of secret values this process knows (access and refresh tokens,
 * device codes), so that any text leaving the process (tool results, errors,
 * stderr) can be scrubbed of them as a last line of defence.
 *
 * @module
 */

const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/** Replaces every known secret, and anything shaped like a JWT, with a marker. */
export class SecretSet {
  #values = new Set<string>();

  /** Remembers a secret value (ignored when shorter than 8 characters). */
  add(value: string | undefined | null): void {
    if (value && value.length >= 8) this.#values.add(value);
  }

  /** Whether `text` contains a known secret. */
  containsKnown(text: string): boolean {
    for (const v of this.#values) if (text.includes(v)) return true;
    return false;
  }

  /** Returns `text` with every known secret replaced by `[REDACTED]`. */
  scrubKnown(text: string): string {
    let out = text;
    for (const v of this.#values) {
      if (out.includes(v)) out = out.split(v).join("[REDACTED]");
    }
    return out;
  }

  /** {@linkcode SecretSet.scrubKnown}, and JWT-shaped strings replaced by `[REDACTED:jwt]`. */
  scrub(text: string): string {
    return this.scrubKnown(text).replace(JWT, "[REDACTED:jwt]");
  }
}
