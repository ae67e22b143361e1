// The command line: flags, environment, defaults, usage errors, --help and
// --version, in-process and as a real process.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { helpText, parseCommand } from "../src/cli/main.ts";
import { type Config, DEFAULTS, OPTIONS } from "../src/config/mod.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("parseCommand() lets a flag beat its environment variable, which beats the default", async () => {
  const env = envOf({
    DBOS_MCP_TIMEOUT_MS: "5000",
    DBOS_CONDUCTOR_URL: "http://conductor.internal:8080/conductor/",
    HOME: "/home/ada",
  });
  const cmd = await parseCommand(["--timeout", "1000"], env);
  assert(cmd.kind === "serve");
  assertEquals(cmd.config.timeoutMs, 1000);
  assertEquals(cmd.config.conductorUrl, "http://conductor.internal:8080/conductor");
  assertEquals(cmd.config.loginUrl, DEFAULTS.loginUrl);
  assertEquals(cmd.config.home, "/home/ada/.dbos-mcp");
  assertEquals(cmd.config.refreshToken, undefined);
});

Deno.test("parseCommand() reads every option from its environment variable", async () => {
  const cmd = await parseCommand(
    [],
    envOf({
      DBOS_CONDUCTOR_URL: "https://c.example/conductor",
      DBOS_LOGIN_URL: "https://login.example",
      DBOS_MCP_HOME: "/srv/mcp",
      DBOS_MCP_TIMEOUT_MS: "1234",
      DBOS_MCP_LOGIN_WAIT_MS: "0",
      DBOS_MCP_REFRESH_TOKEN: "refresh-abc",
      DBOS_TOKEN: "dbos_key-abc",
      DBOS_ORG: "acme_corp",
      DBOS_MCP_NO_AUTH: "1",
    }),
  );
  assert(cmd.kind === "serve");
  const { conductorUrl, loginUrl, home, timeoutMs, loginWaitMs, refreshToken, token, org, noAuth } = cmd.config;
  assertEquals({ conductorUrl, loginUrl, home, timeoutMs, loginWaitMs, refreshToken, token, org, noAuth }, {
    conductorUrl: "https://c.example/conductor",
    loginUrl: "https://login.example",
    home: "/srv/mcp",
    timeoutMs: 1234,
    loginWaitMs: 0,
    refreshToken: "refresh-abc",
    token: "dbos_key-abc",
    org: "acme_corp",
    noAuth: true,
  });
});

Deno.test("parseCommand() takes --org and --no-auth, and no flag for DBOS_TOKEN or --cloud-url", async () => {
  const cmd = await parseCommand(["--org", "acme", "--no-auth"], envOf({ DBOS_ORG: "other" }));
  assert(cmd.kind === "serve");
  assertEquals([cmd.config.org, cmd.config.noAuth, cmd.config.token], ["acme", true, undefined]);
  for (const flag of ["--token", "--cloud-url"]) {
    const refused = await parseCommand([flag, "x"], envOf({}));
    assert(refused.kind === "usage-error");
    assertStringIncludes(refused.message, flag);
  }
  const bad = await parseCommand(["--org", "Not An Org"], envOf({}));
  assert(bad.kind === "usage-error");
  assertStringIncludes(bad.message, "--org must be an organization name");
});

