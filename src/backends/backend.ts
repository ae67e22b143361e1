/**
 * The interface every backend implements, and the domain shapes it returns.
 * Backends know nothing of MCP: they return plain objects in the shapes of
 * Conductor API v2 (`conductor-v2.md` section 3.1), and the tools shape them
 * for agents.
 *
 * @module
 */

/**
 * The workflow statuses: the six of the Conductor contract, and `DELAYED`
 * (enqueued with a delay that has not passed), which DBOS records too and
 * executors of current SDKs report through Conductor as well.
 */
export const WORKFLOW_STATUSES = [
  "PENDING",
  "SUCCESS",
  "ERROR",
  "CANCELLED",
  "ENQUEUED",
  "MAX_RECOVERY_ATTEMPTS_EXCEEDED",
  "DELAYED",
] as const;

/** One of {@linkcode WORKFLOW_STATUSES}. */
export type WorkflowStatus = typeof WORKFLOW_STATUSES[number];

/**
 * An application, in the shape of Conductor v2's `Application`. Absent
 * values are left out (never `null`); unknown extra fields are kept.
 */
export interface Application {
  /** Unique id. */
  id?: string;
  /** Name, used to address the application in every other call. */
  name: string;
  /** Organization id. */
  orgId?: string;
  /** `AVAILABLE` while an executor is connected (or, for a system database, while it answers). */
  status: string;
  /** Language of the application. */
  language?: string;
  /** Conductor never loads this application's data (inputs, outputs, schedule contexts). */
  privateMode?: boolean;
  /** Hosted on DBOS Cloud. */
  dbosCloud?: boolean;
  /** Any other field the backend returned. */
  [key: string]: unknown;
}

/** A running (or recently running) process of an application: Conductor v2's `Executor`. */
export interface Executor {
  /** Unique id. */
  executorId: string;
  /** Application id. */
  appId?: string;
  /** Version of the code the executor runs. */
  appVersion?: string;
  /** `HEALTHY`, `DISCONNECTED` or `DEAD`. */
  status?: string;
  /** Host id. */
  hostId?: string;
  /** Host name. */
  hostname?: string;
  /** When it connected first (ISO 8601). */
  createdAt?: string;
  /** Last heartbeat or activity (ISO 8601). */
  updatedAt?: string;
  /** Language of the application. */
  language?: string;
  /** DBOS SDK version. */
  dbosVersion?: string;
  /** Any other field the backend returned. */
  [key: string]: unknown;
}

/**
 * A workflow, in the shape of Conductor v2's `Workflow`: camelCase names,
 * times as ISO 8601 strings, absent values left out. Unknown extra fields
 * are kept.
 */
export interface Workflow {
  /** Workflow id. */
  workflowId: string;
  /** Status (see {@linkcode WORKFLOW_STATUSES}; not an enforced enum). */
  status: string;
  /** Name of the workflow function. */
  workflowName?: string;
  /** Class of the workflow function, for class methods. */
  workflowClass?: string;
  /** Configured instance name, for instance methods. */
  workflowConfig?: string;
  /** Authenticated user who started it. */
  user?: string;
  /** Role assumed. */
  assumedRole?: string;
  /** Roles of the user, as JSON array text. */
  roles?: string;
  /** Input, as readable text (only when loaded). */
  input?: string;
  /** Output, as readable text (only when loaded). */
  output?: string;
  /** Error, as text. */
  error?: string;
  /** Creation time (ISO 8601). */
  createdAt?: string;
  /** Last update (ISO 8601). */
  updatedAt?: string;
  /** Attributes, as JSON text. */
  attributes?: string;
  /** Schedule that started it. */
  scheduleName?: string;
  /** Queue. */
  queueName?: string;
  /** Application version. */
  appVersion?: string;
  /** Executor that last ran it. */
  executorId?: string;
  /** Timeout, in milliseconds. */
  timeoutMs?: number;
  /** Deadline (ISO 8601). */
  deadline?: string;
  /** Deduplication id on its queue. */
  deduplicationId?: string;
  /** Priority on its queue. */
  priority?: number;
  /** Partition key on a partitioned queue. */
  queuePartitionKey?: string;
  /** Id of the workflow this one was forked from. */
  forkedFrom?: string;
  /** Whether a fork was made from this workflow. */
  wasForkedFrom?: boolean;
  /** Parent workflow id. */
  parentWorkflowId?: string;
  /** When it left its queue (ISO 8601). */
  dequeuedAt?: string;
  /** When a delayed workflow may start (ISO 8601). */
  delayUntil?: string;
  /** Completion time (ISO 8601). */
  completedAt?: string;
  /** Name of the application that recorded it. */
  applicationName?: string;
  /** Any other field (see the contract). */
  [key: string]: unknown;
}

