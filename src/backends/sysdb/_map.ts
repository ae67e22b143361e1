// Maps between the DBOS client's shapes and the contract's (see
// `conductor-api.md`): the list filter to the client's camelCase input, and
// the client's workflows and steps to the PascalCase workflow and snake_case
// step shapes, with numbers as strings, errors as their message text, and
// inputs and outputs as readable text (JSON where the value allows it). Pure
// functions: nothing here touches a database or imports the DBOS SDK.
import type { ListWorkflowsFilter, Step, Workflow } from "../backend.ts";

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

/** The DBOS client's list filter (`GetWorkflowsInput`), for the keys this server sets. */
export interface ClientListInput {
  workflowIDs?: string[];
  workflowName?: string;
  authenticatedUser?: string;
  startTime?: string;
  endTime?: string;
  status?: string;
  applicationVersion?: string;
  forkedFrom?: string;
  queueName?: string;
  limit?: number;
  offset?: number;
  sortDesc?: boolean;
  workflow_id_prefix?: string;
  loadInput: boolean;
  loadOutput: boolean;
  executorId?: string;
  queuesOnly?: boolean;
  applicationName?: string;
}

/**
 * The client's list input for a contract filter. `scope` restricts the list
 * to one application of a shared system database (plus unclaimed rows, as
 * DBOS does). Inputs and outputs load only when asked, as in the contract.
 */
export function toClientListInput(filter: ListWorkflowsFilter, scope: string | undefined): ClientListInput {
  const input: ClientListInput = {
    loadInput: filter.load_input ?? false,
    loadOutput: filter.load_output ?? false,
  };
  if (filter.workflow_uuids && filter.workflow_uuids.length > 0) input.workflowIDs = [...filter.workflow_uuids];
  if (filter.workflow_name !== undefined) input.workflowName = filter.workflow_name;
  if (filter.authenticated_user !== undefined) input.authenticatedUser = filter.authenticated_user;
  if (filter.start_time !== undefined) input.startTime = filter.start_time;
  if (filter.end_time !== undefined) input.endTime = filter.end_time;
  if (filter.status !== undefined) input.status = filter.status;
  if (filter.application_version !== undefined) input.applicationVersion = filter.application_version;
  if (filter.forked_from !== undefined) input.forkedFrom = filter.forked_from;
  if (filter.queue_name !== undefined) input.queueName = filter.queue_name;
  if (filter.limit !== undefined) input.limit = filter.limit;
  if (filter.offset !== undefined && filter.offset > 0) input.offset = filter.offset;
  if (filter.sort_desc !== undefined) input.sortDesc = filter.sort_desc;
  if (filter.workflow_id_prefix !== undefined) input.workflow_id_prefix = likeLiteral(filter.workflow_id_prefix);
  if (filter.executor_id !== undefined) input.executorId = filter.executor_id;
  if (filter.queues_only) input.queuesOnly = true;
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

/** A workflow in the contract's shape: absent values are left out, numbers become strings. */
export function toWorkflow(w: ClientWorkflow): Workflow {
  const out: Workflow = { WorkflowUUID: w.workflowID, Status: w.status, WorkflowName: w.workflowName };
  const put = (key: string, value: string | boolean | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  put("WorkflowClassName", nonEmpty(w.workflowClassName));
  put("WorkflowConfigName", nonEmpty(w.workflowConfigName));
  put("AuthenticatedUser", nonEmpty(w.authenticatedUser));
  put("AssumedRole", nonEmpty(w.assumedRole));
  put("AuthenticatedRoles", w.authenticatedRoles?.length ? JSON.stringify(w.authenticatedRoles) : undefined);
  put("Input", w.input === undefined ? undefined : valueText(w.input));
  put("Output", w.output === undefined || w.output === null ? undefined : valueText(w.output));
  put("Error", w.error === undefined || w.error === null ? undefined : errorText(w.error));
  put("CreatedAt", epochText(w.createdAt));
  put("UpdatedAt", epochText(w.updatedAt));
  put("QueueName", nonEmpty(w.queueName));
  put("ApplicationVersion", nonEmpty(w.applicationVersion));
  put("ExecutorID", nonEmpty(w.executorId));
  put("WorkflowTimeoutMS", epochText(w.timeoutMS));
  put("WorkflowDeadlineEpochMS", epochText(w.deadlineEpochMS));
  put("DeduplicationID", nonEmpty(w.deduplicationID));
  put("Priority", epochText(w.priority));
  put("QueuePartitionKey", nonEmpty(w.queuePartitionKey));
  put("DequeuedAt", epochText(w.dequeuedAt));
  put("ForkedFrom", nonEmpty(w.forkedFrom));
  put("WasForkedFrom", w.wasForkedFrom ?? false);
  put("ParentWorkflowID", nonEmpty(w.parentWorkflowID));
  put("DelayUntilEpochMS", epochText(w.delayUntilEpochMS));
  put("CompletedAt", epochText(w.completedAt));
  put("Attributes", w.attributes === undefined || w.attributes === null ? undefined : valueText(w.attributes));
  put("ScheduleName", nonEmpty(w.scheduleName));
  put("ApplicationName", nonEmpty(w.applicationName));
  return out;
}

/** A step in the contract's shape: a numeric id, text everywhere else. */
export function toStep(s: ClientStep): Step {
  const out: Step = { function_id: s.functionID, function_name: s.name };
  if (s.output !== undefined && s.output !== null) out.output = valueText(s.output);
  if (s.error !== undefined && s.error !== null) out.error = errorText(s.error);
  if (s.childWorkflowID) out.child_workflow_id = s.childWorkflowID;
  const started = epochText(s.startedAtEpochMs);
  if (started !== undefined) out.started_at_epoch_ms = started;
  const completed = epochText(s.completedAtEpochMs);
  if (completed !== undefined) out.completed_at_epoch_ms = completed;
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

function epochText(v: number | string | null | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  const text = String(v);
  return text === "" || text === "NaN" ? undefined : text;
}
