/**
 * One HTTP helper for every remote call (Conductor, login, DBOS Cloud): a
 * timeout on the whole exchange, body included, and failures turned into
 * {@linkcode UpstreamError} or {@linkcode MissingPermissionError} with a
 * message that names the service. It never throws on an HTTP status: callers
 * decide what a status means.
 *
 * @module
 */
import { isNotCapable, MissingPermissionError, UpstreamError } from "./errors.ts";

/** A request made with {@linkcode httpRequest}. */
export interface HttpRequest {
  /** Human name of the remote service, used in error messages (e.g. "DBOS Conductor"). */
  service: string;
  /** HTTP method. */
  method: "GET" | "POST" | "DELETE" | "PUT";
  /** Absolute URL. */
  url: string;
  /** Request headers. */
  headers?: Record<string, string>;
  /** Request body. */
  body?: string | URLSearchParams;
  /** Limit for the whole exchange, body included, in milliseconds. */
  timeoutMs: number;
  /** Aborts the request early (e.g. the MCP client cancelled the call). */
  signal?: AbortSignal;
}

/** The answer to an {@linkcode HttpRequest}. */
export interface HttpResponse {
  /** HTTP status code. */
  status: number;
  /** Response headers. */
  headers: Headers;
  /** The whole body as text. */
  text: string;
}

/** The `fetch` function used by {@linkcode httpRequest}; injectable for tests. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Sends one request and reads the whole answer within `timeoutMs`.
 *
 * @throws {UpstreamError} with code `TIMEOUT` or `NETWORK` when no full answer arrived.
 * @throws {MissingPermissionError} when Deno's `--allow-net` does not cover the host.
 *
 * @example Reading a JSON document
 * ```ts ignore
 * const res = await httpRequest({ service: "DBOS Cloud", method: "GET", url, timeoutMs: 5000 });
 * const doc = parseJsonBody(res, "DBOS Cloud");
 * ```
 */
export async function httpRequest(req: HttpRequest, fetchFn: FetchLike = fetch): Promise<HttpResponse> {
  const url = new URL(req.url);
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const where = `${req.method} ${url.origin}${url.pathname}`;
  try {
    const res = await fetchFn(url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal,
      redirect: "manual",
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  } catch (err) {
    if (isNotCapable(err)) {
      throw new MissingPermissionError(
        `network access to ${url.host} (${req.service})`,
        `--allow-net=${url.host}`,
        { cause: err },
      );
    }
    if (timeout.aborted) {
      throw new UpstreamError(`${req.service} did not answer within ${req.timeoutMs} ms (${where}).`, {
        code: "TIMEOUT",
        hint: "Try again; if it keeps happening, check the service or raise --timeout.",
        cause: err,
      });
    }
    if (req.signal?.aborted) {
      throw new UpstreamError(`The request to ${req.service} was cancelled (${where}).`, {
        code: "NETWORK",
        retryable: false,
        cause: err,
      });
    }
    const detail = err instanceof Error ? err.message : String(err);
    throw new UpstreamError(`Could not reach ${req.service} (${where}): ${firstLine(detail)}.`, {
      code: "NETWORK",
      hint: `Check that ${url.origin} is the right address and is reachable, then try again.`,
      cause: err,
    });
  }
}

/**
 * Parses a JSON body, or throws an {@linkcode UpstreamError} that says what
 * came back instead (an HTML error page, a truncated body, ...).
 */
export function parseJsonBody(res: HttpResponse, service: string): unknown {
  try {
    return JSON.parse(res.text);
  } catch (err) {
    const type = res.headers.get("content-type") ?? "no content type";
    throw new UpstreamError(
      `${service} answered HTTP ${res.status} with a body that is not JSON (${type}, ${res.text.length} bytes, starting ${
        JSON.stringify(res.text.slice(0, 60))
      }).`,
      { status: res.status, hint: "This is a problem on the service's side; try again later.", cause: err },
    );
  }
}

/** Short, single-line excerpt of an error body for messages (never more than 200 chars). */
export function bodyExcerpt(text: string): string {
  let excerpt = text;
  try {
    const doc = JSON.parse(text);
    if (doc && typeof doc === "object") {
      const d = doc as Record<string, unknown>;
      const msg = d.error_description ?? d.message ?? d.detail ?? d.error ?? d.error_message;
      if (typeof msg === "string") excerpt = msg;
    }
  } catch {
    // not JSON: keep the text
  }
  if (/^\s*</.test(excerpt)) return "an HTML page";
  excerpt = excerpt.replace(/\s+/g, " ").trim();
  return excerpt.length > 200 ? `${excerpt.slice(0, 200)}…` : excerpt;
}

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/[.\s]+$/, "");
}