Deno.test("parseCommand() reads a config file below flags and environment, above defaults", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/dbos-mcp.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        timeout: 7000,
        "login-wait": "5",
        "read-only": true,
        tools: ["list_*", "get_workflow"],
        plugins: ["redact"],
        "plugin-options": { redact: { keys: ["ssn"] } },
        apps: { shop: "postgres://u:pw@db:5432/shop_dbos_sys" },
      }),
    );
    const cmd = await parseCommand(["--config", path, "--login-wait", "9"], envOf({ DBOS_MCP_READ_ONLY: "0" }));
    assert(cmd.kind === "serve", JSON.stringify(cmd));
    assertEquals(cmd.config.timeoutMs, 7000); // file beats default
    assertEquals(cmd.config.loginWaitMs, 9); // flag beats file
    assertEquals(cmd.config.readOnly, false); // env beats file
    assertEquals(cmd.config.tools, ["list_*", "get_workflow"]);
    assertEquals(cmd.config.plugins, ["redact"]);
    assertEquals(cmd.config.pluginOptions, { redact: { keys: ["ssn"] } });
    assertEquals(cmd.config.apps, [{ name: "shop", url: "postgres://u:pw@db:5432/shop_dbos_sys" }]);

    await Deno.writeTextFile(path, JSON.stringify({ "read-olny": true }));
    const bad = await parseCommand(["--config", path], envOf({}));
    assert(bad.kind === "usage-error");
    assertStringIncludes(bad.message, "Unknown key 'read-olny'");
    await Deno.writeTextFile(path, "{ not json");
    const broken = await parseCommand(["--config", path], envOf({}));
    assert(broken.kind === "usage-error");
    assertStringIncludes(broken.message, "not valid JSON");
    const missing = await parseCommand(["--config", `${dir}/nope.json`], envOf({}));
    assert(missing.kind === "usage-error");
    assertStringIncludes(missing.message, "no such file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseCommand() takes repeated and comma-separated lists, and booleans", async () => {
  const cmd = await parseCommand(
    ["--tools", "list_*,get_*", "--tools", "list_steps", "--plugin", "redact", "--plugin", "./p.ts", "--read-only"],
    envOf({ DBOS_MCP_EXCLUDE_TOOLS: "list_executors" }),
  );
  assert(cmd.kind === "serve");
  assertEquals(cmd.config.tools, ["list_*", "get_*", "list_steps"]);
  assertEquals(cmd.config.excludeTools, ["list_executors"]);
  assertEquals(cmd.config.plugins, ["redact", "./p.ts"]);
  assertEquals(cmd.config.readOnly, true);
  const env = await parseCommand([], envOf({ DBOS_MCP_READ_ONLY: "yes please" }));
  assert(env.kind === "usage-error");
  assertStringIncludes(env.message, "DBOS_MCP_READ_ONLY must be true or false");
});

Deno.test("parseCommand() reads the HTTP limits and allowed hosts from flags, environment and defaults", async () => {
  const pick = (
    c: Config,
  ) => [c.httpMaxBodyBytes, c.httpMaxSessions, c.httpIdleTimeoutMs, c.httpReadTimeoutMs, c.httpAllowedHosts];
  const none = await parseCommand([], envOf({}));
  assert(none.kind === "serve");
  assertEquals(pick(none.config), [4_194_304, 64, 1_800_000, 30_000, []]);
  const flags = await parseCommand([
    "--http-max-body-bytes",
    "65536",
    "--http-max-sessions",
    "8",
    "--http-idle-timeout",
    "60000",
    "--http-read-timeout",
    "5000",
    "--http-allowed-hosts",
    "MCP.example.com,10.0.0.5:8808",
    "--http-allowed-hosts",
    "[fd00::1]",
  ], envOf({ DBOS_MCP_HTTP_MAX_SESSIONS: "2" }));
  assert(flags.kind === "serve");
  assertEquals(pick(flags.config), [65_536, 8, 60_000, 5_000, ["mcp.example.com", "10.0.0.5:8808", "[fd00::1]"]]);
  const env = await parseCommand(
    [],
    envOf({
      DBOS_MCP_HTTP_MAX_BODY_BYTES: "2048",
      DBOS_MCP_HTTP_MAX_SESSIONS: "2",
      DBOS_MCP_HTTP_IDLE_TIMEOUT_MS: "1000",
      DBOS_MCP_HTTP_READ_TIMEOUT_MS: "100",
      DBOS_MCP_HTTP_ALLOWED_HOSTS: "a.example, b.example",
    }),
  );
  assert(env.kind === "serve");
  assertEquals(pick(env.config), [2_048, 2, 1_000, 100, ["a.example", "b.example"]]);
  for (
    const [args, expected] of [
      [["--http-max-body-bytes", "10"], "--http-max-body-bytes must be a whole number of bytes from 1024"],
      [["--http-max-sessions", "0"], "--http-max-sessions must be a whole number of sessions from 1"],
      [["--http-idle-timeout", "soon"], "--http-idle-timeout must be a whole number of milliseconds"],
      [["--http-read-timeout", "0"], "--http-read-timeout must be a whole number of milliseconds from 100"],
      [["--http-allowed-hosts", "evil.example/x"], "--http-allowed-hosts must list host names"],
      [["--http-allowed-hosts", "a.example:99999"], "--http-allowed-hosts must list host names"],
    ] as const
  ) {
    const cmd = await parseCommand([...args], envOf({}));
    assert(cmd.kind === "usage-error", `${args.join(" ")} is a usage error`);
    assertStringIncludes(cmd.message, expected);
  }
});

