// One configuration path: createServer() (what a library user calls) and the
// command line complete a configuration the same way, through completeConfig().
// Everything here is imported from ../mod.ts, as a library user would.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { textOf } from "./_mcp.ts";
import { parseCommand } from "../src/cli/main.ts";
import {
  completeConfig,
  type Config,
  ConfigError,
  createServer,
  type CreateServerOptions,
  DEFAULTS,
  resolveConfig,
} from "../mod.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const NO_ENV = envOf({});

/** Unroutable remote services: a request that should not be made fails loudly. */
function offline(home: string): Partial<Config> {
  return {
    home,
    conductorUrl: "http://127.0.0.1:9/conductor",
    loginUrl: "http://127.0.0.1:9",
    timeoutMs: 2000,
  };
}

/** A temporary folder, removed when disposed. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "dbos-mcp-config-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** The message the command line gives for `args`, which must be a usage error. */
async function cliError(args: string[]): Promise<string> {
  const cmd = await parseCommand(args, NO_ENV);
  assert(cmd.kind === "usage-error", `${args.join(" ")} is a usage error, got ${JSON.stringify(cmd)}`);
  return cmd.message;
}

/** A server from `options` and an SDK client connected to it in memory. */
async function connect(options: CreateServerOptions) {
  const server = await createServer({ log: () => {}, ...options });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "config-tests", version: "1.0.0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    server,
    client,
    [Symbol.asyncDispose]: async () => {
      await client.close();
      await server.close();
    },
  };
}

async function readLog(path: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

Deno.test("createServer() refuses production without an audit log, with the command line's message", async () => {
  await using home = await tempDir();
  const expected = await cliError(["--production"]);
  assertStringIncludes(expected, "--production needs an audit log");
  const err = await assertRejects(
    () => createServer({ config: { ...offline(home.path), production: true }, log: () => {} }),
    ConfigError,
  );
  assertEquals(err.message, expected);
});

Deno.test("createServer() in production with an audit log is read-only, redacting and audited", async () => {
  await using home = await tempDir();
  const auditLog = `${home.path}/audit.jsonl`;
  {
    await using mcp = await connect({ config: { ...offline(home.path), production: true, auditLog } });
    assertEquals(mcp.server.config.readOnly, true);
    assertEquals(mcp.server.config.auditRequired, true);
    assertEquals(mcp.server.plugins.map((p) => p.name), ["redact", "audit"]);

    const names = (await mcp.client.listTools()).tools.map((t) => t.name);
    assert(names.includes("list_workflows"), "read tools are listed");
    for (const m of ["cancel_workflow", "resume_workflow", "fork_workflow"]) assert(!names.includes(m), `${m} hidden`);

    const res = await mcp.client.callTool({
      name: "cancel_workflow",
      arguments: { application_name: "app", workflow_id: "wf-1" },
    });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "disabled in read-only mode");
  }
  const refused = (await readLog(auditLog)).filter((r) => r.tool === "cancel_workflow" && r.kind === "call");
  assertEquals(refused.length, 1, "the refused call has one audit record");
  assertEquals((refused[0].decision as { allowed: boolean; code: string }).allowed, false);
  assertEquals((refused[0].decision as { allowed: boolean; code: string }).code, "READ_ONLY");
});

Deno.test("createServer() with an audit log alone loads the audit plugin and changes nothing else", async () => {
  await using home = await tempDir();
  const auditLog = `${home.path}/audit.jsonl`;
  await using mcp = await connect({ config: { ...offline(home.path), auditLog } });
  assertEquals(mcp.server.plugins.map((p) => p.name), ["audit"]);
  assertEquals(mcp.server.config.readOnly, false);
  assertEquals(mcp.server.config.auditRequired, false);
  const names = (await mcp.client.listTools()).tools.map((t) => t.name);
  assert(names.includes("cancel_workflow"), "mutating tools stay listed");
});

Deno.test("completeConfig() expands every option that implies others, as the command line does", () => {
  const auditLog = "/var/log/dbos-mcp/audit.jsonl";
  const production = completeConfig({ production: true, auditLog, readOnly: false, plugins: ["./p.ts"] });
  assertEquals(production.readOnly, true, "production wins over readOnly: false");
  assertEquals(production.auditRequired, true);
  assertEquals(production.plugins, ["./p.ts", "redact", "audit"]);
  assertEquals(completeConfig({ auditLog }).plugins, ["audit"]);
  assertEquals(completeConfig({ auditLog, plugins: ["audit"] }).plugins, ["audit"], "never loaded twice");
  assertEquals(completeConfig({}).plugins, []);

  assertEquals(completeConfig({}, { env: envOf({ HOME: "/home/ada" }) }).home, "/home/ada/.dbos-mcp");
  assertEquals(completeConfig({ home: "/srv/mcp" }, { env: envOf({ HOME: "/home/ada" }) }).home, "/srv/mcp");
  assertEquals(completeConfig({}, { env: NO_ENV }).home, undefined);
});

