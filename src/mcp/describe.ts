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
  return rest;
}
