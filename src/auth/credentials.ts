/**
 * The credentials folder (`~/.dbos-mcp` by default): the saved login
 * (`credentials`) and a login in progress (`pending_login`), both JSON.
 *
 * The files stay readable and writable by the Python `dbos-mcp` server, so
 * one login serves both: `credentials` keeps its keys `token`, `userName` and
 * `organization` (this server adds `refreshToken` and `expiresAt`, and keeps
 * any key it does not know), and `pending_login` keeps `device_code`,
 * `interval` and `expires_at` in epoch seconds.
 *
 * The folder is created with mode 0700 and the files with mode 0600; every
 * write goes to a temporary file in the same folder that is then renamed
 * over the target, so a crash never leaves a half-written file. A folder or
 * file that other users may read or enter is tightened, with a warning.
 *
 * The files are never followed or waited on: `credentials` or
 * `pending_login` that is a symbolic link, a FIFO, a socket, a device or a
 * folder is refused with a {@linkcode CredentialsFileError} (its type is
 * checked with `lstat` before anything opens or `chmod`s it, and the file
 * opened is checked to be the one inspected), and files are read
 * asynchronously, so a read never stalls the event loop.
 *
 * @module
 */
import {
  DbosMcpError,
  type ErrorCode,
  errorMessage,
  MissingPermissionError,
  NotLoggedInError,
} from "../core/errors.ts";
import { join } from "../util/path.ts";

/** A saved login. */
export interface Credentials {
  /** Access token (a JWT) for DBOS Cloud and Conductor. Never log or return it. */
  token: string;
  /** The user's name (`Name` of the DBOS Cloud profile); `""` when unknown. */
  userName: string;
  /** The user's organization (`Organization` of the profile); `""` when unknown. */
  organization: string;
  /** OAuth refresh token, when the login service gave one. Never log or return it. */
  refreshToken?: string;
  /** When `token` expires, in epoch milliseconds, when known. */
  expiresAt?: number;
}

/** A device login that was started and not yet completed. */
export interface PendingLogin {
  /** The device code of RFC 8628. Secret: never log or return it. */
  device_code: string;
  /** Seconds to wait between two polls of the token endpoint. */
  interval: number;
  /** When the device code expires, in epoch seconds (the Python server's unit). */
  expires_at: number;
  /** The code the user confirms in the browser. */
  user_code?: string;
  /** The page where the user enters `user_code`. */
  verification_uri?: string;
  /** The page with `user_code` filled in. */
  verification_uri_complete?: string;
  /** When the token endpoint was last polled, in epoch seconds. */
  last_poll_at?: number;
}

/** Options of {@linkcode CredentialStore}. */
export interface CredentialStoreOptions {
  /**
   * Receives warnings (a file readable by other users was tightened).
   *
   * @default {(msg) => console.error(`dbos-mcp: warning: ${msg}`)}
   */
  warn?: (message: string) => void;
}

/**
 * A file in the credentials folder could not be read or written for a reason
 * other than a missing Deno permission flag (the operating system refused,
 * the disk is full, the folder is a file, ...).
 */
export class CredentialsFileError extends DbosMcpError {
  /** The file or folder concerned. */
  readonly path: string;
  /** Creates the error. */
  constructor(
    message: string,
    options: { path: string; code?: ErrorCode; hint?: string; cause?: unknown },
  ) {
    super(message, { code: options.code ?? "CONFIG", hint: options.hint, cause: options.cause });
    this.name = "CredentialsFileError";
    this.path = options.path;
  }
}

/** The keys of {@linkcode Credentials}; other keys found in the file are kept as they are. */
const CREDENTIAL_KEYS = ["token", "userName", "organization", "refreshToken", "expiresAt"] as const;

const IS_WINDOWS = Deno.build.os === "windows";

type RawFile =
  | { kind: "missing" }
  | { kind: "empty" }
  | { kind: "corrupt" }
  | { kind: "ok"; value: Record<string, unknown> };

/** How long after its last change a file's parse may be reused by its stamp alone. */
const STAMP_SETTLE_MS = 3_000;

/** What identifies one version of a file, or `undefined` when the platform does not tell enough. */
function stampOf(info: Deno.FileInfo): string | undefined {
  if (info.mtime === null) return undefined;
  return `${info.ino ?? "?"}:${info.size}:${info.mtime.getTime()}:${info.ctime?.getTime() ?? "?"}`;
}

