// The audit record format and its hash chain, shared by the writer
// (`_audit_log.ts`) and the verifier (`_audit_verify.ts`).
//
// Each record is one line of JSON. Its `hash` is the SHA-256 (lowercase hex)
// of `prev` followed by the canonical JSON of the record without `hash`
// (object keys sorted by UTF-16 code unit, no whitespace), and its `prev` is
// the `hash` of the record before it, or `AUDIT_GENESIS` for the first one.
// Canonical JSON makes the hash independent of the key order on the line.
// A record with `"mac": "hmac-sha256"` (written with DBOS_MCP_AUDIT_KEY set)
// carries an HMAC-SHA256 under that key of the same bytes instead, so only a
// holder of the key can recompute it.

/** The `prev` of the first record of a log: 64 zeros. */
export const AUDIT_GENESIS: string = "0".repeat(64);

/** Version of the record format, the `v` field of every record. */
export const AUDIT_FORMAT_VERSION = 1;

/** The `mac` of a record whose `hash` is an HMAC-SHA256 under the audit key. */
export const AUDIT_MAC = "hmac-sha256" as const;

/** The client of the session, as recorded. */
export interface AuditClient {
  /** Client name. */
  name: string;
  /** Client version. */
  version: string;
}

/** A call's decision, as recorded: `code` and `reason` only for a refusal. */
export interface AuditDecision {
  /** Whether the call was let through. */
  allowed: boolean;
  /** Refusal code (e.g. `READ_ONLY`, `PLUGIN`). */
  code?: string;
  /** Refusal reason, redacted. */
  reason?: string;
}

/** How a call ended, as recorded: `error` only when not ok. */
export interface AuditOutcome {
  /** True when the tool ran and succeeded. */
  ok: boolean;
  /** The error text the client saw, redacted. */
  error?: string;
  /** The workflows a successful mutation created (forks, triggered, backfilled or imported runs). */
  created_workflow_ids?: string[];
}

/** One line of the audit log. */
export interface AuditRecord {
  /** Format version, always 1. */
  v: 1;
  /** Position in the log: 1 for the first record, then +1 per record. */
  seq: number;
  /** When the record was made (ISO 8601, UTC). */
  time: string;
  /** `intent`: a call about to be sent (written and flushed before it is); `call`: a finished or refused call. */
  kind: "intent" | "call";
  /** The call's id; an intent and its call record share it. */
  call_id: string;
  /** The MCP session id. */
  session: string;
  /** The MCP client, when it introduced itself. */
  client: AuditClient | null;
  /** The tool called (as the client named it). */
  tool: string;
  /** Whether the tool mutates workflows. */
  mutates: boolean;
  /** The call's arguments, redacted. */
  args: unknown;
  /** Allowed, or refused and why. */
  decision: AuditDecision;
  /** How the call ended; `null` in an intent. */
  outcome: AuditOutcome | null;
  /** From arrival to answer, in milliseconds; `null` in an intent. */
  duration_ms: number | null;
  /** Bytes of JSON sent to the client; `null` in an intent. */
  result_bytes: number | null;
  /** `hmac-sha256` when `hash` is an HMAC under the audit key (DBOS_MCP_AUDIT_KEY); absent for plain SHA-256. */
  mac?: "hmac-sha256";
  /** The hash of the record before, or {@linkcode AUDIT_GENESIS}. */
  prev: string;
  /** SHA-256 (or, with `mac`, HMAC-SHA256) of `prev` + canonical JSON of this record without `hash`. */
  hash: string;
}

/**
 * The record written when a log was found ending with an incomplete line (a
 * write cut off by a crash or a full disk): the partial bytes were removed
 * and this record, chained to the last complete one, says so.
 */
export interface AuditRecoveredRecord {
  /** Format version, always 1. */
  v: 1;
  /** Position in the log. */
  seq: number;
  /** When the repair was made (ISO 8601, UTC). */
  time: string;
  /** Always `recovered`. */
  kind: "recovered";
  /** How many bytes of the incomplete last line were removed. */
  removed_bytes: number;
  /** SHA-256 (lowercase hex) of the removed bytes. */
  removed_sha256: string;
  /** Why, in words. */
  reason: string;
  /** As in {@linkcode AuditRecord}. */
  mac?: "hmac-sha256";
  /** The hash of the record before, or {@linkcode AUDIT_GENESIS}. */
  prev: string;
  /** As in {@linkcode AuditRecord}. */
  hash: string;
}

/** Any line of the audit log. */
export type AuditLine = AuditRecord | AuditRecoveredRecord;

/** A record before it is placed in the chain. */
export type AuditEntry = Omit<AuditRecord, "v" | "seq" | "prev" | "hash" | "mac">;

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * JSON with object keys sorted, no whitespace: the form that is hashed.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./_audit_chain.ts";
 * canonicalJson({ b: [1, { d: 2, c: 3 }], a: "x" }); // '{"a":"x","b":[1,{"c":3,"d":2}]}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form; records never hold them.
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/**
 * The hash a record must carry: SHA-256 (lowercase hex) of `prev` followed
 * by the canonical JSON of the record without `hash`; with `key`, the
 * HMAC-SHA256 of the same bytes under that key.
 *
 * @example Checking one line of a log
 * ```ts ignore
 * import { recordHash } from "./_audit_chain.ts";
 * const record = JSON.parse(line);
 * const intact = (await recordHash(record)) === record.hash;
 * ```
 */
export async function recordHash(
  record: Omit<AuditLine, "hash"> | Record<string, unknown>,
  key?: CryptoKey,
): Promise<string> {
  const { hash: _ignored, ...rest } = record as Record<string, unknown>;
  const prev = typeof rest.prev === "string" ? rest.prev : "";
  const bytes = new TextEncoder().encode(prev + canonicalJson(rest));
  const digest = key ? await crypto.subtle.sign("HMAC", key, bytes) : await crypto.subtle.digest("SHA-256", bytes);
  return hex(new Uint8Array(digest));
}

/** SHA-256 of `bytes`, lowercase hex. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The line written for a record: JSON in the record's own key order, U+2028/U+2029 escaped, `\n`-terminated. */
export function recordLine(record: AuditLine): string {
  return `${JSON.stringify(record).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")}\n`;
}

/** Why a parsed line is not an audit record, or `undefined` when its chain fields are well-formed. */
export function shapeProblem(value: unknown): string | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "it is not a JSON object";
  const r = value as Record<string, unknown>;
  if (r.v !== AUDIT_FORMAT_VERSION) return `its format version is ${JSON.stringify(r.v)}, not 1`;
  if (typeof r.seq !== "number" || !Number.isSafeInteger(r.seq) || r.seq < 1) {
    return `its seq ${JSON.stringify(r.seq)} is not a positive whole number`;
  }
  if (typeof r.prev !== "string" || !HEX64.test(r.prev)) return "its prev is not a SHA-256 hex digest";
  if (typeof r.hash !== "string" || !HEX64.test(r.hash)) return "its hash is not a SHA-256 hex digest";
  if (r.kind !== "intent" && r.kind !== "call" && r.kind !== "recovered") {
    return `its kind ${JSON.stringify(r.kind)} is not intent, call or recovered`;
  }
  if (r.mac !== undefined && r.mac !== AUDIT_MAC) return `its mac ${JSON.stringify(r.mac)} is not ${AUDIT_MAC}`;
  return undefined;
}
