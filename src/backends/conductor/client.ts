/**
 * The DBOS Conductor backend: Conductor API v2 (`conductor-v2.md` section 3),
 * `{conductor-url}/v2/orgs/{org}/apps/{app}/...`, with bearer auth from a
 * {@linkcode TokenSource}, every path segment percent-encoded, camelCase
 * bodies holding only what the spec lists, a timeout on every request,
 * bounded retries with backoff for reads only, and RFC 9457 problem details
 * turned into errors that say what to do.
 *
 * @module
 */
import type {
  Application,
  BackfillWindow,
  CallOptions,
  CancelOptions,
  DeleteOptions,
  Executor,
  ForkFromFailureOptions,
  ForkOptions,
  ResumeOptions,
  ScheduleTiming,
  Step,
  StepPage,
  Workflow,
  WorkflowBackend,
  WorkflowSearch,
} from "../backend.ts";
import { SEARCH_TIME_FIELDS, searchLists } from "../backend.ts";
import type {
  ApplicationVersion,
  ExportOptions,
  Queue,
  Schedule,
  ScheduleFilter,
  StepAggregate,
  StepAggregatesQuery,
  StreamsOptions,
  WorkflowAggregate,
  WorkflowAggregatesQuery,
  WorkflowEvent,
  WorkflowNotification,
  WorkflowStream,
} from "../backend.ts";
import {
  eventOf,
  notificationOf,
  queueOf,
  scheduleOf,
  stepAggregateOf,
  stepAggregatesBody,
  streamOf,
  versionOf,
  workflowAggregateOf,
  workflowAggregatesBody,
} from "./_reads.ts";
import { type AccessGrant, authorizationHeader, type TokenSource } from "./token_port.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import { type DbosMcpError, InvalidArgumentError, NotFoundError, UpstreamError } from "../../core/errors.ts";
import {
  type FetchLike,
  HttpExchangeError,
  httpRequest,
  type HttpResponse,
  parseJsonBody,
} from "../../util/http_client.ts";
import { problemError } from "./_problem.ts";

const SERVICE = "DBOS Conductor";
/**
 * The most of one Conductor answer this server reads (64 MiB): the server cannot bound what Conductor
 * sends (a workflow's whole input and output), but it stops reading past this instead of holding it all.
 */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
const MAYBE_DONE =
  "The request may or may not have taken effect: check the workflow with get_workflow before trying again.";

/** Options of {@linkcode ConductorBackend}. */
export interface ConductorBackendOptions {
  /**
   * Conductor API base, without `/v2`: `https://cloud.dbos.dev/conductor`
   * (DBOS Cloud), `http://HOST:8090` (self-hosted), or any reverse-proxy prefix.
   */
  baseUrl: string;
  /** Where access tokens come from. */
  tokens: TokenSource;
  /** Time limit of each request, in milliseconds. */
  timeoutMs: number;
  /**
   * How many times a failed read is tried again (mutations never are).
   * @default {2}
   */
  readRetries?: number;
  /**
   * First backoff delay in milliseconds; doubles on each retry.
   * @default {250}
   */
  backoffMs?: number;
  /** Clock for backoff delays. */
  clock?: Clock;
  /** `fetch` to use. */
  fetch?: FetchLike;
}

interface Operation {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Path segments after `/v2/orgs/{org}`, already percent-encoded. */
  segments: string[];
  /** Query parameters (only those set are sent). */
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  mutates: boolean;
  /** Describes the operation for error messages ("list workflows of application 'x'"). */
  what: string;
  /** Message when Conductor answers 404. */
  notFound: string;
}

/** Percent-encodes one path segment; refuses values that cannot be one segment. */
export function pathSegment(value: string, label: string): string {
  if (value === "" || value === "." || value === "..") {
    throw new InvalidArgumentError(
      `The ${label} ${JSON.stringify(value)} cannot be used: it must be a non-empty id other than "." or "..".`,
    );
  }
  if (!value.isWellFormed()) {
    // encodeURIComponent would throw a bare URIError on a lone UTF-16 surrogate.
    throw new InvalidArgumentError(
      `The ${label} ${JSON.stringify(value.slice(0, 100))} cannot be used: it holds an unpaired UTF-16 surrogate, ` +
        "which no URL can carry.",
      { hint: `Pass the ${label} exactly as the server listed it.` },
    );
  }
  return encodeURIComponent(value);
}

