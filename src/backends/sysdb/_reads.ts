// The reads the DBOS client (5.3.0) has no method for, on the documented
// tables of the system database (`conductor-v2.md` section 7 and Appendix
// A), with the semantics of DBOS's own executor (5.2.11 `getAllEvents`,
// `getAllNotifications`, `getAllStreamEntries`, `getWorkflowAggregates`,
// `getStepAggregates`, `exportWorkflow`): values deserialized as DBOS does
// (per-row `serialization`, else the client's serializer; a value that does
// not deserialize is shown as stored), aggregates computed in SQL, and every
// read bounded: at most a fixed number of rows, and a value much larger than
// the answer can show read only in part (its start, with its stored size).
import type { PgPool } from "./_database.ts";
import type {
  StepAggregate,
  StepAggregatesQuery,
  WorkflowAggregate,
  WorkflowAggregatesQuery,
  WorkflowEvent,
  WorkflowNotification,
  WorkflowStream,
} from "../backend.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import { isoTime, likeLiteral, valueText } from "./_map.ts";
import { clippedPayload } from "./_payloads.ts";

/** The part of the DBOS client's serializer used here (`DBOSClient.serializer`). */
export interface ValueSerializer {
  /** The name of its format (`js_superjson` for DBOS's default). */
  name(): string;
  /** Parses a stored value. */
  parse(text: string | null): unknown;
}

/** The most rows of one kind (events, notifications, streams) one read returns. */
export const MAX_ROWS = 1_000;

/** How much of each stored value to read: values over `largeBytes` are read as their first `headChars`. */
export interface ValueBounds {
  /** Values larger than this (in bytes) are read in part. */
  largeBytes: number;
  /** How many characters of such a value to read. */
  headChars: number;
}

/** What DBOS stores for the default topic of `send`. */
const NULL_TOPIC = "__null__topic__";
/** The value that closes a stream. */
const STREAM_CLOSED = "__DBOS_STREAM_CLOSED__";
const HOW = "the answer shows only the start of a large value";

/**
 * A stored value deserialized as DBOS does (`safeParse`): `portable_json` is
 * JSON; DBOS's default format, or none recorded, goes through the client's
 * serializer; a value that does not deserialize is returned as stored.
 */
export async function deserializeStored(
  serializer: ValueSerializer,
  text: string | null,
  serialization: string | null | undefined,
): Promise<unknown> {
  if (text === null) return null;
  try {
    if (serialization === "portable_json") return JSON.parse(text);
    if (!serialization || serialization === serializer.name() || serialization === "js_superjson") {
      return await serializer.parse(text);
    }
    return text;
  } catch {
    return text;
  }
}

/** A stored value as the tools show it: readable text, or the start of a large one with its stored size. */
async function shown(
  serializer: ValueSerializer,
  row: Record<string, unknown>,
  bounds: ValueBounds,
): Promise<string> {
  const bytes = Number(row.bytes ?? 0);
  const value = typeof row.value === "string" ? row.value : null;
  if (bytes > bounds.largeBytes && value !== null) return clippedPayload({ bytes, head: value }, HOW);
  return valueText(await deserializeStored(serializer, value, row.serialization as string | null));
}

/** `value` of a table, read whole up to `$2` bytes and as its first `$3` characters beyond. */
const BOUNDED = (column: string) =>
  `octet_length(${column}) AS bytes, CASE WHEN octet_length(${column}) > $2 THEN left(${column}, $3) ELSE ${column} END AS value`;

/** A workflow's events (`workflow_events`), by key; at most {@linkcode MAX_ROWS} + 1. */
export async function readEvents(
  pool: PgPool,
  s: string,
  serializer: ValueSerializer,
  workflowId: string,
  bounds: ValueBounds,
): Promise<WorkflowEvent[]> {
  const { rows } = await pool.query(
    `SELECT key, ${BOUNDED("value")}, serialization FROM ${s}.workflow_events
      WHERE workflow_uuid = $1 ORDER BY key LIMIT $4`,
    [workflowId, bounds.largeBytes, bounds.headChars, MAX_ROWS + 1],
  );
  const out: WorkflowEvent[] = [];
  for (const row of rows) out.push({ key: String(row.key), value: await shown(serializer, row, bounds) });
  return out;
}

