// The audit plugin's hooks, over an already opened AuditLog: what is recorded
// for each call, and when a call is refused because it cannot be recorded.
import type { CallInfo, CallOutcome, Plugin, ToolResult } from "../src/plugin_host/contract.ts";
import type { Clock } from "../src/util/clock.ts";
import type { LogFn } from "../src/util/log.ts";
import type { Scrubber } from "../src/core/secrets.ts";
import type { AuditClient, AuditDecision, AuditEntry, AuditOutcome } from "./_audit_chain.ts";
import { type AuditLog, AuditLogUnavailableError } from "./_audit_log.ts";

/** What the audit plugin redacts with (the redact plugin's redactor). */
export interface AuditRedactor {
  /** Returns `value` with secrets replaced. */
  redact<T>(value: T): T;
  /** Returns `text` with secrets replaced. */
  redactText(text: string): string;
}

/** The hooks' settings. */
export interface AuditHookSettings {
  /** Every call (not only mutations) writes an intent first, so an unwritable log refuses every call. */
  required: boolean;
  /** Time of records. */
  clock: Pick<Clock, "now">;
  /** Diagnostics. */
  log: LogFn;
  /** Larger arguments (bytes of JSON, after redaction) are recorded as their size only. */
  maxArgBytes: number;
  /** Redacts arguments, refusal reasons and error messages. */
  redactor: AuditRedactor;
  /** The server's known secrets, scrubbed from every string of every record (after the redactor). */
  secrets?: Scrubber;
  /**
   * Write the log's head (seq and hash) through `log` when the hooks are
   * made, every this many records written, and at close: anchors in the
   * client's own log of the server's stderr, for `audit verify --head`.
   * Absent: no anchors.
   */
  anchorEvery?: number;
}

const MAX_TEXT = 4096;
const MAX_NAME = 256;

/** The audit plugin over an opened log. */
export function auditHooks(auditLog: AuditLog, settings: AuditHookSettings): Plugin {
  const { required, clock, log, redactor, secrets, anchorEvery } = settings;
  let written = 0;
  let closed = false;
  const anchor = (when: string) => {
    if (anchorEvery === undefined || auditLog.failure) return;
    const { seq, hash } = auditLog.head;
    log(`audit: head of ${auditLog.path}: seq ${seq} hash ${hash} (${when})`);
  };
  const append = async (record: AuditEntry): Promise<void> => {
    await auditLog.append(record);
    written++;
    if (anchorEvery !== undefined && anchorEvery > 0 && written % anchorEvery === 0) {
      anchor(`after ${written} records`);
    }
  };
  anchor("at start");

  const entry = (
    call: CallInfo,
    kind: "intent" | "call",
    decision: AuditDecision,
    outcome: CallOutcome | undefined,
    result?: ToolResult,
  ): AuditEntry =>
    scrubbed({
      time: new Date(clock.now()).toISOString(),
      kind,
      call_id: String(call.id),
      session: String(call.session.id),
      client: clientOf(call),
      tool: clip(redactor.redactText(String(call.tool)), MAX_NAME),
      mutates: call.mutates === true,
      args: recordedArgs(call.args, redactor, settings.maxArgBytes),
      decision,
      outcome: outcome ? outcomeOf(outcome, redactor, call.mutates === true ? result : undefined) : null,
      duration_ms: outcome ? outcome.durationMs : null,
      result_bytes: outcome ? outcome.resultBytes : null,
    });
  const scrubbed = (record: AuditEntry): AuditEntry => secrets ? secrets.scrubValue(record) : record;

  return {
    name: "audit",

    async beforeCall(call: CallInfo): Promise<void> {
      if (!call.mutates && !required) return;
      try {
        await append(entry(call, "intent", { allowed: true }, undefined));
      } catch (err) {
        if (!(err instanceof AuditLogUnavailableError)) throw err; // refused all the same
        throw new AuditLogUnavailableError(
          auditLog.path,
          err.failure,
          call.mutates
            ? `${call.tool} was not sent: no mutation is sent without an audit record`
            : `${call.tool} was refused: with --audit-required no call runs without an audit record`,
          err.hint,
        );
      }
    },

    async afterCall(call: CallInfo, outcome: CallOutcome, result?: ToolResult): Promise<void> {
      const sent = outcome.decision.allowed;
      if (auditLog.failure) {
        // The failure was reported when it happened; only a sent mutation's lost outcome is worth a line.
        if (call.mutates && sent) log(`audit: the outcome of ${call.tool} (call ${call.id}) was not recorded`);
        return;
      }
      try {
        await append(entry(call, "call", decisionOf(outcome, redactor), outcome, result));
      } catch (err) {
        if (call.mutates && sent) log(`audit: the outcome of ${call.tool} (call ${call.id}) was not recorded`);
        else if (!auditLog.failure) {
          // Not a lasting failure (reported once when it happened): say which record was lost, and why.
          const why = err instanceof AuditLogUnavailableError ? err.reason : String(err);
          log(`audit: the record of ${call.tool} (call ${call.id}) was not written: ${why}`);
        }
      }
    },

    async close(): Promise<void> {
      await auditLog.close(); // after the pending appends
      if (!closed) anchor("at exit");
      closed = true;
    },
  };
}

