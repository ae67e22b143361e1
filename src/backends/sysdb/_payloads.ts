// Large payloads without loading them: the sizes of workflows' inputs,
// outputs and errors (`octet_length` of the stored text) and, for those too
// large to load whole, a prefix (`left`) read in SQL, so that listing or
// showing a workflow with a 200 MB output reads a few KB of it. The tables
// are the documented ones: `workflow_input.inputs`,
// `workflow_output.output/error`, with the legacy `workflow_status` columns as
// fallback (`COALESCE(new, legacy)`, as DBOS's readers do).
import type { PgPool } from "./_database.ts";
import { byteLength } from "../../core/budget.ts";

/** A workflow's payload fields, by the contract's names. */
export type PayloadField = "input" | "output" | "error";

/** Which client load flag brings each field. */
export const PAYLOAD_GROUP: Readonly<Record<PayloadField, "input" | "output">> = {
  input: "input",
  output: "output",
  error: "output",
};

const COLUMN: Readonly<Record<PayloadField, string>> = {
  input: "COALESCE(wi.inputs, ws.inputs)",
  output: "COALESCE(wo.output, ws.output)",
  error: "COALESCE(wo.error, ws.error)",
};

/** The stored size of one payload and, when it is large, the start of it. */
export interface PayloadHead {
  /** Bytes of the stored (serialized) text. */
  bytes: number;
  /** The first characters of the stored text (only for a large payload). */
  head?: string;
}

/**
 * The stored size of `fields` of each workflow of `ids`, and the first
 * `headChars` characters of those larger than `largeBytes`. A payload that
 * is NULL is left out.
 */
export async function payloadHeads(
  pool: PgPool,
  schemaSql: string,
  ids: readonly string[],
  fields: readonly PayloadField[],
  largeBytes: number,
  headChars: number,
): Promise<Map<string, Partial<Record<PayloadField, PayloadHead>>>> {
  const out = new Map<string, Partial<Record<PayloadField, PayloadHead>>>();
  if (ids.length === 0 || fields.length === 0) return out;
  const cols = fields.flatMap((f, i) => [
    `octet_length(${COLUMN[f]}) AS b${i}`,
    `CASE WHEN octet_length(${COLUMN[f]}) > $2 THEN left(${COLUMN[f]}, $3) END AS h${i}`,
  ]);
  const { rows } = await pool.query(
    `SELECT ws.workflow_uuid AS id, ${cols.join(", ")}
       FROM ${schemaSql}.workflow_status ws
       LEFT JOIN ${schemaSql}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
       LEFT JOIN ${schemaSql}.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid
      WHERE ws.workflow_uuid = ANY($1::text[])`,
    [ids, largeBytes, headChars],
  );
  for (const row of rows) {
    const heads: Partial<Record<PayloadField, PayloadHead>> = {};
    fields.forEach((f, i) => {
      const bytes = row[`b${i}`];
      if (bytes === null || bytes === undefined) return;
      const head = row[`h${i}`];
      heads[f] = typeof head === "string" ? { bytes: Number(bytes), head } : { bytes: Number(bytes) };
    });
    out.set(String(row.id), heads);
  }
  return out;
}

/**
 * A large payload as the tools show a clipped one: its start, then the
 * budget's truncation marker with the stored size. The serializer's envelope
 * (`{"json":` of DBOS's superjson format) is left out of the start.
 */
export function clippedPayload(p: PayloadHead, how: string): string {
  const head = p.head ?? "";
  const body = head.startsWith('{"json":') ? head.slice('{"json":'.length) : head;
  // Never end on half of a surrogate pair.
  const kept = /[\uD800-\uDBFF]$/.test(body) ? body.slice(0, -1) : body;
  return `${kept}…[truncated ${Math.max(0, p.bytes - byteLength(kept))} of ${p.bytes} bytes; ${how}]`;
}

/** The stored text of one payload field of one workflow (for a payload known to be small), or `undefined`. */
export async function storedPayload(
  pool: PgPool,
  schemaSql: string,
  id: string,
  field: PayloadField,
): Promise<string | undefined> {
  const { rows } = await pool.query(
    `SELECT ${COLUMN[field]} AS v
       FROM ${schemaSql}.workflow_status ws
       LEFT JOIN ${schemaSql}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid
       LEFT JOIN ${schemaSql}.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid
      WHERE ws.workflow_uuid = $1`,
    [id],
  );
  const v = rows[0]?.v;
  return typeof v === "string" ? v : undefined;
}

/**
 * A stored payload's value without the DBOS client: JSON, unwrapped from
 * DBOS's superjson envelope (`{"json": value, "__dbos_serializer": "superjson"}`);
 * text that is not JSON as it is.
 */
export function storedValue(text: string): unknown {
  try {
    const doc = JSON.parse(text);
    if (doc && typeof doc === "object" && doc.__dbos_serializer === "superjson" && "json" in doc) return doc.json;
    return doc;
  } catch {
    return text;
  }
}
