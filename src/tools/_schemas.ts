// The shapes tools return, in Conductor v2's names (conductor-v2.md section
// 3.1), each declared once as a zod object: the output schema, and the
// normalizer that turns what a backend returned into that shape, built from
// it. Absent values are left out (never `null`), so the JSON Schemas stay
// portable; fields a shape does not list are dropped. Also the arguments the
// tools share.
// Fields that carry application data (inputs, outputs, event, notification and
// stream values) are marked with `payload(...)`: private mode replaces them by
// a description of their type and size (core/private.ts). A new tool's shape
// marks its own.
import { z } from "zod";
import { payload } from "../core/private.ts";

/** The `application_name` argument (its name says it all: `list_applications` gives the names). */
export const applicationName: z.ZodString = z.string().min(1).max(256);

/** The `workflow_id` argument (`list_workflows` gives the ids). */
export const workflowId: z.ZodString = z.string().min(1).max(1024);

const text = z.string();
const int = z.number().int();
const time = (what: string) => z.string().describe(`${what} (ISO 8601).`).optional();

export const applicationShape = z.object({
  name: text.describe("Name; pass it as application_name to the other tools."),
  status: text.describe(
    "AVAILABLE while an executor is connected (system database: while it answers); workflow tools need AVAILABLE.",
  ),
  id: text.describe("Unique id.").optional(),
  orgId: text.optional(),
  language: text.optional(),
  privateMode: z.boolean().describe("Conductor never loads this application's inputs, outputs or schedule contexts.")
    .optional(),
  dbosCloud: z.boolean().optional(),
  executorTimeoutSecs: int.optional(),
  globalTimeoutMs: int.optional(),
  reason: text.describe("Why the application is UNAVAILABLE, when known.").optional(),
  database: text.describe("System database (host:port/database), in system-database mode.").optional(),
  schema: text.optional(),
  schemaVersion: text.describe("DBOS schema version of the system database.").optional(),
  sdkGeneration: text.describe("The DBOS TypeScript SDK generation that writes this schema version, e.g. 5.1.")
    .optional(),
  limited: text.describe("Capabilities this schema version lacks while the other tools work, when any.").optional(),
  hint: text.describe("What to do about an UNAVAILABLE application, when known.").optional(),
});

export const executorShape = z.object({
  executorId: text,
  appId: text.optional(),
  appVersion: text.optional(),
  status: text.describe("HEALTHY, DISCONNECTED or DEAD.").optional(),
  hostId: text.optional(),
  hostname: text.optional(),
  createdAt: time("Connected"),
  updatedAt: time("Last heartbeat, or in system-database mode the last workflow update"),
  language: text.optional(),
  dbosVersion: text.optional(),
  derived: z.boolean().describe("Derived from workflow records, not a live connection.").optional(),
  pendingWorkflows: int.describe("PENDING workflows this executor holds.").optional(),
});

export const workflowShape = z.object({
  workflowId: text.describe("Workflow id."),
  status: text.describe("PENDING, SUCCESS, ERROR, CANCELLED, ENQUEUED, MAX_RECOVERY_ATTEMPTS_EXCEEDED or DELAYED."),
  workflowName: text.describe("Workflow function name.").optional(),
  workflowClass: text.optional(),
  workflowConfig: text.optional(),
  user: text.describe("Authenticated user who started it.").optional(),
  assumedRole: text.optional(),
  roles: text.describe("JSON array of the user's roles, as text.").optional(),
  input: payload(text.describe("Input as text (only when loaded).").optional()),
  output: payload(text.describe("Output as text (only when loaded).").optional()),
  error: text.describe("Error, when the workflow failed.").optional(),
  createdAt: time("Created"),
  updatedAt: time("Last updated"),
  completedAt: time("Completed"),
  dequeuedAt: time("Left its queue"),
  delayUntil: time("A delayed workflow may start"),
  deadline: time("Deadline"),
  timeoutMs: int.describe("Timeout, in milliseconds.").optional(),
  queueName: text.optional(),
  queuePartitionKey: text.optional(),
  priority: int.describe("Priority on its queue.").optional(),
  deduplicationId: text.optional(),
  appVersion: text.describe("Application version.").optional(),
  executorId: text.describe("Executor that last ran it.").optional(),
  applicationName: text.optional(),
  scheduleName: text.describe("Schedule that started it.").optional(),
  parentWorkflowId: text.describe("The workflow that started this one.").optional(),
  forkedFrom: text.describe("The workflow this one was forked from.").optional(),
  wasForkedFrom: z.boolean().describe("A fork was made from this workflow.").optional(),
  attributes: text.describe("Attributes, as JSON text.").optional(),
});

