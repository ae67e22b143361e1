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

/** Bytes of `text` before any clipping: the total a clip marker states, else its own UTF-8 length. */
export function unclippedBytes(text: string): number {
  const m = text.match(MARKER);
  return m ? Number(m[2]) : byteLength(text);
}
