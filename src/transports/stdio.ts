// The stdio transport: one JSON-RPC message per line on stdin and stdout,
// through Deno's own stdio: no Node stream machinery to load at start-up, and
// one reused buffer each way instead of a new buffer per message.
// @ts-types="@modelcontextprotocol/sdk/types"
import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import type { McpTransport } from "../server.ts";
import { protoKeyRefusal } from "./_proto_keys.ts";

/** The longest line read from stdin; a longer one is dropped, with an error answer. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

/** Bytes asked of stdin per read. */
const READ_BYTES = 64 * 1024;
/** The output buffer grows to hold the largest message up to this size; a larger one gets a buffer of its own. */
const MAX_REUSED_OUTPUT_BYTES = 4 * 1024 * 1024;

/** Where the transport reads and writes: Deno's stdin and stdout, or stand-ins in tests. */
export interface StdioStreams {
  /** Reads into `buffer`; resolves with the bytes read, or `null` at the end of input. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`, blocking until it can; returns how many were written. */
  writeSync(bytes: Uint8Array): number;
}

const DENO_STDIO: StdioStreams = {
  read: (buffer) => Deno.stdin.read(buffer),
  writeSync: (bytes) => Deno.stdout.writeSync(bytes),
};

/**
 * Unlike the MCP SDK's stdio transport, which drops what it cannot parse
 * without a word (leaving a client to wait forever for an answer) and closes
 * the connection on a line over 10 MB, it answers a line that is not JSON
 * with a parse error (-32700), a JSON value that is not a JSON-RPC message
 * with an invalid-request error (-32600, under the request's id when it has
 * one), an over-long line with an invalid-request error, and a request with a
 * `__proto__` key (which the SDK would silently drop) with an invalid-params
 * error, then goes on.
 * `onEnd` is called once when the client is gone: the end of stdin, or a
 * write to a closed stdout.
 */
export class StdioLineTransport implements McpTransport {
  onmessage?: (message: unknown) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  #io: StdioStreams;
  #onEnd: () => void;
  #ended = false;
  #closed = false;
  #parts: Uint8Array[] = [];
  #size = 0;
  #tooLong = false;
  #decoder = new TextDecoder();
  #encoder = new TextEncoder();
  #out = new Uint8Array(256 * 1024);

  constructor(options: { onEnd?: () => void; io?: StdioStreams } = {}) {
    this.#io = options.io ?? DENO_STDIO;
    this.#onEnd = options.onEnd ?? (() => {});
  }

  start(): Promise<void> {
    this.#readAll().catch(() => {}); // never rejects: failures end the input
    return Promise.resolve();
  }

  send(message: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the stdio transport is closed"));
    try {
      this.#write(JSON.stringify(message) + "\n");
      return Promise.resolve();
    } catch (err) {
      // The client closed our stdout (a pipe says EPIPE, a socket pair may say ECONNRESET): it is gone.
      if (err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset) this.#end();
      return Promise.reject(err);
    }
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#parts = [];
    this.#size = 0;
    this.onclose?.();
    return Promise.resolve();
  }

  async #readAll(): Promise<void> {
    const buffer = new Uint8Array(READ_BYTES);
    try {
      while (!this.#closed) {
        const n = await this.#io.read(buffer);
        if (n === null) break;
        if (!this.#closed) this.#onData(buffer.subarray(0, n));
      }
    } catch (err) {
      if (!this.#closed) this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    }
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd();
  }

  #write(text: string): void {
    let bytes: Uint8Array;
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if (text.length * 3 <= this.#out.length) {
      bytes = this.#out.subarray(0, this.#encoder.encodeInto(text, this.#out).written);
    } else if (text.length * 3 <= MAX_REUSED_OUTPUT_BYTES) {
      this.#out = new Uint8Array(text.length * 3);
      bytes = this.#out.subarray(0, this.#encoder.encodeInto(text, this.#out).written);
    } else {
      bytes = this.#encoder.encode(text);
    }
    for (let at = 0; at < bytes.length;) at += this.#io.writeSync(bytes.subarray(at));
  }

  /** Splits a chunk (a view of the reused read buffer) into lines. */
  #onData(bytes: Uint8Array): void {
    let start = 0;
    for (let nl = bytes.indexOf(10, start); nl >= 0; nl = bytes.indexOf(10, start)) {
      if (this.#size === 0 && !this.#tooLong) {
        this.#line(this.#decoder.decode(bytes.subarray(start, nl))); // the whole line is in this chunk
      } else {
        this.#append(bytes.subarray(start, nl));
        this.#endLine();
      }
      start = nl + 1;
    }
    this.#append(bytes.subarray(start));
  }

  #append(part: Uint8Array): void {
    if (part.length === 0 || this.#tooLong) return;
    if (this.#size + part.length > MAX_LINE_BYTES) {
      this.#tooLong = true;
      this.#parts = [];
      this.#size = 0;
      return;
    }
    this.#parts.push(part.slice()); // a copy: the read buffer is reused
    this.#size += part.length;
  }

  #endLine(): void {
    if (this.#tooLong) {
      this.#tooLong = false;
      this.#refuse(null, -32600, `Invalid Request: a line longer than ${MAX_LINE_BYTES} bytes was dropped`);
      return;
    }
    const bytes = new Uint8Array(this.#size);
    let at = 0;
    for (const part of this.#parts) {
      bytes.set(part, at);
      at += part.length;
    }
    this.#parts = [];
    this.#size = 0;
    this.#line(this.#decoder.decode(bytes));
  }

  #line(text: string): void {
    const line = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.#refuse(null, -32700, "Parse error: the line is not JSON (send one JSON-RPC message per line)");
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      const id = (value as { id?: unknown } | null)?.id;
      const requestId = typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
      this.#refuse(requestId, -32600, "Invalid Request: not a JSON-RPC 2.0 message of MCP");
      return;
    }
    const refusal = protoKeyRefusal(value);
    if (refusal) {
      if (refusal.id !== undefined) this.#refuse(refusal.id, refusal.error.code, refusal.error.message);
      return; // a notification gets no answer
    }
    try {
      this.onmessage?.(parsed.data);
    } catch (err) {
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #refuse(id: string | number | null, code: number, message: string): void {
    this.send({ jsonrpc: "2.0", id, error: { code, message } }).catch(() => {});
  }
}
