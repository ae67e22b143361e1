/**
 * The system-database backend: the same tools for self-hosted DBOS
 * applications without Conductor, reading and steering workflows in each
 * application's DBOS system database (Postgres) directly.
 *
 * Workflow operations go through the official DBOS client (`DBOSClient` of
 * `@dbos-inc/dbos-sdk`), so cancel, resume and fork mean exactly what DBOS
 * means. Plain SQL is used only for what the client lacks, on documented
 * tables: the schema's presence and version (`dbos_migrations`) and the
 * executors derived from `workflow_status`.
 *
 * The server imports this module lazily, on the first call in
 * system-database mode: it loads the DBOS SDK, which reads environment
 * variables as soon as it is imported.
 *
 * @module
 */
import { type DBOSClient, DbosErrors } from "./_npm.ts";
import type { Config } from "../../config/mod.ts";
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
import type { LogFn } from "../../util/log.ts";
import { SecretSet } from "../../core/secrets.ts";
import {
  type DbosMcpError,
  errorMessage,
  InvalidArgumentError,
  isNotCapable,
  NotFoundError,
} from "../../core/errors.ts";
import { CLIENT_SCHEMA_VERSION, type Probe, SystemDatabase, withRetryBudget } from "./_database.ts";
import { type DatabaseLabel, describeDatabaseError, noSchemaError, SystemDatabaseError } from "./_errors.ts";
import {
  limitedCapabilities,
  MIN_SCHEMA_VERSION,
  SCHEMA_NEEDS,
  type SchemaCapability,
  schemaNeedError,
  schemaTooOldError,
  sdkGeneration,
} from "./_schema_versions.ts";
import { type ClientWorkflow, errorText, isoTime, toClientListInput, toStep, toWorkflow, valueText } from "./_map.ts";
import {
  clippedPayload,
  PAYLOAD_GROUP,
  type PayloadField,
  payloadHeads,
  storedPayload,
  storedValue,
} from "./_payloads.ts";
import { type DatabaseTarget, targetsFromConfig } from "./_targets.ts";
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
  exportWorkflow as exportRows,
  MAX_ROWS,
  readEvents,
  readNotifications,
  readStreams,
  stepAggregates,
  type ValueBounds,
  workflowAggregates,
} from "./_reads.ts";
import {
  type ClientQueue,
  type ClientSchedule,
  type ClientVersion,
  toQueue,
  toSchedule,
  toVersion,
} from "./_map_reads.ts";

export { CLIENT_SCHEMA_VERSION, MIN_SCHEMA_VERSION, SystemDatabaseError };

/** Options of {@linkcode createSysdbBackend}. */
export interface SysdbBackendOptions {
  /** Open every connection read-only (`default_transaction_read_only=on`). */
  readOnly: boolean;
  /** Diagnostics (stderr); scrubbed by `secrets` here too. */
  log: LogFn;
  /**
   * The server's secrets: the databases' passwords (from the URLs, and those
   * looked up in `PGPASSWORD` or the password file) are recorded in it, and
   * every message quoting the driver is scrubbed with it.
   *
   * @default {a new SecretSet for this backend}
   */
  secrets?: SecretSet;
  /**
   * Time limit to open a connection, in milliseconds.
   * @default {10000}
   */
  connectTimeoutMs?: number;
  /**
   * How long the DBOS client may keep retrying a lost connection within one
   * call, in milliseconds (it would otherwise retry until the database is back).
   * @default {2000}
   */
  retryBudgetMs?: number;
}

/** The configuration this backend reads. */
export type SysdbConfig = Pick<
  Config,
  "databaseUrl" | "appName" | "apps" | "schema" | "poolSize" | "statementTimeoutMs"
>;

/**
 * Builds the system-database backend for the applications of `config`
 * (`--app NAME=URL`, `--database-url` with `--app-name`). Nothing connects
 * until the first call, so a database that is down does not stop the
 * server from starting.
 *
 * @throws {ConfigError} when an application name is configured twice.
 *
 * @example
 * ```ts ignore
 * const backend = await createSysdbBackend(config, { readOnly: false, log: console.error });
 * const apps = await backend.listApplications();
 * ```
 */
export function createSysdbBackend(config: SysdbConfig, opts: SysdbBackendOptions): Promise<WorkflowBackend> {
  try {
    return Promise.resolve(new SysdbBackend(config, opts));
  } catch (err) {
    return Promise.reject(err);
  }
}

interface Resolved {
  db: SystemDatabase;
  /** Application name the workflows are scoped to; `undefined`: the whole database. */
  scope: string | undefined;
  label: DatabaseLabel;
}

/** Serves the workflow tools from DBOS system databases. */
export class SysdbBackend implements WorkflowBackend {
  /** Always `"sysdb"`. */
  readonly kind = "sysdb" as const;
  #dbs: SystemDatabase[];
  #secrets: SecretSet;
  #schema: string;
  #statementTimeoutMs: number;
  #retryBudgetMs: number;

