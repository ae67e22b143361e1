// Verifying an audit log's hash chain, and the `audit verify PATH` command.
import { DbosMcpError, errorMessage, isNotCapable } from "../src/core/errors.ts";
import { AUDIT_GENESIS, recordHash, shapeProblem } from "./_audit_chain.ts";
import { AUDIT_KEY_ENV, auditKeyFromEnv, readEnvQuietly } from "./_audit_key.ts";

/** Options of {@linkcode verifyAuditLog}. */
export interface AuditVerifyOptions {
  /**
   * A record hash noted earlier, such as the head printed by a previous
   * verification: the log must still hold it. A hash chain alone cannot tell
   * that whole records were cut from the end of the file (or that the file
   * was replaced by a new log); this can.
   */
  knownHead?: string;
  /**
   * The key the log was written with (`DBOS_MCP_AUDIT_KEY`). With it, HMAC
   * records are checked under it, and the log must end with HMAC records:
   * plain records are accepted only before the first HMAC one (a log written
   * before the key was set), so records rewritten without the key fail even
   * with their hashes recomputed. Without it, an HMAC record cannot be
   * checked and fails verification.
   */
  key?: CryptoKey;
}

/** The outcome of {@linkcode verifyAuditLog}. */
export type AuditVerifyResult =
  | {
    /** The chain is intact. */
    ok: true;
    /** How many records the log holds. */
    records: number;
    /** The seq of the last record (0 for an empty log). */
    lastSeq: number;
    /** The hash of the last record (the genesis value for an empty log): note it to detect a cut later. */
    head: string;
    /** Intents with no call record after them: calls whose outcome was never recorded (a crash, or the log failed). */
    openIntents: number;
    /** How many records are HMAC-chained (checked with the key). */
    keyedRecords: number;
    /** `recovered` records: incomplete last lines that a server removed when it found them. */
    recoveries: number;
  }
  | {
    /** The chain is broken. */
    ok: false;
    /** How many records, from the start, were verified before the problem. */
    records: number;
    /** 1-based line number of the first problem. */
    line: number;
    /** The seq concerned, when known. */
    seq?: number;
    /** What is wrong, e.g. `line 17 (seq 17) was altered: its hash does not match its content`. */
    error: string;
  };

/** The audit log file could not be read for verification. */
export class AuditLogReadError extends DbosMcpError {
  /** The file's path. */
  readonly path: string;
  /** Creates the error. */
  constructor(path: string, why: string, options: { cause?: unknown } = {}) {
    super(`Cannot read the audit log ${path}: ${why}`, { code: "CONFIG", cause: options.cause });
    this.name = "AuditLogReadError";
    this.path = path;
  }
}

interface Line {
  /** 1-based line number. */
  n: number;
  empty: boolean;
  json: boolean;
  shape?: string;
  seq: number;
  prev: string;
  hash: string;
  hashOk: boolean;
  /** An HMAC record. */
  mac: boolean;
  kind: string;
  callId: unknown;
}

/**
 * Checks an audit log's hash chain from the genesis value to its last line,
 * and names the first record that was altered, removed, inserted or moved.
 *
 * @throws {AuditLogReadError} when the file cannot be read.
 *
 * @example Verifying a log
 * ```ts ignore
 * import { verifyAuditLog } from "./audit.ts";
 * const result = await verifyAuditLog("/var/log/dbos-mcp/audit.jsonl");
 * console.log(result.ok ? `intact, ${result.records} records` : `line ${result.line}: ${result.error}`);
 * ```
 */