Deno.test("--production means read-only, redact and a required audit log, and needs --audit-log", async () => {
  const without = await parseCommand(["--production"], envOf({}));
  assert(without.kind === "usage-error");
  assertStringIncludes(without.message, "--production needs an audit log");
  const cmd = await parseCommand(["--production", "--audit-log", "/var/log/dbos-mcp.jsonl"], envOf({}));
  assert(cmd.kind === "serve");
  assertEquals(cmd.config.readOnly, true);
  assertEquals(cmd.config.auditRequired, true);
  assertEquals(cmd.config.plugins, ["redact", "audit"]);
});

Deno.test("parseCommand() never repeats a database password in an error", async () => {
  for (
    const args of [
      ["--app", "shop=mysql://u:s3cretpw@h/db"],
      ["--app", "noequals://u:s3cretpw@h/db"],
      ["--database-url", "http://u:s3cretpw@h/db"],
    ]
  ) {
    const cmd = await parseCommand(args, envOf({}));
    assert(cmd.kind === "usage-error", args.join(" "));
    assert(!cmd.message.includes("s3cretpw"), cmd.message);
  }
});

Deno.test("parseCommand() hides all of a password that holds a raw @ when it echoes an invalid URL", async () => {
  for (
    const args of [
      ["--database-url", "postgres://app:s3cr@tpw@db.internal:99999/orders"],
      ["--database-url", "postgres://app:s3cr@tpw@/orders"],
      ["--app", "shop=postgres://app:s3cr@tpw@db.internal:99999/orders"],
    ]
  ) {
    const cmd = await parseCommand(args, envOf({}));
    assert(cmd.kind === "usage-error", args.join(" "));
    for (const part of ["s3cr", "tpw"]) assert(!cmd.message.includes(part), cmd.message);
    assertStringIncludes(cmd.message, "postgres://app:[REDACTED]@");
  }
});

Deno.test("parseCommand() names the flag and what is allowed for a bad value", async () => {
  for (
    const [args, expected] of [
      [["--timeout", "soon"], "--timeout must be a whole number of milliseconds from 1 to 600000"],
      [["--timeout", "0"], "--timeout must be a whole number"],
      [["--conductor-url", "ftp://x"], "--conductor-url must be an http(s) URL"],
      [["--login-url", "not a url"], "--login-url must be an http(s) URL"],
      [["--home", ""], "--home must be a path"],
      [["--bogus"], "unknown flag --bogus; allowed flags: --help, --version, --conductor-url"],
      [["--timeout"], "--timeout needs a value"],
      [["serve"], "unexpected argument 'serve'"],
    ] as const
  ) {
    const cmd = await parseCommand([...args], envOf({}));
    assert(cmd.kind === "usage-error", `${args.join(" ")} is a usage error`);
    assertStringIncludes(cmd.message, expected);
  }
  const fromEnv = await parseCommand([], envOf({ DBOS_MCP_TIMEOUT_MS: "-5" }));
  assert(fromEnv.kind === "usage-error");
  assertStringIncludes(fromEnv.message, "DBOS_MCP_TIMEOUT_MS must be");
});

