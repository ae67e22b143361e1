/**
 * Which `Host` and `Origin` values a Streamable HTTP server accepts (DNS
 * rebinding protection): its own address with its port (and, on loopback,
 * `localhost`, `127.0.0.1` and `[::1]`), plus the host names it was told to
 * accept. A listed name without a port matches any port or none (a reverse
 * proxy in front may forward `Host: mcp.example.com`); `NAME:PORT` matches
 * only that port.
 *
 * @module
 */

/** Splits `name[:port]` or `[v6][:port]` into a lowercase name and a port (`undefined` when absent). */
export function splitHost(text: string): { name: string; port: number | undefined } | undefined {
  const m = text.trim().toLowerCase().match(/^(\[[0-9a-f:.]+\]|[^:\[\]\s]+)(?::(\d{1,5}))?$/);
  if (!m) return undefined;
  return { name: m[1], port: m[2] === undefined ? undefined : Number(m[2]) };
}

/** Decides whether a request's `Host` and `Origin` name this server. */
export class HostCheck {
  readonly #exact = new Set<string>();
  readonly #anyPort = new Set<string>();

  /**
   * @param own the server's own names, accepted with `port` only.
   * @param listed extra `NAME` or `NAME:PORT` entries (`--http-allowed-hosts`).
   */
  constructor(own: string[], port: number, listed: readonly string[]) {
    for (const name of own) this.#exact.add(`${name.toLowerCase()}:${port}`);
    for (const entry of listed) {
      const host = splitHost(entry);
      if (!host) continue;
      if (host.port === undefined) this.#anyPort.add(host.name);
      else this.#exact.add(`${host.name}:${host.port}`);
    }
  }

  /** Whether a `Host` header value is accepted (no port means the scheme's default, 80). */
  host(value: string): boolean {
    const host = splitHost(value);
    if (!host) return false;
    return this.#anyPort.has(host.name) || this.#exact.has(`${host.name}:${host.port ?? 80}`);
  }

  /** Whether an `Origin` header value is accepted: `http(s)://` and an accepted host. */
  origin(value: string): boolean {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return false;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    if (url.pathname !== "/" || url.search || url.username) return false;
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    const name = url.hostname.toLowerCase();
    return this.#anyPort.has(name) || this.#exact.has(`${name}:${port}`);
  }
}
