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
  return {
    name: tool.name,
    title: tool.annotations.title,
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
  return io === "output" ? withoutClosedObjects(lean) as Record<string, unknown> : lean;
}

/**
 * An output schema without `additionalProperties: false`: it tells an agent
 * nothing (the server writes the results), and it is repeated on every object.
 */
function withoutClosedObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutClosedObjects);
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "additionalProperties" && value === false) continue;
    out[key] = withoutClosedObjects(value);
  }
  return out;
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
