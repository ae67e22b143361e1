// Every tool's JSON Schemas are portable: clients that accept only a plain
// JSON Schema subset (Gemini, OpenAI's strict mode, the MCP Inspector's
// --strict lint) take them as they are. No `type` unions (an absent value
// is an optional field, not `null`), no untyped `{}` or bare boolean
// subschemas, no empty `additionalProperties`, no remote `$ref`.
import { assertEquals } from "./_assert.ts";
import { BUILTIN_TOOLS } from "../src/tools/mod.ts";
import { describeTool } from "../src/mcp/describe.ts";

const SCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
const SCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems"];
const SCHEMA_ONES = ["items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"];
const SAYS_WHAT = ["type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const", "not"];

/** Portability problems of `schema`, one line each, with their JSON path. */
function problems(schema: unknown, path: string, keyword?: string): string[] {
  if (typeof schema === "boolean") {
    return keyword === "additionalProperties" && schema === false ? [] : [`${path}: bare ${schema} schema`];
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return [`${path}: not a schema`];
  const node = schema as Record<string, unknown>;
  const out: string[] = [];
  if (Array.isArray(node.type)) out.push(`${path}: type union ${JSON.stringify(node.type)}`);
  if (node.type === "null") out.push(`${path}: null type`);
  if (typeof node.$ref === "string" && !node.$ref.startsWith("#")) out.push(`${path}: remote $ref`);
  if (!SAYS_WHAT.some((k) => k in node)) out.push(`${path}: untyped schema ${JSON.stringify(node)}`);
  for (const key of SCHEMA_MAPS) {
    for (const [name, sub] of Object.entries((node[key] ?? {}) as Record<string, unknown>)) {
      out.push(...problems(sub, `${path}.${key}.${name}`, key));
    }
  }
  for (const key of SCHEMA_LISTS) {
    ((node[key] ?? []) as unknown[]).forEach((sub, i) => out.push(...problems(sub, `${path}.${key}[${i}]`, key)));
  }
  for (const key of SCHEMA_ONES) if (key in node) out.push(...problems(node[key], `${path}.${key}`, key));
  return out;
}

Deno.test("every built-in tool's input and output schemas use only the portable JSON Schema subset", () => {
  const found: string[] = [];
  for (const tool of BUILTIN_TOOLS) {
    const d = describeTool(tool);
    found.push(...problems(d.inputSchema, `${tool.name}.inputSchema`));
    if (d.outputSchema) found.push(...problems(d.outputSchema, `${tool.name}.outputSchema`));
  }
  assertEquals(found, []);
});

Deno.test("the portability check finds a null union, an untyped field and an empty additionalProperties", () => {
  const bad = {
    type: "object",
    properties: { a: { type: ["string", "null"] }, b: {}, c: { type: "object", additionalProperties: {} } },
  };
  assertEquals(problems(bad, "$"), [
    '$.properties.a: type union ["string","null"]',
    "$.properties.b: untyped schema {}",
    "$.properties.c.additionalProperties: untyped schema {}",
  ]);
});
