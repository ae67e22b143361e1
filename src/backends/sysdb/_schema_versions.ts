// Which DBOS system-schema versions this server serves, found by test
// (tests/sysdb_versions_test.ts writes databases with real SDK releases and
// runs every tool against them), and what to tell the user about the others.
//
// DBOS numbers its migrations and records the highest applied one in
// `<schema>.dbos_migrations`. Measured with `@dbos-inc/dbos-sdk` releases:
// 24 = 3.5.8 and 4.0.2, 41 = 4.15.5, 108 = 4.27.6, 114 = 5.0.2,
// 122 = 5.1.10, 123 = 5.2.11 and 5.3.0. The server's DBOS client (5.3.0)
// reads workflows from `workflow_input` / `workflow_output` (migration 109),
// so every workflow read fails below 109; no release writes 109 to 113, and
// every tool works on 114 (5.0) and later.
import { type DatabaseLabel, SystemDatabaseError } from "./_errors.ts";

/** The oldest schema version every tool works on: the one DBOS SDK 5.0 writes. */
export const MIN_SCHEMA_VERSION = 114;

/**
 * The `@dbos-inc/dbos-sdk` release of this server's DBOS client: its CLI
 * migrates a schema to what the client reads (`deno.json` must import the
 * same; a test checks it).
 */
export const CLIENT_SDK_VERSION = "5.3.0";

/** A DBOS client operation that needs a newer schema than {@linkcode MIN_SCHEMA_VERSION}. */
export interface SchemaNeed {
  /** A short name, shown in list_applications' `limited`. */
  capability: string;
  /** The oldest schema version it works on. */
  version: number;
  /** What it reads or writes that older schemas lack. */
  because: string;
}

/**
 * Client operations measured to need a newer schema than the others (each
 * failed on the older schemas written by real SDK releases): a tool built on
 * one passes it to the backend's readiness check, so that it alone answers
 * with a clear error there while the rest work. No current tool uses them.
 */
export const SCHEMA_NEEDS = {
  enqueue: {
    capability: "enqueue",
    version: 123,
    because: "DBOSClient.enqueue writes workflow_status.creator_xid (migration 123)",
  },
  rewind: {
    capability: "rewind",
    version: 121,
    because: "DBOSClient.rewindWorkflow reads notifications.consumed_by_function_id (migration 121)",
  },
} as const satisfies Record<string, SchemaNeed>;

/** The name of a {@linkcode SCHEMA_NEEDS} entry. */
export type SchemaCapability = keyof typeof SCHEMA_NEEDS;

/**
 * The DBOS TypeScript SDK generation that writes schema `version` (from the
 * measured releases above). From 100 on the SDKs of every language number
 * the same migrations alike; below 100 each numbers its own, so a Python,
 * Go or Java schema there is named by the TypeScript release of that number.
 */
export function sdkGeneration(version: number | undefined): string {
  if (version === undefined) return "unknown (the schema records no version)";
  if (version <= 24) return "3.x or 4.0";
  if (version <= 108) return "4.x";
  if (version < MIN_SCHEMA_VERSION) return "between 4.x and 5.0 (no release)";
  if (version === MIN_SCHEMA_VERSION) return "5.0";
  if (version <= 122) return "5.1";
  if (version === 123) return "5.2 or 5.3";
  return "newer than 5.3";
}

/** The SDK generation a schema version needs at least, for messages: e.g. `5.2 or later`. */
function generationFrom(version: number): string {
  return version <= MIN_SCHEMA_VERSION ? "5.0 or later" : version <= 122 ? "5.1 or later" : "5.2 or later";
}

/** What list_applications' `limited` says for schema `version`; `undefined` when nothing is limited. */
export function limitedCapabilities(version: number): string | undefined {
  const limited = Object.values(SCHEMA_NEEDS as Record<string, SchemaNeed>)
    .filter((n) => version < n.version)
    .map((n) => `${n.capability} needs schema version ${n.version} (DBOS SDK ${generationFrom(n.version)})`);
  return limited.length > 0 ? limited.join("; ") : undefined;
}

/** The command that migrates a schema to what this server reads, as the user types it. */
export const MIGRATE_COMMAND = `npx -y -p @dbos-inc/dbos-sdk@${CLIENT_SDK_VERSION} dbos schema <url>`;

/** How to bring a database to a schema this server reads, for hints. */
export function upgradeHint(): string {
  return `Upgrade the application to DBOS TypeScript SDK 5.0 or later (it migrates the schema when it launches), ` +
    `or migrate ` +
    `the schema with a current DBOS CLI: \`${MIGRATE_COMMAND}\` (with a database role allowed to change the ` +
    `schema; an older project's own \`npx dbos\` does not migrate past its own version). Then call ` +
    `list_applications again.`;
}

/** The error for a schema older than {@linkcode MIN_SCHEMA_VERSION}; `done` (e.g. "forked") names a refused change. */
export function schemaTooOldError(
  label: DatabaseLabel,
  what: string,
  version: number | undefined,
  done?: string,
): SystemDatabaseError {
  const found = version === undefined
    ? `has no ${label.schema}.dbos_migrations table`
    : `is at schema version ${version} (in ${label.schema}.dbos_migrations)`;
  const refused = done ? ` The ${refusedNoun(done)} was refused: nothing was ${done}.` : "";
  return new SystemDatabaseError(
    `Cannot ${what}: the system database of application '${label.app}' (${label.where}) ${found}, the schema of ` +
      `DBOS TypeScript SDK ${sdkGeneration(version)}; this server reads schema version ${MIN_SCHEMA_VERSION} ` +
      `(DBOS TypeScript SDK 5.0) or later.${refused}`,
    {
      kind: "schema_version",
      reason: version === undefined
        ? `no ${label.schema}.dbos_migrations: schema too old for this client (needs version ${MIN_SCHEMA_VERSION})`
        : `schema version ${version}, this client needs ${MIN_SCHEMA_VERSION} or later`,
      hint: upgradeHint(),
    },
  );
}

/** The error of a tool whose client operation needs a newer schema than the database has; the other tools work. */
export function schemaNeedError(
  label: DatabaseLabel,
  what: string,
  need: SchemaNeed,
  version: number,
  done?: string,
): SystemDatabaseError {
  const refused = done ? ` Nothing was ${done}.` : "";
  return new SystemDatabaseError(
    `Cannot ${what}: this needs DBOS schema version ${need.version} (${need.because}), and the system database of ` +
      `application '${label.app}' (${label.where}) is at version ${version} (DBOS TypeScript SDK ` +
      `${sdkGeneration(version)}). ` +
      `The other tools work on it.${refused}`,
    {
      kind: "schema_version",
      reason: `${need.capability} needs schema version ${need.version}, the database is at ${version}`,
      hint: `Upgrade the application to DBOS SDK ${generationFrom(need.version)}, or migrate the schema with ` +
        `\`${MIGRATE_COMMAND}\` (with a database role allowed to change the schema).`,
    },
  );
}

function refusedNoun(done: string): string {
  return done === "forked" ? "fork" : done === "cancelled" ? "cancel" : done === "resumed" ? "resume" : "change";
}
