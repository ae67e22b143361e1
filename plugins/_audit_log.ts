// The audit log writer: opens (or continues) a JSON Lines file, appends
// hash-chained records one at a time, flushes each to disk, and turns every
// I/O failure into a lasting "cannot be written" state that the plugin turns
// into refusals (fail closed).
import { DbosMcpError, errorMessage, isNotCapable } from "../src/core/errors.ts";
import { dirname } from "../src/util/path.ts";
import {
  AUDIT_FORMAT_VERSION,
  AUDIT_GENESIS,
  type AuditEntry,
  type AuditRecord,
  recordHash,
  recordLine,
  shapeProblem,
} from "./_audit_chain.ts";

/** Why the audit log cannot be written, and what fixes it. */
export interface AuditLogFailure {
  /** What is wrong, e.g. `its folder /var/log/mcp does not exist`. */
  reason: string;
  /** What to do, e.g. `create the folder /var/log/mcp`. */
  fix: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The audit log cannot be written, so a call that needs an audit record was
 * refused (never sent).
 *
 * @example Telling an audit refusal apart
 * ```ts ignore
 * import { AuditLogUnavailableError } from "./audit.ts";
 * try {
 *   await audit.beforeCall?.(call);
 * } catch (err) {
 *   if (err instanceof AuditLogUnavailableError) console.error(`fix ${err.path}: ${err.reason}`);
 * }
 * ```
 */
export class AuditLogUnavailableError extends DbosMcpError {
  /** The audit log's path. */
  readonly path: string;
  /** What is wrong with it. */
  readonly reason: string;
  /** What is wrong with it, and the fix. */
  readonly failure: AuditLogFailure;
  /** Creates the error; `consequence` says what was refused; the hint defaults to the fix and a restart. */
  constructor(path: string, failure: AuditLogFailure, consequence: string, hint?: string) {
    super(`The audit log ${path} cannot be written (${failure.reason}), so ${consequence}.`, {
      code: "POLICY",
      hint: hint ?? `${capitalize(failure.fix)}, then restart the server.`,
      cause: failure.cause,
    });
    this.name = "AuditLogUnavailableError";
    this.path = path;
    this.reason = failure.reason;
    this.failure = failure;
  }
}

/** What the writer appends to: the open file, or a test's wrapper around it. */
export interface AuditSink {
  /** Writes some of `p`; returns how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  /** Flushes written data to the disk. */
  syncData(): Promise<void>;
  /** Releases the file. */
  close(): void;
}

/** Options of {@linkcode AuditLog.open}. */
export interface AuditLogOpenOptions {
  /** Receives warnings (a mode tightened) and the failure that stops the log, once. */
  warn(message: string): void;
  /** Wraps the opened file (tests use it to make writes fail). */
  wrapSink?: (sink: AuditSink) => AuditSink;
}

const TAIL_CHUNK = 64 * 1024;
const MAX_LAST_LINE = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * An append-only, hash-chained audit log. {@linkcode AuditLog.open} never
 * throws for I/O: a log that cannot be opened or continued is returned in
 * the failed state, and every {@linkcode AuditLog.append} then rejects.
 */
export class AuditLog {
  /** The file's path, as configured. */
  readonly path: string;
  #sink: AuditSink | undefined;
  #identity: string | undefined;
  #seq = 0;
  #prev = AUDIT_GENESIS;
  #failure: AuditLogFailure | undefined;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  #warn: (message: string) => void;

  private constructor(path: string, warn: (message: string) => void) {
    this.path = path;
    this.#warn = warn;
  }

