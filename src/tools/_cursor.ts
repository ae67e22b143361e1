// Cursors for list_workflows: the creation time of the last workflow returned
// and the ids returned at exactly that time, so the next page starts right
// after it whatever arrives meanwhile and however ties are ordered. A cursor
// also carries a key of the query it belongs to, so it cannot be reused with
// other filters by mistake.

import { MAX_EPOCH_MS } from "./_time.ts";

/** What a cursor holds. */
export interface PageCursor {
  /** Format version. */
  v: 1;
  /** Creation time (epoch ms) of the last workflow returned. */
  t: number;
  /** Ids already returned whose creation time is exactly `t`. */
  ids: string[];
  /** Key of the query (filters and order). */
  q: string;
}

/** Encodes a cursor as an opaque URL-safe string. */
export function encodeCursor(cursor: PageCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify(cursor));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a cursor, or returns `undefined` when `text` is not one. */
export function decodeCursor(text: string): PageCursor | undefined {
  try {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    const c = JSON.parse(json);
    if (
      c?.v === 1 && Number.isSafeInteger(c.t) && Math.abs(c.t) <= MAX_EPOCH_MS && typeof c.q === "string" &&
      Array.isArray(c.ids) &&
      c.ids.every((x: unknown) => typeof x === "string")
    ) return c as PageCursor;
  } catch {
    // not a cursor
  }
  return undefined;
}

/** A short, stable key of a query's filters (FNV-1a over sorted JSON). */
export function queryKey(query: Record<string, unknown>): string {
  const sorted = Object.keys(query).sort().filter((k) => query[k] !== undefined).map((k) => [k, query[k]]);
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(sorted)) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Epoch milliseconds of an ISO 8601 creation time, or `NaN`. */
export function createdMs(createdAt: unknown): number {
  return typeof createdAt === "string" ? Date.parse(createdAt) : NaN;
}

/**
 * The cursor after `page` (workflows with ISO 8601 `createdAt`), given the
 * cursor the page started at, or `undefined` when the last workflow has no
 * creation time.
 */
export function cursorAfter(
  page: readonly { workflowId: string; createdAt?: unknown }[],
  prev: PageCursor | undefined,
  q: string,
): PageCursor | undefined {
  const last = page.at(-1);
  const t = createdMs(last?.createdAt);
  if (!last || !Number.isSafeInteger(t) || Math.abs(t) > MAX_EPOCH_MS) return undefined;
  const ids = page.filter((w) => createdMs(w.createdAt) === t).map((w) => w.workflowId);
  return { v: 1, t, ids: prev && prev.t === t ? [...prev.ids, ...ids] : ids, q };
}
