/**
 * The interface every backend implements, and the domain shapes it returns.
 * Backends know nothing of MCP: they return plain objects in the shapes of
 * the Conductor contract, and the tools shape them for agents.
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

/** An application known to the backend. Unknown extra fields are kept. */
export interface Application {
  /** Unique id. */
  application_id?: string | null;
  /** Name, used to address the application in every other call. */
  application_name: string;
  /** Organization. */
  org_id?: string | null;
  /** `AVAILABLE` while an executor is connected. */
  status: string;
  /** Language of the application. */
  language?: string | null;
  /** Any other field the backend returned. */
  [key: string]: unknown;
}

/** A running (or recently running) process of an application. */
export interface Executor {
  /** Unique id. */
  executor_id: string;
  /** Application id. */
  application_id?: string | null;
  /** Version of the code the executor runs. */
  application_version?: string | null;
  /** `HEALTHY`, `DISCONNECTED` or `DEAD`. */
  status?: string | null;
  /** Host name. */
  hostname?: string | null;
  /** Epoch ms, as a string. */
  created_at?: string | null;
  /** Epoch ms, as a string. */
  updated_at?: string | null;
  /** Any other field the backend returned. */
  [key: string]: unknown;
}

/** A workflow, in the Conductor contract's shape. Unknown extra fields are kept. */
export interface Workflow {
  /** Workflow id. */
  WorkflowUUID: string;
  /** Status. */
  Status: string;
  /** Name of the workflow function (always present in practice; absent only from a malformed answer). */
  WorkflowName?: string | null;
  /** Any other field (see the contract): optional and possibly null. */
  [key: string]: unknown;
}

/** A step of a workflow. */
export interface Step {
  /** Step id within the workflow (starts at 0 in current SDKs). */
  function_id: number;
  /** Step name. */
  function_name: string;
  /** Output, as printable text. */
  output?: string | null;
  /** Error, as text. */
  error?: string | null;
  /** Child workflow started or awaited by this step. */
  child_workflow_id?: string | null;
  /** Epoch ms, as a string. */
  started_at_epoch_ms?: string | null;
  /** Epoch ms, as a string. */
  completed_at_epoch_ms?: string | null;
  /** Any other field the backend returned. */
  [key: string]: unknown;
}

/** Filters of the list-workflows call, exactly as the Conductor contract names them. */
export interface ListWorkflowsFilter {
  /** Only these workflow ids. */
  workflow_uuids?: string[];
  /** Workflow function name. */
  workflow_name?: string;
  /** User who started the workflow. */
  authenticated_user?: string;
  /** Created at or after (ISO 8601). */
  start_time?: string;
  /** Created at or before (ISO 8601). */
  end_time?: string;
  /** Status. */
  status?: string;
  /** Application version. */
  application_version?: string;
  /** Forked from this workflow id. */
  forked_from?: string;
  /** Queue name. */
  queue_name?: string;
  /** Page size. */
  limit?: number;
  /** Rows to skip. */
  offset?: number;
  /** Newest first. */
  sort_desc?: boolean;
  /** Id prefix. */
  workflow_id_prefix?: string;
  /** Include inputs. */
  load_input?: boolean;
  /** Include outputs. */
  load_output?: boolean;
  /** Executor id. */
  executor_id?: string;
  /** Only workflows that are on a queue. */
  queues_only?: boolean;
}

/** Options of a fork. */
export interface ForkOptions {
  /** The step id to restart from; earlier steps' recorded outputs are reused. */
  start_step: number;
  /** Run the fork on this application version. */
  application_version?: string;
  /** Id for the new workflow. */
  new_workflow_id?: string;
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
  listWorkflows(app: string, filter: ListWorkflowsFilter, opts?: CallOptions): Promise<Workflow[]>;
  /** Gets one workflow; throws `NotFoundError` when it does not exist. */
  getWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<Workflow>;
  /** Lists a workflow's steps. */
  listSteps(app: string, workflowId: string, opts?: CallOptions): Promise<Step[]>;
  /** Cancels a workflow. */
  cancelWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<void>;
  /** Resumes a cancelled or enqueued workflow. */
  resumeWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<void>;
  /** Forks a workflow from a step; returns the new workflow's id. */
  forkWorkflow(app: string, workflowId: string, fork: ForkOptions, opts?: CallOptions): Promise<string>;
  /** Releases resources (connections). */
  close(): Promise<void>;
}
