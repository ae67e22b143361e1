/**
 * A backend built on first use, so that start-up (and `tools/list`) never
 * waits for, or pays for, loading a backend's dependencies (the DBOS SDK in
 * system-database mode).
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

/** Wraps a backend factory; the factory runs once, on the first call. */
export class LazyBackend implements WorkflowBackend {
  /** Which backend the factory builds. */
  readonly kind: WorkflowBackend["kind"];
  #factory: () => Promise<WorkflowBackend>;
  #backend: Promise<WorkflowBackend> | undefined;

  /** Creates the wrapper; nothing is built until the first call. */
  constructor(kind: WorkflowBackend["kind"], factory: () => Promise<WorkflowBackend>) {
    this.kind = kind;
    this.#factory = factory;
  }

  #get(): Promise<WorkflowBackend> {
    // A failed build is not cached: the next call tries again.
    this.#backend ??= this.#factory().catch((err) => {
      this.#backend = undefined;
      throw err;
    });
    return this.#backend;
  }

  /** See {@linkcode WorkflowBackend.listApplications}. */
  async listApplications(opts?: CallOptions): Promise<Application[]> {
    return (await this.#get()).listApplications(opts);
  }
  /** See {@linkcode WorkflowBackend.listExecutors}. */
  async listExecutors(app: string, opts?: CallOptions): Promise<Executor[]> {
    return (await this.#get()).listExecutors(app, opts);
  }
  /** See {@linkcode WorkflowBackend.listWorkflows}. */
  async listWorkflows(app: string, filter: ListWorkflowsFilter, opts?: CallOptions): Promise<Workflow[]> {
    return (await this.#get()).listWorkflows(app, filter, opts);
  }
  /** See {@linkcode WorkflowBackend.getWorkflow}. */
  async getWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<Workflow> {
    return (await this.#get()).getWorkflow(app, workflowId, opts);
  }
  /** See {@linkcode WorkflowBackend.listSteps}. */
  async listSteps(app: string, workflowId: string, opts?: CallOptions): Promise<Step[]> {
    return (await this.#get()).listSteps(app, workflowId, opts);
  }
  /** See {@linkcode WorkflowBackend.cancelWorkflow}. */
  async cancelWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<void> {
    return (await this.#get()).cancelWorkflow(app, workflowId, opts);
  }
  /** See {@linkcode WorkflowBackend.resumeWorkflow}. */
  async resumeWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<void> {
    return (await this.#get()).resumeWorkflow(app, workflowId, opts);
  }
  /** See {@linkcode WorkflowBackend.forkWorkflow}. */
  async forkWorkflow(app: string, workflowId: string, fork: ForkOptions, opts?: CallOptions): Promise<string> {
    return (await this.#get()).forkWorkflow(app, workflowId, fork, opts);
  }
  /** Closes the built backend, if it was built. */
  async close(): Promise<void> {
    const built = this.#backend;
    this.#backend = undefined;
    if (built) await (await built.catch(() => undefined))?.close();
  }
}
