/**
 * What `tools/list` says of a tool: its JSON Schemas, made from its zod
 * schemas, and its annotations.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/types"
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ToolDefinition } from "../core/tool.ts";

/** The `tools/list` entry of a tool: JSON Schemas from its zod schemas, and its annotations. */
export function describeTool(tool: ToolDefinition): Tool {
  // The title once, in the annotations, where every revision of the protocol has it.
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: jsonSchema(tool.input as unknown as z.ZodType, "input") as Tool["inputSchema"],
    outputSchema: jsonSchema(tool.output as unknown as z.ZodType, "output") as Tool["outputSchema"],
    annotations: { ...tool.annotations },
  };
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  const lean = withoutSafeIntegerBounds(rest) as Record<string, unknown>;
  return (io === "output" ? leanOutput(lean) : leanInput(lean)) as Record<string, unknown>;
}

/**
 * An output schema as `tools/list` shows it: the shape of every field, without
 * `additionalProperties: false` (it tells an agent nothing: the server writes
 * the results, and it is repeated on every object) and without the fields'
 * descriptions (the tool's description says what it returns, and the names are
 * Conductor v2's; every session would pay for them), and which fields of a
 * nested object are always there (the top level says it). The full schema,
 * with its descriptions, still checks every result.
 */
function leanOutput(node: unknown, depth = 0): unknown {
  if (Array.isArray(node)) return node.map((n) => leanOutput(n, depth + 1));
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "additionalProperties" && value === false) continue;
    if (key === "description" && depth > 0 && typeof value === "string") continue;
    if (key === "required" && depth > 0 && Array.isArray(value)) continue;
    out[key] = leanOutput(value, depth + 1);
  }
  return out;
}

/**
 * An input schema as `tools/list` shows it, each argument in its canonical
 * form (the server still accepts, and checks, everything its zod schema
 * does): a filter that takes one value or a list (`anyOf` of a schema and an
 * array of it) is shown as the list; a time that may be text or epoch
 * milliseconds (`anyOf` of a string and an integer) as the text; and the
 * length bounds of strings and `additionalProperties: false` are left out (an
 * agent never comes near the bounds, the server names an unknown argument
 * when it refuses it, and every session would pay for them).
 */
function leanInput(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(leanInput);
  if (typeof node !== "object" || node === null) return node;
  const n = node as Record<string, unknown>;
  const any = n.anyOf;
  if (Array.isArray(any) && any.length === 2) {
    const canonical = isListOf(any[1], any[0]) ? any[1] : isTextOrEpoch(any[0], any[1]) ? any[0] : undefined;
    if (canonical) {
      const { anyOf: _one, ...rest } = n;
      const { minItems: _min, maxItems: _max, ...shown } = canonical as Record<string, unknown>;
      return leanInput({ ...shown, ...rest });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(n)) {
    if ((key === "minLength" || key === "maxLength") && n.type === "string") continue;
    // A closed object of arguments: the server refuses unknown arguments itself, naming them.
    if (key === "additionalProperties" && value === false) continue;
    out[key] = leanInput(value);
  }
  return out;
}

/** Whether the two schemas are a string and an integer (a time as text or epoch milliseconds). */
function isTextOrEpoch(a: unknown, b: unknown): boolean {
  return (a as Record<string, unknown> | null)?.type === "string" &&
    (b as Record<string, unknown> | null)?.type === "integer";
}

/** Whether `list` is the schema of an array of `item`. */
function isListOf(list: unknown, item: unknown): boolean {
  const l = list as Record<string, unknown> | null;
  return !!l && l.type === "array" && JSON.stringify(l.items) === JSON.stringify(item);
}

/**
 * The schema without the bounds zod adds to every integer (±2^53-1): they
 * say nothing an agent can use, and every session pays for them in `tools/list`.
 */
function withoutSafeIntegerBounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutSafeIntegerBounds);
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === "minimum" || key === "maximum") && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    out[key] = withoutSafeIntegerBounds(value);
  }
  return out;
}
