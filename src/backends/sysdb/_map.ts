// Maps between the DBOS client's shapes and Conductor v2's (see
// `conductor-v2.md` sections 3.1 and 7): the v2 search filter to the
// client's `GetWorkflowsInput`, and the client's workflows and steps to v2's
// `Workflow` and `Step`, with times as ISO 8601, errors as their message
// text, and inputs and outputs as readable text (JSON where the value allows
// it). Pure functions: nothing here touches a database or imports the DBOS SDK.
import {
  SEARCH_TIME_FIELDS,
  type SearchListField,
  searchLists,
  type Step,
  type Workflow,
  type WorkflowSearch,
} from "../backend.ts";

/** The parts of the DBOS client's `WorkflowStatus` this module reads. */
export interface ClientWorkflow {
  readonly workflowID: string;
  readonly status: string;
  readonly workflowName: string;
  readonly workflowClassName?: string;
  readonly workflowConfigName?: string;
  readonly queueName?: string;
  readonly authenticatedUser?: string;
  readonly assumedRole?: string;
  readonly authenticatedRoles?: string[];
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: unknown;
  readonly executorId?: string;
  readonly applicationVersion?: string;
  readonly applicationName?: string;
  readonly createdAt?: number;
  readonly updatedAt?: number;
  readonly timeoutMS?: number;
  readonly deadlineEpochMS?: number;
  readonly deduplicationID?: string;
  readonly priority?: number;
  readonly queuePartitionKey?: string;
  readonly dequeuedAt?: number;
  readonly delayUntilEpochMS?: number;
  readonly completedAt?: number;
  readonly forkedFrom?: string;
  readonly wasForkedFrom?: boolean;
  readonly parentWorkflowID?: string;
  readonly attributes?: Record<string, unknown>;
  readonly scheduleName?: string;
}

/** The parts of the DBOS client's `StepInfo` this module reads. */
export interface ClientStep {
  readonly functionID: number;
  readonly name: string;
  readonly output: unknown;
  readonly error: unknown;
  readonly childWorkflowID: string | null;
  readonly startedAtEpochMs?: number;
  readonly completedAtEpochMs?: number;
}

/** The list filters of the DBOS client's input. */
type ClientListKey =
  | "workflowIDs"
  | "workflowName"
  | "status"
  | "authenticatedUser"
  | "applicationVersion"
  | "executorId"
  | "queueName"
  | "forkedFrom"
  | "parentWorkflowID"
  | "workflow_id_prefix"
  | "scheduleName";

/** The DBOS client's list filter (`GetWorkflowsInput`), for the keys this server sets. */
export interface ClientListInput {
  workflowIDs?: string[];
  workflowName?: string[];
  status?: string[];
  authenticatedUser?: string[];
  applicationVersion?: string[];
  executorId?: string[];
  queueName?: string[];
  forkedFrom?: string[];
  parentWorkflowID?: string[];
  workflow_id_prefix?: string[];
  scheduleName?: string[];
  startTime?: string;
  endTime?: string;
  completedAfter?: string;
  completedBefore?: string;
  dequeuedAfter?: string;
  dequeuedBefore?: string;
  limit?: number;
  offset?: number;
  sortDesc?: boolean;
  loadInput: boolean;
  loadOutput: boolean;
  queuesOnly?: boolean;
  wasForkedFrom?: boolean;
  hasParent?: boolean;
  applicationName?: string;
}

/** The client's name for each v2 list filter. */
const CLIENT_LIST_NAME: Readonly<Record<SearchListField, ClientListKey>> = {
  workflowIds: "workflowIDs",
  workflowName: "workflowName",
  status: "status",
  user: "authenticatedUser",
  appVersion: "applicationVersion",
  executorId: "executorId",
  queueName: "queueName",
  forkedFrom: "forkedFrom",
  parentWorkflowId: "parentWorkflowID",
  workflowIdPrefix: "workflow_id_prefix",
  scheduleName: "scheduleName",
};

/** v2 scalar filters the client takes under the same name. */
const SCALAR_KEYS = [
  ...SEARCH_TIME_FIELDS,
  "limit",
  "sortDesc",
  "wasForkedFrom",
  "hasParent",
] as const;

/**
 * The client's list input for a v2 search filter. `scope` restricts the list
 * to one application of a shared system database (plus unclaimed rows, as
 * DBOS does). Inputs and outputs load only when asked, as in the contract;
 * an empty list filter is no filter.
 */
export function toClientListInput(filter: WorkflowSearch, scope: string | undefined): ClientListInput {
  const input: ClientListInput = { loadInput: filter.loadInput ?? false, loadOutput: filter.loadOutput ?? false };
  for (const [v2, values] of searchLists(filter)) {
    input[CLIENT_LIST_NAME[v2]] = v2 === "workflowIdPrefix" ? values.map(likeLiteral) : values;
  }
  for (const key of SCALAR_KEYS) {
    const value = filter[key];
    if (value !== undefined) (input as unknown as Record<string, unknown>)[key] = value;
  }
  if (filter.offset !== undefined && filter.offset > 0) input.offset = filter.offset;
  if (filter.queuesOnly) input.queuesOnly = true;
  if (scope !== undefined) input.applicationName = scope;
  return input;
}

