/**
 * Diagnostics for humans, on stderr only (stdout carries JSON-RPC), scrubbed
 * of every known secret.
 *
 * @module
 */
import type { SecretSet } from "../core/secrets.ts";

/** Writes one diagnostic line. */
export type LogFn = (message: string) => void;

/** A logger that writes `dbos-mcp: <message>` lines to stderr, scrubbed by `secrets`. */
export function stderrLogger(secrets: SecretSet): LogFn {
  const enc = new TextEncoder();
  return (message: string) => {
    try {
      Deno.stderr.writeSync(enc.encode(`dbos-mcp: ${secrets.scrub(message)}\n`));
    } catch {
      // stderr closed: nothing sensible left to do
    }
  };
}
