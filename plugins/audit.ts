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
 *   `--audit-required` (or `"required": true`) every call writes an intent
 *   first, so every call is refused.
 * - The chain: each record's `hash` is the SHA-256 of the previous record's
 *   hash followed by the canonical JSON (keys sorted, no whitespace) of the
 *   record without `hash`; the first record's `prev` is
 *   {@linkcode AUDIT_GENESIS} (64 zeros). An existing log is continued from
 *   its last record. {@linkcode verifyAuditLog} (the `audit verify PATH`
 *   command) checks the chain and names the first record that was altered,
 *   removed, inserted or moved.
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
import { createRedactor, type RedactOptions } from "./redact.ts";
import { AuditLog } from "./_audit_log.ts";
import { auditHooks, type AuditRedactor } from "./_audit_plugin.ts";

export {
  AUDIT_GENESIS,
  type AuditClient,
  type AuditDecision,
  type AuditOutcome,
  type AuditRecord,
} from "./_audit_chain.ts";
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
   * The time of records.
   *
   * @default {systemClock}
   */
  clock?: { now(): number };
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
 * Opens (or continues) the audit log at `options.path` and returns the audit
 * plugin writing to it. It never throws for I/O: a log that cannot be opened
 * is reported through `options.log` and refuses calls as described in the
 * module documentation.
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
  const auditLog = await AuditLog.open(options.path, { warn: log });
  return auditHooks(auditLog, {
    required: options.required ?? false,
    clock: options.clock ?? systemClock,
    log,
    maxArgBytes,
    redactor: options.redactor ?? createRedactor(),
    secrets: options.secrets,
  });
}

const OPTION_KEYS = ["path", "required", "maxArgBytes"];

/**
 * The plugin factory the server loads for `audit`: the log path comes from
 * `--audit-log` / `DBOS_MCP_AUDIT_LOG` (or the option `path`), and calls are
 * all required to be recorded with `--audit-required` (or `required: true`).
 * What is recorded is redacted with the redact plugin's rules, including its
 * options from `plugin-options.redact` when given.
 *
 * @throws {ConfigError} when no path is given or an option is invalid.
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
    return await createAuditPlugin({
      path,
      required: host.config.auditRequired || options.required === true,
      log: host.log,
      maxArgBytes,
      // The redact plugin's rules (extra keys, patterns, allowlist) apply to what is recorded too.
      redactor: createRedactor((host.config.pluginOptions?.redact ?? {}) as RedactOptions),
      secrets: host.secrets,
    });
  },
);

export default auditPlugin;