  /**
   * Opens `path` for appending, creating it with mode 0600 (a wider mode of
   * an existing file is tightened, with a warning), and continues its chain
   * from its last record. Only the last record is checked here (that its hash
   * matches its content); `audit verify` checks the whole chain. A last line
   * that is incomplete or damaged stops the log (fail closed) rather than
   * chaining onto it.
   */
  static async open(path: string, options: AuditLogOpenOptions): Promise<AuditLog> {
    const log = new AuditLog(path, options.warn);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, append: true, create: true, mode: 0o600 });
    } catch (err) {
      log.#fail(openFailure(path, err));
      return log;
    }
    try {
      const info = await file.stat();
      if (!info.isFile) {
        file.close();
        log.#fail({ reason: `${path} is not a regular file`, fix: "point --audit-log at a regular file" });
        return log;
      }
      if (info.mode !== null && (info.mode & 0o077) !== 0) {
        const was = (info.mode & 0o777).toString(8).padStart(4, "0");
        try {
          await Deno.chmod(path, 0o600);
          options.warn(`audit: the audit log ${path} had mode ${was}; changed it to 0600`);
        } catch (err) {
          options.warn(
            `audit: the audit log ${path} has mode ${was} and could not be changed to 0600: ${errorMessage(err)}`,
          );
        }
      }
      const tail = await continueChain(path, file, info.size);
      if ("reason" in tail) {
        file.close();
        log.#fail(tail);
        return log;
      }
      log.#seq = tail.seq;
      log.#prev = tail.hash;
      log.#identity = info.ino === null ? undefined : `${info.dev}:${info.ino}`;
    } catch (err) {
      try {
        file.close();
      } catch {
        // already closed
      }
      log.#fail(ioFailure(path, "reading", err));
      return log;
    }
    log.#sink = options.wrapSink ? options.wrapSink(file) : file;
    return log;
  }

  /** Why the log cannot be written, or `undefined` while it can. */
  get failure(): AuditLogFailure | undefined {
    return this.#failure;
  }

  /** The seq and hash of the last record written (0 and the genesis value for an empty log). */
  get head(): { seq: number; hash: string } {
    return { seq: this.#seq, hash: this.#prev };
  }

  /**
   * Places `entry` in the chain, writes it as one line and flushes it to
   * disk. Appends run one at a time in call order, so lines never interleave.
   *
   * @throws {AuditLogUnavailableError} when the log cannot be written (then or before).
   */
  append(entry: AuditEntry): Promise<AuditRecord> {
    const run = this.#queue.then(() => this.#write(entry));
    this.#queue = run.then(() => {}, () => {});
    return run;
  }

  /** Waits for pending appends, then closes the file. Later appends reject. */
  async close(): Promise<void> {
    await this.#queue;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#sink?.close();
    } catch {
      // already closed
    }
    this.#sink = undefined;
  }

  async #write(entry: AuditEntry): Promise<AuditRecord> {
    if (this.#closed) {
      throw new AuditLogUnavailableError(
        this.path,
        { reason: "it is closed because the server is stopping", fix: "start the server again" },
        "nothing more is recorded",
        "The server is stopping; call again once it has restarted.",
      );
    }
    const sink = this.#sink;
    if (this.#failure || !sink) throw this.#unavailable();
    if (this.#identity !== undefined && await identityOf(this.path) !== this.#identity) {
      this.#fail({
        reason: "the file was removed or replaced while the server ran",
        fix: "find out why (keep any copy of it as evidence: `audit verify` checks it)",
      });
      throw this.#unavailable();
    }
    const unhashed = { v: AUDIT_FORMAT_VERSION, seq: this.#seq + 1, ...entry, prev: this.#prev } as const;
    const record: AuditRecord = { ...unhashed, hash: await recordHash(unhashed) };
    const bytes = new TextEncoder().encode(recordLine(record));
    try {
      let written = 0;
      while (written < bytes.length) written += await sink.write(bytes.subarray(written));
      await sink.syncData();
    } catch (err) {
      this.#fail(ioFailure(this.path, "writing", err));
      throw this.#unavailable();
    }
    this.#seq = record.seq;
    this.#prev = record.hash;
    return record;
  }

  #unavailable(): AuditLogUnavailableError {
    return new AuditLogUnavailableError(this.path, this.#failure!, "the record was not written");
  }

  #fail(failure: AuditLogFailure): void {
    if (this.#failure) return;
    this.#failure = failure;
    this.#warn(
      `audit: the audit log ${this.path} cannot be written (${failure.reason}); calls that need an audit record ` +
        `are refused until you ${failure.fix} and restart the server`,
    );
  }
}

