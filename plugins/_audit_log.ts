// The audit log writer: opens (or continues) a JSON Lines file, appends
// hash-chained records one at a time under the file's lock (so several
// servers sharing one log keep one chain), flushes each to disk, cuts a
// failed write back to the last complete record, and turns every I/O failure
// into a lasting "cannot be written" state that the plugin turns into
// refusals (fail closed).
import { DbosMcpError, errorMessage, isNotCapable } from "../src/core/errors.ts";
import { systemClock } from "../src/util/clock.ts";
import { dirname } from "../src/util/path.ts";
import {
  AUDIT_FORMAT_VERSION,
  AUDIT_GENESIS,
  AUDIT_MAC,
  type AuditEntry,
  type AuditLine,
  type AuditRecoveredRecord,
  recordHash,
  recordLine,
  sha256Hex,
  shapeProblem,
} from "./_audit_chain.ts";
import { AUDIT_KEY_ENV } from "./_audit_key.ts";

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
  /** Receives warnings (a mode tightened, a log repaired) and the failure that stops the log, once. */
  warn(message: string): void;
  /** Wraps the opened file's writes (tests use it to make writes fail). */
  wrapSink?: (sink: AuditSink) => AuditSink;
  /** The HMAC key (from DBOS_MCP_AUDIT_KEY): records are then HMAC-chained. */
  key?: CryptoKey;
  /**
   * Time of `recovered` records, and of waiting for the file's lock.
   *
   * @default {systemClock}
   */
  clock?: { now(): number; sleep?(ms: number): Promise<void> };
  /**
   * How long to wait for the file's lock (held by another server writing
   * the same log) before refusing the record.
   *
   * @default {3000}
   */
  lockTimeoutMs?: number;
}

const FIRST_TAIL_CHUNK = 4 * 1024;
const TAIL_CHUNK = 64 * 1024;
const MAX_LAST_LINE = 64 * 1024 * 1024;
const NEWLINE = 0x0a;
const MAX_LOCK_POLL_MS = 50;

/**
 * An append-only, hash-chained audit log, safe to share between processes:
 * each append takes an exclusive lock on the file, continues the chain from
 * the file's last record (so records another server appended are chained
 * onto, not forked from), writes and flushes one line, and releases the
 * lock. A write that fails part-way is cut back to the last complete record.
 *
 * {@linkcode AuditLog.open} never throws for I/O: a log that cannot be
 * opened or continued is returned in the failed state, and every
 * {@linkcode AuditLog.append} then rejects.
 */
export class AuditLog {
  /** The file's path, as configured. */
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #sink: AuditSink | undefined;
  #identity: string | undefined;
  #seq = 0;
  #prev = AUDIT_GENESIS;
  /** The file's size after our last read or write of its tail; -1 before the first. */
  #end = -1;
  #failure: AuditLogFailure | undefined;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  #warn: (message: string) => void;
  #key: CryptoKey | undefined;
  #clock: { now(): number; sleep(ms: number): Promise<void> };
  #lockTimeoutMs: number;

  private constructor(path: string, options: AuditLogOpenOptions) {
    this.path = path;
    this.#warn = options.warn;
    this.#key = options.key;
    const clock = options.clock ?? systemClock;
    this.#clock = { now: () => clock.now(), sleep: (ms) => clock.sleep ? clock.sleep(ms) : systemClock.sleep(ms) };
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 3000;
  }

  /**
   * Opens `path` for appending, creating it with mode 0600 (a wider mode of
   * an existing file is tightened, with a warning), takes its lock once to
   * check that it can, and continues its chain from its last record. Only
   * the last record is checked here (that its hash matches its content);
   * `audit verify` checks the whole chain. A last line that is incomplete (a
   * write cut off) is removed and a `recovered` record says so; a last
   * record that was altered stops the log (fail closed).
   */
  static async open(path: string, options: AuditLogOpenOptions): Promise<AuditLog> {
    const log = new AuditLog(path, options);
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
      log.#identity = info.ino === null ? undefined : `${info.dev}:${info.ino}`;
    } catch (err) {
      closeQuietly(file);
      log.#fail(ioFailure(path, "reading", err));
      return log;
    }
    log.#file = file;
    log.#sink = options.wrapSink ? options.wrapSink(file) : file;
    try {
      await log.#locked(() => log.#catchUp());
    } catch (err) {
      if (!(err instanceof AuditLogUnavailableError)) throw err;
      if (!log.#failure) log.#fail(err.failure); // the lock: at start, a lock held this long stops the log
    }
    if (log.#failure) {
      closeQuietly(file);
      log.#file = undefined;
      log.#sink = undefined;
    }
    return log;
  }

