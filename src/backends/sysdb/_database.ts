// One system database: a small `pg` pool opened with a statement timeout
// (and read-only when asked), the official DBOS clients on top of it (one
// per application scope), and the few plain-SQL reads the client lacks: the
// schema probe (the catalog and `dbos_migrations`) and the executors derived
// from `workflow_status`. Application names come from the client's
// `listApplicationVersions()`.
// Nothing connects until the first query, and a failed connection is simply
// tried again by the next one.
import { allMigrations, DBOSClient, parseConnectionString, pg, runWithAbortableDbRetries } from "./_npm.ts";
import type { LogFn } from "../../util/log.ts";
import { errorMessage } from "../../core/errors.ts";
import { type DatabaseTarget, withStartupOptions } from "./_targets.ts";
import { passwordLookup } from "./_password.ts";
import type { SecretSet } from "../../core/secrets.ts";
import { MIN_SCHEMA_VERSION } from "./_schema_versions.ts";

/**
 * The DBOS system-schema version this server's DBOS client is written for
 * (the number of its migrations). The tools work on older schemas down to
 * `MIN_SCHEMA_VERSION` (see _schema_versions.ts).
 */
export const CLIENT_SCHEMA_VERSION: number = allMigrations("dbos", { useListenNotify: false }).length;

/** How many of the most recent workflows list_executors reads (besides every PENDING one). */
export const EXECUTOR_WINDOW = 50_000;

/** What {@linkcode SystemDatabase.probe} found. */
export interface Probe {
  /** The highest version in `dbos_migrations`; `undefined` when the schema is missing. */
  schemaVersion: number | undefined;
  /** Whether `workflow_status` exists in the schema. */
  hasSchema: boolean;
  /** Application names the database records (in `application_versions`), sorted. */
  names: string[];
}

/** An executor as derived from the workflows it touched. */
export interface DerivedExecutor {
  executorId: string;
  applicationVersion: string | null;
  /** Epoch ms of the last update it made to any workflow, as a string. */
  lastActive: string | null;
  /** Workflows it holds PENDING. */
  pending: number;
}

/** The parts of a `pg` pool this module uses. */
/** The part of a `pg` pool this module uses. */
export interface PgPool {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  on(event: "error", listener: (err: Error) => void): unknown;
  end(): Promise<void>;
}

/** Options of {@linkcode SystemDatabase}. */
export interface SystemDatabaseOptions {
  /** DBOS system schema. */
  schema: string;
  /** Connections in the pool. */
  poolSize: number;
  /** Statement timeout of every query, in milliseconds. */
  statementTimeoutMs: number;
  /** Time limit to open a connection, in milliseconds. */
  connectTimeoutMs: number;
  /** Open every connection with `default_transaction_read_only=on`. */
  readOnly: boolean;
  /** Diagnostics. */
  log: LogFn;
  /** Records the password looked up for the pool; removes passwords from diagnostics. */
  secrets: SecretSet;
  /** How long the DBOS client may retry a lost connection within one call, in milliseconds. */
  retryBudgetMs: number;
}

/** One system database, its pool and its DBOS clients. */
export class SystemDatabase {
  /** The configured database. */
  readonly target: DatabaseTarget;
  #opts: SystemDatabaseOptions;
  #pool: PgPool | undefined;
  #clients = new Map<string, Promise<DBOSClient>>();
  /** The last successful probe; cleared when a probe starts. */
  #probe: Probe | undefined;
  /** The application names of the last successful probe (kept while the database is down). */
  #knownNames: string[] = [];

  /** Describes the database; nothing connects yet. */
  constructor(target: DatabaseTarget, options: SystemDatabaseOptions) {
    this.target = target;
    this.#opts = options;
  }

  /** The quoted schema name, for SQL. */
  get schemaSql(): string {
    return `"${this.#opts.schema.replaceAll('"', '""')}"`;
  }

