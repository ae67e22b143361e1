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

/** The time-window filters of {@linkcode WorkflowSearch} (ISO 8601), shared by searches and aggregates. */
export const SEARCH_TIME_FIELDS = [
  "startTime",
  "endTime",
  "completedAfter",
  "completedBefore",
  "dequeuedAfter",
  "dequeuedBefore",
] as const satisfies readonly (keyof WorkflowSearch)[];

/**
 * The values of a list filter without empty strings, or `undefined` when
 * none is left: an empty list is no filter, so it is never sent (the 5.2.11
 * executor turns an empty array into invalid SQL).
 */
export function nonEmptyList(values: readonly string[] | undefined): string[] | undefined {
  const kept = values?.filter((v) => typeof v === "string" && v !== "");
  return kept && kept.length > 0 ? kept : undefined;
}

/** The list filters of `filter` that hold a value (see {@linkcode nonEmptyList}). */
export function searchLists(filter: Pick<WorkflowSearch, SearchListField>): [SearchListField, string[]][] {
  const out: [SearchListField, string[]][] = [];
  for (const key of SEARCH_LIST_FIELDS) {
    const values = nonEmptyList(filter[key]);
    if (values) out.push([key, values]);
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

/** Options of a delete (one workflow or many). */
export interface DeleteOptions {
  /** Delete the workflows' children too. */
  deleteChildren?: boolean;
}

/**
 * Options of a bulk fork from failure: Conductor v2's
 * `bulk-fork-from-failure` body without the ids. Exactly one of the four
 * `from*` modes is set.
 */
export interface ForkFromFailureOptions {
  /** Restart at the last step that recorded an error (else the last step). */
  fromLastFailure?: boolean;
  /** Restart at the last recorded step. */
  fromLastStep?: boolean;
  /** Restart at this step id. */
  fromStep?: number;
  /** Restart at the last step of this name. */
  fromStepName?: string;
  /** Run the forks on this application version. */
  appVersion?: string;
  /** Enqueue the forks on this queue. */
  queueName?: string;
  /** Partition key, with a partitioned queue. */
  queuePartitionKey?: string;
}

/** A past window of a schedule's occurrences (ISO 8601; start inclusive, end exclusive). */
export interface BackfillWindow {
  /** First instant of the window. */
  startTime: string;
  /** End of the window. */
  endTime: string;
}

/** What a backfill must know of a schedule before it asks for runs: its cron and status. */
export interface ScheduleTiming {
  /** Schedule name. */
  scheduleName: string;
  /** Cron expression (5 fields, or 6 with seconds first). */
  cronExpression: string;
  /** IANA time zone of the cron, when not UTC. */
  cronTimezone?: string;
  /** `ACTIVE` or `PAUSED`. */
  status: string;
  /** The workflow it starts. */
  workflowName?: string;
}

/** A page of steps. */
export interface StepPage {
  /** Most steps to return. */
  limit?: number;
  /** Steps to skip. */
  offset?: number;
}

/** A key a workflow published with `setEvent`, and its value: Conductor v2's `Event`. */
export interface WorkflowEvent {
  /** The event key. */
  key: string;
  /** The value, as readable text. */
  value: string;
}

/** A message sent to a workflow: Conductor v2's `Notification`. */
export interface WorkflowNotification {
  /** The topic; absent for the default topic. */
  topic?: string;
  /** The message, as readable text. */
  message: string;
  /** When it was sent (ISO 8601). */
  createdAt?: string;
  /** Whether the workflow has received it. */
  consumed: boolean;
}

/** One stream a workflow wrote: Conductor v2's `StreamEntry`, bounded, with whether it is closed. */
export interface WorkflowStream {
  /** The stream key. */
  key: string;
  /** The first values, in order, as readable text. */
  values: string[];
  /** How many values the stream holds (more than `values` when bounded). */
  valueCount?: number;
  /** Whether the stream was closed (known in system-database mode; absent when unknown). */
  closed?: boolean;
}

/** Options of a streams read. */
export interface StreamsOptions {
  /** Most values to return per stream. */
  maxValues?: number;
}

/**
 * An aggregate query over workflows: Conductor v2's `WorkflowAggregatesBody`
 * (every group-by, select, time bucket and filter). Empty lists are no filter.
 */
export interface WorkflowAggregatesQuery {
  /** Group by status. */
  groupByStatus?: boolean;
  /** Group by workflow name. */
  groupByWorkflowName?: boolean;
  /** Group by queue. */
  groupByQueueName?: boolean;
  /** Group by executor. */
  groupByExecutorId?: boolean;
  /** Group by application version. */
  groupByAppVersion?: boolean;
  /** Group by application name. */
  groupByApplicationName?: boolean;
  /** Count the workflows of each group. */
  selectCount?: boolean;
  /** Earliest creation time of each group. */
  selectMinCreatedAt?: boolean;
  /** Longest wait on a queue (dequeue minus creation) of each group. */
  selectMaxQueueWaitMs?: boolean;
  /** Longest total latency (completion minus creation) of each group. */
  selectMaxTotalLatencyMs?: boolean;
  /** Also group by creation time, in buckets of this many milliseconds. */
  timeBucketSizeMs?: number;
  /** Only workflows a fork was made from (true) or none was (false). */
  wasForkedFrom?: boolean;
  /** Only child workflows (true) or top-level ones (false). */
  hasParent?: boolean;
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
  /** Statuses. */
  status?: string[];
  /** Workflow names. */
  workflowName?: string[];
  /** Application versions. */
  appVersion?: string[];
  /** Executor ids. */
  executorId?: string[];
  /** Queue names. */
  queueName?: string[];
  /** Id prefixes. */
  workflowIdPrefix?: string[];
  /** Workflow ids. */
  workflowIds?: string[];
  /** Users who started the workflows. */
  user?: string[];
  /** Forked from these workflow ids. */
  forkedFrom?: string[];
  /** Children of these workflow ids. */
  parentWorkflowId?: string[];
  /** Started by these schedules. */
  scheduleName?: string[];
}

/** One group of a workflow aggregate: Conductor v2's `WorkflowAggregate`; unselected metrics are absent. */
export interface WorkflowAggregate {
  /** The group's values, by snake_case dimension (`status`, `name`, `queue_name`, ..., `time_bucket`). */
  group: Record<string, string | null>;
  /** Workflows in the group. */
  count?: number;
  /** Earliest creation time (ISO 8601). */
  minCreatedAt?: string;
  /** Longest queue wait, in milliseconds. */
  maxQueueWaitMs?: number;
  /** Longest total latency, in milliseconds. */
  maxTotalLatencyMs?: number;
}

/** An aggregate query over steps: Conductor v2's `StepAggregatesBody`. */
export interface StepAggregatesQuery {
  /** Group by step (function) name. */
  groupByFunctionName?: boolean;
  /** Group by status (`SUCCESS` or `ERROR`). */
  groupByStatus?: boolean;
  /** Count the steps of each group. */
  selectCount?: boolean;
  /** Longest duration of each group. */
  selectMaxDurationMs?: boolean;
  /** Also group by completion time, in buckets of this many milliseconds. */
  timeBucketSizeMs?: number;
  /** Statuses (`SUCCESS`, `ERROR`). */
  status?: string[];
  /** Step names. */
  stepName?: string[];
  /** Workflow id prefixes. */
  workflowIdPrefix?: string[];
  /** Completed at or after (ISO 8601). */
  completedAfter?: string;
  /** Completed at or before (ISO 8601). */
  completedBefore?: string;
}

/** One group of a step aggregate: Conductor v2's `StepAggregate`. */
export interface StepAggregate {
  /** The group's values (`function_name`, `status`, `time_bucket`). */
  group: Record<string, string | null>;
  /** Steps in the group. */
  count?: number;
  /** Longest duration, in milliseconds. */
  maxDurationMs?: number;
}

/** A queue's configuration: Conductor v2's `Queue`; absent limits are left out. */
export interface Queue {
  /** Queue name. */
  name: string;
  /** Most workflows running at once across all workers. */
  concurrency?: number;
  /** Most workflows running at once per worker. */
  workerConcurrency?: number;
  /** Most workflows started per rate-limit period. */
  rateLimitMax?: number;
  /** The rate-limit period, in seconds. */
  rateLimitPeriodSecs?: number;
  /** Whether the queue dispatches by priority. */
  priorityEnabled?: boolean;
  /** Whether the queue is partitioned. */
  partitionQueue?: boolean;
  /** How often workers poll it, in seconds. */
  pollingIntervalSecs?: number;
  /** Application that owns it. */
  applicationName?: string;
  /** Most running at once per partition. */
  partitionConcurrency?: number;
  /** Most running at once per partition and worker. */
  partitionWorkerConcurrency?: number;
  /** Most started per period per partition. */
  partitionRateLimitMax?: number;
  /** The per-partition rate-limit period, in seconds. */
  partitionRateLimitPeriodSecs?: number;
}

/** A workflow schedule: Conductor v2's `Schedule`. */
export interface Schedule {
  /** Unique id. */
  scheduleId: string;
  /** Name, used to address it. */
  scheduleName: string;
  /** The workflow it starts. */
  workflowName: string;
  /** The workflow's class, for class methods. */
  workflowClass?: string;
  /** Cron expression. */
  cronExpression: string;
  /** `ACTIVE` or `PAUSED`. */
  status: string;
  /** The context passed to each run, as readable text (only when loaded). */
  context?: string;
  /** Last time it fired (ISO 8601). */
  lastFiredAt?: string;
  /** Whether missed runs are started when the application comes back. */
  automaticBackfill?: boolean;
  /** Time zone of the cron expression. */
  cronTimezone?: string;
  /** Application that owns it. */
  applicationName?: string;
}

/** Filters of a schedules list (the query of v2's `listSchedules`). */
export interface ScheduleFilter {
  /** Only this status (`ACTIVE`, `PAUSED`). */
  status?: string;
  /** Only schedules of this workflow. */
  workflowName?: string;
  /** Only names starting with this. */
  scheduleNamePrefix?: string;
  /** Include each schedule's context. */
  loadContext?: boolean;
}

/** A registered application version: Conductor v2's `ApplicationVersion`. */
export interface ApplicationVersion {
  /** Unique id. */
  versionId: string;
  /** Version name (as workflows record it in appVersion). */
  versionName: string;
  /** When it became the latest (ISO 8601); the newest is the current version. */
  versionTimestamp?: string;
  /** When it was first registered (ISO 8601). */
  createdAt?: string;
}

/** Options of an export. */
export interface ExportOptions {
  /** Also export the workflow's children (transitively). */
  exportChildren?: boolean;
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
  /** Lists the events a workflow published (`setEvent`), by key. */
  listWorkflowEvents(app: string, workflowId: string, opts?: CallOptions): Promise<WorkflowEvent[]>;
  /** Lists the messages sent to a workflow, oldest first. */
  listWorkflowNotifications(app: string, workflowId: string, opts?: CallOptions): Promise<WorkflowNotification[]>;
  /** Lists the streams a workflow wrote, by key, each bounded to `options.maxValues` values. */
  listWorkflowStreams(
    app: string,
    workflowId: string,
    options?: StreamsOptions,
    opts?: CallOptions,
  ): Promise<WorkflowStream[]>;
  /** Aggregates workflows (counts, times, latencies) by the query's groups, computed where they are stored. */
  getWorkflowAggregates(app: string, query: WorkflowAggregatesQuery, opts?: CallOptions): Promise<WorkflowAggregate[]>;
  /** Aggregates steps by name and status. */
  getStepAggregates(app: string, query: StepAggregatesQuery, opts?: CallOptions): Promise<StepAggregate[]>;
  /** Lists an application's queues (their configuration). */
  listQueues(app: string, opts?: CallOptions): Promise<Queue[]>;
  /** Gets one queue; throws `NotFoundError` when it does not exist. */
  getQueue(app: string, queueName: string, opts?: CallOptions): Promise<Queue>;
  /** Lists an application's schedules, by name. */
  listSchedules(app: string, filter?: ScheduleFilter, opts?: CallOptions): Promise<Schedule[]>;
  /** Gets one schedule (with its context); throws `NotFoundError` when it does not exist. */
  getSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<Schedule>;
  /** Lists the application's registered versions, newest first. */
  listApplicationVersions(app: string, opts?: CallOptions): Promise<ApplicationVersion[]>;
  /** Exports a workflow (optionally with its children) as DBOS's serialized form (base64 of gzipped JSON). */
  exportWorkflow(app: string, workflowId: string, options?: ExportOptions, opts?: CallOptions): Promise<string>;
  /** Cancels a workflow. */
  cancelWorkflow(app: string, workflowId: string, options?: CancelOptions, opts?: CallOptions): Promise<void>;
  /** Resumes a cancelled or enqueued workflow. */
  resumeWorkflow(app: string, workflowId: string, options?: ResumeOptions, opts?: CallOptions): Promise<void>;
  /** Forks a workflow from a step; returns the new workflow's id. */
  forkWorkflow(app: string, workflowId: string, fork: ForkOptions, opts?: CallOptions): Promise<string>;
  /** Deletes a workflow and its history (irreversible). */
  deleteWorkflow(app: string, workflowId: string, options?: DeleteOptions, opts?: CallOptions): Promise<void>;
  /** Cancels many workflows. */
  bulkCancelWorkflows(app: string, workflowIds: string[], options?: CancelOptions, opts?: CallOptions): Promise<void>;
  /** Resumes many workflows. */
  bulkResumeWorkflows(app: string, workflowIds: string[], options?: ResumeOptions, opts?: CallOptions): Promise<void>;
  /** Deletes many workflows and their histories (irreversible). */
  bulkDeleteWorkflows(app: string, workflowIds: string[], options?: DeleteOptions, opts?: CallOptions): Promise<void>;
  /** Forks each workflow from the step its mode picks; returns the new workflows' ids. */
  forkFromFailure(
    app: string,
    workflowIds: string[],
    options: ForkFromFailureOptions,
    opts?: CallOptions,
  ): Promise<string[]>;
  /** A schedule's cron and status; throws `NotFoundError` when it does not exist. */
  scheduleTiming(app: string, scheduleName: string, opts?: CallOptions): Promise<ScheduleTiming>;
  /** Pauses a schedule. */
  pauseSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<void>;
  /** Resumes a paused schedule. */
  resumeSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<void>;
  /** Runs a schedule's workflow now; returns its id. */
  triggerSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<string>;
  /** Starts one workflow per occurrence of a schedule in a past window; returns their ids. */
  backfillSchedule(app: string, scheduleName: string, window: BackfillWindow, opts?: CallOptions): Promise<string[]>;
  /** Makes a version the application's latest (the one resume and recovery use). */
  setLatestApplicationVersion(app: string, versionName: string, opts?: CallOptions): Promise<void>;
  /** Imports a workflow exported from another application (its steps included). */
  importWorkflow(app: string, serializedWorkflow: string, opts?: CallOptions): Promise<void>;
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
  listWorkflowEvents: { mutates: false, what: "list a workflow's events" },
  listWorkflowNotifications: { mutates: false, what: "list a workflow's notifications" },
  listWorkflowStreams: { mutates: false, what: "list a workflow's streams" },
  getWorkflowAggregates: { mutates: false, what: "aggregate workflows" },
  getStepAggregates: { mutates: false, what: "aggregate steps" },
  listQueues: { mutates: false, what: "list queues" },
  getQueue: { mutates: false, what: "get a queue" },
  listSchedules: { mutates: false, what: "list schedules" },
  getSchedule: { mutates: false, what: "get a schedule" },
  listApplicationVersions: { mutates: false, what: "list application versions" },
  exportWorkflow: { mutates: false, what: "export a workflow" },
  cancelWorkflow: { mutates: true, what: "cancel a workflow" },
  resumeWorkflow: { mutates: true, what: "resume a workflow" },
  forkWorkflow: { mutates: true, what: "fork a workflow" },
  deleteWorkflow: { mutates: true, what: "delete a workflow" },
  bulkCancelWorkflows: { mutates: true, what: "cancel workflows" },
  bulkResumeWorkflows: { mutates: true, what: "resume workflows" },
  bulkDeleteWorkflows: { mutates: true, what: "delete workflows" },
  forkFromFailure: { mutates: true, what: "fork workflows from their failures" },
  scheduleTiming: { mutates: false, what: "read a schedule" },
  pauseSchedule: { mutates: true, what: "pause a schedule" },
  resumeSchedule: { mutates: true, what: "resume a schedule" },
  triggerSchedule: { mutates: true, what: "trigger a schedule" },
  backfillSchedule: { mutates: true, what: "backfill a schedule" },
  setLatestApplicationVersion: { mutates: true, what: "set the latest application version" },
  importWorkflow: { mutates: true, what: "import a workflow" },
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