/** A step of a workflow: Conductor v2's `Step`. */
export interface Step {
  /** Step id within the workflow (starts at 0 in current SDKs). */
  stepId: number;
  /** Step name. */
  stepName: string;
  /** Output, as readable text. */
  output?: string;
  /** Error, as text. */
  error?: string;
  /** Child workflow started or awaited by this step. */
  childWorkflowId?: string;
  /** Start time (ISO 8601). */
  startedAt?: string;
  /** Completion time (ISO 8601). */
  completedAt?: string;
  /** Any other field the backend returned. */
  [key: string]: unknown;
}

/**
 * Filters of the list-workflows call, as Conductor v2's `WorkflowSearchBody`
 * names them. A list filter matches any of its values; an empty list is the
 * same as no filter (and is never sent).
 */
export interface WorkflowSearch {
  /** Only these workflow ids. */
  workflowIds?: string[];
  /** Workflow function names. */
  workflowName?: string[];
  /** Statuses. */
  status?: string[];
  /** Users who started the workflow. */
  user?: string[];
  /** Application versions. */
  appVersion?: string[];
  /** Executor ids. */
  executorId?: string[];
  /** Queue names. */
  queueName?: string[];
  /** Forked from these workflow ids. */
  forkedFrom?: string[];
  /** Children of these workflow ids. */
  parentWorkflowId?: string[];
  /** Id prefixes. */
  workflowIdPrefix?: string[];
  /** Started by these schedules. */
  scheduleName?: string[];
  /** Created at or after (ISO 8601). */
  startTime?: string;
  /** Created at or before (ISO 8601). */
  endTime?: string;
  /** Completed at or after (ISO 8601). */
  completedAfter?: string;
  /** Completed at or before (ISO 8601). */
  completedBefore?: string;
  /** Dequeued at or after (ISO 8601). */
  dequeuedAfter?: string;
  /** Dequeued at or before (ISO 8601). */
  dequeuedBefore?: string;
  /** Page size. */
  limit?: number;
  /** Rows to skip. */
  offset?: number;
  /** Newest first. */
  sortDesc?: boolean;
  /** Include inputs. */
  loadInput?: boolean;
  /** Include outputs and errors. */
  loadOutput?: boolean;
  /** Only workflows that are on a queue. */
  queuesOnly?: boolean;
  /** Only workflows a fork was made from (true) or none was (false). */
  wasForkedFrom?: boolean;
  /** Only child workflows (true) or top-level ones (false). */
  hasParent?: boolean;
}

/** The filters of {@linkcode WorkflowSearch} that take a list of values. */
export const SEARCH_LIST_FIELDS = [
  "workflowIds",
  "workflowName",
  "status",
  "user",
  "appVersion",
  "executorId",
  "queueName",
  "forkedFrom",
  "parentWorkflowId",
  "workflowIdPrefix",
  "scheduleName",
] as const satisfies readonly (keyof WorkflowSearch)[];

/** One of {@linkcode SEARCH_LIST_FIELDS}. */
export type SearchListField = typeof SEARCH_LIST_FIELDS[number];

/**
 * The list filters of `filter` that hold a value, each without empty
 * strings: an empty list is no filter, so it is left out (the 5.2.11
 * executor turns an empty array into invalid SQL).
 */
export function searchLists(filter: WorkflowSearch): [SearchListField, string[]][] {
  const out: [SearchListField, string[]][] = [];
  for (const key of SEARCH_LIST_FIELDS) {
    const values = filter[key]?.filter((v) => typeof v === "string" && v !== "");
    if (values && values.length > 0) out.push([key, values]);
  }
  return out;
}

/** Options of a fork: Conductor v2's fork body. */
export interface ForkOptions {
  /** The step id to restart from; earlier steps' recorded outputs are reused. */
  startStep: number;
  /** Run the fork on this application version. */
  appVersion?: string;
  /** Id for the new workflow. */
  newWorkflowId?: string;
  /** Enqueue the fork on this queue. */
  queueName?: string;
  /** Partition key, with a partitioned queue. */
  queuePartitionKey?: string;
}

