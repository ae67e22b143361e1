/**
 * Private mode (`--private`, part of `--production`): payloads (workflow
 * inputs and outputs, step outputs, and event, notification and stream
 * values) never leave the server; each is replaced by a description of its
 * type and size, `<private: array, 1234 bytes>`, so an agent still sees the
 * shape of a failure (errors, names, statuses and times stay) but none of
 * the data. DBOS inputs are positional argument arrays: key-based redaction
 * cannot know that `[ 'alice', 'S3cret' ]` holds a password; private mode
 * does not need to.
 *
 * Tools mark which fields are payloads in their output schemas with
 * {@linkcode payload} (the shared shapes in `tools/_schemas.ts` do); the
 * pipeline applies {@linkcode privatize} to every result, so a new tool only
 * marks its fields. A payload field holds text (or a list of texts), and its
 * description is text too, so every result still matches its schema.
 *
 * @module
 */
import { unclippedBytes } from "./budget.ts";

const PAYLOADS = new WeakSet<object>();

/**
 * Marks a field's schema as a payload: in private mode the field's value is
 * replaced by its description. The schema must accept a string (for a list,
 * each item is described).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { payload } from "./private.ts";
 * const eventShape = z.object({ key: z.string(), value: payload(z.string().describe("The value, rendered.")) });
 * ```
 */
export function payload<S extends object>(schema: S): S {
  PAYLOADS.add(schema);
  return schema;
}

/**
 * What replaces a payload in private mode: `<private: TYPE, N bytes>`, where
 * TYPE is read from how the value is rendered (`array`, `object`, `string`,
 * `number`, `boolean`, `null`, `undefined`, else `text`) and N is its size
 * in UTF-8 before any clipping.
 *
 * @example
 * ```ts
 * import { privateDescription } from "./private.ts";
 * privateDescription("[ 'alice', 'S3cret' ]"); // "<private: array, 21 bytes>"
 * ```
 */
export function privateDescription(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return `<private: ${renderedType(text)}, ${unclippedBytes(text)} bytes>`;
}

/** Whether `text` is a description made by {@linkcode privateDescription}. */
export function isPrivateDescription(text: string): boolean {
  return /^<private: [a-z]+, \d+ bytes>$/.test(text);
}

function renderedType(text: string): string {
  const t = text.trimStart();
  const c = t[0];
  if (c === "[") return "array";
  if (c === "{") return "object";
  if (c === '"' || c === "'" || c === "`") return "string";
  if (/^-?(?:\d|Infinity|NaN)/.test(t)) return "number";
  if (/^(?:true|false)\b/.test(t)) return "boolean";
  if (/^null\b/.test(t)) return "null";
  if (/^undefined\b/.test(t)) return "undefined";
  return "text";
}

/** A path to payload fields: object keys, and `*` for every item of an array or value of a record. */
type Path = readonly string[];

const ANY = "*";
const compiled = new WeakMap<object, readonly Path[]>();

/**
 * The paths of the payload fields of a (zod) schema: `workflow.Input`,
 * `steps.*.output`, ... Computed once per schema.
 */
export function payloadPaths(schema: object): readonly Path[] {
  let paths = compiled.get(schema);
  if (!paths) {
    const out: Path[] = [];
    walk(schema, [], out, 0);
    // A union may reach one field twice: describe it once (a description is not described again).
    const seen = new Set<string>();
    paths = Object.freeze(out.filter((p) => !seen.has(p.join("\u0000")) && seen.add(p.join("\u0000"))));
    compiled.set(schema, paths);
  }
  return paths;
}

// Zod 4 keeps each schema's definition in `_zod.def`: a `type` and the inner schemas.
interface Def {
  type?: string;
  shape?: Record<string, object>;
  element?: object;
  innerType?: object;
  in?: object;
  out?: object;
  options?: readonly object[];
  valueType?: object;
}

function walk(schema: object, path: Path, out: Path[], depth: number): void {
  if (PAYLOADS.has(schema)) {
    out.push(path);
    return;
  }
  if (depth > 32) return;
  const def = (schema as { _zod?: { def?: Def } })._zod?.def;
  if (!def) return;
  const next = (s: object | undefined, p: Path) => s && walk(s, p, out, depth + 1);
  switch (def.type) {
    case "object":
      for (const [k, s] of Object.entries(def.shape ?? {})) next(s, [...path, k]);
      break;
    case "array":
      next(def.element, [...path, ANY]);
      break;
    case "record":
      next(def.valueType, [...path, ANY]);
      break;
    case "union":
      for (const s of def.options ?? []) next(s, path);
      break;
    case "pipe":
      next(def.in, path);
      next(def.out, path);
      break;
    default:
      // optional, nullable, default, readonly, catch, ...: one inner schema.
      next(def.innerType, path);
  }
}

/**
 * Returns `data` with every payload field of `schema` replaced by its
 * {@linkcode privateDescription} (a copy along the paths changed; `data` is
 * not mutated). Absent and null fields stay absent and null.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { payload, privatize } from "./private.ts";
 * const schema = z.object({ id: z.string(), input: payload(z.string()) });
 * privatize(schema, { id: "wf-1", input: "[ 'alice', 'S3cret' ]" });
 * // { id: "wf-1", input: "<private: array, 21 bytes>" }
 * ```
 */
export function privatize<T>(schema: object, data: T): T {
  let out: unknown = data;
  for (const path of payloadPaths(schema)) out = replaceAt(out, path, 0);
  return out as T;
}

function replaceAt(value: unknown, path: Path, i: number): unknown {
  if (value === null || value === undefined) return value;
  if (i === path.length) return describeLeaf(value);
  if (typeof value !== "object") return value;
  const key = path[i];
  if (key === ANY) {
    if (Array.isArray(value)) return value.map((v) => replaceAt(v, path, i + 1));
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const k of Object.keys(copy)) copy[k] = replaceAt(copy[k], path, i + 1);
    return copy;
  }
  if (Array.isArray(value) || !Object.hasOwn(value, key)) return value;
  const current = (value as Record<string, unknown>)[key];
  const replaced = replaceAt(current, path, i + 1);
  return replaced === current ? value : { ...(value as Record<string, unknown>), [key]: replaced };
}

function describeLeaf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === null || v === undefined ? v : privateDescription(v)));
  return privateDescription(value);
}
