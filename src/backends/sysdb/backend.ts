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
  CallOptions,
  CancelOptions,
  Executor,
  ForkOptions,
  ResumeOptions,
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
import { type ClientWorkflow, isoTime, toClientListInput, toStep, toWorkflow } from "./_map.ts";
import { type DatabaseTarget, targetsFromConfig } from "./_targets.ts";

export { CLIENT_SCHEMA_VERSION, SystemDatabaseError };

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

  /** Lists workflows through the DBOS client. */
  async listWorkflows(app: string, filter: WorkflowSearch, opts?: CallOptions): Promise<Workflow[]> {
    const what = `list the workflows of application '${app}'`;
    const r = await this.#resolve(app, what);
    const input = toClientListInput(filter, r.scope) as Parameters<DBOSClient["listWorkflows"]>[0];
    const rows = await this.#run(r, what, opts, async () => await (await r.db.client(r.scope)).listWorkflows(input));
    return rows.map((w) => toWorkflow(w as ClientWorkflow));
  }

  /** Gets one workflow, with its input and output. */
  async getWorkflow(app: string, workflowId: string, opts?: CallOptions): Promise<Workflow> {
    const what = `get workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
    const w = await this.#run(r, what, opts, async () => await (await r.db.client(r.scope)).getWorkflow(workflowId));
    if (!w || !inScope(w.applicationName, r.scope)) throw noWorkflow(app, workflowId);
    return toWorkflow(w as ClientWorkflow);
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

  /** Cancels a workflow (`DBOSClient.cancelWorkflow`); an unknown id changes nothing. */
  async cancelWorkflow(
    app: string,
    workflowId: string,
    options: CancelOptions = {},
    opts?: CallOptions,
  ): Promise<void> {
    const what = `cancel workflow '${workflowId}' of application '${app}'`;
    const r = await this.#resolve(app, what);
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
    const r = await this.#resolve(app, what);
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
    const r = await this.#resolve(app, what);
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
    const version = probe.schemaVersion === undefined ? {} : { schemaVersion: String(probe.schemaVersion) };
    return namesOf(t, probe.names).map((name) => {
      const app: Application = { name, status: problem ? "UNAVAILABLE" : "AVAILABLE", ...base };
      Object.assign(app, version);
      if (problem) app.reason = problem.reason;
      return app;
    });
  }

  /** Finds the database (and scope) of application `app`; probes the database once. */
  async #resolve(app: string, what: string): Promise<Resolved> {
    const configured = this.#dbs.find((db) => db.target.name === app);
    if (configured) {
      return await this.#ready({ db: configured, scope: undefined, label: this.#label(configured, app) }, what);
    }
    const discovering = this.#dbs.filter((db) => db.target.name === undefined);
    for (const db of discovering) {
      if (db.knownNames.includes(app)) return await this.#ready({ db, scope: app, label: this.#label(db, app) }, what);
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
      if (probe.names.includes(app)) return await this.#ready({ db, scope: app, label }, what);
      if (probe.names.length === 0 && app === db.target.fallbackName) {
        return await this.#ready({ db, scope: undefined, label }, what);
      }
    }
    if (failure) throw failure;
    const known = this.#dbs.flatMap((db) => namesOf(db.target, db.knownNames));
    throw new NotFoundError(
      `No application named '${app}': the configured applications are ${known.map((n) => `'${n}'`).join(", ")}.`,
      { hint: "Call list_applications to see the names and their status." },
    );
  }

  /** Checks (once per successful probe) that the database holds a DBOS schema this client reads. */
  async #ready(r: Resolved, what: string): Promise<Resolved> {
    let probe = r.db.lastProbe;
    if (!probe) {
      try {
        probe = await r.db.probe();
      } catch (err) {
        throw describeDatabaseError(err, r.label, what, this.#secrets);
      }
    }
    const problem = schemaProblem(probe, r.label, what);
    if (problem) throw problem;
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

/** Why a probed database cannot serve, if it cannot. */
function schemaProblem(probe: Probe, label: DatabaseLabel, what: string): SystemDatabaseError | undefined {
  if (!probe.hasSchema) return noSchemaError(label, what);
  const v = probe.schemaVersion;
  if (v === undefined || v < CLIENT_SCHEMA_VERSION) {
    const found = v === undefined
      ? `has no ${label.schema}.dbos_migrations table`
      : `is at schema version ${v} (in ${label.schema}.dbos_migrations)`;
    return new SystemDatabaseError(
      `Cannot ${what}: the system database of application '${label.app}' (${label.where}) ${found}, but this ` +
        `server's DBOS client reads schema version ${CLIENT_SCHEMA_VERSION} or later.`,
      {
        kind: "schema_version",
        reason: v === undefined
          ? `no ${label.schema}.dbos_migrations: schema too old for this client (needs version ${CLIENT_SCHEMA_VERSION})`
          : `schema version ${v}, this client needs ${CLIENT_SCHEMA_VERSION} or later`,
        hint: "Upgrade the application to a current DBOS SDK (it migrates the schema when it launches), or run " +
          "`npx dbos schema <url>` against the database.",
      },
    );
  }
  return undefined;
}

function inScope(owner: string | undefined | null, scope: string | undefined): boolean {
  return scope === undefined || owner === undefined || owner === null || owner === scope;
}

function noWorkflow(app: string, id: string, done?: string): DbosMcpError {
  return new NotFoundError(
    done
      ? `No workflow '${id}' in application '${app}': nothing was ${done}.`
      : `No workflow '${id}' in application '${app}'.`,
    { hint: "Check the id with list_workflows." },
  );
}