  /** The pool, created on first use. */
  pool(): PgPool {
    if (!this.#pool) {
      const options = [`-c statement_timeout=${this.#opts.statementTimeoutMs}`];
      if (this.#opts.readOnly) options.push("-c default_transaction_read_only=on");
      const params = parseConnectionString(withStartupOptions(this.target.url, options.join(" "), "dbos-mcp"));
      const secrets = this.#opts.secrets;
      secrets.add(params.password);
      // Without a password in the URL, look one up the way libpq does (see _password.ts), and scrub it too.
      const lookup = passwordLookup(this.target);
      const pool = new pg.Pool({
        ...params,
        password: params.password || (async () => {
          const found = await lookup();
          secrets.add(found);
          return found;
        }),
        max: this.#opts.poolSize,
        connectionTimeoutMillis: this.#opts.connectTimeoutMs,
        idleTimeoutMillis: 30_000,
        allowExitOnIdle: true,
      }) as PgPool;
      // An idle connection that breaks (the database restarts) must not crash the server.
      pool.on("error", (err) => {
        this.#opts.log(
          `system database ${this.target.where}: idle connection failed: ${this.#opts.secrets.scrub(err.message)}`,
        );
      });
      this.#pool = pool;
    }
    return this.#pool;
  }

  /** The DBOS client for `scope` (an application name, or `undefined` for every workflow). */
  client(scope: string | undefined): Promise<DBOSClient> {
    const key = scope ?? "";
    let client = this.#clients.get(key);
    if (!client) {
      const log = this.#opts.log;
      const secrets = this.#opts.secrets;
      const where = this.target.where;
      const say = (level: string) => (entry: unknown) =>
        log(`DBOS client (${where}) ${level}: ${secrets.scrub(errorMessage(entry))}`);
      // DBOSClient.create only constructs: it connects on the first call.
      client = DBOSClient.create({
        systemDatabaseUrl: this.target.url,
        systemDatabasePool: this.pool(),
        systemDatabaseSchemaName: this.#opts.schema,
        applicationName: scope,
        // The client caps its list queries with its own timeout: make it ours.
        observabilityQueryTimeoutMs: this.#opts.statementTimeoutMs,
        logger: { info: () => {}, debug: () => {}, warn: say("warning"), error: say("error") },
      });
      client.catch(() => this.#clients.delete(key));
      this.#clients.set(key, client);
    }
    return client;
  }

  /** The application names the database recorded when it last answered. */
  get knownNames(): readonly string[] {
    return this.#knownNames;
  }

  /** The last successful probe, if any. */
  get lastProbe(): Probe | undefined {
    return this.#probe;
  }

  /**
   * Reads the schema's presence and version and the application names.
   * Throws when the database does not answer. On a schema this server
   * serves, the names come from the DBOS client; on an older one, from
   * `application_versions.application_name` where it exists (migration 103).
   */
  async probe(): Promise<Probe> {
    this.#probe = undefined;
    const pool = this.pool();
    const s = this.schemaSql;
    const { rows } = await pool.query(
      "SELECT to_regclass($1) IS NOT NULL AS has_status, to_regclass($2) IS NOT NULL AS has_migrations, " +
        "to_regclass($3) IS NOT NULL AS has_versions, EXISTS (SELECT 1 FROM pg_catalog.pg_attribute " +
        "WHERE attrelid = to_regclass($3) AND attname = 'application_name' AND NOT attisdropped) AS has_version_names",
      [`${s}.workflow_status`, `${s}.dbos_migrations`, `${s}.application_versions`],
    );
    const row = rows[0] ?? {};
    let schemaVersion: number | undefined;
    if (row.has_migrations) {
      const v = await pool.query(`SELECT max(version)::text AS version FROM ${s}.dbos_migrations`);
      const n = Number(v.rows[0]?.version);
      schemaVersion = Number.isFinite(n) ? n : 0;
    }
    let recorded: (string | null | undefined)[] = [];
    if (row.has_versions && row.has_status && (schemaVersion ?? 0) >= MIN_SCHEMA_VERSION) {
      // The names the applications registered with their versions, through the DBOS client.
      const versions = await withRetryBudget(
        this.#opts.retryBudgetMs,
        undefined,
        async () => await (await this.client(undefined)).listApplicationVersions(),
      );
      recorded = versions.map((v) => v.applicationName);
    } else if (row.has_version_names) {
      // A schema too old for the client: the registered names still name the application in messages.
      const found = await pool.query(
        `SELECT DISTINCT application_name FROM ${s}.application_versions WHERE application_name IS NOT NULL ` +
          `ORDER BY application_name LIMIT 1000`,
      );
      recorded = found.rows.map((r) => r.application_name === null ? null : String(r.application_name));
    }
    const valid = recorded.map((n) => n ?? "").filter((n) => /^[A-Za-z0-9_.-]{1,128}$/.test(n));
    const names = [...new Set(valid)].sort();
    const probe = { schemaVersion, hasSchema: Boolean(row.has_status), names };
    this.#probe = probe;
    this.#knownNames = names;
    return probe;
  }

  /**
   * The executors that touched workflows (of `scope`, when given): a
   * derivation from `workflow_status`, as only Conductor sees live
   * connections. It reads the {@linkcode EXECUTOR_WINDOW} most recent
   * workflows and every PENDING one (through the indexes on `created_at`),
   * so that it stays fast on millions of rows: PENDING counts are exact, and
   * an executor that touched only older, finished workflows is left out.
   */
  async executors(scope: string | undefined, limit = 200): Promise<DerivedExecutor[]> {
    const params: unknown[] = [EXECUTOR_WINDOW, limit];
    let inScope = "TRUE";
    if (scope !== undefined) {
      params.push(scope);
      inScope = "(application_name = $3 OR application_name IS NULL)";
    }
    const s = this.schemaSql;
    // UNION ALL without deduplication: PENDING counts come from the second part only, and a
    // workflow in both parts changes no maximum.
    const { rows } = await this.pool().query(
      `SELECT executor_id, application_version, max(updated_at)::text AS last_active, sum(p)::int AS pending FROM (` +
        `(SELECT executor_id, application_version, updated_at, 0 AS p FROM ${s}.workflow_status WHERE ${inScope} ` +
        `ORDER BY created_at DESC LIMIT $1) ` +
        `UNION ALL ` +
        `(SELECT executor_id, application_version, updated_at, 1 AS p FROM ${s}.workflow_status ` +
        `WHERE status = 'PENDING' AND ${inScope})` +
        `) w GROUP BY executor_id, application_version ORDER BY max(updated_at) DESC NULLS LAST LIMIT $2`,
      params,
    );
    return rows.map((r) => ({
      executorId: r.executor_id === null || r.executor_id === undefined ? "" : String(r.executor_id),
      applicationVersion: r.application_version === null ? null : String(r.application_version),
      lastActive: r.last_active === null ? null : String(r.last_active),
      pending: Number(r.pending ?? 0),
    }));
  }

  /** Destroys the clients and closes the pool. */
  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    const pool = this.#pool;
    this.#pool = undefined;
    for (const c of clients) await c.then((client) => client.destroy()).catch(() => {});
    await pool?.end().catch(() => {});
  }
}

/**
 * Runs DBOS client calls in `fn` with the client's connection retries cut
 * short once `budgetMs` have passed (or `signal` aborts). The client, made
 * for workflows that must outlast an outage, retries a lost connection with
 * backoff for as long as it takes; a tool call must answer instead. Within
 * the budget a transient failure (a connection the database just closed) is
 * still retried once or twice.
 */
export function withRetryBudget<T>(
  budgetMs: number,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = AbortSignal.timeout(budgetMs);
  return runWithAbortableDbRetries(signal ? AbortSignal.any([deadline, signal]) : deadline, fn);
}
