/**
 * The `audit` plugin: a tamper-evident audit log of every tool call, as JSON
 * Lines (file mode 0600), one hash-chained record per line.
 *
 * Load it with `--audit-log PATH` (or `DBOS_MCP_AUDIT_LOG`, or `--plugin audit`
 * with `"plugin-options": {"audit": {"path": "..."}}` in the config file).
 *
 * What is recorded, per call: time, session id, client name and version,
 * tool, arguments (redacted with the redact plugin's rules), decision
 * (allowed, or refused with a code and reason), outcome (ok, or the error
 * message, redacted), duration, result size in bytes (never the result), and
 * the hash of the previous record. Every string of a record is also scrubbed
 * of the secrets the server knows (tokens, database passwords).
 *
 * - A mutation first gets an `intent` record, written and flushed to disk
 *   before the call is sent; its `call` record (with the outcome) follows.
 *   Reads and refused calls get one `call` record.
 * - Fail closed: when the log cannot be written (missing folder, no
 *   permission, disk full, ...) mutations are refused and never sent, from
 *   then until the server is restarted with the problem fixed. With
 *   `--audit-required` (or `"required": true`, implied by `--production`)
 *   every call writes an intent first, so every call is refused, and the
 *   server does not start at all when the log cannot be opened for appending
 *   ({@linkcode AuditLogStartError}).
 * - The chain: each record's `hash` is the SHA-256 of the previous record's
 *   hash followed by the canonical JSON (keys sorted, no whitespace) of the
 *   record without `hash`; the first record's `prev` is
 *   {@linkcode AUDIT_GENESIS} (64 zeros). With `DBOS_MCP_AUDIT_KEY` set (at
 *   least 32 bytes, never logged), records carry `"mac":"hmac-sha256"` and
 *   their `hash` is an HMAC-SHA256 under that key instead, so records
 *   rewritten by someone without the key fail verification even with their
 *   hashes recomputed. {@linkcode verifyAuditLog} (the `audit verify PATH`
 *   command, which reads the key from the same variable) checks the chain
 *   and names the first record that was altered, removed, inserted or moved.
 * - Anchors: the head (seq and hash of the last record) goes to stderr at
 *   start, every 100 records and at exit, so the client's log of the server
 *   holds hashes that `audit verify PATH --head HASH` checks are still in the
 *   log (a hash chain alone cannot tell that records were cut from its end).
 * - Shared logs: every append takes an exclusive lock on the file (waiting
 *   at most 3 s), continues from the file's last record, writes and flushes
 *   its line, and lets go, so several servers writing one log keep one
 *   chain. A server that cannot get the lock in time refuses that call.
 * - Torn writes: a write that fails part-way is cut back to the last complete
 *   record; a log found ending with an incomplete line (a crash mid-write) is
 *   cut the same way, and a `recovered` record says how many bytes went.
 *
 * @example A record (one line in the file)
 * ```json
 * {"v":1,"seq":7,"time":"2026-01-01T00:00:00.000Z","kind":"call","call_id":"5f0c…","session":"b2d1…",
 *  "client":{"name":"claude-code","version":"2.0.1"},"tool":"cancel_workflow","mutates":true,
 *  "args":{"workflow_id":"wf-1"},"decision":{"allowed":true},"outcome":{"ok":true},"duration_ms":41.2,
 *  "result_bytes":311,"prev":"9a3e…","hash":"c04b…"}
 * ```
 *
 * @module
 */
import { definePlugin, type Plugin, type PluginHost } from "../src/plugin_host/contract.ts";
import { systemClock } from "../src/util/clock.ts";
import { ConfigError } from "../src/core/errors.ts";
import type { Scrubber } from "../src/core/secrets.ts";
import { DbosMcpError } from "../src/core/errors.ts";
import { createRedactor, type RedactOptions } from "./redact.ts";
import { AuditLog, type AuditLogFailure } from "./_audit_log.ts";
import { auditHooks, type AuditRedactor } from "./_audit_plugin.ts";
import { auditKeyFromEnv } from "./_audit_key.ts";