/** The other fields of `WorkflowSearchBody` this server sends. */
const SEARCH_SCALARS = [
  ...SEARCH_TIME_FIELDS,
  "limit",
  "offset",
  "sortDesc",
  "loadInput",
  "loadOutput",
  "queuesOnly",
  "wasForkedFrom",
  "hasParent",
] as const;

/**
 * The `WorkflowSearchBody` of a filter: only the spec's fields, a list
 * filter only when it holds a non-empty value (an empty array is never sent:
 * the 5.2.11 executor turns `[]` into invalid SQL), scalars only when set.
 */
export function searchBody(filter: WorkflowSearch): Record<string, unknown> {
  const body: Record<string, unknown> = Object.fromEntries(searchLists(filter));
  for (const key of SEARCH_SCALARS) {
    const value = filter[key];
    if (value !== undefined && value !== null) body[key] = value;
  }
  return body;
}

/** Maps a request location of a 422 (`body.workflowName`) back to the tool argument it came from. */
function argumentOf(location: string): string | undefined {
  const field = location.replace(/^(body|query|path)\./, "").replace(/\[\d+\]$/, "").split(".")[0];
  const names: Record<string, string> = {
    workflowIds: "workflow_ids",
    user: "authenticated_user",
    appVersion: "application_version",
    startStep: "start_step",
    newWorkflowId: "new_workflow_id",
    workflowId: "workflow_id",
    appName: "application_name",
  };
  return names[field] ?? (field ? field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : undefined);
}

/**
 * Talks to DBOS Conductor over its REST API.
 *
 * @example
 * ```ts ignore
 * const backend = new ConductorBackend({ baseUrl, tokens: session, timeoutMs: 30_000 });
 * const apps = await backend.listApplications();
 * ```
 */
export class ConductorBackend implements WorkflowBackend {
  /** Always `"conductor"`. */
  readonly kind = "conductor" as const;
  #opts: Required<Omit<ConductorBackendOptions, "fetch">> & { fetch?: FetchLike };

