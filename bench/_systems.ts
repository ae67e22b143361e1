/**
 * The command lines of the systems the benchmarks spawn: dbos-mcp under the
 * README's permission flags (Conductor and system-database mode), the floor
 * (a minimal one-tool server on the same SDK and Deno), and the Node peer
 * (`@modelcontextprotocol/server-everything`, installed into `.tools/` by
 * `deno task tools`).
 *
 * @module
 */
import type { ServerCommand } from "./_rpc.ts";
import { conductorModeFlags, hostPortsOf, MOD_PATH, sysdbModeFlags, V8_FLAGS } from "../tests/_server_process.ts";

/** The repository root: every process runs there, so Deno finds `deno.json` and its imports. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** The floor server's entry point. */
export const FLOOR_PATH: string = new URL("./fixtures/floor_server.ts", import.meta.url).pathname;

/** Where `deno task tools` installs the Node peer. */
export const NODE_PEER_PATH: string =
  `${ROOT}.tools/node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

/**
 * dbos-mcp in Conductor mode under the README's permission flags, scoped to
 * the given Conductor URL's host (DBOS Cloud's hosts by default) and home.
 */
export function oursConductorMode(opts: { home: string; conductorUrl?: string; args?: string[] }): ServerCommand {
  const hosts = [...(opts.conductorUrl ? [new URL(opts.conductorUrl).host] : []), "cloud.dbos.dev", "login.dbos.dev"];
  return {
    label: "dbos-mcp",
    command: Deno.execPath(),
    args: [
      "run",
      ...conductorModeFlags({ hosts, home: opts.home }),
      MOD_PATH,
      "--home",
      opts.home,
      ...(opts.conductorUrl ? ["--conductor-url", opts.conductorUrl] : []),
      ...(opts.args ?? []),
    ],
    cwd: ROOT,
  };
}

/** dbos-mcp in system-database mode under the README's permission flags, one `--app NAME=URL` per database. */
export function oursSysdbMode(apps: { name: string; url: string }[]): ServerCommand {
  return {
    label: "dbos-mcp (system database)",
    command: Deno.execPath(),
    args: [
      "run",
      ...sysdbModeFlags({ hostPorts: hostPortsOf(apps.map((a) => a.url)) }),
      MOD_PATH,
      ...apps.flatMap((a) => ["--app", `${a.name}=${a.url}`]),
    ],
    cwd: ROOT,
  };
}

/** The floor: a minimal one-tool server on the same SDK, under the same Deno and runtime flag, with no permission. */
export function floorServer(): ServerCommand {
  return {
    label: "floor (SDK, 1 tool)",
    command: Deno.execPath(),
    args: ["run", "--no-prompt", V8_FLAGS, FLOOR_PATH],
    cwd: ROOT,
  };
}

/** `@modelcontextprotocol/server-everything` on Node, in stdio mode. */
export function nodePeer(): ServerCommand {
  return { label: "server-everything (Node)", command: "node", args: [NODE_PEER_PATH, "stdio"], cwd: ROOT };
}

/** Throws a helpful error when the Node peer is not installed or Node is missing. */
export async function checkNodePeer(): Promise<string> {
  try {
    await Deno.stat(NODE_PEER_PATH);
  } catch {
    throw new Error(
      `The Node peer is not installed (${NODE_PEER_PATH}): run \`deno task tools\` first.`,
    );
  }
  const out = await new Deno.Command("node", { args: ["--version"], stdout: "piped", stderr: "null" }).output()
    .catch(() => {
      throw new Error("Node.js is not on PATH; the Node peer needs it.");
    });
  const pkg = JSON.parse(await Deno.readTextFile(NODE_PEER_PATH.replace(/dist\/index\.js$/, "package.json")));
  return `server-everything ${pkg.version} on Node ${new TextDecoder().decode(out.stdout).trim()}`;
}