export {
  AUDIT_GENESIS,
  type AuditClient,
  type AuditDecision,
  type AuditLine,
  type AuditOutcome,
  type AuditRecord,
  type AuditRecoveredRecord,
} from "./_audit_chain.ts";
export { AUDIT_KEY_ENV, AuditKeyError } from "./_audit_key.ts";
export { type AuditLogFailure, AuditLogUnavailableError } from "./_audit_log.ts";
export type { AuditRedactor } from "./_audit_plugin.ts";
export {
  type AuditCliOutput,
  AuditLogReadError,
  type AuditVerifyOptions,
  type AuditVerifyResult,
  runAuditCli,
  verifyAuditLog,
} from "./_audit_verify.ts";

/** Options of {@linkcode createAuditPlugin}. */
export interface AuditPluginOptions {
  /** The audit log file; its folder must exist. */
  path: string;
  /**
   * Refuse every call, not only mutations, when the log cannot be written.
   *
   * @default {false}
   */
  required?: boolean;
  /**
   * The time of records, and of waiting for the file's lock (`sleep`).
   *
   * @default {systemClock}
   */
  clock?: { now(): number; sleep?(ms: number): Promise<void> };
  /**
   * The HMAC key records are chained with (the server's factory reads it
   * from `DBOS_MCP_AUDIT_KEY`); without it, plain SHA-256.
   */
  key?: CryptoKey;
  /**
   * How long an append waits for the file's lock, held by another server
   * writing the same log, before that call is refused.
   *
   * @default {3000}
   */
  lockTimeoutMs?: number;
  /**
   * Write the log's head to `log` at start, every this many records and at
   * close (0: only at start and close).
   *
   * @default {100}
   */
  anchorEvery?: number;
  /**
   * Throw {@linkcode AuditLogStartError} when the log cannot be opened for
   * appending, instead of returning a plugin that refuses calls.
   *
   * @default {false}
   */
  checkAtStart?: boolean;
  /**
   * Diagnostics (a tightened file mode, the failure that stops the log).
   *
   * @default {(message) => console.error(`dbos-mcp: ${message}`)}
   */
  log?: (message: string) => void;
  /**
   * Arguments larger than this (bytes of JSON, after redaction) are recorded
   * as their size only.
   *
   * @default {65536}
   */
  maxArgBytes?: number;
  /**
   * Redacts arguments, refusal reasons and error messages.
   *
   * @default {createRedactor()}
   */
  redactor?: AuditRedactor;
  /**
   * The server's known secrets (a plugin gets them as `host.secrets`),
   * scrubbed from every string of every record after the redactor.
   *
   * @default {none: only the redactor applies}
   */
  secrets?: Scrubber;
}

/**
 * The audit log cannot be opened for appending at start, and the server
 * needs it (`--audit-required`, implied by `--production`), so it does not
 * start. The message names the path and what is wrong; the hint says the fix.
 */
export class AuditLogStartError extends DbosMcpError {
  /** The audit log's path. */
  readonly path: string;
  /** What is wrong with it, and the fix. */
  readonly failure: AuditLogFailure;
  /** Creates the error. */
  constructor(path: string, failure: AuditLogFailure) {
    super(
      `The audit log ${path} cannot be opened for appending (${failure.reason}), and --audit-required ` +
        "(implied by --production) needs it.",
      {
        code: "CONFIG",
        hint: `${failure.fix.charAt(0).toUpperCase()}${failure.fix.slice(1)}, then start the server again.`,
        cause: failure.cause,
      },
    );
    this.name = "AuditLogStartError";
    this.path = path;
    this.failure = failure;
  }
}

/**
 * Opens (or continues) the audit log at `options.path` and returns the audit
 * plugin writing to it. Unless `options.checkAtStart`, it never throws for
 * I/O: a log that cannot be opened is reported through `options.log` and
 * refuses calls as described in the module documentation.
 *
 * @throws {AuditLogStartError} with `checkAtStart`, when the log cannot be opened for appending.
 *
 * @example Auditing an embedded server's calls
 * ```ts ignore
 * import { createAuditPlugin } from "./audit.ts";
 * const audit = await createAuditPlugin({ path: "/var/log/dbos-mcp/audit.jsonl", required: true });
 * // ... pass `audit` to the server's plugins; at shutdown:
 * await audit.close?.();
 * ```
 */