/** Reads the last record of an open log; returns where the chain continues, or why it cannot. */
async function continueChain(
  path: string,
  file: Deno.FsFile,
  size: number,
): Promise<{ seq: number; hash: string } | AuditLogFailure> {
  if (size === 0) return { seq: 0, hash: AUDIT_GENESIS };
  const damaged = (why: string): AuditLogFailure => ({
    reason: `its last line ${why}`,
    fix: `run \`audit verify ${path}\`, keep the file as evidence and move it aside (a new log then starts)`,
  });
  const last = await readAt(file, size - 1, 1);
  if (last[0] !== NEWLINE) return damaged("is incomplete (the file does not end with a newline)");
  // Walk back from the end until the newline before the last line.
  const chunks: Uint8Array[] = [];
  let start = size - 1;
  while (start > 0) {
    const from = Math.max(0, start - TAIL_CHUNK);
    const chunk = await readAt(file, from, start - from);
    const at = chunk.lastIndexOf(NEWLINE);
    chunks.unshift(at >= 0 ? chunk.subarray(at + 1) : chunk);
    if (at >= 0) break;
    start = from;
    if (size - start > MAX_LAST_LINE) return damaged("is larger than 64 MiB");
  }
  const text = new TextDecoder().decode(concat(chunks));
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return damaged("is not valid JSON");
  }
  const problem = shapeProblem(record);
  if (problem) return damaged(`is not an audit record (${problem})`);
  const r = record as AuditRecord;
  if (await recordHash(r) !== r.hash) return damaged(`(seq ${r.seq}) was altered: its hash does not match its content`);
  return { seq: r.seq, hash: r.hash };
}

/**
 * The device and inode of the file at `path` (`undefined` where the system
 * gives none, or when it cannot be read), to notice the file being removed
 * or replaced under the open handle, where writes would silently go nowhere.
 */
async function identityOf(path: string): Promise<string | undefined> {
  try {
    const info = await Deno.stat(path);
    return info.ino === null ? undefined : `${info.dev}:${info.ino}`;
  } catch {
    return "(gone)";
  }
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let n = 0;
  while (n < length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return buf.subarray(0, n);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function openFailure(path: string, err: unknown): AuditLogFailure {
  const folder = dirname(path);
  if (isNotCapable(err)) {
    return {
      reason: `Deno may not read and write it without --allow-read=${path} --allow-write=${path}`,
      fix: `add --allow-read=${path} --allow-write=${path} to the server's deno flags`,
      cause: err,
    };
  }
  if (err instanceof Deno.errors.NotFound) {
    return {
      reason: `its folder ${folder} does not exist`,
      fix: `create the folder ${folder}, or point --audit-log at a file in an existing folder`,
      cause: err,
    };
  }
  if (err instanceof Deno.errors.NotADirectory) {
    return {
      reason: `part of the folder ${folder} is not a folder`,
      fix: "point --audit-log at a file in an existing folder",
      cause: err,
    };
  }
  if (err instanceof Deno.errors.IsADirectory) {
    return { reason: `${path} is a folder`, fix: "point --audit-log at a file, not a folder", cause: err };
  }
  return ioFailure(path, "opening", err);
}

function ioFailure(path: string, doing: string, err: unknown): AuditLogFailure {
  if (isNotCapable(err)) return openFailure(path, err);
  if (err instanceof Deno.errors.PermissionDenied) {
    return {
      reason: `the operating system refused ${doing} it (permission denied)`,
      fix: `let the server's user read and write ${path} and its folder`,
      cause: err,
    };
  }
  return {
    reason: `${doing} it failed: ${errorMessage(err)}`,
    fix: `fix the file or its disk (free space, permissions), run \`audit verify ${path}\``,
    cause: err,
  };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