  /** Why the log cannot be written, or `undefined` while it can. */
  get failure(): AuditLogFailure | undefined {
    return this.#failure;
  }

  /** The seq and hash of the last record written or seen (0 and the genesis value for an empty log). */
  get head(): { seq: number; hash: string } {
    return { seq: this.#seq, hash: this.#prev };
  }

  /** Whether records are HMAC-chained (a key was given). */
  get keyed(): boolean {
    return this.#key !== undefined;
  }

  /**
   * Places `entry` in the chain, after the file's last record, writes it as
   * one line and flushes it to disk, all under the file's lock. Appends run
   * one at a time in call order, so lines never interleave.
   *
   * @throws {AuditLogUnavailableError} when the log cannot be written (then or before), or when another
   *   process held its lock for longer than the lock timeout (that one refusal only).
   */
  append(entry: AuditEntry): Promise<AuditLine> {
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
    this.#file = undefined;
  }

  async #write(entry: AuditEntry): Promise<AuditLine> {
    if (this.#closed) {
      throw new AuditLogUnavailableError(
        this.path,
        { reason: "it is closed because the server is stopping", fix: "start the server again" },
        "nothing more is recorded",
        "The server is stopping; call again once it has restarted.",
      );
    }
    if (this.#failure || !this.#sink) throw this.#unavailable();
    if (this.#identity !== undefined && await identityOf(this.path) !== this.#identity) {
      this.#fail({
        reason: "the file was removed or replaced while the server ran",
        fix: "find out why (keep any copy of it as evidence: `audit verify` checks it)",
      });
      throw this.#unavailable();
    }
    return await this.#locked(async () => {
      await this.#catchUp();
      return await this.#put(entry);
    });
  }

  /** Runs `fn` holding the file's exclusive lock, waiting for it at most the lock timeout. */
  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const file = this.#file!;
    const deadline = this.#clock.now() + this.#lockTimeoutMs;
    let delay = 1;
    for (;;) {
      let got: boolean;
      try {
        got = await file.tryLock(true);
      } catch (err) {
        this.#fail({
          reason: `it cannot be locked: ${errorMessage(err)}`,
          fix: "put the audit log on a local file system that supports file locks",
          cause: err,
        });
        throw this.#unavailable();
      }
      if (got) break;
      const left = deadline - this.#clock.now();
      if (left <= 0) {
        throw new AuditLogUnavailableError(
          this.path,
          {
            reason: `another process has held its lock for more than ${this.#lockTimeoutMs} ms`,
            fix: `find the process holding ${this.path} (\`fuser ${this.path}\`); a dbos-mcp server holds it ` +
              "only while it writes one record",
          },
          "the record was not written",
          "Another server writing the same audit log holds its lock; call again in a moment. If it keeps " +
            `happening, find the process holding ${this.path} (\`fuser ${this.path}\`).`,
        );
      }
      await this.#clock.sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, MAX_LOCK_POLL_MS);
    }
    try {
      return await fn();
    } finally {
      try {
        await file.unlock();
      } catch {
        // the lock goes with the file when it is closed
      }
    }
  }

  /**
   * Under the lock: continues from the file's last record when the file
   * changed since we last wrote it (another server appended), and repairs an
   * incomplete last line. Throws (and fails the log) when the tail is damaged.
   */
  async #catchUp(): Promise<void> {
    const file = this.#file!;
    let size: number;
    try {
      size = (await file.stat()).size;
    } catch (err) {
      this.#fail(ioFailure(this.path, "reading", err));
      throw this.#unavailable();
    }
    if (size === this.#end) return; // nothing was appended since our last record
    let tail: Tail | AuditLogFailure;
    try {
      tail = await readTail(this.path, file, size, this.#key);
    } catch (err) {
      tail = ioFailure(this.path, "reading", err);
    }
    if ("reason" in tail) {
      this.#fail(tail);
      throw this.#unavailable();
    }
    this.#seq = tail.seq;
    this.#prev = tail.hash;
    this.#end = tail.complete;
    if (tail.partial === 0) return;
    let removed: Uint8Array<ArrayBuffer>;
    try {
      removed = await readAt(file, tail.complete, tail.partial);
      await file.truncate(tail.complete);
      await file.syncData();
    } catch (err) {
      this.#fail(ioFailure(this.path, "repairing", err));
      throw this.#unavailable();
    }
    const record = await this.#put({
      time: new Date(this.#clock.now()).toISOString(),
      kind: "recovered",
      removed_bytes: removed.length,
      removed_sha256: await sha256Hex(removed),
      reason: "the log ended with an incomplete line (a write cut off by a crash or a full disk); it was removed",
    });
    this.#warn(
      `audit: the audit log ${this.path} ended with an incomplete line (${removed.length} bytes: a write cut off ` +
        `by a crash or a full disk); removed it and recorded that as seq ${record.seq} (kind "recovered")`,
    );
  }

  /**
   * Under the lock, with the file ending at `#end` after a complete record:
   * chains `entry`, writes its line and flushes it. A write or flush that
   * fails is cut back to the last complete record, and stops the log.
   */
  async #put(
    entry: AuditEntry | Omit<AuditRecoveredRecord, "v" | "seq" | "prev" | "hash" | "mac">,
  ): Promise<AuditLine> {
    const sink = this.#sink!;
    const key = this.#key;
    const unhashed = {
      v: AUDIT_FORMAT_VERSION,
      seq: this.#seq + 1,
      ...entry,
      ...(key ? { mac: AUDIT_MAC } : {}),
      prev: this.#prev,
    } as Omit<AuditLine, "hash">;
    const record = { ...unhashed, hash: await recordHash(unhashed, key) } as AuditLine;
    const bytes = new TextEncoder().encode(recordLine(record));
    const before = this.#end;
    try {
      let written = 0;
      while (written < bytes.length) written += await sink.write(bytes.subarray(written));
      await sink.syncData();
    } catch (err) {
      const failure = ioFailure(this.path, "writing", err);
      try {
        await this.#file!.truncate(before);
        await this.#file!.syncData();
      } catch (undo) {
        failure.reason += `; cutting the partial record off failed too (${errorMessage(undo)}), so the next start ` +
          "repairs it";
      }
      this.#fail(failure);
      throw this.#unavailable();
    }
    this.#seq = record.seq;
    this.#prev = record.hash;
    this.#end = before + bytes.length;
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

/** Where a log's chain continues, and the incomplete line after it, if any. */
interface Tail {
  /** Seq of the last complete record (0 when there is none). */
  seq: number;
  /** Hash of the last complete record (the genesis value when there is none). */
  hash: string;
  /** Bytes up to and including the last newline. */
  complete: number;
  /** Bytes after the last newline: an incomplete line (0 when the file ends with a newline). */
  partial: number;
}

/** Reads the last complete record of an open log of `size` bytes; returns where the chain continues, or why it cannot. */
async function readTail(
  path: string,
  file: Deno.FsFile,
  size: number,
  key: CryptoKey | undefined,
): Promise<Tail | AuditLogFailure> {
  const damaged = (why: string): AuditLogFailure => ({
    reason: `its last line ${why}`,
    fix: `run \`audit verify ${path}\`, keep the file as evidence and move it aside (a new log then starts)`,
  });
  const lastNewline = await newlineBefore(file, size);
  if (lastNewline === undefined) return damaged("is larger than 64 MiB and incomplete");
  const complete = lastNewline + 1;
  const partial = size - complete;
  if (complete === 0) return { seq: 0, hash: AUDIT_GENESIS, complete, partial };
  const before = await newlineBefore(file, lastNewline);
  if (before === undefined) return damaged("is larger than 64 MiB");
  const text = new TextDecoder().decode(await readAt(file, before + 1, lastNewline - before - 1));
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return damaged("is not valid JSON");
  }
  const problem = shapeProblem(record);
  if (problem) return damaged(`is not an audit record (${problem})`);
  const r = record as AuditLine;
  if (r.mac !== undefined && !key) {
    return {
      reason: `its last record (seq ${r.seq}) is HMAC-chained: it was written with ${AUDIT_KEY_ENV} set`,
      fix: `set ${AUDIT_KEY_ENV} to the key it was written with (or move the log aside to start a new one)`,
    };
  }
  if (await recordHash(r, r.mac !== undefined ? key : undefined) !== r.hash) {
    return damaged(
      r.mac !== undefined
        ? `(seq ${r.seq}) was altered, or written with another ${AUDIT_KEY_ENV}: its HMAC does not match its content`
        : `(seq ${r.seq}) was altered: its hash does not match its content`,
    );
  }
  return { seq: r.seq, hash: r.hash, complete, partial };
}

/**
 * The offset of the last newline before `end` (-1 when there is none), or
 * `undefined` when none is within 64 MiB of `end`.
 */
async function newlineBefore(file: Deno.FsFile, end: number): Promise<number | undefined> {
  let start = end;
  let chunk = FIRST_TAIL_CHUNK;
  while (start > 0) {
    const from = Math.max(0, start - chunk);
    const at = (await readAt(file, from, start - from)).lastIndexOf(NEWLINE);
    if (at >= 0) return from + at;
    start = from;
    chunk = TAIL_CHUNK;
    if (end - start > MAX_LAST_LINE) return undefined;
  }
  return -1;
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // already closed
  }
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

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array<ArrayBuffer>> {
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
