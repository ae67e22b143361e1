/**
 * The backend-level wall of read-only mode: reads pass through, every
 * mutation is refused before anything is sent. The tool registry already
 * hides and refuses mutating tools; this catches anything that reaches a
 * backend another way (a plugin, a bug).
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
} from "./backend.ts";
import { DbosMcpError } from "../core/errors.ts";

/** Thrown when something tries to mutate through a read-only backend. */
export class ReadOnlyError extends DbosMcpError {
  /** Creates the error for `operation` (e.g. "cancel workflow"). */
  constructor(operation: string) {
    super(`Cannot ${operation}: this server runs in read-only mode, which refuses every change to workflows.`, {
      code: "POLICY",
      hint: "Ask an operator to do it, or run a server without --read-only / --production.",
    });
    this.name = "ReadOnlyError";
  }
}

/** Wraps `backend` so that reads pass and mutations throw {@linkcode ReadOnlyError}. */
export class ReadOnlyBackend implements WorkflowBackend {
  /** The wrapped backend's kind. */
  readonly kind: WorkflowBackend["kind"];
  #inner: WorkflowBackend;

  /** Wraps `inner`. */
  constructor(inner: WorkflowBackend) {
    this.#inner = inner;
    this.kind = inner.kind;
  }

  /** Passes through. */
  listApplications(opts?: CallOptions): Promise<Application[]> {
    return this.#inner.listApplications(opts);
  }
  /** Passes through. */
  listExecutors(app: string, opts?: CallOptions): Promise<Executor[]> {
    return this.#inner.listExecutors(app, opts);
  }
  /** Passes through. */
  listWorkflows(app: string, filter: ListWorkflowsFilter, opts?: CallOptions): Promise<Workflow[]> {
    return this.#inner.listWorkflows(app, filter, opts);
  }
  /** Passes through. */
  getWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<Workflow> {
    return this.#inner.getWorkflow(app, workflowId, opts);
  }
  /** Passes through. */
  listSteps(app: string, workflowId: string, opts?: CallOptions): Promise<Step[]> {
    return this.#inner.listSteps(app, workflowId, opts);
  }
  /** Refuses. */
  cancelWorkflow(_app: string, _workflowId: string, _opts?: CallOptions): Promise<void> {
    return Promise.reject(new ReadOnlyError("cancel a workflow"));
  }
  /** Refuses. */
  resumeWorkflow(_app: string, _workflowId: string, _opts?: CallOptions): Promise<void> {
    return Promise.reject(new ReadOnlyError("resume a workflow"));
  }
  /** Refuses. */
  forkWorkflow(_app: string, _workflowId: string, _fork: ForkOptions, _opts?: CallOptions): Promise<string> {
    return Promise.reject(new ReadOnlyError("fork a workflow"));
  }
  /** Closes the wrapped backend. */
  close(): Promise<void> {
    return this.#inner.close();
  }
}