Deno.test("completeConfig() fills every missing or undefined field with its default", () => {
  const config = completeConfig({ timeoutMs: undefined, schema: "custom" }, { env: NO_ENV });
  assertEquals(config, { ...DEFAULTS, home: undefined, schema: "custom" });
  const again = completeConfig({}, { env: NO_ENV });
  again.plugins.push("x");
  assertEquals(DEFAULTS.plugins, [], "a completed configuration shares nothing with the defaults");
});

Deno.test("createServer() refuses HTTP beyond loopback without a token, as the command line does", async () => {
  const expected = await cliError(["--http", "0.0.0.0:8808"]);
  assertStringIncludes(expected, "listens beyond this machine");
  const err = await assertRejects(
    () => createServer({ config: { http: "0.0.0.0:8808" }, log: () => {} }),
    ConfigError,
  );
  assertEquals(err.message, expected);
  const withToken = completeConfig({ http: "0.0.0.0:8808", httpToken: "s3cret-token-0123456789" });
  assertEquals(withToken.http, "0.0.0.0:8808");
  assertEquals(completeConfig({ http: "8808" }).http, "8808", "loopback needs no token");
});

Deno.test("createServer() checks each value with the command line's parser, naming the field", async () => {
  for (
    const [config, cli, lib] of [
      [{ timeoutMs: 0 }, ["--timeout", "0"], "config.timeoutMs must be a whole number of milliseconds from 1 to"],
      [{ maxResultBytes: 10 }, ["--max-result-bytes", "10"], "config.maxResultBytes must be a whole number of bytes"],
      [{ conductorUrl: "ftp://x" }, ["--conductor-url", "ftp://x"], "config.conductorUrl must be an http(s) URL"],
      [{ httpToken: "short" }, ["--http-token", "short"], "config.httpToken must be at least 16 characters"],
      [{ tools: ["list workflows"] }, ["--tools", "list workflows"], "config.tools must list tool names or globs"],
      [{ databaseUrl: "http://u:s3cretpw@h/db" }, ["--database-url", "http://u:s3cretpw@h/db"], "config.databaseUrl"],
      [
        { apps: [{ name: "a", url: "postgres://h/a" }, { name: "a", url: "postgres://h/b" }] },
        ["--app", "a=postgres://h/a", "--app", "a=postgres://h/b"],
        "config.apps names the application 'a' twice",
      ],
    ] as [Partial<Config>, string[], string][]
  ) {
    const fromCli = await cliError(cli);
    const err = await assertRejects(() => createServer({ config, log: () => {} }), ConfigError, lib);
    // The same rule; only the name of the source and how the value is quoted differ.
    const rule = (message: string) => message.replace(/^(config\.\w+|--[\w-]+)/, "").replace(/, got .*$/, "");
    assertEquals(rule(err.message), rule(fromCli), "the same check");
    assert(!err.message.includes("s3cretpw"), err.message);
  }
});

Deno.test("resolveConfig() and completeConfig() give the same configuration for the same options", () => {
  const env = envOf({ HOME: "/home/ada" });
  const cases: [Record<string, unknown>, Partial<Config>][] = [
    [{}, {}],
    [{ production: true, "audit-log": "/var/log/a.jsonl" }, { production: true, auditLog: "/var/log/a.jsonl" }],
    [{ "audit-log": "/var/log/a.jsonl", plugin: ["./p.ts"] }, { auditLog: "/var/log/a.jsonl", plugins: ["./p.ts"] }],
    [
      { timeout: "1000", "read-only": true, tools: ["list_*,get_workflow"], "conductor-url": "http://c.internal/v1/" },
      { timeoutMs: 1000, readOnly: true, tools: ["list_*", "get_workflow"], conductorUrl: "http://c.internal/v1" },
    ],
    [
      { app: ["shop=postgres://u:pw@db:5432/shop_dbos_sys"], "pool-size": "3", home: "/srv/mcp" },
      { apps: [{ name: "shop", url: "postgres://u:pw@db:5432/shop_dbos_sys" }], poolSize: 3, home: "/srv/mcp" },
    ],
    [
      { http: "0.0.0.0:8808", "http-token": "s3cret-token-0123456789" },
      { http: "0.0.0.0:8808", httpToken: "s3cret-token-0123456789" },
    ],
  ];
  for (const [flags, given] of cases) {
    const resolved = resolveConfig({ flags, env });
    assertEquals(completeConfig(given, { env }), resolved, JSON.stringify(flags));
    assertEquals(completeConfig(resolved, { env }), resolved, "completing a complete configuration changes nothing");
  }
});

Deno.test("createServer() runs with the configuration the command line resolved, unchanged", async () => {
  await using home = await tempDir();
  const auditLog = `${home.path}/audit.jsonl`;
  const cmd = await parseCommand(["--production", "--audit-log", auditLog, "--home", home.path], NO_ENV);
  assert(cmd.kind === "serve");
  const server = await createServer({ config: cmd.config, log: () => {} });
  try {
    assertEquals(server.config, cmd.config);
  } finally {
    await server.close();
  }
});
