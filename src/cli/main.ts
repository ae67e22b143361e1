/**
 * The command line: flags and environment to {@linkcode Config}, `--help`,
 * `--version`, then the server on stdio until stdin closes or a signal
 * arrives. Usage errors, and a configuration the server refuses at start-up
 * (a `ConfigError`, e.g. an API key without `--org`), exit with status 2 and
 * one line on stderr.
 *
 * @module
 */
import { FlagParseError, type FlagSpec, parseFlags } from "./_args.ts";
import { type Config, loadConfigFile, OPTIONS, readEnv, resolveConfig } from "../config/mod.ts";
import { ConfigError, DbosMcpError, errorMessage } from "../core/errors.ts";
import { SecretSet } from "../core/secrets.ts";
import { createServer } from "../server.ts";
import { StdioLineTransport } from "../transports/stdio.ts";
import { type HttpServing, parseListen, serveHttp } from "../transports/http.ts";
import { NAME, VERSION } from "../util/version.ts";

const FLAGS: Record<string, FlagSpec> = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  ...Object.fromEntries(
    OPTIONS.filter((o) => o.flag).map((o) => [
      o.flag!,
      (o.kind === "boolean" ? { type: "boolean" } : { type: "string", multiple: o.kind === "list" }) as FlagSpec,
    ]),
  ),
};

/** The text of `--help`. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const left = o.flag
      ? `  --${o.flag}${o.value ? ` ${o.value}` : ""}`
      : o.env
      ? "  (env only)"
      : "  (config file only)";
    const where = [o.env ? `env ${o.env}` : "", o.fileKey && !o.flag ? `file key ${o.fileKey}` : ""]
      .filter(Boolean).join("; ");
    return `${left.padEnd(26)} ${o.description}\n${"".padEnd(27)}${where ? `${where}; ` : ""}default ${o.defaultText}`;
  });
  return [
    `${NAME} ${VERSION}: an MCP server (stdio) to inspect and manage DBOS durable workflows.`,
    "",
    "Usage: deno run <permission flags> jsr:@x/dbos-mcp [options]",
    "       deno run --allow-read=PATH jsr:@x/dbos-mcp audit verify PATH [--head HASH]",
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
  | { kind: "audit"; args: string[] }
  | { kind: "usage-error"; message: string };

/**
 * Parses the command line, the environment and the config file it names
 * (the only side effect: reading that file).
 */
export async function parseCommand(
  args: string[],
  env: (name: string) => string | undefined = readEnv,
): Promise<ParsedCommand> {
  // `audit ...` has its own words and flags (`--head HASH`): hand them over before the server's flags are parsed.
  if (args[0] === "audit") return { kind: "audit", args: args.slice(1) };
  try {
    const { values, positionals } = parseFlags(args, FLAGS);
    if (values.help) return { kind: "help" };
    if (values.version) return { kind: "version" };
    if (positionals[0] === "audit") return { kind: "audit", args: positionals.slice(1) };
    if (positionals.length > 0) {
      return { kind: "usage-error", message: `unexpected argument '${positionals[0]}' (see --help)` };
    }
    const configPath = typeof values.config === "string" ? values.config : env("DBOS_MCP_CONFIG") || undefined;
    const file = configPath ? await loadConfigFile(configPath) : undefined;
    return { kind: "serve", config: resolveConfig({ flags: values, env, file }) };
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
  const command = await parseCommand(args);
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
    case "audit": {
      const { runAuditCli } = await import("../../plugins/audit.ts");
      return await runAuditCli(command.args);
    }
  }
  // From here on stdout carries JSON-RPC only: route stray console output to stderr.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;

  // The server's secrets, so that what this function writes to stderr is scrubbed of them too; with the redact
  // plugin configured, its rules apply to these lines as well (the server's own log lines get them from the
  // plugin once it is loaded; a start-up failure may come before that).
  const secrets = new SecretSet();
  const clean = await stderrFilter(command.config, secrets);
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    server = await createServer({ config: command.config, secrets });
  } catch (err) {
    const message = errorMessage(err);
    // A plugin's own hint (e.g. how to fix its audit log) says more than the loader's generic one.
    const cause = err instanceof DbosMcpError ? err.cause : undefined;
    const hinted = cause instanceof DbosMcpError && cause.hint ? cause : err;
    const hint = hinted instanceof DbosMcpError && hinted.hint ? ` ${hinted.hint}` : "";
    console.error(`dbos-mcp: cannot start: ${clean(message + hint)}`);
    // A misconfiguration (e.g. an API key without --org) is a usage error, like a bad flag.
    return err instanceof ConfigError ? 2 : 1;
  }
  const stopped = Promise.withResolvers<number>();
  let stopping = false;
  let http: HttpServing | undefined;
  const stop = (status: number) => {
    if (stopping) return;
    stopping = true;
    server.idle(800)
      .then(() => http?.shutdown())
      .then(() => server.close())
      .catch(() => {})
      .finally(() => stopped.resolve(status));
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => stop(0));
    } catch {
      // signals not supported on this platform
    }
  }
  if (command.config.http) {
    try {
      http = serveHttp(server, {
        ...parseListen(command.config.http),
        token: command.config.httpToken,
        maxBodyBytes: command.config.httpMaxBodyBytes,
        maxSessions: command.config.httpMaxSessions,
        idleTimeoutMs: command.config.httpIdleTimeoutMs,
        readTimeoutMs: command.config.httpReadTimeoutMs,
        allowedHosts: command.config.httpAllowedHosts,
        log: (m) => console.error(`dbos-mcp: ${clean(m)}`),
      });
    } catch (err) {
      console.error(`dbos-mcp: cannot start: ${clean(errorMessage(err))}`);
      await server.close();
      return err instanceof DbosMcpError && err.code === "CONFIG" ? 2 : 1;
    }
  } else {
    await server.connect(new StdioLineTransport({ onEnd: () => stop(0) }));
  }
  return await stopped.promise;
}

/**
 * What the command line writes to stderr goes through: the known secrets are
 * scrubbed and, when the configuration loads the redact plugin, its rules
 * apply too (with that plugin's options).
 */
async function stderrFilter(config: Config, secrets: SecretSet): Promise<(text: string) => string> {
  if (!config.plugins.includes("redact")) return (text) => secrets.scrub(text);
  try {
    const { createRedactor } = await import("../../plugins/redact.ts");
    const redactor = createRedactor(config.pluginOptions.redact ?? {});
    return (text) => redactor.redactText(secrets.scrub(text));
  } catch {
    // Bad redact options: the plugin's own load reports them; scrub the known secrets meanwhile.
    return (text) => secrets.scrub(text);
  }
}