function parseRaw(text: string): RawFile {
  if (text.trim() === "") return { kind: "empty" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "corrupt" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { kind: "corrupt" };
  return { kind: "ok", value: value as Record<string, unknown> };
}

/**
 * Reads and writes the saved login and the pending login in one folder.
 *
 * @example Saving and reading a login
 * ```ts ignore
 * import { CredentialStore } from "./credentials.ts";
 * const store = new CredentialStore("/home/me/.dbos-mcp");
 * await store.write({ token, userName: "alice", organization: "acme" });
 * const creds = await store.read(); // { token, userName: "alice", organization: "acme" }
 * ```
 */
export class CredentialStore {
  /** The folder. */
  readonly home: string;
  /** Path of the `credentials` file. */
  readonly credentialsPath: string;
  /** Path of the `pending_login` file. */
  readonly pendingLoginPath: string;
  #warn: (message: string) => void;
  /** The last parse of each file, by path, with the stamp of the file it came from. */
  #cache = new Map<string, { stamp: string; raw: RawFile }>();
  /** Whether the folder's mode was checked by a read (writes check it every time). */
  #homeChecked = false;

  /** Creates a store for the folder `home` (already resolved; nothing is touched yet). */
  constructor(home: string, options: CredentialStoreOptions = {}) {
    this.home = home;
    this.credentialsPath = join(home, "credentials");
    this.pendingLoginPath = join(home, "pending_login");
    this.#warn = options.warn ?? ((msg) => console.error(`dbos-mcp: warning: ${msg}`));
  }

  /**
   * Reads the saved login.
   *
   * @returns the login, or `null` when there is no credentials file.
   * @throws {NotLoggedInError} when the file is empty, not JSON, or has no token.
   * @throws {MissingPermissionError} when Deno's `--allow-read` does not cover the folder.
   */
  async read(): Promise<Credentials | null> {
    const raw = await this.#readRaw(this.credentialsPath);
    const path = this.credentialsPath;
    switch (raw.kind) {
      case "missing":
        return null;
      case "empty":
        throw new NotLoggedInError(`The credentials file ${path} is empty; log in again.`);
      case "corrupt":
        throw new NotLoggedInError(`The credentials file ${path} is corrupt (not a JSON object); log in again.`);
    }
    const v = raw.value;
    if (typeof v.token !== "string" || v.token.length === 0) {
      throw new NotLoggedInError(`The credentials file ${path} holds no token; log in again.`);
    }
    const creds: Credentials = {
      token: v.token,
      userName: typeof v.userName === "string" ? v.userName : "",
      organization: typeof v.organization === "string" ? v.organization : "",
    };
    if (typeof v.refreshToken === "string" && v.refreshToken.length > 0) creds.refreshToken = v.refreshToken;
    if (typeof v.expiresAt === "number" && Number.isFinite(v.expiresAt)) creds.expiresAt = v.expiresAt;
    return creds;
  }

  /**
   * Saves a login, replacing the previous one atomically. Keys of the
   * existing file that {@linkcode Credentials} does not define are kept.
   *
   * @throws {MissingPermissionError} when Deno's `--allow-read`/`--allow-write` does not cover the folder.
   * @throws {CredentialsFileError} when the operating system refuses the write.
   */
  async write(credentials: Credentials): Promise<void> {
    await this.#ensureHome();
    const doc: Record<string, unknown> = {};
    const existing = await this.#readRaw(this.credentialsPath);
    if (existing.kind === "ok") {
      for (const [key, value] of Object.entries(existing.value)) {
        if (!(CREDENTIAL_KEYS as readonly string[]).includes(key)) doc[key] = value;
      }
    }
    for (const key of CREDENTIAL_KEYS) {
      const value = credentials[key];
      if (value !== undefined) doc[key] = value;
    }
    await this.#writeAtomic(this.credentialsPath, JSON.stringify(doc, null, 2));
  }

  /**
   * Removes the saved login and the pending login; either may be absent.
   *
   * @returns whether a credentials file was removed.
   */
  async delete(): Promise<boolean> {
    await this.deletePendingLogin();
    return await this.#remove(this.credentialsPath);
  }

  /**
   * Reads the pending login.
   *
   * @returns the pending login, or `null` when none was started.
   * @throws {NotLoggedInError} when the file is empty or corrupt (the agent should call `login` again).
   */
  async readPendingLogin(): Promise<PendingLogin | null> {
    const raw = await this.#readRaw(this.pendingLoginPath);
    if (raw.kind === "missing") return null;
    const path = this.pendingLoginPath;
    const hint = "Call `login` to start a new login.";
    if (raw.kind !== "ok") {
      throw new NotLoggedInError(`The pending login file ${path} is ${raw.kind}; start the login again.`, { hint });
    }
    const v = raw.value;
    const expiresAt = toEpochSeconds(v.expires_at);
    if (typeof v.device_code !== "string" || v.device_code.length === 0 || expiresAt === undefined) {
      throw new NotLoggedInError(
        `The pending login file ${path} lacks a device code or an expiry; start the login again.`,
        { hint },
      );
    }
    const pending: PendingLogin = {
      device_code: v.device_code,
      interval: typeof v.interval === "number" && v.interval > 0 ? v.interval : 5,
      expires_at: expiresAt,
    };
    for (const key of ["user_code", "verification_uri", "verification_uri_complete"] as const) {
      if (typeof v[key] === "string") pending[key] = v[key];
    }
    const lastPoll = toEpochSeconds(v.last_poll_at);
    if (lastPoll !== undefined) pending.last_poll_at = lastPoll;
    return pending;
  }

  /** Saves the pending login atomically. */
  async writePendingLogin(pending: PendingLogin): Promise<void> {
    await this.#writeAtomic(this.pendingLoginPath, JSON.stringify(pending, null, 2));
  }

  /** Removes the pending login. @returns whether there was one. */
  async deletePendingLogin(): Promise<boolean> {
    return await this.#remove(this.pendingLoginPath);
  }

  /**
   * Reads and parses a file. The file is read again only when its stamp
   * (inode, size, modification and change times) differs from the last read
   * one's, so a call costs one `stat`, and a login saved by another process is
   * still seen at once. Synchronous file calls: a small file, read on every
   * tool call, without a hop through the thread pool.
   */
  async #readRaw(path: string): Promise<RawFile> {
    let info: Deno.FileInfo;
    let stamp: string | undefined;
    let text: string;
    try {
      if (!this.#homeChecked) this.#checkHome();
      // lstat: a link is seen as a link, never followed; a FIFO is seen before anything opens it.
      info = Deno.lstatSync(path);
      this.#requireRegularFile(path, info);
      await this.#tighten(path, info.mode);
      stamp = stampOf(info);
      const cached = this.#cache.get(path);
      if (cached && stamp !== undefined && cached.stamp === stamp) return cached.raw;
      text = await this.#readRegularFile(path, info);
    } catch (err) {
      this.#cache.delete(path);
      if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
      throw this.#fsError(err, "read", path);
    }
    const raw = parseRaw(text);
    // Times are in milliseconds (coarser on some file systems): a file changed less than STAMP_SETTLE_MS ago
    // may change again without a new stamp, so it is read again next time (as git treats "racily clean" files).
    const changed = Math.max(info.mtime?.getTime() ?? Infinity, info.ctime?.getTime() ?? 0);
    if (stamp !== undefined && Date.now() - changed > STAMP_SETTLE_MS) {
      this.#cache.set(path, { stamp, raw });
    } else {
      this.#cache.delete(path);
    }
    return raw;
  }

  /** Refuses anything at `path` but a regular file: a link is not followed, a FIFO or device not opened. */
  #requireRegularFile(path: string, info: Deno.FileInfo): void {
    if (info.isFile) return;
    if (info.isSymlink) {
      throw new CredentialsFileError(
        `${path} is a symbolic link; the server does not follow links in its credentials folder.`,
        {
          path,
          hint: `Remove the link (rm ${path}) and log in again; to use another folder, start the server with --home.`,
        },
      );
    }
    const kind = info.isDirectory
      ? "a folder"
      : info.isFifo
      ? "a FIFO (named pipe)"
      : info.isSocket
      ? "a socket"
      : info.isCharDevice || info.isBlockDevice
      ? "a device"
      : "a special file";
    throw new CredentialsFileError(
      `${path} is ${kind}, not a regular file; the server reads only regular files in its credentials folder.`,
      { path, hint: `Remove ${path} and log in again; to use another folder, start the server with --home.` },
    );
  }

  /**
   * Reads the regular file that `lstat` described as `info`, asynchronously,
   * and only if the file opened is that one (same device and inode): a file
   * swapped for a link or another file in between is refused.
   */
  async #readRegularFile(path: string, info: Deno.FileInfo): Promise<string> {
    const file = await Deno.open(path, { read: true });
    let opened: Deno.FileInfo;
    try {
      opened = await file.stat();
    } catch (err) {
      file.close();
      throw err;
    }
    const same = opened.isFile && (info.ino === null || (opened.ino === info.ino && opened.dev === info.dev));
    if (!same) {
      file.close();
      throw new CredentialsFileError(`${path} changed while it was being opened; it was not read.`, {
        path,
        hint: "Try again; if this repeats, check what else writes to the credentials folder.",
      });
    }
    // Consuming the stream closes the file.
    return await new Response(file.readable).text();
  }

  /**
   * Makes the folder private again (mode 0700) when other users may read or
   * enter it, with a warning. Reads check once per store; writes every time.
   */
  #checkHome(info?: Deno.FileInfo): void {
    this.#homeChecked = true;
    if (IS_WINDOWS) return;
    try {
      info ??= Deno.statSync(this.home);
    } catch {
      return; // missing (nothing to tighten) or not allowed (the file's read says which flag)
    }
    if (!info.isDirectory || info.mode === null || (info.mode & 0o077) === 0) return;
    const was = (info.mode & 0o777).toString(8).padStart(4, "0");
    try {
      Deno.chmodSync(this.home, 0o700);
      this.#warn(`${this.home} was accessible to other users (mode ${was}); changed its mode to 0700.`);
    } catch {
      this.#warn(
        `${this.home} is accessible to other users (mode ${was}) and could not be changed; run: chmod 700 ${this.home}`,
      );
    }
  }

  /** Makes a file that other users may read private again, with a warning. */
  async #tighten(path: string, mode: number | null): Promise<void> {
    if (IS_WINDOWS) return;
    if (mode === null || (mode & 0o077) === 0) return;
    const was = (mode & 0o777).toString(8).padStart(4, "0");
    try {
      await Deno.chmod(path, 0o600);
      this.#warn(`${path} was readable by other users (mode ${was}); changed its mode to 0600.`);
    } catch {
      this.#warn(`${path} is readable by other users (mode ${was}) and could not be changed; run: chmod 600 ${path}`);
    }
  }

  async #ensureHome(): Promise<void> {
    try {
      const info = await Deno.stat(this.home);
      if (!info.isDirectory) {
        throw new CredentialsFileError(`The credentials folder ${this.home} is not a folder.`, {
          path: this.home,
          hint: `Remove or rename ${this.home}, or choose another credentials folder.`,
        });
      }
      this.#checkHome(info);
      return;
    } catch (err) {
      if (err instanceof CredentialsFileError) throw err;
      if (!(err instanceof Deno.errors.NotFound)) throw this.#fsError(err, "read", this.home);
    }
    try {
      await Deno.mkdir(this.home, { recursive: true, mode: 0o700 });
      if (!IS_WINDOWS) await Deno.chmod(this.home, 0o700);
    } catch (err) {
      throw this.#fsError(err, "write", this.home);
    }
  }

  async #writeAtomic(path: string, text: string): Promise<void> {
    await this.#ensureHome();
    const temp = join(this.home, `.${crypto.randomUUID()}.tmp`);
    let step: "write" | "rename" = "write";
    try {
      const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
      try {
        await file.write(new TextEncoder().encode(text));
        await file.sync();
      } finally {
        file.close();
      }
      if (!IS_WINDOWS) await Deno.chmod(temp, 0o600);
      step = "rename";
      await Deno.rename(temp, path);
    } catch (err) {
      try {
        await Deno.remove(temp);
      } catch {
        // never created, or already renamed
      }
      throw this.#fsError(err, step, path);
    }
  }

  async #remove(path: string): Promise<boolean> {
    try {
      await Deno.remove(path);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw this.#fsError(err, "write", path);
    }
  }

  #fsError(err: unknown, op: "read" | "write" | "rename", path: string): Error {
    if (err instanceof DbosMcpError) return err;
    const verb = op === "read" ? "reading" : op === "write" ? "writing" : "replacing";
    if (err instanceof Deno.errors.NotCapable || (err instanceof Error && err.name === "NotCapable")) {
      const flag = op === "read"
        ? `--allow-read=${this.home}`
        : op === "write"
        ? `--allow-write=${this.home}`
        : `--allow-read=${this.home} --allow-write=${this.home}`;
      return new MissingPermissionError(`${verb} ${path}`, flag, { cause: err });
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      return new CredentialsFileError(`The operating system refused ${verb} ${path} (permission denied).`, {
        path,
        code: "PERMISSION",
        hint: `Make sure ${this.home} and its files belong to the user running the server ` +
          `(chmod 700 ${this.home}; chmod 600 the files in it).`,
        cause: err,
      });
    }
    const detail = errorMessage(err).split("\n")[0];
    return new CredentialsFileError(`Could not ${op === "read" ? "read" : "write"} ${path}: ${detail}.`, {
      path,
      hint: `Check that ${this.home} is a writable folder with free space, or choose another credentials folder.`,
      cause: err,
    });
  }
}

/** Epoch seconds from a number of seconds or milliseconds, or an ISO date. */
function toEpochSeconds(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) {
    return value > 1e11 ? value / 1000 : value;
  }
  if (typeof value === "string") {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms / 1000;
  }
  return undefined;
}
