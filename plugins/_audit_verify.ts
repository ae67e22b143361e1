// Verifying an audit log's hash chain, and the `audit verify PATH` command.
import { DbosMcpError, errorMessage, isNotCapable } from "../src/core/errors.ts";
import { AUDIT_GENESIS, recordHash, shapeProblem } from "./_audit_chain.ts";

/** Options of {@linkcode verifyAuditLog}. */
export interface AuditVerifyOptions {
  /**
   * A record hash noted earlier, such as the head printed by a previous
   * verification: the log must still hold it. A hash chain alone cannot tell
   * that whole records were cut from the end of the file (or that the file
   * was replaced by a new log); this can.
   */
  knownHead?: string;
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
  for (const [i, text] of texts.entries()) lines.push(await parseLine(i + 1, text));

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
      return fail(i, n, `line ${n} (seq ${l.seq}) was altered: its hash does not match its content`, l.seq);
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
  if (options.knownHead !== undefined && options.knownHead !== AUDIT_GENESIS && !accepted.has(options.knownHead)) {
    return fail(
      lines.length,
      lines.length + 1,
      `the log no longer holds the known head ${options.knownHead}: records were cut from its end, or it was replaced`,
    );
  }
  return { ok: true, records: lines.length, lastSeq: seq, head: prev, openIntents: countOpenIntents(lines) };
}

async function parseLine(n: number, text: string): Promise<Line> {
  const line: Line = {
    n,
    empty: text.trim() === "",
    json: false,
    seq: 0,
    prev: "",
    hash: "",
    hashOk: false,
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
  line.hashOk = await recordHash(r) === line.hash;
  return line;
}

function countOpenIntents(lines: Line[]): number {
  const open = new Set<unknown>();
  for (const l of lines) {
    if (l.kind === "intent") open.add(l.callId);
    else open.delete(l.callId);
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
altered, removed, inserted or moved. --head HASH: a head printed by an earlier verification, which the log
must still hold (detects records cut from its end). Exit status: 0 intact, 1 not intact or unreadable, 2 usage.`;

/**
 * The `audit` command: `audit verify PATH [--head HASH]` verifies the chain
 * of the audit log at PATH (with `--head`, also that it still holds that
 * record hash, noted from an earlier verification)
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
  let result: AuditVerifyResult;
  try {
    result = await verifyAuditLog(path, { knownHead });
  } catch (err) {
    output.err(`${path}: FAILED: ${errorMessage(err)}`);
    return 1;
  }
  if (!result.ok) {
    output.err(`${path}: FAILED at line ${result.line}: ${result.error}`);
    return 1;
  }
  const open = result.openIntents ? `; ${result.openIntents} intent(s) without a recorded outcome` : "";
  output.out(
    `${path}: OK: ${result.records} records, chain intact; head seq ${result.lastSeq} hash ${result.head}${open}`,
  );
  return 0;
}
