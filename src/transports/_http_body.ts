/**
 * Reading an HTTP request body within a size and a time limit, without
 * holding more than the limit in memory: a declared `Content-Length` beyond
 * the limit is refused before a byte is read, and the bytes are counted as
 * they arrive (chunked bodies declare nothing).
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";

/** The outcome of {@linkcode readBody}. */
export type BodyRead =
  | { kind: "ok"; bytes: Uint8Array }
  | { kind: "too-large" }
  | { kind: "timeout" }
  | { kind: "failed" };

/**
 * Reads `req`'s body: at most `maxBytes`, within `timeoutMs` on `clock`.
 * Stops reading (and cancels the body) at the first byte beyond the limit or
 * when the time is up.
 */
export async function readBody(req: Request, maxBytes: number, timeoutMs: number, clock: Clock): Promise<BodyRead> {
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\s*\d+\s*$/.test(declared) && Number(declared) > maxBytes) return { kind: "too-large" };
  if (!req.body) return { kind: "ok", bytes: new Uint8Array() };
  const reader = req.body.getReader();
  const done = new AbortController();
  const timeUp = clock.sleep(timeoutMs, done.signal).then(() => "timeout" as const, () => "stopped" as const);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timeUp]);
      if (next === "timeout" || next === "stopped") {
        reader.cancel().catch(() => {});
        return { kind: "timeout" };
      }
      if (next.done) break;
      total += next.value.length;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        return { kind: "too-large" };
      }
      chunks.push(next.value);
    }
  } catch {
    return { kind: "failed" };
  } finally {
    done.abort();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { kind: "ok", bytes };
}