  /** Creates the backend; nothing is sent until the first call. */
  constructor(options: ConductorBackendOptions) {
    this.#opts = {
      readRetries: 2,
      backoffMs: 250,
      clock: systemClock,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
    };
  }

  /** Lists the organization's applications (`GET /v2/orgs/{org}/apps`). */
  async listApplications(opts?: CallOptions): Promise<Application[]> {
    const res = await this.#send({
      method: "GET",
      segments: ["apps"],
      mutates: false,
      what: "list applications",
      notFound: "Conductor found no such organization: check --org (or the login's organization).",
    }, opts);
    return this.#array(res, "applications") as Application[];
  }

  /** Lists an application's executors (`GET A/executors`). */
  async listExecutors(app: string, opts?: CallOptions): Promise<Executor[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...appPath(app), "executors"],
      mutates: false,
      what: `list executors of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "executors") as Executor[];
  }

  /** Lists an application's workflows (`POST A/workflows/search` with a `WorkflowSearchBody`). */
  async listWorkflows(app: string, filter: WorkflowSearch, opts?: CallOptions): Promise<Workflow[]> {
    const res = await this.#send({
      method: "POST",
      segments: [...appPath(app), "workflows", "search"],
      body: searchBody(filter),
      mutates: false,
      what: `list workflows of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "workflows") as Workflow[];
  }

  /** Gets one workflow (`GET A/workflows/{id}`). */
  async getWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<Workflow> {
    const res = await this.#send({
      method: "GET",
      segments: workflowPath(app, workflowId),
      mutates: false,
      what: `get workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    const doc = parseJsonBody(res, SERVICE);
    if (!isObject(doc)) {
      if (doc === null) throw new NotFoundError(noWorkflow(app, workflowId));
      throw unexpected("a workflow", doc);
    }
    return withoutSchema(doc) as Workflow;
  }

  /** Lists a workflow's steps (`GET A/workflows/{id}/steps`, with `limit` and `offset`). */
  async listSteps(app: string, workflowId: string, page: StepPage = {}, opts?: CallOptions): Promise<Step[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...workflowPath(app, workflowId), "steps"],
      query: { limit: page.limit, offset: page.offset },
      mutates: false,
      what: `list steps of workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    return this.#array(res, "steps") as Step[];
  }

  /** Lists a workflow's events (`GET A/workflows/{id}/events`). */
  async listWorkflowEvents(app: string, workflowId: string, opts?: CallOptions): Promise<WorkflowEvent[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...workflowPath(app, workflowId), "events"],
      mutates: false,
      what: `list the events of workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    return this.#array(res, "events").map(eventOf);
  }

  /** Lists a workflow's notifications (`GET A/workflows/{id}/notifications`). */
  async listWorkflowNotifications(
    app: string,
    workflowId: string,
    opts?: CallOptions,
  ): Promise<WorkflowNotification[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...workflowPath(app, workflowId), "notifications"],
      mutates: false,
      what: `list the notifications of workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    return this.#array(res, "notifications").map(notificationOf);
  }

  /** Lists a workflow's streams (`GET A/workflows/{id}/streams`), each cut to `options.maxValues` values. */
  async listWorkflowStreams(
    app: string,
    workflowId: string,
    options: StreamsOptions = {},
    opts?: CallOptions,
  ): Promise<WorkflowStream[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...workflowPath(app, workflowId), "streams"],
      mutates: false,
      what: `list the streams of workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    return this.#array(res, "streams").map((d) => streamOf(d, options.maxValues));
  }

  /** Aggregates workflows (`POST A/workflows/aggregates` with a `WorkflowAggregatesBody`). */
  async getWorkflowAggregates(
    app: string,
    query: WorkflowAggregatesQuery,
    opts?: CallOptions,
  ): Promise<WorkflowAggregate[]> {
    const res = await this.#send({
      method: "POST",
      segments: [...appPath(app), "workflows", "aggregates"],
      body: workflowAggregatesBody(query),
      mutates: false,
      what: `aggregate the workflows of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "workflow aggregates").map(workflowAggregateOf);
  }

  /** Aggregates steps (`POST A/steps/aggregates` with a `StepAggregatesBody`). */
  async getStepAggregates(app: string, query: StepAggregatesQuery, opts?: CallOptions): Promise<StepAggregate[]> {
    const res = await this.#send({
      method: "POST",
      segments: [...appPath(app), "steps", "aggregates"],
      body: stepAggregatesBody(query),
      mutates: false,
      what: `aggregate the steps of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "step aggregates").map(stepAggregateOf);
  }

  /** Lists an application's queues (`GET A/queues`). */
  async listQueues(app: string, opts?: CallOptions): Promise<Queue[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...appPath(app), "queues"],
      mutates: false,
      what: `list the queues of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "queues").map(queueOf);
  }

  /** Gets one queue (`GET A/queues/{name}`). */
  async getQueue(app: string, queueName: string, opts?: CallOptions): Promise<Queue> {
    const res = await this.#send({
      method: "GET",
      segments: [...appPath(app), "queues", pathSegment(queueName, "queue name")],
      mutates: false,
      what: `get queue '${queueName}' of application '${app}'`,
      notFound: noQueue(app, queueName),
    }, opts);
    return queueOf(this.#object(res, "a queue", noQueue(app, queueName)));
  }

  /** Lists an application's schedules (`GET A/schedules?status&workflowName&scheduleNamePrefix&loadContext`). */
  async listSchedules(app: string, filter: ScheduleFilter = {}, opts?: CallOptions): Promise<Schedule[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...appPath(app), "schedules"],
      query: {
        status: filter.status || undefined,
        workflowName: filter.workflowName || undefined,
        scheduleNamePrefix: filter.scheduleNamePrefix || undefined,
        loadContext: filter.loadContext,
      },
      mutates: false,
      what: `list the schedules of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "schedules").map(scheduleOf);
  }

  /** Gets one schedule (`GET A/schedules/{name}`). */
  async getSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<Schedule> {
    const res = await this.#send({
      method: "GET",
      segments: [...appPath(app), "schedules", pathSegment(scheduleName, "schedule name")],
      mutates: false,
      what: `get schedule '${scheduleName}' of application '${app}'`,
      notFound: noSchedule(app, scheduleName),
    }, opts);
    return scheduleOf(this.#object(res, "a schedule", noSchedule(app, scheduleName)));
  }

  /** Lists an application's versions (`GET A/versions`). */
  async listApplicationVersions(app: string, opts?: CallOptions): Promise<ApplicationVersion[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...appPath(app), "versions"],
      mutates: false,
      what: `list the versions of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "application versions").map(versionOf);
  }

  /** Exports a workflow (`GET A/workflows/{id}/export?exportChildren`); returns `serializedWorkflow`. */
  async exportWorkflow(
    app: string,
    workflowId: string,
    options: ExportOptions = {},
    opts?: CallOptions,
  ): Promise<string> {
    const res = await this.#send({
      method: "GET",
      segments: [...workflowPath(app, workflowId), "export"],
      query: { exportChildren: options.exportChildren ? true : undefined },
      mutates: false,
      what: `export workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    const doc = this.#object(res, "an object with serializedWorkflow", noWorkflow(app, workflowId));
    if (typeof doc.serializedWorkflow !== "string") throw unexpected("an object with serializedWorkflow", doc);
    return doc.serializedWorkflow;
  }

  #object(res: HttpResponse, what: string, notFound: string): Record<string, unknown> {
    const doc = parseJsonBody(res, SERVICE);
    if (!isObject(doc)) {
      if (doc === null) throw new NotFoundError(notFound);
      throw unexpected(what, doc);
    }
    return withoutSchema(doc);
  }

  /** Cancels a workflow (`POST A/workflows/{id}/cancel`). Sent exactly once. */
  async cancelWorkflow(
    app: string,
    workflowId: string,
    options: CancelOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    await this.#send({
      method: "POST",
      segments: [...workflowPath(app, workflowId), "cancel"],
      body: { cancelChildren: options.cancelChildren ?? false },
      mutates: true,
      what: `cancel workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
  }

  /** Resumes a workflow (`POST A/workflows/{id}/resume`). Sent exactly once. */
  async resumeWorkflow(
    app: string,
    workflowId: string,
    options: ResumeOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    await this.#send({
      method: "POST",
      segments: [...workflowPath(app, workflowId), "resume"],
      body: options.queueName !== undefined ? { queueName: options.queueName } : {},
      mutates: true,
      what: `resume workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
  }

  /** Forks a workflow from a step (`POST A/workflows/{id}/fork`); returns the new workflow's id. Sent exactly once. */
  async forkWorkflow(app: string, workflowId: string, fork: ForkOptions, opts?: CallOptions): Promise<string> {
    const body: Record<string, unknown> = { startStep: fork.startStep };
    for (const key of ["appVersion", "newWorkflowId", "queueName", "queuePartitionKey"] as const) {
      if (fork[key] !== undefined) body[key] = fork[key];
    }
    const res = await this.#send({
      method: "POST",
      segments: [...workflowPath(app, workflowId), "fork"],
      body,
      mutates: true,
      what: `fork workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    const doc = parseJsonBody(res, SERVICE);
    const id = isObject(doc) ? doc.workflowId : undefined;
    if (typeof id !== "string" || id === "") throw unexpected("an object with workflowId", doc);
    return id;
  }

  /** Deletes a workflow (`DELETE A/workflows/{id}`, `deleteChildren=true` only when asked). Sent exactly once. */
  async deleteWorkflow(
    app: string,
    workflowId: string,
    options: DeleteOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    await this.#send({
      method: "DELETE",
      segments: workflowPath(app, workflowId),
      query: { deleteChildren: options.deleteChildren ? true : undefined },
      mutates: true,
      what: `delete workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
  }

  /** Cancels workflows (`POST A/workflows/bulk-cancel`, both fields always sent). Sent exactly once. */
  async bulkCancelWorkflows(
    app: string,
    workflowIds: string[],
    options: CancelOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    await this.#send({
      method: "POST",
      segments: [...appPath(app), "workflows", "bulk-cancel"],
      body: { workflowIds, cancelChildren: options.cancelChildren ?? false },
      mutates: true,
      what: `cancel ${workflowIds.length} workflows of application '${app}'`,
      notFound: noApp(app),
    }, opts);
  }

  /** Resumes workflows (`POST A/workflows/bulk-resume`). Sent exactly once. */
  async bulkResumeWorkflows(
    app: string,
    workflowIds: string[],
    options: ResumeOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const body: Record<string, unknown> = { workflowIds };
    if (options.queueName !== undefined) body.queueName = options.queueName;
    await this.#send({
      method: "POST",
      segments: [...appPath(app), "workflows", "bulk-resume"],
      body,
      mutates: true,
      what: `resume ${workflowIds.length} workflows of application '${app}'`,
      notFound: noApp(app),
    }, opts);
  }

  /** Deletes workflows (`POST A/workflows/bulk-delete`, both fields always sent). Sent exactly once. */
  async bulkDeleteWorkflows(
    app: string,
    workflowIds: string[],
    options: DeleteOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    await this.#send({
      method: "POST",
      segments: [...appPath(app), "workflows", "bulk-delete"],
      body: { workflowIds, deleteChildren: options.deleteChildren ?? false },
      mutates: true,
      what: `delete ${workflowIds.length} workflows of application '${app}'`,
      notFound: noApp(app),
    }, opts);
  }

  /**
   * Forks workflows from their failures (`POST A/workflows/bulk-fork-from-failure`;
   * `fromLastFailure`/`fromLastStep` only when true); returns the new ids. Sent exactly once.
   */
  async forkFromFailure(
    app: string,
    workflowIds: string[],
    options: ForkFromFailureOptions,
    opts?: CallOptions,
  ): Promise<string[]> {
    const body: Record<string, unknown> = { workflowIds };
    for (const key of ["appVersion", "queueName", "queuePartitionKey", "fromStep", "fromStepName"] as const) {
      if (options[key] !== undefined) body[key] = options[key];
    }
    if (options.fromLastFailure) body.fromLastFailure = true;
    if (options.fromLastStep) body.fromLastStep = true;
    const res = await this.#send({
      method: "POST",
      segments: [...appPath(app), "workflows", "bulk-fork-from-failure"],
      body,
      mutates: true,
      what: `fork ${workflowIds.length} workflows of application '${app}' from their failures`,
      notFound: noApp(app),
    }, opts);
    return idList(parseJsonBody(res, SERVICE));
  }

  /** A schedule's cron and status (`GET A/schedules/{name}`). */
  async scheduleTiming(app: string, scheduleName: string, opts?: CallOptions): Promise<ScheduleTiming> {
    const res = await this.#send({
      method: "GET",
      segments: schedulePath(app, scheduleName),
      mutates: false,
      what: `get schedule '${scheduleName}' of application '${app}'`,
      notFound: noSchedule(app, scheduleName),
    }, opts);
    const doc = parseJsonBody(res, SERVICE);
    if (!isObject(doc) || typeof doc.cronExpression !== "string") throw unexpected("a schedule", doc);
    const timing: ScheduleTiming = {
      scheduleName: typeof doc.scheduleName === "string" ? doc.scheduleName : scheduleName,
      cronExpression: doc.cronExpression,
      status: typeof doc.status === "string" ? doc.status : "UNKNOWN",
    };
    if (typeof doc.cronTimezone === "string" && doc.cronTimezone !== "") timing.cronTimezone = doc.cronTimezone;
    if (typeof doc.workflowName === "string") timing.workflowName = doc.workflowName;
    return timing;
  }

  /** Pauses a schedule (`POST A/schedules/{name}/pause`, no body). Sent exactly once. */
  async pauseSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<void> {
    await this.#scheduleAction(app, scheduleName, "pause", opts);
  }

  /** Resumes a schedule (`POST A/schedules/{name}/resume`, no body). Sent exactly once. */
  async resumeSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<void> {
    await this.#scheduleAction(app, scheduleName, "resume", opts);
  }

  /** Runs a schedule's workflow now (`POST A/schedules/{name}/trigger`); returns its id. Sent exactly once. */
  async triggerSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<string> {
    const res = await this.#scheduleAction(app, scheduleName, "trigger", opts);
    const doc = parseJsonBody(res, SERVICE);
    const id = isObject(doc) ? doc.workflowId : undefined;
    if (typeof id !== "string" || id === "") throw unexpected("an object with workflowId", doc);
    return id;
  }

  /** Backfills a schedule (`POST A/schedules/{name}/backfill` `{startTime, endTime}`); returns the ids. Sent exactly once. */
  async backfillSchedule(
    app: string,
    scheduleName: string,
    window: BackfillWindow,
    opts?: CallOptions,
  ): Promise<string[]> {
    const res = await this.#send({
      method: "POST",
      segments: [...schedulePath(app, scheduleName), "backfill"],
      body: { startTime: window.startTime, endTime: window.endTime },
      mutates: true,
      what: `backfill schedule '${scheduleName}' of application '${app}'`,
      notFound: noSchedule(app, scheduleName),
    }, opts);
    return idList(parseJsonBody(res, SERVICE));
  }

  /** Sets the latest version (`PATCH A/versions/latest` `{versionName}`). Sent exactly once. */
  async setLatestApplicationVersion(app: string, versionName: string, opts?: CallOptions): Promise<void> {
    await this.#send({
      method: "PATCH",
      segments: [...appPath(app), "versions", "latest"],
      body: { versionName },
      mutates: true,
      what: `set the latest version of application '${app}' to '${versionName}'`,
      notFound: `No application '${app}' or no version '${versionName}' of it. Check the names.`,
    }, opts);
  }

  /** Imports an exported workflow (`POST A/workflows/import` `{serializedWorkflow}`). Sent exactly once. */
  async importWorkflow(app: string, serializedWorkflow: string, opts?: CallOptions): Promise<void> {
    await this.#send({
      method: "POST",
      segments: [...appPath(app), "workflows", "import"],
      body: { serializedWorkflow },
      mutates: true,
      what: `import a workflow into application '${app}'`,
      notFound: noApp(app),
    }, opts);
  }

  #scheduleAction(
    app: string,
    scheduleName: string,
    action: "pause" | "resume" | "trigger",
    opts?: CallOptions,
  ): Promise<HttpResponse> {
    return this.#send({
      method: "POST",
      segments: [...schedulePath(app, scheduleName), action],
      mutates: true,
      what: `${action} schedule '${scheduleName}' of application '${app}'`,
      notFound: noSchedule(app, scheduleName),
    }, opts);
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #array(res: HttpResponse, what: string): Record<string, unknown>[] {
    const doc = parseJsonBody(res, SERVICE);
    if (!Array.isArray(doc)) throw unexpected(`an array of ${what}`, doc);
    return doc.filter(isObject).map(withoutSchema);
  }

  /**
   * Sends one operation: auth; on a 401 or 403, the token source is asked
   * once for fresh credentials (it may instead throw an error that says what
   * to change, e.g. an API key's scope); bounded retries for reads.
   */
  async #send(op: Operation, opts?: CallOptions): Promise<HttpResponse> {
    let grant = await this.#opts.tokens.getAccess(opts);
    let refreshed = false;
    const attempts = op.mutates ? 1 : 1 + this.#opts.readRetries;
    for (let attempt = 1;; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.#request(op, grant, opts);
      } catch (err) {
        // Network failures: a mutation may have reached Conductor, so it is never re-sent, and the agent is told.
        if (op.mutates && err instanceof HttpExchangeError && err.mayHaveArrived) {
          const code = err.code === "TIMEOUT" ? "TIMEOUT" : "NETWORK";
          throw new UpstreamError(err.message, { code, retryable: false, hint: MAYBE_DONE, cause: err });
        }
        if (attempt < attempts && err instanceof UpstreamError && err.code === "NETWORK" && err.retryable) {
          await this.#backoff(attempt, undefined, opts);
          continue;
        }
        throw err;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if ((res.status === 401 || res.status === 403) && !refreshed) {
        refreshed = true;
        const fresh = await this.#opts.tokens.refreshAfterRejection(grant.token, { ...opts, status: res.status });
        if (fresh) {
          grant = fresh;
          attempt--; // a rejected request did nothing: re-sending it is not a retry
          continue;
        }
      }
      const err = this.#statusError(op, res, grant);
      if (attempt < attempts && err.retryable) {
        await this.#backoff(attempt, res.headers.get("retry-after"), opts);
        continue;
      }
      throw err;
    }
  }

  #request(op: Operation, grant: AccessGrant, opts?: CallOptions): Promise<HttpResponse> {
    const path = ["v2", "orgs", pathSegment(grant.organization, "organization"), ...op.segments].join("/");
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(op.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const qs = query.size > 0 ? `?${query}` : "";
    const headers: Record<string, string> = { "Accept": "application/json, application/problem+json" };
    Object.assign(headers, authorizationHeader(grant));
    if (op.body !== undefined) headers["Content-Type"] = "application/json";
    return httpRequest({
      service: SERVICE,
      method: op.method,
      url: `${this.#opts.baseUrl}/${path}${qs}`,
      headers,
      body: op.body === undefined ? undefined : JSON.stringify(op.body),
      timeoutMs: this.#opts.timeoutMs,
      signal: opts?.signal,
      maxBodyBytes: MAX_ANSWER_BYTES,
    }, this.#opts.fetch);
  }

  #statusError(op: Operation, res: HttpResponse, grant: AccessGrant): DbosMcpError {
    return problemError(res, {
      what: op.what,
      mutates: op.mutates,
      notFound: op.notFound,
      credential: grant.token === null ? "none" : "login",
      argumentOf,
    });
  }

  #backoff(attempt: number, retryAfter: string | null | undefined, opts?: CallOptions): Promise<void> {
    let ms = this.#opts.backoffMs * 2 ** (attempt - 1);
    const seconds = retryAfter ? Number(retryAfter) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) ms = Math.max(ms, seconds * 1000);
    return this.#opts.clock.sleep(Math.min(ms, 5_000), opts?.signal);
  }
}