/** The messages sent to a workflow (`notifications`), oldest first; at most {@linkcode MAX_ROWS} + 1. */
export async function readNotifications(
  pool: PgPool,
  s: string,
  serializer: ValueSerializer,
  workflowId: string,
  bounds: ValueBounds,
): Promise<WorkflowNotification[]> {
  const { rows } = await pool.query(
    `SELECT topic, ${BOUNDED("message")}, serialization, created_at_epoch_ms, consumed FROM ${s}.notifications
      WHERE destination_uuid = $1 ORDER BY created_at_epoch_ms, message_uuid LIMIT $4`,
    [workflowId, bounds.largeBytes, bounds.headChars, MAX_ROWS + 1],
  );
  const out: WorkflowNotification[] = [];
  for (const row of rows) {
    const n: WorkflowNotification = { message: await shown(serializer, row, bounds), consumed: row.consumed === true };
    if (typeof row.topic === "string" && row.topic !== NULL_TOPIC) n.topic = row.topic;
    const created = isoTime(row.created_at_epoch_ms as string | null);
    if (created !== undefined) n.createdAt = created;
    out.push(n);
  }
  return out;
}

/**
 * A workflow's streams (`streams`), by key: each stream's first `maxValues`
 * values in offset order, how many it holds, and whether it was closed (a
 * value after the close marker is not part of it, as DBOS reads streams).
 * At most {@linkcode MAX_ROWS} + 1 streams.
 */
export async function readStreams(
  pool: PgPool,
  s: string,
  serializer: ValueSerializer,
  workflowId: string,
  maxValues: number,
  bounds: ValueBounds,
): Promise<WorkflowStream[]> {
  // The close marker in the forms DBOS writes it: portable JSON, the legacy raw text, DBOS's default format.
  const sentinel = `(value IN ('"${STREAM_CLOSED}"', '${STREAM_CLOSED}') OR ` +
    `(value LIKE '{"json":"${STREAM_CLOSED}"%' AND value LIKE '%"__dbos_serializer":"superjson"%'))`;
  const { rows } = await pool.query(
    `WITH s AS (
       SELECT key, "offset" AS o, value, serialization, ${sentinel} AS closing
         FROM ${s}.streams WHERE workflow_uuid = $1
     ), k AS (
       SELECT key, min(o) FILTER (WHERE closing) AS closed_at FROM s GROUP BY key ORDER BY key LIMIT $5
     ), v AS (
       SELECT s.key, s.o, s.value, s.serialization,
              row_number() OVER (PARTITION BY s.key ORDER BY s.o) AS rn,
              count(*) OVER (PARTITION BY s.key) AS total
         FROM s JOIN k ON k.key = s.key
        WHERE k.closed_at IS NULL OR s.o < k.closed_at
     )
     SELECT k.key, k.closed_at IS NOT NULL AS closed, v.total, v.rn, v.serialization, ${BOUNDED("v.value")}
       FROM k LEFT JOIN v ON v.key = k.key AND v.rn <= $4
      ORDER BY k.key, v.rn`,
    [workflowId, bounds.largeBytes, bounds.headChars, maxValues, MAX_ROWS + 1],
  );
  const out: WorkflowStream[] = [];
  let current: WorkflowStream | undefined;
  for (const row of rows) {
    const key = String(row.key);
    if (!current || current.key !== key) {
      current = { key, values: [], valueCount: Number(row.total ?? 0), closed: row.closed === true };
      out.push(current);
    }
    if (row.rn !== null && row.rn !== undefined) current.values.push(await shown(serializer, row, bounds));
  }
  return out;
}