export async function verifyAuditLog(path: string, options: AuditVerifyOptions = {}): Promise<AuditVerifyResult> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    const why = isNotCapable(err)
      ? `Deno may not read it: add --allow-read=${path}`
      : err instanceof Deno.errors.NotFound
      ? "no such file"
      : errorMessage(err);
    throw new AuditLogReadError(path, why, { cause: err });
  }
  const texts = new TextDecoder().decode(bytes).split("\n");
  const partial = texts.pop()!; // "" when the file ends with a newline
  const lines: Line[] = [];
  for (const [i, text] of texts.entries()) lines.push(await parseLine(i + 1, text, options.key));

  // Indexes for naming what happened: lines by the (seq, prev) they claim, and by their hash.
  const byLink = new Map<string, number[]>();
  const byHash = new Map<string, number>();
  lines.forEach((l, i) => {
    if (!l.json || l.shape || !l.hashOk) return;
    const key = `${l.seq}:${l.prev}`;
    byLink.set(key, [...(byLink.get(key) ?? []), i]);
    if (!byHash.has(l.hash)) byHash.set(l.hash, i);
  });
  const laterLink = (i: number, seq: number, prev: string): number | undefined =>
    byLink.get(`${seq}:${prev}`)?.find((j) => j > i);

  let seq = 0;
  let prev = AUDIT_GENESIS;
  let firstKeyed: number | undefined; // line number of the first HMAC record
  const accepted = new Map<string, number>(); // hash -> index, of lines accepted so far
  const fail = (records: number, line: number, error: string, at?: number): AuditVerifyResult => ({
    ok: false,
    records,
    line,
    ...(at !== undefined ? { seq: at } : {}),
    error,
  });
  for (const [i, l] of lines.entries()) {
    const n = l.n;
    if (l.empty) return fail(i, n, `line ${n} is empty (a line was inserted or a record was blanked)`);
    if (!l.json) return fail(i, n, `line ${n} is not valid JSON (it was edited or damaged)`);
    if (l.shape) return fail(i, n, `line ${n} is not an audit record: ${l.shape}`);
    if (l.mac && !options.key) {
      return fail(
        i,
        n,
        `line ${n} (seq ${l.seq}) is HMAC-chained: set ${AUDIT_KEY_ENV} to the key the server wrote it with ` +
          `(and let Deno read it: --allow-env=${AUDIT_KEY_ENV})`,
        l.seq,
      );
    }
    if (!l.mac && firstKeyed !== undefined) {
      return fail(
        i,
        n,
        `line ${n} (seq ${l.seq}) is not HMAC-chained though line ${firstKeyed} before it is: it was rewritten ` +
          "by someone without the key",
        l.seq,
      );
    }
    if (l.mac) firstKeyed ??= n;
    const want = seq + 1;
    if (l.hashOk && l.seq === want && l.prev === prev) {
      seq = l.seq;
      prev = l.hash;
      accepted.set(l.hash, i);
      continue;
    }
    const later = laterLink(i, want, prev);
    if (l.hashOk && l.seq > want && later !== undefined && byHash.get(l.prev) !== undefined) {
      return fail(
        i,
        n,
        `line ${n} is out of order: it holds seq ${l.seq}, but seq ${want} comes later, at line ${later + 1}`,
        l.seq,
      );
    }
    if (later !== undefined) {
      const what = later === i + 1 ? `line ${n} was inserted` : `lines ${n} to ${later} were inserted`;
      return fail(i, n, `${what}: the chain continues at line ${later + 1} (seq ${want})`, l.seq);
    }
    if (!l.hashOk) {
      const what = l.mac
        ? "was altered, or written with another key: its HMAC does not match its content"
        : "was altered: its hash does not match its content";
      return fail(i, n, `line ${n} (seq ${l.seq}) ${what}`, l.seq);
    }
    if (l.seq > want) {
      const what = want === 1
        ? `records are missing before line ${n}: the log starts at seq ${l.seq}, not 1`
        : `a record is missing before line ${n}: seq jumps from ${want - 1} to ${l.seq}`;
      return fail(i, n, what, want);
    }
    if (l.seq < want) {
      const j = accepted.get(l.prev);
      if (j !== undefined && lines[j].seq + 1 === l.seq) {
        const first = j + 2;
        const what = first === n - 1 ? `line ${first} was inserted` : `lines ${first} to ${n - 1} were inserted`;
        return fail(j + 1, first, `${what}: line ${n} (seq ${l.seq}) links to line ${j + 1}`, lines[j + 1].seq);
      }
      return fail(i, n, `line ${n} (seq ${l.seq}) is out of place: seq ${want} was expected here`, l.seq);
    }
    if (i === 0) {
      return fail(
        0,
        n,
        "line 1 does not start from the genesis value: records before it were removed, or it was altered",
        l.seq,
      );
    }
    return fail(
      i - 1,
      n - 1,
      `line ${n - 1} (seq ${seq}) was altered (its hash recomputed): line ${n} (seq ${l.seq}) does not link to it`,
      seq,
    );
  }
  if (partial !== "") {
    const n = lines.length + 1;
    return fail(lines.length, n, `line ${n} is truncated: the file does not end with a newline`);
  }
  if (options.key && lines.length > 0 && !lines[lines.length - 1].mac) {
    const n = lines.length;
    return fail(
      n - 1,
      n,
      `line ${n} (seq ${seq}), the last record, is not HMAC-chained, but a key was given: the log was written ` +
        `without ${AUDIT_KEY_ENV}, or rewritten by someone without the key`,
      seq,
    );
  }
  if (options.knownHead !== undefined && options.knownHead !== AUDIT_GENESIS && !accepted.has(options.knownHead)) {
    return fail(
      lines.length,
      lines.length + 1,
      `the log no longer holds the known head ${options.knownHead}: records were cut from its end, or it was replaced`,
    );
  }
  return {
    ok: true,
    records: lines.length,
    lastSeq: seq,
    head: prev,
    openIntents: countOpenIntents(lines),
    keyedRecords: lines.filter((l) => l.mac).length,
    recoveries: lines.filter((l) => l.kind === "recovered").length,
  };
}

