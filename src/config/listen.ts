/**
 * The `--http` address: `HOST:PORT`, `:PORT` or `PORT`, and the rule that
 * listening beyond loopback needs a bearer secret. Shared by the option's
 * parser, {@linkcode completeConfig} and the HTTP transport.
 *
 * @module
 */
import { ConfigError } from "../core/errors.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** Whether `hostname` only accepts connections from this machine. */
export function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * Parses `HOST:PORT`, `:PORT` or `PORT` (host defaults to 127.0.0.1).
 *
 * @throws {ConfigError} naming `source` when `text` is none of these.
 */
export function parseListen(text: string, source = "--http"): { hostname: string; port: number } {
  const m = text.trim().match(/^(?:(\[[0-9a-fA-F:]+\]|[^:\s]*):)?(\d{1,5})$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(
      `${source} must be HOST:PORT, :PORT or PORT (e.g. 127.0.0.1:8808), got ${JSON.stringify(text)}`,
    );
  }
  const host = m[1] ? m[1].replace(/^\[|\]$/g, "") : "127.0.0.1";
  return { hostname: host, port };
}

/**
 * Refuses to listen beyond loopback without a bearer secret.
 *
 * @throws {ConfigError} when `hostname` is not loopback and `token` is empty.
 */
export function requireTokenBeyondLoopback(hostname: string, port: number, token: string | undefined): void {
  if (isLoopback(hostname) || token) return;
  throw new ConfigError(
    `--http ${hostname}:${port} listens beyond this machine: set a bearer secret with --http-token ` +
      "or DBOS_MCP_HTTP_TOKEN (clients send it as 'Authorization: Bearer <secret>')",
  );
}
