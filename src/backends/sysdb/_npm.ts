// The npm packages of system-database mode (the DBOS SDK, the Postgres
// driver, its URL parser), imported by computed specifiers when this module
// is first evaluated, which happens only when system-database mode first
// needs its backend.
//
// Why computed: before running anything, Deno fetches every npm package that
// a static import, or an `import()` of a string literal, names anywhere in
// the module graph, lazily loaded branches included. With plain imports here,
// every first run in Conductor mode downloaded the DBOS SDK and `pg` (about
// 13 MB and 23 packages more than the MCP SDK and zod). Specifiers that are
// not literals are fetched when evaluated, and need no Deno permission.
//
// They are full `npm:` specifiers, not the bare names of deno.json's
// imports, because JSR rewrites only the specifiers it can see at publish
// time; tests/first_run_imports_test.ts checks that the versions here match
// deno.json. The types come from type-only imports, which `deno run` does not
// fetch.
import type * as DbosSdk from "@dbos-inc/dbos-sdk";
import type * as DbosMigrations from "@dbos-inc/dbos-sdk/internal/sysdb_migrations/internal/migrations";
import type * as DbosContext from "@dbos-inc/dbos-sdk/internal/context";
import type PgDefault from "pg";
import type * as PgConnectionString from "pg-connection-string";

/** The npm specifiers this module imports at run time, by the deno.json import name they stand for. */
export const SYSDB_NPM_SPECIFIERS: Readonly<Record<string, string>> = {
  "@dbos-inc/dbos-sdk": "npm:@dbos-inc/dbos-sdk@5.3.0",
  "pg": "npm:pg@8.23.1",
  "pg-connection-string": "npm:pg-connection-string@2.14.1",
};

// Joined at run time so that no literal names the package to Deno's graph builder.
const load = <T>(name: string, subpath = ""): Promise<T> => import([SYSDB_NPM_SPECIFIERS[name], subpath].join(""));

const [sdk, migrations, context, pgModule, connectionString] = await Promise.all([
  load<typeof DbosSdk>("@dbos-inc/dbos-sdk"),
  load<typeof DbosMigrations>("@dbos-inc/dbos-sdk", "/internal/sysdb_migrations/internal/migrations"),
  load<typeof DbosContext>("@dbos-inc/dbos-sdk", "/internal/context"),
  load<{ default: typeof PgDefault }>("pg"),
  load<typeof PgConnectionString>("pg-connection-string"),
]);

/** `DBOSClient` of the DBOS SDK. */
export const DBOSClient: typeof DbosSdk.DBOSClient = sdk.DBOSClient;
/** An instance of {@linkcode DBOSClient}. */
export type DBOSClient = DbosSdk.DBOSClient;
/** The DBOS SDK's error classes. */
export const DbosErrors: typeof DbosSdk.Error = sdk.Error;
/** The DBOS SDK's system-database migrations (their count is the schema version it expects). */
export const allMigrations: typeof DbosMigrations.allMigrations = migrations.allMigrations;
/** The DBOS SDK's retry loop for transient database errors. */
export const runWithAbortableDbRetries: typeof DbosContext.runWithAbortableDbRetries =
  context.runWithAbortableDbRetries;
/** The `pg` driver (its default export). */
export const pg: typeof PgDefault = pgModule.default;
/** `parse` of `pg-connection-string`. */
export const parseConnectionString: typeof PgConnectionString.parse = connectionString.parse;