export const stepShape = z.object({
  stepId: int.describe("Step id; pass it as start_step to fork_workflow."),
  stepName: text,
  output: payload(text.optional()),
  error: text.optional(),
  childWorkflowId: text.describe("Child workflow started or awaited by this step.").optional(),
  startedAt: time("Started"),
  completedAt: time("Completed"),
});

/** An application as tools return it. */
export type ApplicationView = z.output<typeof applicationShape>;
/** An executor as tools return it. */
export type ExecutorView = z.output<typeof executorShape>;
/** A workflow as tools return it. */
export type WorkflowView = z.output<typeof workflowShape>;
/** A step as tools return it. */
export type StepView = z.output<typeof stepShape>;

function unwrap(t: z.ZodType): z.ZodType {
  return t instanceof z.ZodOptional ? (t as z.ZodOptional<z.ZodType>).unwrap() : t;
}

function asText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * One field coerced to its schema's kind, or `undefined` when it cannot be:
 * text (objects as JSON), a number the schema accepts, a boolean, a list of
 * texts, or a record of texts (entries without a value left out).
 */
function coerce(t: z.ZodType, v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  const inner = unwrap(t);
  if (inner instanceof z.ZodNumber) {
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    return Number.isFinite(n) && inner.safeParse(n).success ? n : undefined;
  }
  if (inner instanceof z.ZodBoolean) {
    return typeof v === "boolean" ? v : v === "true" ? true : v === "false" ? false : undefined;
  }
  if (inner instanceof z.ZodArray) return Array.isArray(v) ? v.map((x) => asText(x) ?? "") : undefined;
  if (inner instanceof z.ZodRecord) {
    if (typeof v !== "object" || Array.isArray(v)) return undefined;
    const entries = Object.entries(v).filter(([, x]) => x !== null && x !== undefined);
    return Object.fromEntries(entries.map(([k, x]) => [k, asText(x)]));
  }
  return asText(v);
}

/** What a required field that a backend left out becomes. */
function fallback(t: z.ZodType): unknown {
  const inner = unwrap(t);
  return inner instanceof z.ZodNumber
    ? -1
    : inner instanceof z.ZodBoolean
    ? false
    : inner instanceof z.ZodArray
    ? []
    : inner instanceof z.ZodRecord
    ? {}
    : "";
}

/**
 * The normalizer of a shape: each field the shape lists is coerced to its
 * kind (see {@linkcode coerce}), nulls and fields the shape does not list are
 * dropped, and a required field that is missing gets a fallback (`""`, `-1`,
 * `false`, `[]`, `{}`). With `dropEmpty`, empty texts (and an empty `roles`
 * list) are left out.
 */
export function normalizerOf<T>(schema: z.ZodObject, dropEmpty = false): (raw: object) => T {
  const fields = Object.entries(schema.shape as Record<string, z.ZodType>);
  return (raw) => {
    const out: Record<string, unknown> = {};
    for (const [key, t] of fields) {
      const value = coerce(t, (raw as Record<string, unknown>)[key]);
      const empty = dropEmpty && (value === "" || (key === "roles" && value === "[]"));
      if (value !== undefined && !empty) out[key] = value;
      else if (!(t instanceof z.ZodOptional)) out[key] = fallback(t);
    }
    return out as T;
  };
}

/** An application in the shape tools return: known fields as their kind, no nulls. */
export const normalizeApplication: (raw: object) => ApplicationView = normalizerOf(
  applicationShape,
);
/** An executor in the shape tools return. */
export const normalizeExecutor: (raw: object) => ExecutorView = normalizerOf(executorShape);
/** A workflow in the shape tools return; empty texts are left out. */
export const normalizeWorkflow: (raw: object) => WorkflowView = normalizerOf(workflowShape, true);
/** A step in the shape tools return (a step id that is not a number becomes -1). */
export const normalizeStep: (raw: object) => StepView = normalizerOf(stepShape);

/** Arguments of the tools that address one workflow. */
export const workflowRef = z.strictObject({ application_name: applicationName, workflow_id: workflowId });
