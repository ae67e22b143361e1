/**
 * One HTTP helper for every remote call (Conductor, login, DBOS Cloud): a
 * timeout on the whole exchange, body included, and failures turned into
 * {@linkcode HttpExchangeError} (an {@linkcode UpstreamError}) or
 * {@linkcode MissingPermissionError} with a message that names the service and
 * says what went wrong on the wire. It never throws on an HTTP status: callers
 * decide what a status means.
 *
 * @module
 */
import { errorMessage, isNotCapable, MissingPermissionError, UpstreamError } from "../core/errors.ts";

/** A request made with {@linkcode httpRequest}. */
export interface HttpRequest {
  /** Human name of the remote service, used in error messages (e.g. "DBOS Conductor"). */
  service: string;
  /** HTTP method. */
  method: "GET" | "POST" | "DELETE" | "PUT" | "PATCH";
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
  /**
   * Reads at most this many bytes of the body: a longer answer is not read
   * further and fails with an {@linkcode HttpExchangeError} (code `UPSTREAM`, not retryable).
   * Unset: no limit.
   */
  maxBodyBytes?: number;
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
 * An exchange that broke before a whole answer arrived (a timeout, a refused
 * or reset connection, an answer cut off). `mayHaveArrived` tells a caller
 * whether the service may have received, and acted on, the request: a
 * mutation that may have arrived must not be re-sent blindly.
 */
export class HttpExchangeError extends UpstreamError {
  /** False only when no connection was made (refused, unresolvable host): nothing was sent. */
  readonly mayHaveArrived: boolean;
  /** Creates the error. */
  constructor(
    message: string,
    options: {
      code: "TIMEOUT" | "NETWORK" | "UPSTREAM";
      mayHaveArrived: boolean;
      hint?: string;
      retryable?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { code: options.code, hint: options.hint, retryable: options.retryable, cause: options.cause });
    this.name = "HttpExchangeError";
    this.mayHaveArrived = options.mayHaveArrived;
  }
}

/**
 * Sends one request and reads the whole answer within `timeoutMs`.
 *
 * @throws {HttpExchangeError} with code `TIMEOUT` or `NETWORK` when no full answer arrived.
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
  // A timer cleared when the exchange ends (AbortSignal.timeout would keep each one alive for the whole timeout).
  const timer = new AbortController();
  const handle = setTimeout(
    () => timer.abort(new DOMException("Signal timed out.", "TimeoutError")),
    req.timeoutMs,
  );
  const timeout = timer.signal;
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const where = `${req.method} ${url.origin}${url.pathname}`;
  let phase: "request" | "body" = "request";
  try {
    const res = await fetchFn(url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal,
      redirect: "manual",
    });
    phase = "body";
    const text = req.maxBodyBytes === undefined ? await res.text() : await boundedText(res, req.maxBodyBytes);
    clearTimeout(handle);
    return { status: res.status, headers: res.headers, text };
  } catch (err) {
    clearTimeout(handle);
    if (err instanceof BodyTooLarge) {
      throw new HttpExchangeError(
        `${req.service} sent an answer larger than ${err.limit} bytes (${where}); it was not read further.`,
        {
          code: "UPSTREAM",
          mayHaveArrived: true,
          retryable: false,
          hint: "Ask for less (fewer workflows, load_input/load_output false), or read this workflow in system-" +
            "database mode, which reads large payloads in part.",
          cause: err,
        },
      );
    }
    if (isNotCapable(err)) {
      throw new MissingPermissionError(
        `network access to ${url.host} (${req.service})`,
        `--allow-net=${url.host}`,
        { cause: err },
      );
    }
    if (timeout.aborted) {
      throw new HttpExchangeError(`${req.service} did not answer within ${req.timeoutMs} ms (${where}).`, {
        code: "TIMEOUT",
        mayHaveArrived: true,
        hint: "Try again; if it keeps happening, check the service or raise --timeout.",
        cause: err,
      });
    }
    if (req.signal?.aborted) {
      throw new HttpExchangeError(`The request to ${req.service} was cancelled (${where}).`, {
        code: "NETWORK",
        mayHaveArrived: true,
        retryable: false,
        cause: err,
      });
    }
    const failure = networkFailure(err);
    if (phase === "body") {
      throw new HttpExchangeError(`${req.service} broke off its answer (${where}): ${failure.detail}.`, {
        code: "NETWORK",
        mayHaveArrived: true,
        hint: "The connection broke in the middle of the answer; try again.",
        cause: err,
      });
    }
    const message = failure.connect
      ? `Could not reach ${req.service} (${where}): ${failure.detail}.`
      : `The connection to ${req.service} failed before it answered (${where}): ${failure.detail}.`;
    throw new HttpExchangeError(message, {
      code: "NETWORK",
      mayHaveArrived: !failure.connect,
      hint: `Check that ${url.origin} is the right address and is reachable, then try again.`,
      cause: err,
    });
  }
}

/** A body that went past its byte limit. */
class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/** The body as text, reading at most `limit` bytes: past that it stops reading and throws {@linkcode BodyTooLarge}. */
async function boundedText(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLarge(limit);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * What went wrong on the wire, in words, from `fetch`'s error and its causes
 * (Deno's `fetch` says only "fetch failed" and puts the reason in `cause`),
 * and whether it happened while connecting, before anything was sent.
 */
function networkFailure(err: unknown): { detail: string; connect: boolean } {
  const messages: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    messages.push(errorMessage(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const all = messages.join(" | ");
  const connect = /\(Connect\)|connection refused|os error 111|dns error|failed to lookup|are blocked/i.test(all);
  const known: [RegExp, string][] = [
    [/connection refused|os error 111/i, "connection refused"],
    [/dns error|failed to lookup/i, "the host name could not be resolved"],
    [/connection closed before message completed/i, "the connection was closed before an answer arrived"],
    [/connection reset|os error 104/i, "the connection was reset"],
    [/error reading a body from connection/i, "the connection broke in the middle of the answer"],
  ];
  const hit = known.find(([re]) => re.test(all));
  const detail = hit ? hit[1] : firstLine(messages.findLast((m) => m && m !== "fetch failed") ?? messages[0] ?? "");
  return { detail: detail.length > 200 ? `${detail.slice(0, 200)}…` : detail, connect };
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