function clientOf(call: CallInfo): AuditClient | null {
  const client = call.session.client;
  if (!client) return null;
  return { name: clip(String(client.name), MAX_NAME), version: clip(String(client.version), MAX_NAME) };
}

function decisionOf(outcome: CallOutcome, redactor: AuditRedactor): AuditDecision {
  const d = outcome.decision;
  if (d.allowed) return { allowed: true };
  return {
    allowed: false,
    code: clip(String(d.code), MAX_NAME),
    reason: clip(redactor.redactText(d.reason), MAX_TEXT),
  };
}

/** The result fields in which a mutation names the workflows it created (forks, triggered and imported runs). */
const CREATED_KEYS = ["new_workflow_id", "new_workflow_ids", "imported_workflow_ids"];
/** The argument fields that name the workflows a call touches. */
const TOUCHED_KEYS = ["workflow_id", "workflow_ids"];
/** The most ids one record lists, and the longest id kept. */
const MAX_IDS = 1000;

/** The workflow ids held by `fields` of `obj` (a string or a list of strings each), clipped and bounded. */
function idsIn(obj: unknown, fields: readonly string[]): string[] {
  if (typeof obj !== "object" || obj === null) return [];
  const ids: string[] = [];
  for (const key of fields) {
    const v = (obj as Record<string, unknown>)[key];
    for (const id of Array.isArray(v) ? v : [v]) if (typeof id === "string" && id !== "") ids.push(clip(id, 1024));
  }
  return ids.slice(0, MAX_IDS);
}

function outcomeOf(outcome: CallOutcome, redactor: AuditRedactor, result?: ToolResult): AuditOutcome {
  if (outcome.ok) {
    const created = idsIn(result?.structuredContent, CREATED_KEYS);
    return created.length > 0 ? { ok: true, created_workflow_ids: redactor.redact(created) } : { ok: true };
  }
  return { ok: false, error: clip(redactor.redactText(outcome.error ?? ""), MAX_TEXT) };
}

/** The arguments as recorded: redacted, as plain JSON, or only their size when too large. */
function recordedArgs(args: unknown, redactor: AuditRedactor, maxBytes: number): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(redactor.redact(args ?? null));
  } catch {
    return { $unrecorded: "the arguments could not be redacted or serialized" };
  }
  if (json === undefined) return null;
  const bytes = new TextEncoder().encode(json).length;
  if (bytes > maxBytes) {
    // The workflows a call touches are what an audit is for: they are kept even when the rest is too large.
    const ids = idsIn(args, TOUCHED_KEYS);
    return ids.length > 0
      ? { $unrecorded: "too large", bytes, workflow_ids: redactor.redact(ids) }
      : { $unrecorded: "too large", bytes };
  }
  return JSON.parse(json);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