  /** Describes the databases of `config`; nothing connects yet. */
  constructor(config: SysdbConfig, opts: SysdbBackendOptions) {
    const targets = targetsFromConfig(config);
    this.#secrets = opts.secrets ?? new SecretSet();
    for (const t of targets) this.#secrets.add(t.password);
    this.#schema = config.schema;
    this.#statementTimeoutMs = config.statementTimeoutMs;
    this.#retryBudgetMs = opts.retryBudgetMs ?? 2_000;
    const log: LogFn = (m) => opts.log(this.#secrets.scrub(m));
    this.#dbs = targets.map((t) =>
      new SystemDatabase(t, {
        schema: config.schema,
        poolSize: config.poolSize,
        statementTimeoutMs: config.statementTimeoutMs,
        connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
        readOnly: opts.readOnly,
        log,
        secrets: this.#secrets,
        retryBudgetMs: this.#retryBudgetMs,
      })
    );
  }

  /**
   * Every configured application: `AVAILABLE` when its database answers and
   * holds a DBOS schema this client reads, else `UNAVAILABLE` with a `reason`.
   */
  async listApplications(_opts?: CallOptions): Promise<Application[]> {
    const lists = await Promise.all(this.#dbs.map((db) => this.#applicationsOf(db)));
    return lists.flat();
  }

  /** The executors derived from the workflows of the application (only Conductor sees live ones). */
  async listExecutors(app: string, opts?: CallOptions): Promise<Executor[]> {
    const what = `list the executors of application '${app}'`;
    const r = await this.#resolve(app, what);
    const rows = await this.#run(r, what, opts, () => r.db.executors(r.scope));
    return rows.map((e) => {
      const out: Executor = { executorId: e.executorId, derived: true, pendingWorkflows: e.pending };
      if (e.applicationVersion !== null) out.appVersion = e.applicationVersion;
      const lastActive = isoTime(e.lastActive);
      if (lastActive !== undefined) out.updatedAt = lastActive;
      return out;
    });
  }

  /**
   * Lists workflows through the DBOS client. With `opts.payloadBytes`, a
   * payload much larger than that is not loaded: its start is read in SQL
   * and returned clipped, with its stored size.
   */
  async listWorkflows(app: string, filter: WorkflowSearch, opts?: CallOptions): Promise<Workflow[]> {
    const what = `list the workflows of application '${app}'`;
    const r = await this.#resolve(app, what);
    const input = toClientListInput(filter, r.scope) as ListInput;
    const fields = loadedFields(input.loadInput === true, input.loadOutput === true);
    if (opts?.payloadBytes === undefined || fields.length === 0) {
      const rows = await this.#run(r, what, opts, async () => await (await r.db.client(r.scope)).listWorkflows(input));
      return rows.map((w) => toWorkflow(w as ClientWorkflow));
    }
    const payloadBytes = opts.payloadBytes;
    return await this.#run(r, what, opts, async () => {
      const client = await r.db.client(r.scope);
      const rows = await client.listWorkflows({ ...input, loadInput: false, loadOutput: false });
      const ids = rows.map((w) => w.workflowID);
      return await this.#withPayloads(r, rows as ClientWorkflow[], ids, fields, payloadBytes);
    });
  }

  /**
   * Gets one workflow, with its input and output. With `opts.payloadBytes`,
   * a payload much larger than that is read only in part (see listWorkflows).
   */
  async getWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<Workflow> {
    const what = `get workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    const payloadBytes = opts?.payloadBytes;
    const [w] = await this.#run(r, what, opts, async () => {
      const client = await r.db.client(r.scope);
      if (payloadBytes === undefined) {
        const whole = await client.getWorkflow(workflowId);
        return whole ? [toWorkflow(whole as ClientWorkflow)] : [];
      }
      const scope = r.scope === undefined ? {} : { applicationName: r.scope };
      const rows = await client.listWorkflows({
        workflowIDs: [workflowId],
        loadInput: false,
        loadOutput: false,
        ...scope,
      });
      return await this.#withPayloads(
        r,
        rows as ClientWorkflow[],
        [workflowId],
        loadedFields(true, true),
        payloadBytes,
      );
    });
    if (!w || !inScope(w.applicationName, r.scope)) throw noWorkflow(app, workflowId);
    return w;
  }

  /**
   * `rows` (listed without payloads) with their payload `fields`: those up to
   * a few times `payloadBytes` loaded and deserialized by the DBOS client,
   * the larger ones read in part in SQL and clipped.
   */
  async #withPayloads(
    r: Resolved,
    rows: ClientWorkflow[],
    ids: string[],
    fields: PayloadField[],
    payloadBytes: number,
  ): Promise<Workflow[]> {
    const out = rows.map((w) => toWorkflow(w));
    if (rows.length === 0) return out;
    const large = Math.max(4 * payloadBytes, LARGE_PAYLOAD_FLOOR);
    const heads = await payloadHeads(r.db.pool(), r.db.schemaSql, ids, fields, large, payloadBytes + 64);
    const isLarge = (id: string, group: "input" | "output") =>
      fields.some((f) => PAYLOAD_GROUP[f] === group && (heads.get(id)?.[f]?.bytes ?? 0) > large);
    const client = await r.db.client(r.scope);
    const scope = r.scope === undefined ? {} : { applicationName: r.scope };
    const loaded = new Map<string, Partial<Record<PayloadField, unknown>>>();
    for (const group of ["input", "output"] as const) {
      if (!fields.some((f) => PAYLOAD_GROUP[f] === group)) continue;
      const small = ids.filter((id) => !isLarge(id, group));
      if (small.length === 0) continue;
      const whole = await client.listWorkflows({
        workflowIDs: small,
        loadInput: group === "input",
        loadOutput: group === "output",
        ...scope,
      });
      for (const w of whole) {
        const mapped = toWorkflow(w as ClientWorkflow);
        const into = loaded.get(mapped.workflowId) ?? {};
        for (const f of fields) if (PAYLOAD_GROUP[f] === group && mapped[f] !== undefined) into[f] = mapped[f];
        loaded.set(mapped.workflowId, into);
      }
    }
    for (const w of out) {
      Object.assign(w, loaded.get(w.workflowId));
      const h = heads.get(w.workflowId);
      for (const f of fields) {
        const p = h?.[f];
        if (!p || !isLarge(w.workflowId, PAYLOAD_GROUP[f])) continue;
        if (p.bytes > large) {
          w[f] = clippedPayload(p, "get_workflow with full: true shows all of it");
        } else {
          // A small payload beside a large one the client would have to load with it (output and error).
          const text = await storedPayload(r.db.pool(), r.db.schemaSql, w.workflowId, f);
          if (text !== undefined) w[f] = f === "error" ? errorText(storedValue(text)) : valueText(storedValue(text));
        }
      }
    }
    return out;
  }

  /** Lists a workflow's steps, in order, with outputs and errors. */
  async listSteps(app: string, workflowId: string, page: StepPage = {}, opts?: CallOptions): Promise<Step[]> {
    const what = `list the steps of workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    const steps = await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId);
      const options = { limit: page.limit, offset: page.offset && page.offset > 0 ? page.offset : undefined };
      return await (await r.db.client(r.scope)).listWorkflowSteps(workflowId, options);
    });
    if (!steps) throw noWorkflow(app, workflowId);
    return steps.map(toStep);
  }

  /** A workflow's events, read from `workflow_events` (the client has no method for all of them). */
  async listWorkflowEvents(app: string, workflowId: string, opts?: CallOptions): Promise<WorkflowEvent[]> {
    const what = `list the events of workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId);
      const serializer = (await r.db.client(r.scope)).serializer;
      return await readEvents(r.db.pool(), r.db.schemaSql, serializer, workflowId, valueBounds(opts));
    });
  }

  /** The messages sent to a workflow, read from `notifications`, oldest first. */
  async listWorkflowNotifications(
    app: string,
    workflowId: string,
    opts?: CallOptions,
  ): Promise<WorkflowNotification[]> {
    const what = `list the notifications of workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId);
      const serializer = (await r.db.client(r.scope)).serializer;
      return await readNotifications(r.db.pool(), r.db.schemaSql, serializer, workflowId, valueBounds(opts));
    });
  }

  /** A workflow's streams, read from `streams`: bounded values per stream, and whether each is closed. */
  async listWorkflowStreams(
    app: string,
    workflowId: string,
    options: StreamsOptions = {},
    opts?: CallOptions,
  ): Promise<WorkflowStream[]> {
    const what = `list the streams of workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId);
      const serializer = (await r.db.client(r.scope)).serializer;
      const max = options.maxValues ?? MAX_ROWS;
      return await readStreams(r.db.pool(), r.db.schemaSql, serializer, workflowId, max, valueBounds(opts));
    });
  }

  /** Workflow aggregates, computed in SQL on `workflow_status`. */
  async getWorkflowAggregates(
    app: string,
    query: WorkflowAggregatesQuery,
    opts?: CallOptions,
  ): Promise<WorkflowAggregate[]> {
    const what = `aggregate the workflows of application '${app}'`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, () => workflowAggregates(r.db.pool(), r.db.schemaSql, query, r.scope));
  }

  /** Step aggregates, computed in SQL on `operation_outputs`. */
  async getStepAggregates(app: string, query: StepAggregatesQuery, opts?: CallOptions): Promise<StepAggregate[]> {
    const what = `aggregate the steps of application '${app}'`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, () => stepAggregates(r.db.pool(), r.db.schemaSql, query, r.scope));
  }

  /** The application's database-backed queues (`DBOSClient.listQueues`). */
  async listQueues(app: string, opts?: CallOptions): Promise<Queue[]> {
    const what = `list the queues of application '${app}'`;
    const r = await this.#resolve(app, what);
    const queues = await this.#run(r, what, opts, async () => await (await r.db.client(r.scope)).listQueues());
    return queues.map((q) => toQueue(q as ClientQueue)).sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** One queue (`DBOSClient.retrieveQueue`). */
  async getQueue(app: string, queueName: string, opts?: CallOptions): Promise<Queue> {
    const what = `get queue '${queueName}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    const q = await this.#run(r, what, opts, async () => await (await r.db.client(r.scope)).retrieveQueue(queueName));
    if (!q || !inScope((q as ClientQueue).applicationName, r.scope)) {
      throw new NotFoundError(`No queue '${queueName}' in application '${app}'.`, {
        hint: "Call list_queues to see the names.",
      });
    }
    return toQueue(q as ClientQueue);
  }

  /** The application's schedules (`DBOSClient.listSchedules`), by name. */
  async listSchedules(app: string, filter: ScheduleFilter = {}, opts?: CallOptions): Promise<Schedule[]> {
    const what = `list the schedules of application '${app}'`;
    const r = await this.#resolve(app, what);
    const rows = await this.#run(r, what, opts, async () =>
      await (await r.db.client(r.scope)).listSchedules({
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.workflowName ? { workflowName: filter.workflowName } : {}),
        ...(filter.scheduleNamePrefix ? { scheduleNamePrefix: filter.scheduleNamePrefix } : {}),
      }));
    return rows.map((s) => toSchedule(s as ClientSchedule, filter.loadContext ?? true));
  }

  /** One schedule, with its context (`DBOSClient.getSchedule`). */
  async getSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<Schedule> {
    const what = `get schedule '${scheduleName}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    const s = await this.#run(r, what, opts, async () => await (await r.db.client(r.scope)).getSchedule(scheduleName));
    if (!s || !inScope((s as ClientSchedule).applicationName, r.scope)) {
      throw new NotFoundError(`No schedule '${scheduleName}' in application '${app}'.`, {
        hint: "Call list_schedules to see the names.",
      });
    }
    return toSchedule(s as ClientSchedule, true);
  }

  /** The application's versions, newest first (`DBOSClient.listApplicationVersions`). */
  async listApplicationVersions(app: string, opts?: CallOptions): Promise<ApplicationVersion[]> {
    const what = `list the versions of application '${app}'`;
    const r = await this.#resolve(app, what);
    const rows = await this.#run(
      r,
      what,
      opts,
      async () => await (await r.db.client(r.scope)).listApplicationVersions(),
    );
    return rows.map((v) => toVersion(v as ClientVersion));
  }

  /** Exports a workflow as DBOS does (base64 of gzipped JSON rows), read from the documented tables. */
  async exportWorkflow(
    app: string,
    workflowId: string,
    options: ExportOptions = {},
    opts?: CallOptions,
  ): Promise<string> {
    const what = `export workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    const out = await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId);
      return await exportRows(r.db.pool(), r.db.schemaSql, workflowId, options.exportChildren ?? false);
    });
    if (out === undefined) throw noWorkflow(app, workflowId);
    return out;
  }

  /** Cancels a workflow (`DBOSClient.cancelWorkflow`); an unknown id changes nothing. */
  async cancelWorkflow(
    app: string,
    workflowId: string,
    options: CancelOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const what = `cancel workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what, { done: "cancelled" });
    await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId, "cancelled");
      await (await r.db.client(r.scope)).cancelWorkflow(workflowId, {
        cancelChildren: options.cancelChildren ?? false,
      });
    }, true);
  }

  /** Resumes a workflow (`DBOSClient.resumeWorkflow`). */
  async resumeWorkflow(
    app: string,
    workflowId: string,
    options: ResumeOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const what = `resume workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what, { done: "resumed" });
    await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId, "resumed");
      try {
        const resume = options.queueName !== undefined ? { queueName: options.queueName } : undefined;
        await (await r.db.client(r.scope)).resumeWorkflow(workflowId, resume);
      } catch (err) {
        if (err instanceof DbosErrors.DBOSNonExistentWorkflowError) throw noWorkflow(app, workflowId, "resumed");
        throw err;
      }
    }, true);
  }

  /** Forks a workflow from a step (`DBOSClient.forkWorkflow`); returns the new id. */
  async forkWorkflow(app: string, workflowId: string, fork: ForkOptions, opts?: CallOptions): Promise<string> {
    const what = `fork workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what, { done: "forked" });
    return await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId, "forked");
      try {
        return await (await r.db.client(r.scope)).forkWorkflow(workflowId, fork.startStep, {
          newWorkflowID: fork.newWorkflowId,
          applicationVersion: fork.appVersion,
          queueName: fork.queueName,
          queuePartitionKey: fork.queuePartitionKey,
        });
      } catch (err) {
        if (err instanceof DbosErrors.DBOSNonExistentWorkflowError) throw noWorkflow(app, workflowId, "forked");
        if ((err as { code?: unknown }).code === "23505" && fork.newWorkflowId !== undefined) {
          throw new InvalidArgumentError(
            `Cannot fork workflow '${workflowId}': a workflow with id '${fork.newWorkflowId}' already exists.`,
            { hint: "Pass another new_workflow_id, or leave it out to get a generated one.", cause: err },
          );
        }
        throw err;
      }
    }, true);
  }

  /** Deletes a workflow (`DBOSClient.deleteWorkflow`); an unknown id changes nothing. */
  async deleteWorkflow(
    app: string,
    workflowId: string,
    options: DeleteOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const what = `delete workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    await this.#run(r, what, opts, async () => {
      await this.#checkOwner(r, app, workflowId, "deleted");
      await (await r.db.client(r.scope)).deleteWorkflow(workflowId, options.deleteChildren ?? false);
    }, true);
  }

  /** Cancels workflows (`DBOSClient.cancelWorkflows`). */
  async bulkCancelWorkflows(
    app: string,
    workflowIds: string[],
    options: CancelOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const what = `cancel ${workflowIds.length} workflows of application '${app}'`;
    const r = await this.#resolve(app, what);
    await this.#run(r, what, opts, async () => {
      await this.#checkOwners(r, app, workflowIds, "cancelled");
      await (await r.db.client(r.scope)).cancelWorkflows(workflowIds, {
        cancelChildren: options.cancelChildren ?? false,
      });
    }, true);
  }

  /** Resumes workflows (`DBOSClient.resumeWorkflows`). */
  async bulkResumeWorkflows(
    app: string,
    workflowIds: string[],
    options: ResumeOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const what = `resume ${workflowIds.length} workflows of application '${app}'`;
    const r = await this.#resolve(app, what);
    await this.#run(r, what, opts, async () => {
      await this.#checkOwners(r, app, workflowIds, "resumed");
      try {
        const resume = options.queueName !== undefined ? { queueName: options.queueName } : undefined;
        await (await r.db.client(r.scope)).resumeWorkflows(workflowIds, resume);
      } catch (err) {
        if (err instanceof DbosErrors.DBOSNonExistentWorkflowError) {
          throw new NotFoundError(`Cannot ${what}: ${errorMessage(err)}; nothing was resumed.`, {
            hint: "Check the ids with list_workflows.",
            cause: err,
          });
        }
        throw err;
      }
    }, true);
  }

  /** Deletes workflows (`DBOSClient.deleteWorkflows`); unknown ids change nothing. */
  async bulkDeleteWorkflows(
    app: string,
    workflowIds: string[],
    options: DeleteOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const what = `delete ${workflowIds.length} workflows of application '${app}'`;
    const r = await this.#resolve(app, what);
    await this.#run(r, what, opts, async () => {
      await this.#checkOwners(r, app, workflowIds, "deleted");
      await (await r.db.client(r.scope)).deleteWorkflows(workflowIds, options.deleteChildren ?? false);
    }, true);
  }

  /**
   * Forks each workflow from the step its mode picks: the DBOS client has no
   * bulk fork from failure, so this reads each workflow's steps
   * (`listWorkflowSteps`) as the executor does (last failed step, else last
   * step; last step; the given step; the last step of a name; 0 without
   * steps), then calls `forkWorkflow` for each. Every start step is found
   * before the first fork, so a bad id or step name forks nothing.
   */
  async forkFromFailure(
    app: string,
    workflowIds: string[],
    options: ForkFromFailureOptions,
    opts?: CallOptions,
  ): Promise<string[]> {
    const what = `fork ${workflowIds.length} workflows of application '${app}' from their failures`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, async () => {
      await this.#checkOwners(r, app, workflowIds, "forked");
      const client = await r.db.client(r.scope);
      const starts: number[] = [];
      for (const id of workflowIds) {
        const steps = await client.listWorkflowSteps(id);
        if (!steps) throw noWorkflow(app, id, "forked");
        starts.push(forkStart(id, steps, options));
      }
      const ids: string[] = [];
      for (const [i, id] of workflowIds.entries()) {
        ids.push(
          await client.forkWorkflow(id, starts[i], {
            applicationVersion: options.appVersion,
            queueName: options.queueName,
            queuePartitionKey: options.queuePartitionKey,
          }),
        );
      }
      return ids;
    }, true);
  }

  /** A schedule's cron and status (`DBOSClient.getSchedule`). */
  async scheduleTiming(app: string, scheduleName: string, opts?: CallOptions): Promise<ScheduleTiming> {
    const what = `get schedule '${scheduleName}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    const s = await this.#run(r, what, opts, () => this.#schedule(r, app, scheduleName));
    const timing: ScheduleTiming = {
      scheduleName: s.scheduleName,
      cronExpression: s.schedule,
      status: s.status,
      workflowName: s.workflowName,
    };
    if (s.cronTimezone) timing.cronTimezone = s.cronTimezone;
    return timing;
  }

  /** Pauses a schedule (`DBOSClient.pauseSchedule`), after checking it exists. */
  async pauseSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<void> {
    const what = `pause schedule '${scheduleName}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    await this.#run(r, what, opts, async () => {
      await this.#schedule(r, app, scheduleName, "paused");
      await (await r.db.client(r.scope)).pauseSchedule(scheduleName);
    }, true);
  }

  /** Resumes a schedule (`DBOSClient.resumeSchedule`), after checking it exists. */
  async resumeSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<void> {
    const what = `resume schedule '${scheduleName}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    await this.#run(r, what, opts, async () => {
      await this.#schedule(r, app, scheduleName, "resumed");
      await (await r.db.client(r.scope)).resumeSchedule(scheduleName);
    }, true);
  }

  /** Runs a schedule's workflow now (`DBOSClient.triggerSchedule`); returns its id. */
  async triggerSchedule(app: string, scheduleName: string, opts?: CallOptions): Promise<string> {
    const what = `trigger schedule '${scheduleName}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, async () => {
      await this.#schedule(r, app, scheduleName, "triggered");
      return (await (await r.db.client(r.scope)).triggerSchedule(scheduleName)).workflowID;
    }, true);
  }

  /** Backfills a schedule (`DBOSClient.backfillSchedule`); returns the ids. */
  async backfillSchedule(
    app: string,
    scheduleName: string,
    window: BackfillWindow,
    opts?: CallOptions,
  ): Promise<string[]> {
    const what = `backfill schedule '${scheduleName}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    return await this.#run(r, what, opts, async () => {
      await this.#schedule(r, app, scheduleName, "backfilled");
      const client = await r.db.client(r.scope);
      const handles = await client.backfillSchedule(scheduleName, new Date(window.startTime), new Date(window.endTime));
      return handles.map((h) => h.workflowID);
    }, true);
  }

  /** Sets the latest version (`DBOSClient.setLatestApplicationVersion`), after checking the version exists. */
  async setLatestApplicationVersion(app: string, versionName: string, opts?: CallOptions): Promise<void> {
    const what = `set the latest version of application '${app}' to '${versionName}'`;
    const r = await this.#resolve(app, what);
    await this.#run(r, what, opts, async () => {
      const client = await r.db.client(r.scope);
      const versions = (await client.listApplicationVersions())
        .filter((v) => inScope(v.applicationName, r.scope));
      if (!versions.some((v) => v.versionName === versionName)) {
        const known = versions.slice(0, 20).map((v) => `'${v.versionName}'`).join(", ") || "none";
        throw new NotFoundError(
          `No version '${versionName}' of application '${app}': nothing was changed. Known versions: ${known}.`,
          { hint: "Pass one of the known version names." },
        );
      }
      await client.setLatestApplicationVersion(
        versionName,
        r.scope === undefined ? undefined : { applicationName: r.scope },
      );
    }, true);
  }

  /**
   * Not offered: `DBOSClient` 5.3.0 has no import, and this server writes
   * the system database only through the client. `import_workflow` is a
   * Conductor-mode tool.
   */
  importWorkflow(app: string, _serializedWorkflow: string, _opts?: CallOptions): Promise<void> {
    return Promise.reject(
      new InvalidArgumentError(
        `Cannot import a workflow into application '${app}' in system-database mode: the DBOS client has no ` +
          "import, and this server changes system databases only through it.",
        { hint: "Import through DBOS Conductor (run the server in Conductor mode), or with the application itself." },
      ),
    );
  }

  /** In a database shared by several applications, refuses workflows that belong to another one. */
  async #checkOwners(r: Resolved, app: string, workflowIds: string[], done: string): Promise<void> {
    if (r.scope === undefined || workflowIds.length === 0) return;
    const client = await r.db.client(r.scope);
    const rows = await client.listWorkflows({ workflowIDs: workflowIds, loadInput: false, loadOutput: false });
    const foreign = rows.find((row) => !inScope(row.applicationName, r.scope));
    if (foreign) throw noWorkflow(app, foreign.workflowID, done);
  }

  /** The schedule `name` of the application, or a `NotFoundError` (nothing was `done`). */
  async #schedule(r: Resolved, app: string, name: string, done?: string) {
    const s = await (await r.db.client(r.scope)).getSchedule(name);
    if (!s || !inScope(s.applicationName, r.scope)) {
      throw new NotFoundError(
        `No schedule '${name}' in application '${app}'${done ? `: nothing was ${done}` : ""}.`,
        { hint: "Check the name with list_schedules." },
      );
    }
    return s;
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    await Promise.all(this.#dbs.map((db) => db.close()));
  }

  #label(db: SystemDatabase, app: string): DatabaseLabel {
    const t = db.target;
    return {
      app,
      where: t.where,
      user: t.user,
      database: t.database,
      schema: this.#schema,
      statementTimeoutMs: this.#statementTimeoutMs,
    };
  }

  /**
   * Runs `fn` against a resolved application, with the DBOS client's
   * connection retries bounded, turning failures into errors an agent can act on.
   */
  async #run<T>(
    r: Resolved,
    what: string,
    opts: CallOptions | undefined,
    fn: () => Promise<T>,
    mutates = false,
  ): Promise<T> {
    try {
      return await withRetryBudget(this.#retryBudgetMs, opts?.signal, fn);
    } catch (err) {
      throw describeDatabaseError(err, r.label, what, this.#secrets, mutates);
    }
  }

  /** In a database shared by several applications, refuses a workflow that belongs to another one. */
  async #checkOwner(r: Resolved, app: string, workflowId: string, done?: string): Promise<void> {
    if (r.scope === undefined) return;
    const client = await r.db.client(r.scope);
    const [row] = await client.listWorkflows({ workflowIDs: [workflowId], loadInput: false, loadOutput: false });
    if (row && !inScope(row.applicationName, r.scope)) throw noWorkflow(app, workflowId, done);
  }

  /** The applications one database serves, with their status. */
  async #applicationsOf(db: SystemDatabase): Promise<Application[]> {
    const t = db.target;
    const base = { database: t.where, schema: this.#schema };
    let probe: Probe;
    try {
      probe = await db.probe();
    } catch (err) {
      const e = describeDatabaseError(
        err,
        this.#label(db, t.name ?? t.fallbackName),
        "read the system database",
        this.#secrets,
      );
      const reason = unavailableReason(e);
      return namesOf(t, db.knownNames).map((name) => ({
        name,
        status: "UNAVAILABLE",
        ...base,
        reason,
      }));
    }
    const problem = schemaProblem(probe, this.#label(db, t.name ?? t.fallbackName), "serve workflows");
    const version: Record<string, string> = {};
    if (probe.hasSchema) {
      if (probe.schemaVersion !== undefined) version.schemaVersion = String(probe.schemaVersion);
      version.sdkGeneration = sdkGeneration(probe.schemaVersion);
      const limited = problem ? undefined : limitedCapabilities(probe.schemaVersion ?? 0);
      if (limited) version.limited = limited;
    } else if (probe.schemaVersion !== undefined) {
      version.schemaVersion = String(probe.schemaVersion);
    }
    return namesOf(t, probe.names).map((name) => {
      const app: Application = { name, status: problem ? "UNAVAILABLE" : "AVAILABLE", ...base };
      Object.assign(app, version);
      if (problem) {
        app.reason = problem.reason;
        if (problem.hint) app.hint = problem.hint;
      }
      return app;
    });
  }

  /**
   * Finds the database (and scope) of application `app`; probes the database
   * once. `need.done` names the change a refusal leaves undone (e.g.
   * "forked"); `need.capability`, a client operation that needs a newer
   * schema than the others.
   */
  async #resolve(app: string, what: string, need: ReadyNeed = {}): Promise<Resolved> {
    const configured = this.#dbs.find((db) => db.target.name === app);
    if (configured) {
      return await this.#ready({ db: configured, scope: undefined, label: this.#label(configured, app) }, what, need);
    }
    const discovering = this.#dbs.filter((db) => db.target.name === undefined);
    for (const db of discovering) {
      if (db.knownNames.includes(app)) {
        return await this.#ready({ db, scope: app, label: this.#label(db, app) }, what, need);
      }
    }
    let failure: unknown;
    for (const db of discovering) {
      const label = this.#label(db, app);
      let probe: Probe;
      try {
        probe = await db.probe();
      } catch (err) {
        failure ??= describeDatabaseError(err, label, what, this.#secrets);
        continue;
      }
      if (probe.names.includes(app)) return await this.#ready({ db, scope: app, label }, what, need);
      if (probe.names.length === 0 && app === db.target.fallbackName) {
        return await this.#ready({ db, scope: undefined, label }, what, need);
      }
    }
    if (failure) throw failure;
    const known = this.#dbs.flatMap((db) => namesOf(db.target, db.knownNames));
    throw new NotFoundError(
      `No application named '${app}': the configured applications are ${known.map((n) => `'${n}'`).join(", ")}.`,
      { hint: "Call list_applications to see the names and their status." },
    );
  }

  /**
   * Checks that the database holds a DBOS schema this client reads (once per
   * successful probe; a database found lacking is probed again, so that a
   * migrated schema serves without a restart), and new enough for
   * `need.capability`.
   */
  async #ready(r: Resolved, what: string, need: ReadyNeed = {}): Promise<Resolved> {
    let probe = r.db.lastProbe;
    if (!probe || schemaProblem(probe, r.label, what)) {
      try {
        probe = await r.db.probe();
      } catch (err) {
        throw describeDatabaseError(err, r.label, what, this.#secrets);
      }
    }
    const problem = schemaProblem(probe, r.label, what, need.done);
    if (problem) throw problem;
    const version = probe.schemaVersion ?? 0;
    r.label.schemaVersion = version;
    if (need.capability !== undefined) {
      const required = SCHEMA_NEEDS[need.capability];
      if (version < required.version) throw schemaNeedError(r.label, what, required, version, need.done);
    }
    return r;
  }
}

/** The `reason` list_applications shows for a database that failed to answer. */
function unavailableReason(err: unknown): string {
  if (err instanceof SystemDatabaseError) return err.reason;
  if (isNotCapable(err)) {
    const m = errorMessage(err).match(/Requires (\w+) access to "?([^",]+)"?/);
    return m ? `Deno may not do this: restart the server with --allow-${m[1]}=${m[2]}` : "Deno refused a permission";
  }
  return errorMessage(err);
}

/** The application names of a target: its configured name, else the database's, else the fallback. */
function namesOf(t: DatabaseTarget, dbNames: readonly string[]): string[] {
  if (t.name !== undefined) return [t.name];
  return dbNames.length > 0 ? [...dbNames] : [t.fallbackName];
}

/** What a tool call needs of the schema besides the minimum (see {@linkcode SysdbBackend.#resolve}). */
interface ReadyNeed {
  /** The change a refusal leaves undone, e.g. "forked". */
  done?: string;
  /** A client operation that needs a newer schema than the others. */
  capability?: SchemaCapability;
}

/** Why a probed database cannot serve, if it cannot; `done` names a refused change. */
function schemaProblem(
  probe: Probe,
  label: DatabaseLabel,
  what: string,
  done?: string,
): SystemDatabaseError | undefined {
  if (!probe.hasSchema) return noSchemaError(label, what);
  const v = probe.schemaVersion;
  if (v === undefined || v < MIN_SCHEMA_VERSION) return schemaTooOldError(label, what, v, done);
  return undefined;
}

/**
 * Payloads up to this size are always loaded whole through the DBOS client
 * (deserialized exactly as DBOS does); larger ones are read in part when the
 * caller shows only part of them.
 */
const LARGE_PAYLOAD_FLOOR = 64 * 1024;

type ListInput = Parameters<DBOSClient["listWorkflows"]>[0];

/** How much of each event, message or stream value to read: all of it, or with a payload budget, a bounded start. */
function valueBounds(opts: CallOptions | undefined): ValueBounds {
  const bytes = opts?.payloadBytes;
  if (bytes === undefined) return { largeBytes: 2 ** 31 - 1, headChars: 2 ** 31 - 1 };
  return { largeBytes: Math.max(4 * bytes, LARGE_PAYLOAD_FLOOR), headChars: bytes + 64 };
}

function loadedFields(input: boolean, output: boolean): PayloadField[] {
  return [...(input ? ["input" as const] : []), ...(output ? ["output" as const, "error" as const] : [])];
}

function inScope(owner: string | undefined | null, scope: string | undefined): boolean {
  return scope === undefined || owner === undefined || owner === null || owner === scope;
}

type ClientStep = NonNullable<Awaited<ReturnType<DBOSClient["listWorkflowSteps"]>>>[number];

/** The step a fork from failure of `id` starts at, per `options`' mode (as the 5.2.11 executor picks it). */
function forkStart(id: string, steps: ClientStep[], options: ForkFromFailureOptions): number {
  const last = (list: ClientStep[]) => list.reduce((max, s) => Math.max(max, s.functionID), -1);
  if (options.fromStep !== undefined) return options.fromStep;
  if (options.fromStepName !== undefined) {
    const named = last(steps.filter((s) => s.name === options.fromStepName));
    if (named < 0) {
      throw new InvalidArgumentError(
        `Workflow '${id}' has no step named '${options.fromStepName}': nothing was forked.`,
        { hint: "Check the step names with list_steps." },
      );
    }
    return named;
  }
  if (steps.length === 0) return 0;
  if (options.fromLastFailure) {
    const failed = last(steps.filter((s) => s.error !== null && s.error !== undefined));
    if (failed >= 0) return failed;
  }
  return last(steps);
}

function noWorkflow(app: string, id: string, done?: string): DbosMcpError {
  return new NotFoundError(
    done
      ? `No workflow '${id}' in application '${app}': nothing was ${done}.`
      : `No workflow '${id}' in application '${app}'.`,
    { hint: "Check the id with list_workflows." },
  );
}