export async function createAuditPlugin(options: AuditPluginOptions): Promise<Plugin> {
  const log = options.log ?? ((message: string) => console.error(`dbos-mcp: ${message}`));
  const maxArgBytes = options.maxArgBytes ?? 65536;
  if (!Number.isSafeInteger(maxArgBytes) || maxArgBytes < 0) {
    throw new ConfigError(`The audit plugin's maxArgBytes must be a whole number of bytes, got ${maxArgBytes}`);
  }
  const anchorEvery = options.anchorEvery ?? 100;
  if (!Number.isSafeInteger(anchorEvery) || anchorEvery < 0) {
    throw new ConfigError(`The audit plugin's anchorEvery must be a whole number of records, got ${anchorEvery}`);
  }
  const clock = options.clock ?? systemClock;
  // With checkAtStart, a failure to open is the one line the caller prints: hold the warnings until it is known.
  const held: string[] = [];
  const auditLog = await AuditLog.open(options.path, {
    warn: options.checkAtStart ? (m) => held.push(m) : log,
    key: options.key,
    clock,
    lockTimeoutMs: options.lockTimeoutMs,
  });
  if (options.checkAtStart) {
    if (auditLog.failure) {
      await auditLog.close();
      throw new AuditLogStartError(options.path, auditLog.failure);
    }
    held.forEach((m) => log(m));
  }
  return auditHooks(auditLog, {
    required: options.required ?? false,
    clock,
    log,
    maxArgBytes,
    redactor: options.redactor ?? createRedactor(),
    secrets: options.secrets,
    anchorEvery,
  });
}

const OPTION_KEYS = ["path", "required", "maxArgBytes"];

/**
 * The plugin factory the server loads for `audit`: the log path comes from
 * `--audit-log` / `DBOS_MCP_AUDIT_LOG` (or the option `path`), and calls are
 * all required to be recorded with `--audit-required` (or `required: true`),
 * which also makes the server refuse to start when the log cannot be opened
 * for appending. The HMAC key comes from `DBOS_MCP_AUDIT_KEY`. What is
 * recorded is redacted with the redact plugin's rules, including its
 * options from `plugin-options.redact` when given.
 *
 * @throws {ConfigError} when no path is given or an option is invalid.
 * @throws {AuditKeyError} when `DBOS_MCP_AUDIT_KEY` is set but too short.
 * @throws {AuditLogStartError} when calls are required to be recorded and the log cannot be opened.
 *
 * @example Options in the config file
 * ```json
 * { "plugins": ["audit"], "plugin-options": { "audit": { "path": "/var/log/dbos-mcp/audit.jsonl", "required": true } } }
 * ```
 */
const auditPlugin: (options: Record<string, unknown>, host: PluginHost) => Promise<Plugin> = definePlugin(
  async (options: Record<string, unknown>, host: PluginHost): Promise<Plugin> => {
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new ConfigError(`Unknown option '${key}' of the audit plugin; allowed: ${OPTION_KEYS.join(", ")}`);
      }
    }
    const path = host.config.auditLog ?? options.path;
    if (path === undefined) {
      throw new ConfigError(
        'The audit plugin needs --audit-log PATH (or DBOS_MCP_AUDIT_LOG, or "path" in its plugin-options)',
      );
    }
    if (typeof path !== "string" || path.trim() === "") {
      throw new ConfigError(`The audit plugin's "path" must be a file path, got ${JSON.stringify(path)}`);
    }
    if (options.required !== undefined && typeof options.required !== "boolean") {
      throw new ConfigError(
        `The audit plugin's "required" must be true or false, got ${JSON.stringify(options.required)}`,
      );
    }
    const maxArgBytes = options.maxArgBytes;
    if (maxArgBytes !== undefined && (typeof maxArgBytes !== "number" || !Number.isSafeInteger(maxArgBytes))) {
      throw new ConfigError(
        `The audit plugin's "maxArgBytes" must be a whole number of bytes, got ${JSON.stringify(maxArgBytes)}`,
      );
    }
    const required = host.config.auditRequired || options.required === true;
    return await createAuditPlugin({
      path,
      required,
      checkAtStart: required,
      key: await auditKeyFromEnv(),
      log: host.log,
      maxArgBytes,
      // The redact plugin's rules (extra keys, patterns, allowlist) apply to what is recorded too.
      redactor: createRedactor((host.config.pluginOptions?.redact ?? {}) as RedactOptions),
      secrets: host.secrets,
    });
  },
);

export default auditPlugin;