async function parseLine(n: number, text: string, key: CryptoKey | undefined): Promise<Line> {
  const line: Line = {
    n,
    empty: text.trim() === "",
    json: false,
    seq: 0,
    prev: "",
    hash: "",
    hashOk: false,
    mac: false,
    kind: "",
    callId: undefined,
  };
  if (line.empty) return line;
  let value: unknown;
  try {
    value = JSON.parse(text);
    line.json = true;
  } catch {
    return line;
  }
  line.shape = shapeProblem(value);
  if (line.shape) return line;
  const r = value as Record<string, unknown>;
  line.seq = r.seq as number;
  line.prev = r.prev as string;
  line.hash = r.hash as string;
  line.kind = r.kind as string;
  line.callId = r.call_id;
  line.mac = r.mac !== undefined;
  // An HMAC record cannot be checked without the key (the loop reports that first).
  line.hashOk = line.mac
    ? key !== undefined && await recordHash(r, key) === line.hash
    : await recordHash(r) === line.hash;
  return line;
}

function countOpenIntents(lines: Line[]): number {
  const open = new Set<unknown>();
  for (const l of lines) {
    if (l.kind === "intent") open.add(l.callId);
    else if (l.kind === "call") open.delete(l.callId);
  }
  return open.size;
}

/** Where {@linkcode runAuditCli} writes its lines. */
export interface AuditCliOutput {
  /** Writes one line to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
}

const USAGE = "usage: audit verify PATH [--head HASH]";
const HELP = `${USAGE}
Verifies the hash chain of an audit log written by the audit plugin, and names the first record that was
altered, removed, inserted or moved. --head HASH: a head printed by an earlier verification or by the server
("audit: head of PATH: seq N hash HASH" on its stderr), which the log must still hold (detects records cut
from its end). With ${AUDIT_KEY_ENV} set (needs --allow-env=${AUDIT_KEY_ENV}), HMAC records are checked with
that key. Exit status: 0 intact, 1 not intact or unreadable, 2 usage.`;

/**
 * The `audit` command: `audit verify PATH [--head HASH]` verifies the chain
 * of the audit log at PATH (with `--head`, also that it still holds that
 * record hash, noted from an earlier verification or the server's stderr;
 * with `DBOS_MCP_AUDIT_KEY` in `env`, HMAC records under that key)
 * and prints one line: to stdout when intact, to stderr naming the first
 * problem otherwise. `args` are the words after `audit`.
 *
 * @returns 0 when intact, 1 when broken or unreadable, 2 for a usage error.
 *
 * @example Verifying from a script
 * ```ts ignore
 * import { runAuditCli } from "./audit.ts";
 * Deno.exit(await runAuditCli(["verify", "/var/log/dbos-mcp/audit.jsonl"]));
 * ```
 */
export async function runAuditCli(
  args: string[],
  output: AuditCliOutput = { out: (l) => console.log(l), err: (l) => console.error(l) },
  env: (name: string) => string | undefined = readEnvQuietly,
): Promise<number> {
  if (args.some((a) => a === "--help" || a === "-h")) {
    output.out(HELP);
    return 0;
  }
  const [command, path, ...rest] = args;
  let knownHead: string | undefined;
  if (rest.length === 2 && rest[0] === "--head" && /^[0-9a-f]{64}$/.test(rest[1])) knownHead = rest[1];
  else if (rest.length > 0) {
    const why = rest[0] === "--head"
      ? "--head needs a record hash (64 lowercase hex digits)"
      : `unexpected argument '${rest[0]}'`;
    output.err(`audit: ${why}\n${USAGE}`);
    return 2;
  }
  if (command !== "verify" || !path || path.startsWith("-")) {
    output.err(command && command !== "verify" ? `audit: unknown command '${command}'\n${USAGE}` : USAGE);
    return 2;
  }
  let key: CryptoKey | undefined;
  try {
    key = await auditKeyFromEnv(env);
  } catch (err) {
    output.err(`audit: ${err instanceof DbosMcpError && err.hint ? `${err.message}. ${err.hint}` : String(err)}`);
    return 2;
  }
  let result: AuditVerifyResult;
  try {
    result = await verifyAuditLog(path, { knownHead, key });
  } catch (err) {
    output.err(`${path}: FAILED: ${errorMessage(err)}`);
    return 1;
  }
  if (!result.ok) {
    output.err(`${path}: FAILED at line ${result.line}: ${result.error}`);
    return 1;
  }
  const notes = [
    key ? `${result.keyedRecords} HMAC-verified with ${AUDIT_KEY_ENV}` : "",
    result.recoveries ? `${result.recoveries} recovered incomplete line(s)` : "",
    result.openIntents ? `${result.openIntents} intent(s) without a recorded outcome` : "",
  ].filter(Boolean).map((note) => `; ${note}`).join("");
  output.out(
    `${path}: OK: ${result.records} records, chain intact; head seq ${result.lastSeq} hash ${result.head}${notes}`,
  );
  return 0;
}