Deno.test("--help lists every flag and environment variable with its default", () => {
  const text = helpText();
  for (const opt of OPTIONS) {
    if (opt.flag) assertStringIncludes(text, `--${opt.flag}`);
    if (opt.env) assertStringIncludes(text, opt.env);
    assertStringIncludes(text, opt.defaultText);
  }
});

async function run(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: opts.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (opts.stdin) await writer.write(new TextEncoder().encode(opts.stdin));
  await writer.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("the command exits 2 with one line on stderr for an unknown flag or a bad value", async () => {
  for (const flag of [["--bogus"], ["--timeout", "abc"]]) {
    const r = await run(["run", "--no-prompt", MOD, ...flag]);
    assertEquals(r.code, 2);
    assertEquals(r.stdout, "");
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    assertStringIncludes(r.stderr, flag[0]);
  }
});

Deno.test("parseCommand() hands every word after 'audit' to the audit command, --head HASH included", async () => {
  const head = "a".repeat(64);
  assertEquals(await parseCommand(["audit", "verify", "/var/log/a.jsonl", "--head", head], envOf({})), {
    kind: "audit",
    args: ["verify", "/var/log/a.jsonl", "--head", head],
  });
  assertEquals(await parseCommand(["audit", "--help"], envOf({})), { kind: "audit", args: ["--help"] });
  const r = await run([
    "run",
    "--no-prompt",
    "--allow-read",
    MOD,
    "audit",
    "verify",
    "/nonexistent.jsonl",
    "--head",
    head,
  ]);
  assertEquals(r.code, 1, "the audit command ran (and found no file), not a usage error");
  assertStringIncludes(
    r.stderr,
    "/nonexistent.jsonl: FAILED: Cannot read the audit log /nonexistent.jsonl: no such file",
  );
});

Deno.test("--version prints the version from deno.json", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const r = await run(["run", "--no-prompt", MOD, "--version"]);
  assertEquals(r.code, 0);
  assertEquals(r.stdout.trim(), `${denoJson.name} ${denoJson.version}`);
});

Deno.test("an environment variable Deno may not read keeps its default instead of failing", async () => {
  const home = await Deno.makeTempDir();
  try {
    // DBOS_MCP_TIMEOUT_MS is invalid, but only HOME may be read: the server starts and serves.
    const init = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    const r = await run(
      ["run", "--no-prompt", "--allow-env=HOME", `--allow-read=${home}`, MOD, "--home", home],
      { env: { DBOS_MCP_TIMEOUT_MS: "abc" }, stdin: init + "\n" },
    );
    assertEquals(r.code, 0, r.stderr);
    const reply = JSON.parse(r.stdout.trim().split("\n")[0]);
    assertEquals(reply.id, 1);
    assert(reply.result.serverInfo.name);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("in production, a plugin's start-up failure reaches stderr through the redact plugin's rules", async () => {
  const { LEAKED } = await import("./fixtures/plugins/leaky_setup_plugin.ts");
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-leaky-" });
  try {
    const plugin = new URL("./fixtures/plugins/leaky_setup_plugin.ts", import.meta.url).pathname;
    const flags = ["--production", "--audit-log", `${dir}/audit.jsonl`, "--database-url", "postgres://u@127.0.0.1:9/x"];
    const r = await run(["run", "-A", "--no-prompt", MOD, ...flags, "--plugin", plugin]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "cannot start: Could not load plugin");
    assertStringIncludes(r.stderr, "cannot reach the tracker with token [REDACTED");
    assert(!r.stderr.includes(LEAKED), r.stderr);
    // The control: without the redact plugin, nothing knows the token is one.
    const plain = await run([
      "run",
      "-A",
      "--no-prompt",
      MOD,
      "--database-url",
      "postgres://u@127.0.0.1:9/x",
      "--plugin",
      plugin,
    ]);
    assertStringIncludes(plain.stderr, LEAKED);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
