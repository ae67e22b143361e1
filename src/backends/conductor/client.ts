/**
 * The DBOS Conductor backend: the REST contract of `conductor-api.md`, with
 * bearer auth from a {@linkcode TokenSource}, every path segment
 * percent-encoded, a timeout on every request, bounded retries with backoff
 * for reads only, and answers mapped to typed errors.
 *
 * @module
 */
import type {
  Application,
  CallOptions,
  Executor,
  ForkOptions,
  ListWorkflowsFilter,
  Step,
  Workflow,
  WorkflowBackend,
} from "../backend.ts";
import type { AccessGrant, TokenSource } from "./token_port.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import {
  type DbosMcpError,
  InvalidArgumentError,
  NotFoundError,
  NotLoggedInError,
  UpstreamError,
} from "../../core/errors.ts";
import {
  bodyExcerpt,
  type FetchLike,
  HttpExchangeError,
  httpRequest,
  type HttpResponse,
  parseJsonBody,
} from "../../util/http_client.ts";

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
  /** Conductor API base, e.g. `https://cloud.dbos.dev/conductor/v1alpha1`. */
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
  method: "GET" | "POST";
  /** Path segments after `/api/{org}`; each is percent-encoded. */
  segments: string[];
  /** Append a trailing slash (the list-workflows path has one). */
  trailingSlash?: boolean;
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

  /** Lists the organization's applications. */
  async listApplications(opts?: CallOptions): Promise<Application[]> {
    const res = await this.#send({
      method: "GET",
      segments: ["applications"],
      mutates: false,
      what: "list applications",
      notFound: "Conductor found no applications for this organization.",
    }, opts);
    return this.#array(res, "applications") as Application[];
  }

  /** Lists an application's executors. */
  async listExecutors(app: string, opts?: CallOptions): Promise<Executor[]> {
    const res = await this.#send({
      method: "GET",
      segments: ["applications", pathSegment(app, "application name"), "executors"],
      mutates: false,
      what: `list executors of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "executors") as Executor[];
  }

  /** Lists an application's workflows; the filter is passed through as the body. */
  async listWorkflows(app: string, filter: ListWorkflowsFilter, opts?: CallOptions): Promise<Workflow[]> {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(filter)) {
      if (v === undefined || v === null) continue;
      if (k === "workflow_uuids" && Array.isArray(v) && v.length === 0) continue;
      body[k] = v;
    }
    const res = await this.#send({
      method: "POST",
      segments: ["applications", pathSegment(app, "application name"), "workflows"],
      trailingSlash: true,
      body,
      mutates: false,
      what: `list workflows of application '${app}'`,
      notFound: noApp(app),
    }, opts);
    return this.#array(res, "workflows") as Workflow[];
  }

  /** Gets one workflow. */
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
    return doc as Workflow;
  }

  /** Lists a workflow's steps. */
  async listSteps(app: string, workflowId: string, opts?: CallOptions): Promise<Step[]> {
    const res = await this.#send({
      method: "GET",
      segments: [...workflowPath(app, workflowId), "steps"],
      mutates: false,
      what: `list steps of workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    return this.#array(res, "steps") as Step[];
  }

  /** Cancels a workflow. Sent exactly once. */
  async cancelWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<void> {
    await this.#send({
      method: "POST",
      segments: [...workflowPath(app, workflowId), "cancel"],
      mutates: true,
      what: `cancel workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
  }

  /** Resumes a workflow. Sent exactly once. */
  async resumeWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<void> {
    await this.#send({
      method: "POST",
      segments: [...workflowPath(app, workflowId), "resume"],
      mutates: true,
      what: `resume workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
  }

  /** Forks a workflow from a step; returns the new workflow's id. Sent exactly once. */
  async forkWorkflow(app: string, workflowId: string, fork: ForkOptions, opts?: CallOptions): Promise<string> {
    const body: Record<string, unknown> = { start_step: fork.start_step };
    if (fork.application_version !== undefined) body.application_version = fork.application_version;
    if (fork.new_workflow_id !== undefined) body.new_workflow_id = fork.new_workflow_id;
    const res = await this.#send({
      method: "POST",
      segments: [...workflowPath(app, workflowId), "fork"],
      body,
      mutates: true,
      what: `fork workflow '${workflowId}' of application '${app}'`,
      notFound: noWorkflow(app, workflowId),
    }, opts);
    const doc = parseJsonBody(res, SERVICE);
    const id = isObject(doc) ? (doc.workflow_id ?? doc.new_workflow_id) : undefined;
    if (typeof id !== "string" || id === "") throw unexpected("an object with workflow_id", doc);
    return id;
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #array(res: HttpResponse, what: string): Record<string, unknown>[] {
    const doc = parseJsonBody(res, SERVICE);
    if (!Array.isArray(doc)) throw unexpected(`an array of ${what}`, doc);
    return doc.filter(isObject);
  }

  /** Sends one operation: auth, one refresh on 401/403, bounded retries for reads. */
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
        const fresh = await this.#opts.tokens.refreshAfterRejection(grant.token, opts);
        if (fresh) {
          grant = fresh;
          attempt--; // a rejected request did nothing: re-sending it is not a retry
          continue;
        }
      }
      const err = this.#statusError(op, res);
      if (attempt < attempts && err.retryable) {
        await this.#backoff(attempt, res.headers.get("retry-after"), opts);
        continue;
      }
      throw err;
    }
  }

  #request(op: Operation, grant: AccessGrant, opts?: CallOptions): Promise<HttpResponse> {
    const path = ["api", pathSegment(grant.organization, "organization"), ...op.segments].join("/");
    const url = `${this.#opts.baseUrl}/${path}${op.trailingSlash ? "/" : ""}`;
    return httpRequest({
      service: SERVICE,
      method: op.method,
      url,
      headers: {
        "Authorization": `Bearer ${grant.token}`,
        "Content-Type": "application/json",
        "Accept": "application/json",
      },
      body: op.body === undefined ? undefined : JSON.stringify(op.body),
      timeoutMs: this.#opts.timeoutMs,
      signal: opts?.signal,
      maxBodyBytes: MAX_ANSWER_BYTES,
    }, this.#opts.fetch);
  }

  #statusError(op: Operation, res: HttpResponse): DbosMcpError {
    const detail = res.text.trim() ? `: ${bodyExcerpt(res.text)}` : "";
    const s = res.status;
    if (s === 401 || s === 403) {
      return new NotLoggedInError(
        `DBOS Conductor refused to ${op.what} (HTTP ${s}): the login is missing, expired or not allowed for this organization.`,
      );
    }
    if (s === 404) return new NotFoundError(op.notFound);
    if (s === 429) {
      const after = Number(res.headers.get("retry-after") ?? NaN);
      const wait = Number.isFinite(after) && after >= 0 ? `, asking to wait ${after} s` : "";
      return new UpstreamError(`DBOS Conductor is rate-limiting requests (HTTP 429${wait}) and did not ${op.what}.`, {
        status: s,
        hint: "Wait a little, then try again.",
      });
    }
    if (s >= 500) {
      return new UpstreamError(`DBOS Conductor failed to ${op.what} (HTTP ${s})${detail}.`, {
        status: s,
        retryable: !op.mutates,
        hint: op.mutates
          ? MAYBE_DONE
          : "Try again; if it keeps failing, check the application's executors with list_executors.",
      });
    }
    return new UpstreamError(`DBOS Conductor could not ${op.what} (HTTP ${s})${detail}.`, {
      status: s,
      retryable: false,
      hint: "Workflow operations need an AVAILABLE application: check list_applications and the arguments.",
    });
  }

  #backoff(attempt: number, retryAfter: string | null | undefined, opts?: CallOptions): Promise<void> {
    let ms = this.#opts.backoffMs * 2 ** (attempt - 1);
    const seconds = retryAfter ? Number(retryAfter) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) ms = Math.max(ms, seconds * 1000);
    return this.#opts.clock.sleep(Math.min(ms, 5_000), opts?.signal);
  }
}

function workflowPath(app: string, workflowId: string): string[] {
  return [
    "applications",
    pathSegment(app, "application name"),
    "workflows",
    pathSegment(workflowId, "workflow id"),
  ];
}

function noApp(app: string): string {
  return `No application named '${app}' in this organization. Call list_applications to see the names.`;
}

function noWorkflow(app: string, id: string): string {
  return `No workflow '${id}' in application '${app}' (or no such application). Check the id with list_workflows.`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unexpected(expected: string, got: unknown): UpstreamError {
  const kind = got === null ? "null" : Array.isArray(got) ? "an array" : typeof got;
  return new UpstreamError(`DBOS Conductor answered with ${kind} where ${expected} was expected.`, {
    retryable: false,
    hint: "Check that --conductor-url points at a DBOS Conductor API base (ending in /v1alpha1).",
  });
}