/** Options of a cancel. */
export interface CancelOptions {
  /** Cancel the workflow's children too. */
  cancelChildren?: boolean;
}

/** Options of a resume. */
export interface ResumeOptions {
  /** Re-enqueue the workflow on this queue instead of running it at once. */
  queueName?: string;
}

/** A page of steps. */
export interface StepPage {
  /** Most steps to return. */
  limit?: number;
  /** Steps to skip. */
  offset?: number;
}

/** Per-call options passed to every backend method. */
export interface CallOptions {
  /** Aborts the call (the MCP client cancelled it). */
  signal?: AbortSignal;
  /**
   * How many bytes of each payload (`Input`, `Output`, `Error`) the answer
   * will show. A backend that can may then read only the start of a much
   * larger payload and return it clipped, with the budget's truncation
   * marker giving the whole size. Unset: whole payloads.
   */
  payloadBytes?: number;
}

/** What every backend implements; tools talk only to this. */
export interface WorkflowBackend {
  /** Which backend this is. */
  readonly kind: "conductor" | "sysdb";
  /** Lists applications. */
  listApplications(opts?: CallOptions): Promise<Application[]>;
  /** Lists an application's executors. */
  listExecutors(app: string, opts?: CallOptions): Promise<Executor[]>;
  /** Lists an application's workflows. */
  listWorkflows(app: string, filter: WorkflowSearch, opts?: CallOptions): Promise<Workflow[]>;
  /** Gets one workflow; throws `NotFoundError` when it does not exist. */
  getWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<Workflow>;
  /** Lists a workflow's steps, in step order. */
  listSteps(app: string, workflowId: string, page?: StepPage, opts?: CallOptions): Promise<Step[]>;
  /** Cancels a workflow. */
  cancelWorkflow(app: string, workflowId: string, options?: CancelOptions, opts?: CallOptions): Promise<void>;
  /** Resumes a cancelled or enqueued workflow. */
  resumeWorkflow(app: string, workflowId: string, options?: ResumeOptions, opts?: CallOptions): Promise<void>;
  /** Forks a workflow from a step; returns the new workflow's id. */
  forkWorkflow(app: string, workflowId: string, fork: ForkOptions, opts?: CallOptions): Promise<string>;
  /** Releases resources (connections). */
  close(): Promise<void>;
}

/** The name of a backend operation (every method but `close`). */
export type BackendOperation = Exclude<keyof WorkflowBackend, "kind" | "close">;

/** What the wrappers need to know of each operation. */
export interface OperationInfo {
  /** Whether it changes state (refused by the read-only wall). */
  readonly mutates: boolean;
  /** What it does, for messages ("cancel a workflow"). */
  readonly what: string;
}

/**
 * Every backend operation, listed once: the read-only wall and the lazy
 * wrapper are built from this table, so a new operation is one entry here
 * and one method on each backend.
 */
export const OPERATIONS: Readonly<Record<BackendOperation, OperationInfo>> = Object.freeze({
  listApplications: { mutates: false, what: "list applications" },
  listExecutors: { mutates: false, what: "list executors" },
  listWorkflows: { mutates: false, what: "list workflows" },
  getWorkflow: { mutates: false, what: "get a workflow" },
  listSteps: { mutates: false, what: "list steps" },
  cancelWorkflow: { mutates: true, what: "cancel a workflow" },
  resumeWorkflow: { mutates: true, what: "resume a workflow" },
  forkWorkflow: { mutates: true, what: "fork a workflow" },
});

/**
 * Builds a backend whose every operation is `forward(name, args)`: the base
 * of wrappers (lazy loading, the read-only wall) that treat all operations
 * alike.
 */
export function forwardingBackend(
  kind: WorkflowBackend["kind"],
  forward: (operation: BackendOperation, args: unknown[]) => Promise<unknown>,
  close: () => Promise<void>,
): WorkflowBackend {
  const backend: Record<string, unknown> = { kind, close };
  for (const name of Object.keys(OPERATIONS) as BackendOperation[]) {
    backend[name] = (...args: unknown[]) => forward(name, args);
  }
  return backend as unknown as WorkflowBackend;
}

/** Calls operation `name` of `backend` with `args`. */
export function callOperation(backend: WorkflowBackend, name: BackendOperation, args: unknown[]): Promise<unknown> {
  return (backend[name] as (...a: unknown[]) => Promise<unknown>).apply(backend, args);
}
