/**
 * The bytes of one HTTP/1.1 connection, buffered: the request head is found in
 * them and each body is cut from them by its framing (`Content-Length` or
 * chunked), so the next request of a kept-alive connection starts where the
 * last body ended.
 *
 * @module
 */

const CRLF2 = [13, 10, 13, 10];
/** Longest chunk-size line (with its extensions) accepted in a chunked body. */
const MAX_CHUNK_LINE = 4_096;
/** Most bytes of trailer fields accepted after a chunked body's last chunk. */
const MAX_TRAILERS = 16_384;

/** A body framing error: the connection's bytes can no longer be trusted, so it is closed. */
export class FramingError extends Error {
  /** @param message what was wrong with the bytes. */
  constructor(message: string) {
    super(message);
    this.name = "FramingError";
  }
}

/** A buffer over a connection's reads. */
export class ConnReader {
  readonly #conn: Deno.Conn;
  #buf = new Uint8Array(16_384);
  #start = 0;
  #end = 0;
  #eof = false;
  #pending: Promise<boolean> | undefined;

  /** @param conn the connection to read. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** How many bytes are buffered and not taken yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Reads once more from the connection; false at its end or on a read error
   * (never throws). While a read is in flight, a second call shares it, so a
   * watch for the peer leaving and the next request's head never race.
   */
  fill(): Promise<boolean> {
    if (!this.#pending) this.#pending = this.#read().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  async #read(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#buf.length - this.#end < 4_096) {
      const live = this.#end - this.#start;
      if (live * 2 + 8_192 > this.#buf.length) {
        const next = new Uint8Array(live * 2 + 8_192);
        next.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#buf = next;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = live;
    }
    let n: number | null = null;
    try {
      n = await this.#conn.read(this.#buf.subarray(this.#end));
    } catch {
      n = null;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** Drops the empty lines a client may send before a request line (RFC 9112, section 2.2); returns the bytes dropped. */
  skipEmptyLines(): number {
    const start = this.#start;
    while (this.#end - this.#start >= 2 && this.#buf[this.#start] === 13 && this.#buf[this.#start + 1] === 10) {
      this.#start += 2;
    }
    return this.#start - start;
  }

  /**
   * Where the buffered head ends (just past its empty line), or -1 while it
   * is incomplete. `from` skips bytes already searched (less the three an
   * empty line may straddle), so a head read in many small parts is scanned
   * once, not once per part.
   */
  headEnd(from = 0): number {
    const at = indexOf(this.#buf, CRLF2, this.#start + from, this.#end);
    return at < 0 ? -1 : at - this.#start + 4;
  }

  /** Takes the first `n` buffered bytes (a copy). */
  take(n: number): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** Takes one line ending in CRLF (without it), reading more as needed; `limit` bounds its length. */
  async line(limit: number): Promise<string> {
    let from = 0;
    for (;;) {
      const at = indexOf(this.#buf, [13, 10], this.#start + from, this.#end);
      if (at >= 0) {
        const text = latin1(this.#buf.subarray(this.#start, at));
        this.#start = at + 2;
        return text;
      }
      from = Math.max(0, this.buffered - 1);
      if (this.buffered > limit) throw new FramingError("a chunked body line is too long");
      if (!await this.fill()) throw new FramingError("the connection ended inside a chunked body");
    }
  }

  /** Takes up to `n` bytes, reading once if none are buffered. */
  async some(n: number): Promise<Uint8Array> {
    if (this.buffered === 0 && !await this.fill()) {
      throw new FramingError("the connection ended before the body did");
    }
    return this.take(Math.min(n, this.buffered));
  }
}

/** Decodes bytes one to one into the characters U+0000–U+00FF (the header field octets). */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8_192) {
    out += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 8_192)));
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: number[], from: number, to: number): number {
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= to; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/** How a request's body is delimited (RFC 9112, section 6). */
export type Framing = { kind: "length"; length: number } | { kind: "chunked" };

/** What a body stream reports once it ended or failed. */
export interface BodyState {
  /** True once every byte of the body (and its chunked trailer) was taken from the connection. */
  complete: boolean;
}

/**
 * A stream of one body's bytes cut from `reader` by `framing`. `beforeFirstRead`
 * runs once, before the first byte is read (the `100 Continue` a client may
 * wait for). Errors with a {@linkcode FramingError} on a malformed body.
 */
export function bodyStream(
  reader: ConnReader,
  framing: Framing,
  state: BodyState,
  beforeFirstRead: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let started = false;
  let left = framing.kind === "length" ? framing.length : 0;
  let inChunk = false;
  const start = async () => {
    if (started) return;
    started = true;
    await beforeFirstRead();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await start();
      if (framing.kind === "length") {
        const part = await reader.some(left);
        left -= part.length;
        controller.enqueue(part);
        if (left === 0) {
          state.complete = true;
          controller.close();
        }
        return;
      }
      if (!inChunk) {
        const size = chunkSize(await reader.line(MAX_CHUNK_LINE));
        if (size === 0) {
          await trailers(reader);
          state.complete = true;
          controller.close();
          return;
        }
        left = size;
        inChunk = true;
      }
      const part = await reader.some(left);
      left -= part.length;
      if (left === 0) {
        if (await reader.line(2) !== "") throw new FramingError("a chunk does not end with CRLF");
        inChunk = false;
      }
      controller.enqueue(part);
    },
  }, { highWaterMark: 0 });
}

function chunkSize(line: string): number {
  const m = line.match(/^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/);
  if (!m) throw new FramingError("a chunk size is not hexadecimal");
  return parseInt(m[1], 16);
}

async function trailers(reader: ConnReader): Promise<void> {
  let total = 0;
  for (;;) {
    const line = await reader.line(MAX_TRAILERS);
    if (line === "") return;
    total += line.length + 2;
    if (total > MAX_TRAILERS) throw new FramingError("the trailer fields are too long");
  }
}
