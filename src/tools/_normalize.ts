// Normalizes what a backend returned to the shapes the tools promise: the
// contract says "numbers as strings", but a Conductor may send numbers,
// booleans, objects or nulls where text is expected, and extra fields.
// Everything listed becomes text (objects as JSON); nulls are dropped, and so
// are a workflow's empty texts (as the system-database backend leaves them out).
import type { Application, Executor, Step, Workflow } from "../backends/backend.ts";

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

function normalize<T extends Record<string, unknown>>(
  raw: T,
  textKeys: ReadonlySet<string>,
  dropEmpty = false,
): T {
  const out: Record<string, unknown> = {};
  for (const k in raw) {
    if (!Object.hasOwn(raw, k)) continue;
    const v = raw[k];
    if (v === null || v === undefined) continue;
    if (!textKeys.has(k)) {
      out[k] = v;
      continue;
    }
    const text = asText(v);
    if (dropEmpty && (text === "" || (k === "AuthenticatedRoles" && text === "[]"))) continue;
    out[k] = text;
  }
  return out as T;
}

const APPLICATION_TEXT = new Set(["application_id", "application_name", "org_id", "status", "language"]);
const EXECUTOR_TEXT = new Set([
  "executor_id",
  "application_id",
  "application_version",
  "status",
  "hostname",
  "created_at",
  "updated_at",
  "language",
  "dbos_version",
]);
const WORKFLOW_TEXT = new Set([
  "WorkflowUUID",
  "Status",
  "WorkflowName",
  "WorkflowClassName",
  "WorkflowConfigName",
  "AuthenticatedUser",
  "AssumedRole",
  "AuthenticatedRoles",
  "Input",
  "Output",
  "Error",
  "CreatedAt",
  "UpdatedAt",
  "QueueName",
  "ApplicationVersion",
  "ExecutorID",
  "ForkedFrom",
]);
const STEP_TEXT = new Set([
  "function_name",
  "output",
  "error",
  "child_workflow_id",
  "started_at_epoch_ms",
  "completed_at_epoch_ms",
]);

/** An application with text fields as text and no nulls. */
export function normalizeApplication(raw: Application): Application {
  const a = normalize(raw, APPLICATION_TEXT);
  return { ...a, application_name: a.application_name ?? "", status: a.status ?? "UNKNOWN" };
}

/** An executor with text fields as text and no nulls. */
export function normalizeExecutor(raw: Executor): Executor {
  const e = normalize(raw, EXECUTOR_TEXT);
  return { ...e, executor_id: e.executor_id ?? "" };
}

/** A workflow with text fields as text and no nulls. */
export function normalizeWorkflow(raw: Workflow): Workflow {
  const w = normalize(raw, WORKFLOW_TEXT, true);
  return { ...w, WorkflowUUID: w.WorkflowUUID ?? "", Status: w.Status ?? "UNKNOWN" };
}

/** A step with a numeric id, text fields as text and no nulls. */
export function normalizeStep(raw: Step): Step {
  const s = normalize(raw, STEP_TEXT);
  const id = typeof s.function_id === "number" ? s.function_id : Number.parseInt(String(s.function_id), 10);
  return { ...s, function_id: Number.isFinite(id) ? id : -1, function_name: s.function_name ?? "" };
}
