// The npm packages of system-database mode as static imports, for
// `deno compile --include` only: a compiled binary embeds what its module
// graph names, and `_npm.ts` names these packages by computed specifiers
// (so that `deno run` in Conductor mode never fetches them). Nothing imports
// this module.
import "@dbos-inc/dbos-sdk";
import "@dbos-inc/dbos-sdk/internal/sysdb_migrations/internal/migrations";
import "@dbos-inc/dbos-sdk/internal/context";
import "pg";
import "pg-connection-string";
