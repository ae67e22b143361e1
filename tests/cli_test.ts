// The command line: flags, environment, defaults, usage errors, --help and
// --version, in-process and as a real process.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { helpText, parseCommand } from "../src/cli.ts";
import { DEFAULTS, OPTIONS } from "../src/config.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("parseCommand() lets a flag beat its environment variable, which beats the default", () => {
  const env = envOf({
    DBOS_MCP_TIMEOUT_MS: "5000",
    DBOS_CONDUCTOR_URL: "http://conductor.internal:8080/v1alpha1/",
    HOME: "/home/ada",
  });
  const cmd = parseCommand(["--timeout", "1000"], env);
  assert(cmd.kind === "serve");
  assertEquals(cmd.config.timeoutMs, 1000);
  assertEquals(cmd.config.conductorUrl, "http://conductor.internal:8080/v1alpha1");
  assertEquals(cmd.config.loginUrl, DEFAULTS.loginUrl);
  assertEquals(cmd.config.home, "/home/ada/.dbos-mcp");
  assertEquals(cmd.config.refreshToken, undefined);
});

Deno.test("parseCommand() reads every option from its environment variable", () => {
  const cmd = parseCommand(
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
  assertEquals(cmd.config, {
    conductorUrl: "https://c.example/conductor/v1alpha1",
    cloudUrl: "https://cloud.example",
    loginUrl: "https://login.example",
    home: "/srv/mcp",
    timeoutMs: 1234,
    loginWaitMs: 0,
    refreshToken: "refresh-abc",
  });
});

Deno.test("parseCommand() names the flag and what is allowed for a bad value", () => {
  for (
    const [args, expected] of [
      [["--timeout", "soon"], "--timeout must be a whole number of milliseconds from 1 to 600000"],
      [["--timeout", "0"], "--timeout must be a whole number"],
      [["--conductor-url", "ftp://x"], "--conductor-url must be an http(s) URL"],
      [["--login-url", "not a url"], "--login-url must be an http(s) URL"],
      [["--home", ""], "--home must be a folder path"],
      [["--bogus"], "unknown flag --bogus; allowed flags: --help, --version, --conductor-url"],
      [["--timeout"], "--timeout needs a value"],
      [["serve"], "unexpected argument 'serve'"],
    ] as const
  ) {
    const cmd = parseCommand([...args], envOf({}));
    assert(cmd.kind === "usage-error", `${args.join(" ")} is a usage error`);
    assertStringIncludes(cmd.message, expected);
  }
  const fromEnv = parseCommand([], envOf({ DBOS_MCP_TIMEOUT_MS: "-5" }));
  assert(fromEnv.kind === "usage-error");
  assertStringIncludes(fromEnv.message, "DBOS_MCP_TIMEOUT_MS must be");
});

Deno.test("--help lists every flag and environment variable with its default", () => {
  const text = helpText();
  for (const opt of OPTIONS) {
    if (opt.flag) assertStringIncludes(text, `--${opt.flag}`);
    assertStringIncludes(text, opt.env);
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