/** A `WHERE` being built: clauses and their parameters. */
class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  /** The placeholder of a new parameter. */
  param(v: unknown): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }
  /** `column = ANY(values)` for a non-empty list. */
  any(column: string, values: readonly string[] | undefined): void {
    const kept = values?.filter((v) => typeof v === "string" && v !== "");
    if (kept && kept.length > 0) this.clauses.push(`${column} = ANY(${this.param(kept)}::text[])`);
  }
  /** `column op epoch-ms of time` for a set time. */
  time(column: string, op: ">=" | "<=", time: string | undefined, arg: string): void {
    if (time === undefined) return;
    const ms = Date.parse(time);
    if (!Number.isFinite(ms)) {
      throw new InvalidArgumentError(`${arg} ${JSON.stringify(time)} is not a time.`, {
        hint: "Pass an ISO 8601 time such as 2026-01-01T00:00:00Z.",
      });
    }
    this.clauses.push(`${column} ${op} ${this.param(ms)}`);
  }
  /** `(workflow_uuid LIKE p% OR ...)`, each prefix matching only itself. */
  prefixes(values: readonly string[] | undefined): void {
    const kept = values?.filter((v) => typeof v === "string" && v !== "");
    if (!kept || kept.length === 0) return;
    this.clauses.push(`(${kept.map((p) => `workflow_uuid LIKE ${this.param(`${likeLiteral(p)}%`)}`).join(" OR ")})`);
  }
  /** The application scope of a shared database: its rows and unclaimed ones, as DBOS scopes observability reads. */
  scope(scope: string | undefined): void {
    if (scope !== undefined) this.clauses.push(`(application_name = ${this.param(scope)} OR application_name IS NULL)`);
  }
  /** The `WHERE ...` text (empty without clauses). */
  sql(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(" AND ")}` : "";
  }
}

function bucketSize(ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new InvalidArgumentError(`time_bucket_size_ms must be a positive whole number of milliseconds, not ${ms}.`);
  }
  return ms;
}

const NO_GROUP = "At least one group_by_* flag must be true (e.g. group_by_status).";

/** Workflow aggregates computed in SQL on `workflow_status`, with the formulas of DBOS's executor. */
export async function workflowAggregates(
  pool: PgPool,
  s: string,
  q: WorkflowAggregatesQuery,
  scope: string | undefined,
): Promise<WorkflowAggregate[]> {
  const w = new Where();
  const groups: [string, string][] = [];
  const dims: [boolean | undefined, string][] = [
    [q.groupByStatus, "status"],
    [q.groupByWorkflowName, "name"],
    [q.groupByQueueName, "queue_name"],
    [q.groupByExecutorId, "executor_id"],
    [q.groupByAppVersion, "application_version"],
    [q.groupByApplicationName, "application_name"],
  ];
  for (const [on, col] of dims) if (on) groups.push([col, col]);
  const bucket = bucketSize(q.timeBucketSizeMs);
  if (bucket !== undefined) {
    const p = w.param(bucket);
    groups.push(["time_bucket", `(floor(created_at / ${p}::bigint)::bigint * ${p}::bigint)`]);
  }
  if (groups.length === 0) throw new InvalidArgumentError(NO_GROUP);
  let selects: [string, string][] = [
    ["count", q.selectCount ? "count(*)" : ""],
    ["min_created_at", q.selectMinCreatedAt ? "min(created_at)" : ""],
    ["max_queue_wait_ms", q.selectMaxQueueWaitMs ? "max(started_at_epoch_ms - created_at)" : ""],
    ["max_total_latency_ms", q.selectMaxTotalLatencyMs ? "max(completed_at - created_at)" : ""],
  ];
  selects = selects.filter(([, e]) => e !== "");
  if (selects.length === 0) selects = [["count", "count(*)"]]; // as the executor does when none is selected
  w.any("status", q.status);
  w.any("name", q.workflowName);
  w.any("application_version", q.appVersion);
  w.any("executor_id", q.executorId);
  w.any("queue_name", q.queueName);
  w.prefixes(q.workflowIdPrefix);
  w.any("workflow_uuid", q.workflowIds);
  w.any("authenticated_user", q.user);
  w.any("forked_from", q.forkedFrom);
  w.any("parent_workflow_id", q.parentWorkflowId);
  w.any("schedule_name", q.scheduleName);
  w.scope(scope);
  if (q.wasForkedFrom !== undefined) w.clauses.push(`was_forked_from = ${w.param(q.wasForkedFrom)}`);
  if (q.hasParent !== undefined) w.clauses.push(`parent_workflow_id IS ${q.hasParent ? "NOT " : ""}NULL`);
  w.time("created_at", ">=", q.startTime, "start_time");
  w.time("created_at", "<=", q.endTime, "end_time");
  w.time("completed_at", ">=", q.completedAfter, "completed_after");
  w.time("completed_at", "<=", q.completedBefore, "completed_before");
  w.time("started_at_epoch_ms", ">=", q.dequeuedAfter, "dequeued_after");
  w.time("started_at_epoch_ms", "<=", q.dequeuedBefore, "dequeued_before");
  const { rows } = await pool.query(
    `SELECT ${groups.map(([n, e]) => `${e} AS ${n}`).join(", ")}, ${selects.map(([n, e]) => `${e} AS ${n}`).join(", ")}
       FROM ${s}.workflow_status ${w.sql()}
      GROUP BY ${groups.map(([, e]) => e).join(", ")}
      ORDER BY ${groups.map(([n]) => `${n} NULLS FIRST`).join(", ")}
      LIMIT ${MAX_AGGREGATE_ROWS}`,
    w.params,
  );
  return rows.map((row) => {
    const out: WorkflowAggregate = { group: groupOf(row, groups) };
    const n = (k: string) => row[k] === null || row[k] === undefined ? undefined : Number(row[k]);
    if (n("count") !== undefined) out.count = n("count");
    const min = isoTime(row.min_created_at as string | null);
    if (min !== undefined) out.minCreatedAt = min;
    if (n("max_queue_wait_ms") !== undefined) out.maxQueueWaitMs = n("max_queue_wait_ms");
    if (n("max_total_latency_ms") !== undefined) out.maxTotalLatencyMs = n("max_total_latency_ms");
    return out;
  });
}

/** The most groups one aggregate returns (a time bucket over a long window makes many). */
export const MAX_AGGREGATE_ROWS = 10_000;

function groupOf(row: Record<string, unknown>, groups: [string, string][]): Record<string, string | null> {
  const g: Record<string, string | null> = {};
  for (const [name] of groups) g[name] = row[name] === null || row[name] === undefined ? null : String(row[name]);
  return g;
}

/** Step aggregates computed in SQL on `operation_outputs` (status: `ERROR` when an error is recorded). */
export async function stepAggregates(
  pool: PgPool,
  s: string,
  q: StepAggregatesQuery,
  scope: string | undefined,
): Promise<StepAggregate[]> {
  const w = new Where();
  const status = "(CASE WHEN error IS NULL THEN 'SUCCESS' ELSE 'ERROR' END)";
  const groups: [string, string][] = [];
  if (q.groupByFunctionName) groups.push(["function_name", "function_name"]);
  if (q.groupByStatus) groups.push(["status", status]);
  const bucket = bucketSize(q.timeBucketSizeMs);
  if (bucket !== undefined) {
    const p = w.param(bucket);
    groups.push(["time_bucket", `(floor(completed_at_epoch_ms / ${p}::bigint)::bigint * ${p}::bigint)`]);
  }
  if (groups.length === 0) throw new InvalidArgumentError("At least one group_by_* flag must be true.");
  let selects: [string, string][] = [
    ["count", q.selectCount ? "count(*)" : ""],
    ["max_duration_ms", q.selectMaxDurationMs ? "max(completed_at_epoch_ms - started_at_epoch_ms)" : ""],
  ];
  selects = selects.filter(([, e]) => e !== "");
  if (selects.length === 0) selects = [["count", "count(*)"]];
  w.any(status, q.status);
  w.any("function_name", q.stepName);
  w.prefixes(q.workflowIdPrefix);
  w.time("completed_at_epoch_ms", ">=", q.completedAfter, "completed_after");
  w.time("completed_at_epoch_ms", "<=", q.completedBefore, "completed_before");
  w.scope(scope);
  const { rows } = await pool.query(
    `SELECT ${groups.map(([n, e]) => `${e} AS ${n}`).join(", ")}, ${selects.map(([n, e]) => `${e} AS ${n}`).join(", ")}
       FROM ${s}.operation_outputs ${w.sql()}
      GROUP BY ${groups.map(([, e]) => e).join(", ")}
      ORDER BY ${groups.map(([n]) => `${n} NULLS FIRST`).join(", ")}
      LIMIT ${MAX_AGGREGATE_ROWS}`,
    w.params,
  );
  return rows.map((row) => {
    const out: StepAggregate = { group: groupOf(row, groups) };
    if (row.count !== null && row.count !== undefined) out.count = Number(row.count);
    if (row.max_duration_ms !== null && row.max_duration_ms !== undefined) {
      out.maxDurationMs = Number(row.max_duration_ms);
    }
    return out;
  });
}

/**
 * A workflow (and, with `children`, its descendants through
 * `parent_workflow_id`) as DBOS exports it: the rows of `workflow_status`
 * (inputs, output and error from the payload tables, falling back to the
 * legacy columns), `operation_outputs`, `workflow_events`,
 * `workflow_events_history` and `streams`, as a JSON array, gzipped and
 * base64-encoded. `undefined` when the workflow does not exist.
 */
export async function exportWorkflow(
  pool: PgPool,
  s: string,
  workflowId: string,
  children: boolean,
): Promise<string | undefined> {
  const ids = [workflowId];
  if (children) {
    const seen = new Set(ids);
    let frontier = [workflowId];
    while (frontier.length > 0) {
      const { rows } = await pool.query(
        `SELECT workflow_uuid FROM ${s}.workflow_status WHERE parent_workflow_id = ANY($1::text[])`,
        [frontier],
      );
      frontier = rows.map((r) => String(r.workflow_uuid)).filter((id) => !seen.has(id));
      for (const id of frontier) {
        seen.add(id);
        ids.push(id);
      }
    }
  }
  const exported: Record<string, unknown>[] = [];
  for (const id of ids) {
    const status = await pool.query(
      `SELECT ws.workflow_uuid, ws.status, ws.name, ws.authenticated_user, ws.assumed_role, ws.authenticated_roles,
              COALESCE(wo.output, ws.output) AS output, COALESCE(wo.error, ws.error) AS error, ws.executor_id,
              ws.created_at, ws.updated_at, ws.application_version, ws.application_id, ws.class_name,
              ws.config_name, ws.recovery_attempts, ws.queue_name, ws.workflow_timeout_ms,
              ws.workflow_deadline_epoch_ms, ws.started_at_epoch_ms, ws.deduplication_id,
              COALESCE(wi.inputs, ws.inputs) AS inputs, ws.priority, ws.queue_partition_key, ws.forked_from,
              ws.parent_workflow_id, ws.serialization, ws.delay_until_epoch_ms, ws.was_forked_from,
              ws.rate_limited, ws.completed_at, ws.attributes, ws.schedule_name, ws.debounce_deadline_epoch_ms,
              ws.is_debounced, ws.application_name
         FROM ${s}.workflow_status ws
         LEFT JOIN ${s}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
         LEFT JOIN ${s}.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid
        WHERE ws.workflow_uuid = $1`,
      [id],
    );
    if (status.rows.length === 0) {
      if (id === workflowId) return undefined;
      continue; // a child deleted meanwhile
    }
    const rowsOf = async (sql: string) => (await pool.query(sql, [id])).rows;
    exported.push({
      workflow_status: status.rows[0],
      operation_outputs: await rowsOf(
        `SELECT workflow_uuid, function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,
                completed_at_epoch_ms, serialization, application_name
           FROM ${s}.operation_outputs WHERE workflow_uuid = $1`,
      ),
      workflow_events: await rowsOf(
        `SELECT workflow_uuid, key, value, serialization FROM ${s}.workflow_events WHERE workflow_uuid = $1`,
      ),
      workflow_events_history: await rowsOf(
        `SELECT workflow_uuid, function_id, key, value, serialization
           FROM ${s}.workflow_events_history WHERE workflow_uuid = $1`,
      ),
      streams: await rowsOf(
        `SELECT workflow_uuid, key, value, "offset", function_id, serialization
           FROM ${s}.streams WHERE workflow_uuid = $1`,
      ),
    });
  }
  return await gzipBase64(JSON.stringify(exported));
}

/** `text` gzipped, as base64. */
async function gzipBase64(text: string): Promise<string> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let out = "";
  const CHUNK = 3 * 8192; // a multiple of 3: the pieces' base64 concatenate without padding in between
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + CHUNK)));
  }
  return out;
}
