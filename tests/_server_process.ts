// Spawns the server the way a user's MCP client does: the real SDK client
// over stdio, under the permission flags the README gives.
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Client } from "./_mcp.ts";

/** The entry point users run. */
export const MOD_PATH: string = new URL("../mod.ts", import.meta.url).pathname;

/**
 * The runtime flag of every command in the README (not a grant): V8's heap
 * sized for a long-lived server, which keeps its resident memory flat under
 * load (see the README's Permissions section and `bench/memory.ts`).
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=50,--no-concurrent-recompilation";

/**
 * The permission flags of the README's Conductor-mode command, for the given
 * hosts and home folder. `readme_test.ts` checks that the README and the
 * `start` task say exactly this for the default hosts.
 */
export function conductorModeFlags(opts: { hosts: string[]; home: string; paths?: string[] }): string[] {
  const files = [opts.home, ...(opts.paths ?? [])].join(",");
  return [
    "--no-prompt",
    V8_FLAGS,
    `--allow-net=${opts.hosts.join(",")}`,
    "--allow-env=HOME,DBOS_*",
    `--allow-read=${files}`,
    `--allow-write=${files}`,
  ];
}

/**
 * The permission flags of the README's system-database-mode command: network
 * only to the databases' `host:port`s, and only the environment variables
 * of this server (`DBOS_*`) and of the Postgres driver (`PG*`). No file
 * access at all.
 */
export function sysdbModeFlags(opts: { hostPorts: string[] }): string[] {
  return ["--no-prompt", V8_FLAGS, `--allow-net=${opts.hostPorts.join(",")}`, "--allow-env=DBOS_*,PG*"];
}

/**
 * The exact environment variables system-database mode reads when the URL
 * names the user, password, host, port and database (found by granting
 * nothing and adding what Deno refused): the DBOS SDK's four at import, and
 * five the Postgres driver reads when it connects. The README offers it as
 * the strict alternative to `DBOS_*,PG*`.
 */
export const SYSDB_STRICT_ENV: readonly string[] = [
  "DBOS__APPVERSION",
  "DBOS__VMID",
  "DBOS__APPID",
  "DBOS__CLOUD",
  "PGBINARY",
  "PGSSLMODE",
  "PGSSLNEGOTIATION",
  "PGCLIENT_ENCODING",
  "PGREPLICATION",
];

/** The `host:port` of each Postgres URL, for {@linkcode sysdbModeFlags}. */
export function hostPortsOf(urls: string[]): string[] {
  return [...new Set(urls.map((u) => `${new URL(u).hostname}:${new URL(u).port || "5432"}`))];
}

/** A server process with an SDK client connected over stdio. */
export interface ServerProcess extends AsyncDisposable {
  client: Client;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** The server process's id (`null` once it has exited). */
  pid(): number | null;
  close(): Promise<void>;
}

/** Spawns `deno run <flags> mod.ts <args>` and connects a client to it. */
export async function spawnServer(
  opts: { flags: string[]; args: string[]; env?: Record<string, string> },
): Promise<ServerProcess> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", ...opts.flags, MOD_PATH, ...opts.args],
    // The SDK passes HOME, PATH, USER, ... through; HOME must stay the real one
    // so that Deno finds its module cache.
    env: opts.env,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    stderr += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: "dbos-mcp-e2e", version: "1.0.0" });
  await client.connect(transport);
  const close = () => client.close();
  return { client, stderr: () => stderr, pid: () => transport.pid, close, [Symbol.asyncDispose]: close };
}

/** Where a Conductor-mode server under test connects. */
export interface ConductorModeTargets {
  /** Conductor API base. */
  conductorUrl: string;
  /** Login service base. */
  loginUrl: string;
  /** The server's home folder. */
  home: string;
}

/** The arguments that point a Conductor-mode server at `targets` (home left out when undefined). */
export function conductorModeArgs(targets: Omit<ConductorModeTargets, "home"> & { home?: string }): string[] {
  return [
    "--conductor-url",
    targets.conductorUrl,
    "--login-url",
    targets.loginUrl,
    ...(targets.home === undefined ? [] : ["--home", targets.home]),
  ];
}

/**
 * Spawns a Conductor-mode server for `targets`, under the README's flags
 * scoped to the targets' hosts and home (or `flags(home, hosts)` instead),
 * with more command-line `args` and `env`.
 */
export function spawnConductorModeServer(
  targets: ConductorModeTargets,
  opts: { args?: string[]; env?: Record<string, string>; flags?: (home: string, hosts: string[]) => string[] } = {},
): Promise<ServerProcess> {
  const hosts = [
    ...new Set([targets.conductorUrl, targets.loginUrl].map((u) => new URL(u).host)),
  ];
  const flags = opts.flags ? opts.flags(targets.home, hosts) : conductorModeFlags({ hosts, home: targets.home });
  return spawnServer({
    flags,
    args: [...conductorModeArgs(targets), ...(opts.args ?? [])],
    env: opts.env,
  });
}
