// Sizes: bytes of UTF-8 and of JSON, clipping long fields, and the marker that
// says how much was cut and how to get it all.

const enc = new TextEncoder();
const dec = new TextDecoder();

/** UTF-8 length of `text`. */
export function byteLength(text: string): number {
  return enc.encode(text).length;
}

/** UTF-8 length of `value` as JSON. */
export function jsonBytes(value: unknown): number {
  return byteLength(JSON.stringify(value) ?? "");
}

const MARKER = /…\[truncated (\d+) of (\d+) bytes; ([^\]]*)\]$/;

/**
 * Clips `text` to about `max` bytes, on a character boundary, adding a marker
 * that says how many bytes were cut and `how` to get them. Clipping an
 * already clipped text keeps counting against the original size.
 */
export function clip(text: string, max: number, how: string): string {
  if (text.length * 3 <= max) return text; // at most 3 UTF-8 bytes per UTF-16 unit: it fits as it is
  const previous = text.match(MARKER);
  const body = previous ? text.slice(0, previous.index) : text;
  const total = previous ? Number(previous[2]) : byteLength(text);
  const bytes = enc.encode(body);
  if (bytes.length <= max) return text;
  const kept = dec.decode(bytes.subarray(0, max)).replace(/\uFFFD+$/, "");
  return `${kept}…[truncated ${total - byteLength(kept)} of ${total} bytes; ${how}]`;
}

/** Clips each listed string field of `obj` to `max` bytes: a copy when one is clipped, else `obj` itself. */
export function clipFields<T extends Record<string, unknown>>(
  obj: T,
  keys: readonly string[],
  max: number,
  how: string,
): T {
  let out: Record<string, unknown> | undefined;
  for (const k of keys) {
    const v = obj[k];
    if (typeof v !== "string") continue;
    const clipped = clip(v, max, how);
    if (clipped !== v) (out ??= { ...obj })[k] = clipped;
  }
  return (out ?? obj) as T;
}

/**
 * The largest `k` in `[0, upper]` for which `fits(k)` holds, assuming `fits`
 * holds for every `k` below one that does; 0 when none does (`fits(0)` is not
 * asked). A binary search: `fits` is asked about log2(upper) times, never
 * once per item.
 */
export function largestFitting(upper: number, fits: (k: number) => boolean): number {
  let lo = 0; // fits, or 0
  let hi = Math.max(0, Math.floor(upper));
  while (lo < hi) {
    const mid = lo + Math.ceil((hi - lo) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * How many leading `items` can fit in `maxBytes` at all: the longest prefix
 * whose items' JSON (with a separator each) is at most `maxBytes`. An answer
 * that holds the prefix is at least that long, so this bounds any prefix
 * search. Each item is measured once, and measuring stops at the bound.
 */
export function prefixBound(items: readonly unknown[], maxBytes: number): number {
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    total += jsonBytes(items[i]) + 1;
    if (total > maxBytes) return i;
  }
  return items.length;
}

/** Bytes of an answer: `result` as JSON plus its text rendering. */
export function answerBytes<T>(result: T, render: (r: T) => string): number {
  return jsonBytes(result) + byteLength(render(result));
}

/** Bytes of `text` before any clipping: the total a clip marker states, else its own UTF-8 length. */
export function unclippedBytes(text: string): number {
  const m = text.match(MARKER);
  return m ? Number(m[2]) : byteLength(text);
}
