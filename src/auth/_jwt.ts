// Reads the expiry of a JWT access token. Internal to src/auth.
//
// The signature is not checked: the token came from the login service over
// TLS, and the expiry is only used to decide when to refresh it early. A
// token that is not a JWT (opaque tokens, garbage) has no known expiry.

/**
 * Returns when the JWT `token` expires, in epoch milliseconds, from its `exp`
 * claim; `undefined` when `token` is not a JWT or has no numeric `exp`.
 *
 * @example
 * ```ts ignore
 * const expiresAt = jwtExpiry(token); // e.g. 1767229200000
 * ```
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1].length === 0) return undefined;
  const payload = decodeBase64UrlJson(parts[1]);
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return undefined;
  const exp = (payload as Record<string, unknown>).exp;
  if (typeof exp !== "number" || !Number.isFinite(exp) || exp <= 0) return undefined;
  return exp * 1000;
}

function decodeBase64UrlJson(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return null;
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  try {
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
}