function appPath(app: string): string[] {
  return ["apps", pathSegment(app, "application name")];
}

function workflowPath(app: string, workflowId: string): string[] {
  return [...appPath(app), "workflows", pathSegment(workflowId, "workflow id")];
}

function schedulePath(app: string, scheduleName: string): string[] {
  return [...appPath(app), "schedules", pathSegment(scheduleName, "schedule name")];
}

/** The `workflowIds` of a `{workflowIds: string[]}` answer. */
function idList(doc: unknown): string[] {
  const ids = isObject(doc) ? doc.workflowIds : undefined;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
    throw unexpected("an object with workflowIds", doc);
  }
  return ids;
}

/** An answer object without the `$schema` key the v2 API adds to single objects. */
function withoutSchema(doc: Record<string, unknown>): Record<string, unknown> {
  if (!("$schema" in doc)) return doc;
  const { $schema: _ignored, ...rest } = doc;
  return rest;
}

function noApp(app: string): string {
  return `No application named '${app}' in this organization. Call list_applications to see the names.`;
}

function noWorkflow(app: string, id: string): string {
  return `No workflow '${id}' in application '${app}' (or no such application). Check the id with list_workflows.`;
}

function noQueue(app: string, name: string): string {
  return `No queue '${name}' in application '${app}' (or no such application). Call list_queues to see the names.`;
}

function noSchedule(app: string, name: string): string {
  return `No schedule '${name}' in application '${app}' (or no such application). Call list_schedules to see the names.`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unexpected(expected: string, got: unknown): UpstreamError {
  const kind = got === null ? "null" : Array.isArray(got) ? "an array" : typeof got;
  return new UpstreamError(`DBOS Conductor answered with ${kind} where ${expected} was expected.`, {
    retryable: false,
    hint:
      "Check that --conductor-url points at a DBOS Conductor API base (e.g. https://cloud.dbos.dev/conductor, or http://HOST:8090 self-hosted), without /v2.",
  });
}
