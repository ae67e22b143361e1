// The audit key: DBOS_MCP_AUDIT_KEY, read from the environment by the audit
// plugin and by `audit verify`, and turned into an HMAC-SHA256 key that
// cannot be exported. The value is never logged, never put in an error
// message and never written anywhere.
import { DbosMcpError, isNotCapable } from "../src/core/errors.ts";

/** The environment variable that holds the audit key. */
export const AUDIT_KEY_ENV = "DBOS_MCP_AUDIT_KEY";

/** The fewest bytes (UTF-8) an audit key may have. */
export const AUDIT_KEY_MIN_BYTES = 32;

/** The audit key in DBOS_MCP_AUDIT_KEY cannot be used (its value is never part of the message). */
export class AuditKeyError extends DbosMcpError {
  /** Creates the error. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, {
      code: "CONFIG",
      hint: `Set ${AUDIT_KEY_ENV} to at least ${AUDIT_KEY_MIN_BYTES} random bytes, e.g. \`openssl rand -hex 32\`.`,
      cause: options.cause,
    });
    this.name = "AuditKeyError";
  }
}

/** Reads one environment variable; `undefined` when unset, empty, or when Deno may not read it. */
export function readEnvQuietly(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch (err) {
    if (isNotCapable(err)) return undefined;
    throw err;
  }
}

/**
 * The audit key from DBOS_MCP_AUDIT_KEY (through `env`), or `undefined` when
 * it is not set.
 *
 * @throws {AuditKeyError} when it is shorter than {@linkcode AUDIT_KEY_MIN_BYTES}.
 */
export async function auditKeyFromEnv(
  env: (name: string) => string | undefined = readEnvQuietly,
): Promise<CryptoKey | undefined> {
  const value = env(AUDIT_KEY_ENV);
  if (!value) return undefined;
  const bytes = new TextEncoder().encode(value);
  if (bytes.length < AUDIT_KEY_MIN_BYTES) {
    throw new AuditKeyError(`${AUDIT_KEY_ENV} is too short to key the audit log's HMAC chain`);
  }
  return await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}
