/**
 * The command line: flags and environment to {@linkcode Config}, `--help`,
 * `--version`, then the server on stdio until stdin closes or a signal
 * arrives. Usage errors exit with status 2 and one line on stderr.
 *
 * @module
 */
import process from "node:process";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { FlagParseError, type FlagSpec, parseFlags } from "./_args.ts";
import { type Config, OPTIONS, resolveConfig } from "./config.ts";
import { DbosMcpError } from "./errors.ts";
import { createServer } from "./server.ts";
import { NAME, VERSION } from "./version.ts";

const FLAGS: Record<string, FlagSpec> = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  ...Object.fromEntries(OPTIONS.filter((o) => o.flag).map((o) => [o.flag!, { type: "string" } as FlagSpec])),
};

/** The text of `--help`. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const left = o.flag ? `  --${o.flag} ${o.value}` : `  (env only)`;
    return `${left.padEnd(26)} ${o.description}\n${"".padEnd(27)}env ${o.env}; default ${o.defaultText}`;
  });
  return [
    `${NAME} ${VERSION}: an MCP server (stdio) to inspect and manage DBOS durable workflows.`,
    "",
    "Usage: deno run <permission flags> jsr:@x/dbos-mcp [options]",
    "",
    "Options (a flag beats its environment variable, which beats the default):",
    ...rows,
    `  ${"-h, --help".padEnd(24)} Print this help.`,
    `  ${"-V, --version".padEnd(24)} Print the version.`,
    "",
    "See the README for the permission flags each mode needs.",
  ].join("\n");
}

/** Outcome of parsing the command line. */
export type ParsedCommand =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "serve"; config: Config }
  | { kind: "usage-error"; message: string };

/** Parses the command line and environment, without side effects. */
export function parseCommand(args: string[], env?: (name: string) => string | undefined): ParsedCommand {
  try {
    const { values, positionals } = parseFlags(args, FLAGS);
    if (values.help) return { kind: "help" };
    if (values.version) return { kind: "version" };
    if (positionals.length > 0) {
      return { kind: "usage-error", message: `unexpected argument '${positionals[0]}' (see --help)` };
    }
    return { kind: "serve", config: resolveConfig(values, env) };
  } catch (err) {
    if (err instanceof FlagParseError) {
      const allowed = Object.keys(FLAGS).map((f) => `--${f}`).join(", ");
      return { kind: "usage-error", message: `${err.message}; allowed flags: ${allowed} (see --help)` };
    }
    if (err instanceof DbosMcpError) return { kind: "usage-error", message: err.message };
    throw err;
  }
}

/**
 * Runs the command line. Resolves with the exit status once the server has
 * stopped (stdin closed or a signal), or at once for `--help`, `--version`
 * and usage errors.
 */
export async function main(args: string[]): Promise<number> {
  const command = parseCommand(args);
  switch (command.kind) {
    case "help":
      console.log(helpText());
      return 0;
    case "version":
      console.log(`${NAME} ${VERSION}`);
      return 0;
    case "usage-error":
      console.error(`dbos-mcp: ${command.message}`);
      return 2;
  }
  // From here on stdout carries JSON-RPC only: route stray console output to stderr.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;

  const server = createServer({ config: command.config });
  const stopped = Promise.withResolvers<number>();
  let stopping = false;
  const stop = (status: number) => {
    if (stopping) return;
    stopping = true;
    server.idle(800)
      .then(() => server.close())
      .catch(() => {})
      .finally(() => stopped.resolve(status));
  };
  process.stdin.on("end", () => stop(0));
  process.stdin.on("close", () => stop(0));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => stop(0));
    } catch {
      // signals not supported on this platform
    }
  }
  await server.connect(new StdioServerTransport());
  return await stopped.promise;
}
