// The command line: flags, environment, defaults, usage errors, --help and
// --version, in-process and as a real process.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { helpText, parseCommand } from "../src/cli/main.ts";
import { DEFAULTS, OPTIONS } from "../src/config/mod.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("parseCommand() lets a flag beat its environment variable, which beats the default", async () => {
  const env = envOf({
    DBOS_MCP_TIMEOUT_MS: "5000",
    DBOS_CONDUCTOR_URL: "http://conductor.internal:8080/v1alpha1/",
    HOME: "/home/ada",
  });
  const cmd = await parseCommand(["--timeout", "1000"], env);
  assert(cmd.kind === "serve");
  assertEquals(cmd.config.timeoutMs, 1000);
  assertEquals(cmd.config.conductorUrl, "http://conductor.internal:8080/v1alpha1");
  assertEquals(cmd.config.loginUrl, DEFAULTS.loginUrl);
  assertEquals(cmd.config.home, "/home/ada/.dbos-mcp");
  assertEquals(cmd.config.refreshToken, undefined);
});

Deno.test("parseCommand() reads every option from its environment variable", async () => {
  const cmd = await parseCommand(
    [],
    envOf({
      DBOS_CONDUCTOR_URL: "https://c.example/conductor/v1alpha1",
      DBOS_CLOUD_URL: "https://cloud.example",
      DBOS_LOGIN_URL: "https://login.example",
      DBOS_MCP_HOME: "/srv/mcp",
      DBOS_MCP_TIMEOUT_MS: "1234",
      DBOS_MCP_LOGIN_WAIT_MS: "0",
      DBOS_MCP_REFRESH_TOKEN: "refresh-abc",
    }),
  );
  assert(cmd.kind === "serve");
  const { conductorUrl, cloudUrl, loginUrl, home, timeoutMs, loginWaitMs, refreshToken } = cmd.config;
  assertEquals({ conductorUrl, cloudUrl, loginUrl, home, timeoutMs, loginWaitMs, refreshToken }, {
    conductorUrl: "https://c.example/conductor/v1alpha1",
    cloudUrl: "https://cloud.example",
    loginUrl: "https://login.example",
    home: "/srv/mcp",
    timeoutMs: 1234,
    loginWaitMs: 0,
    refreshToken: "refresh-abc",
  });
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
    assertStringIncludes(cmd.message, "postgres://app:***@");
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