/**
 * `text` as a literal inside a SQL `LIKE` pattern: the client matches
 * `workflow_uuid LIKE prefix || '%'`, so `_`, `%` and the escape character
 * `\` (Postgres's default) in a prefix are escaped to match only themselves.
 */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A workflow in v2's shape: absent values are left out, times become ISO 8601. */
export function toWorkflow(w: ClientWorkflow): Workflow {
  const out: Workflow = { workflowId: w.workflowID, status: w.status, workflowName: w.workflowName };
  const put = (key: string, value: string | number | boolean | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  put("workflowClass", nonEmpty(w.workflowClassName));
  put("workflowConfig", nonEmpty(w.workflowConfigName));
  put("user", nonEmpty(w.authenticatedUser));
  put("assumedRole", nonEmpty(w.assumedRole));
  put("roles", w.authenticatedRoles?.length ? JSON.stringify(w.authenticatedRoles) : undefined);
  put("input", w.input === undefined ? undefined : valueText(w.input));
  put("output", w.output === undefined || w.output === null ? undefined : valueText(w.output));
  put("error", w.error === undefined || w.error === null ? undefined : errorText(w.error));
  put("createdAt", isoTime(w.createdAt));
  put("updatedAt", isoTime(w.updatedAt));
  put("attributes", w.attributes === undefined || w.attributes === null ? undefined : valueText(w.attributes));
  put("scheduleName", nonEmpty(w.scheduleName));
  put("queueName", nonEmpty(w.queueName));
  put("appVersion", nonEmpty(w.applicationVersion));
  put("executorId", nonEmpty(w.executorId));
  put("timeoutMs", finite(w.timeoutMS));
  put("deadline", isoTime(w.deadlineEpochMS));
  put("deduplicationId", nonEmpty(w.deduplicationID));
  put("priority", finite(w.priority) ?? 0);
  put("queuePartitionKey", nonEmpty(w.queuePartitionKey));
  put("forkedFrom", nonEmpty(w.forkedFrom));
  put("wasForkedFrom", w.wasForkedFrom ?? false);
  put("parentWorkflowId", nonEmpty(w.parentWorkflowID));
  put("dequeuedAt", isoTime(w.dequeuedAt));
  put("delayUntil", isoTime(w.delayUntilEpochMS));
  put("completedAt", isoTime(w.completedAt));
  put("applicationName", nonEmpty(w.applicationName));
  return out;
}

/** A step in v2's shape: a numeric id, times as ISO 8601, text everywhere else. */
export function toStep(s: ClientStep): Step {
  const out: Step = { stepId: s.functionID, stepName: s.name };
  if (s.output !== undefined && s.output !== null) out.output = valueText(s.output);
  if (s.error !== undefined && s.error !== null) out.error = errorText(s.error);
  if (s.childWorkflowID) out.childWorkflowId = s.childWorkflowID;
  const started = isoTime(s.startedAtEpochMs);
  if (started !== undefined) out.startedAt = started;
  const completed = isoTime(s.completedAtEpochMs);
  if (completed !== undefined) out.completedAt = completed;
  return out;
}

/**
 * A recorded value as readable text: JSON where it can be (dates as ISO
 * strings, big integers as digits, maps as objects, sets as arrays, errors
 * by name and message), else Deno's inspection.
 */
export function valueText(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    const text = JSON.stringify(value, jsonReplacer);
    if (text !== undefined) return text;
  } catch {
    // circular or otherwise not JSON: fall through
  }
  return Deno.inspect(value, { depth: 8, colors: false, compact: true, breakLength: Infinity });
}

/**
 * An error as its message text, prefixed by its class name when that says
 * more than "Error" (e.g. `DBOSMaxStepRetriesError: ...`). Non-errors are
 * shown as {@linkcode valueText}, or as themselves when already text.
 */
export function errorText(error: unknown): string {
  if (error instanceof Error || isErrorLike(error)) {
    const { name, message } = error as { name?: unknown; message: string };
    const prefix = typeof name === "string" && name !== "" && name !== "Error" && !message.startsWith(`${name}:`)
      ? `${name}: `
      : "";
    return `${prefix}${message}`;
  }
  return typeof error === "string" ? error : valueText(error);
}

function isErrorLike(v: unknown): v is { message: string } {
  return typeof v === "object" && v !== null && typeof (v as { message?: unknown }).message === "string";
}

function jsonReplacer(_key: string, value: unknown): unknown {
  // Dates arrive here already as ISO strings (their toJSON ran first).
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), v]));
  if (value instanceof Set) return [...value];
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof RegExp) return String(value);
  return value;
}

function nonEmpty(v: string | null | undefined): string | undefined {
  return v === undefined || v === null || v === "" ? undefined : v;
}

/** Epoch milliseconds (a number, or digits as text) as ISO 8601; `undefined` when absent or not a time. */
export function isoTime(v: number | string | null | undefined): string | undefined {
  const n = finite(v);
  if (n === undefined) return undefined;
  const date = new Date(n);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function finite(v: number | string | null | undefined): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}
