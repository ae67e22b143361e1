// Real MCP clients, pinned and installed from npm by `deno task tools` into
// .tools/clients/, drive the server with no model and no account: Claude
// Code (`claude mcp add` exactly as the README writes it, then `claude mcp
// list`), Gemini CLI (the README's settings.json entry, then `gemini mcp
// list`) and the MCP Inspector 2.x CLI (tools, a call, a resource, a prompt,
// over stdio and Streamable HTTP, and its --strict schema lint). A client
// that is not installed fails the test: it does not skip.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { join } from "../src/util/path.ts";
import { hostPortsOf, MOD_PATH } from "./_server_process.ts";
import { startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { startPostgres } from "./fixtures/postgres.ts";
import { createDbosSchema } from "./fixtures/dbos_schema.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BIN = join(ROOT, ".tools/clients/node_modules/.bin");
const README = await Deno.readTextFile(join(ROOT, "README.md"));
const TOKEN = "clients-test-token";
const CLIENT_TIMEOUT_MS = 120_000;

/** The path of an installed client, or an error saying how to install it. */
async function client(name: string): Promise<string> {
  const path = join(BIN, name);
  await Deno.stat(path).catch(() => {
    throw new Error(
      `${name} is not installed in .tools/clients: run \`deno task tools\` (the test task does it first)`,
    );
  });
  return path;
}

/** Runs a command with a bounded time; resolves to its exit code and output. */
async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; out: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? CLIENT_TIMEOUT_MS);
  try {
    const res = await new Deno.Command(cmd, {
      args,
      env: opts.env,
      clearEnv: opts.env !== undefined,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
    }).output();
    const dec = new TextDecoder();
    return { code: res.code, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** A minimal environment for a client, as a user's shell would give it: PATH (with deno on it) and HOME. */
function clientEnv(home: string): Record<string, string> {
  const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
  return {
    HOME: home,
    PATH: `${denoDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    NO_COLOR: "1",
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    // The warm cache of this machine: with HOME elsewhere Deno would start from an empty one.
    DENO_DIR: DENO_DIR,
  };
}

/** This machine's Deno cache folder. */
const DENO_DIR: string = Deno.env.get("DENO_DIR") ||
  JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped", stderr: "null" }).output())
        .stdout,
    ),
  ).denoDir;

/** The fenced code blocks of the README in `lang`. */
function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

/** Splits a shell command line (backslash-newline continuations, single and double quotes, no expansion). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  const src = line.replace(/\\\n/g, " ");
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      cur = (cur ?? "") + src.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      const end = src.indexOf('"', i + 1);
      cur = (cur ?? "") + src.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else cur = (cur ?? "") + c;
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

/** The README's `claude mcp add` commands (as words), in order. */
function readmeClaudeCommands(): string[][] {
  return blocks("sh").flatMap((b) => b.split(/\n(?=\S)/)).filter((c) => c.startsWith("claude mcp add"))
    .map(shellWords);
}

/** One README command with `jsr:@x/dbos-mcp` as the local mod.ts, `$HOME` as `home`, and `replace` applied. */
function localized(words: string[], home: string, replace: [string | RegExp, string][] = []): string[] {
  return words.map((w) => {
    let out = w.replaceAll("$HOME", home).replace("jsr:@x/dbos-mcp", MOD_PATH);
    for (const [from, to] of replace) out = out.replace(from, to);
    return out;
  });
}

/** `claude mcp list` in `home`: asserts the named server is reported connected. */
async function assertClaudeConnected(claude: string, home: string, name: string): Promise<void> {
  const list = await run(claude, ["mcp", "list"], { env: clientEnv(home), cwd: home });
  const line = list.out.split("\n").find((l) => l.startsWith(`${name}:`));
  assert(line, `claude mcp list names ${name}:\n${list.out}`);
  assertStringIncludes(line, "Connected", list.out);
}

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-client-home-" });
  try {
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/** A free loopback port. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("Claude Code connects to the README's claude mcp add commands in Conductor, system-database and production mode", async (t) => {
  const claude = await client("claude");
  const commands = readmeClaudeCommands().filter((c) => c.includes("--"));
  const conductorCmd = commands.find((c) => c[3] === "dbos" && c[4] === "--");
  const sysdbCmd = commands.find((c) => c.some((w) => w.startsWith("DBOS_SYSTEM_DATABASE_URL=")));
  const productionCmd = commands.find((c) => c[3] === "dbos-prod");
  assert(conductorCmd && sysdbCmd && productionCmd, "the README has the three claude mcp add commands");
  await using conductor = await startConductorEmulator({
    org: "acme",
    isValidToken: (tok) => tok === TOKEN,
    applications: ["billing"],
  });
  const emulatorHost = new URL(conductor.baseUrl).host;

  await t.step("Conductor mode, against the emulators", async () => {
    await withHome(async (home) => {
      const words = [
        ...localized(conductorCmd, home, [["--allow-net=", `--allow-net=${emulatorHost},`]]),
        "--conductor-url",
        conductor.baseUrl,
      ];
      const add = await run(claude, words.slice(1), { env: clientEnv(home), cwd: home });
      assertEquals(add.code, 0, add.out);
      await assertClaudeConnected(claude, home, "dbos");
    });
  });

  await t.step("system-database mode, against a throwaway PostgreSQL", async () => {
    await using pg = await startPostgres();
    const url = pg.url("shop_dbos_sys");
    await createDbosSchema(url);
    await withHome(async (home) => {
      const words = localized(sysdbCmd, home, [
        [/postgres:\/\/dbos_mcp:secret@db\.internal:5432\/shop_dbos_sys/, url],
        ["--allow-net=db.internal:5432", `--allow-net=${hostPortsOf([url])[0]}`],
      ]);
      const add = await run(claude, words.slice(1), { env: clientEnv(home), cwd: home });
      assertEquals(add.code, 0, add.out);
      await assertClaudeConnected(claude, home, "dbos");
    });
  });

  await t.step("production mode, with its audit log in a temporary folder", async () => {
    await withHome(async (home) => {
      const logDir = join(home, "log");
      await Deno.mkdir(logDir);
      const words = localized(productionCmd, home, [
        ["--allow-net=", `--allow-net=${emulatorHost},`],
        [/\/var\/log\/dbos-mcp/g, logDir],
      ]);
      const add = await run(claude, [...words.slice(1), "--conductor-url", conductor.baseUrl], {
        env: clientEnv(home),
        cwd: home,
      });
      assertEquals(add.code, 0, add.out);
      await assertClaudeConnected(claude, home, "dbos-prod");
    });
  });
});

/** Starts the server in Conductor mode over Streamable HTTP on a free port; returns its URL and a stop function. */
async function startHttpServer(
  conductorUrl: string,
  home: string,
  token: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-net=127.0.0.1:${port},${new URL(conductorUrl).host}`,
      "--allow-env=HOME,DBOS_*",
      `--allow-read=${home}`,
      `--allow-write=${home}`,
      MOD_PATH,
      "--home",
      home,
      "--conductor-url",
      conductorUrl,
      "--http",
      `127.0.0.1:${port}`,
    ],
    env: { DBOS_MCP_HTTP_TOKEN: token, DBOS_TOKEN: TOKEN, DBOS_ORG: "acme" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}/mcp`;
  for (const deadline = Date.now() + 30_000;;) {
    const ok = await fetch(url, { method: "GET" }).then((r) => r.body?.cancel().then(() => true), () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error("the HTTP server did not start within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child.stderr.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test("Claude Code connects over Streamable HTTP with claude mcp add --transport http and the bearer header", async () => {
  const claude = await client("claude");
  await using conductor = await startConductorEmulator({
    org: "acme",
    isValidToken: (tok) => tok === TOKEN,
    applications: ["billing"],
  });
  await withHome(async (home) => {
    const secret = "http-secret-0123456789abcdef";
    const server = await startHttpServer(conductor.baseUrl, home, secret);
    try {
      const readme = readmeClaudeCommands().find((c) => c.includes("--transport"));
      assert(readme, "the README has a claude mcp add --transport http command");
      const words = readme.map((w) =>
        w.replace("http://127.0.0.1:8808/mcp", server.url).replace("$DBOS_MCP_HTTP_TOKEN", secret)
      );
      const add = await run(claude, words.slice(1), { env: clientEnv(home), cwd: home });
      assertEquals(add.code, 0, add.out);
      await assertClaudeConnected(claude, home, "dbos");
    } finally {
      await server.stop();
    }
  });
});

Deno.test("Gemini CLI connects to the README's settings.json entry once the folder is trusted", async () => {
  const gemini = await client("gemini");
  const entry = blocks("json").map((b) => JSON.parse(b)).find((c) =>
    c.mcpServers?.dbos?.args?.includes("--allow-net=cloud.dbos.dev,login.dbos.dev")
  );
  assert(entry, "the README has a Conductor-mode mcpServers entry");
  await using conductor = await startConductorEmulator({
    org: "acme",
    isValidToken: (tok) => tok === TOKEN,
    applications: ["billing"],
  });
  await withHome(async (home) => {
    const project = join(home, "project");
    await Deno.mkdir(join(home, ".gemini"), { recursive: true });
    await Deno.mkdir(project);
    const server = structuredClone(entry.mcpServers.dbos);
    server.args = localized(server.args, home, [
      ["/home/me", home],
      ["--allow-net=", `--allow-net=${new URL(conductor.baseUrl).host},`],
    ]);
    server.args.push("--conductor-url", conductor.baseUrl);
    await Deno.writeTextFile(
      join(home, ".gemini", "settings.json"),
      JSON.stringify({ mcpServers: { dbos: server } }, null, 2),
    );
    await Deno.writeTextFile(
      join(home, ".gemini", "trustedFolders.json"),
      JSON.stringify({ [project]: "TRUST_FOLDER" }, null, 2),
    );
    const list = await run(gemini, ["mcp", "list"], { env: clientEnv(home), cwd: project });
    const line = list.out.split("\n").find((l) => /\bdbos\b/.test(l));
    assert(line, `gemini mcp list names dbos:\n${list.out}`);
    assertStringIncludes(line, "Connected", list.out);
  });
});

Deno.test("the MCP Inspector 2.x CLI lists, calls, reads and gets over stdio and HTTP, and --strict finds nothing", async () => {
  const inspector = await client("mcp-inspector");
  await using conductor = await startConductorEmulator({
    org: "acme",
    isValidToken: (tok) => tok === TOKEN,
    applications: ["billing"],
  });
  await withHome(async (home) => {
    const stdioTarget = [
      Deno.execPath(),
      "run",
      "--no-prompt",
      `--allow-net=${new URL(conductor.baseUrl).host}`,
      "--allow-env=HOME,DBOS_*",
      `--allow-read=${home}`,
      `--allow-write=${home}`,
      MOD_PATH,
      "--home",
      home,
      "--conductor-url",
      conductor.baseUrl,
    ];
    const secret = "http-secret-0123456789abcdef";
    await Deno.mkdir(join(home, "http"));
    const server = await startHttpServer(conductor.baseUrl, join(home, "http"), secret);
    try {
      const env = { ...clientEnv(home), DBOS_TOKEN: TOKEN, DBOS_ORG: "acme" };
      const targets: [string, string[]][] = [
        // The Inspector gives the server only a default environment and these (DENO_DIR: the warm cache).
        ["stdio", ["-e", `DBOS_TOKEN=${TOKEN}`, "-e", "DBOS_ORG=acme", "-e", `DENO_DIR=${DENO_DIR}`, ...stdioTarget]],
        ["http", [server.url, "--header", `Authorization: Bearer ${secret}`]],
      ];
      for (const [label, target] of targets) {
        const call = async (...method: string[]) => {
          const res = await run(inspector, ["--cli", ...target, ...method], { env, cwd: home });
          assertEquals(res.code, 0, `${label} ${method.join(" ")}: ${res.out}`);
          return res.out;
        };
        const json = (out: string) => JSON.parse(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));

        const listed = await call("--method", "tools/list", "--strict");
        assert(json(listed).tools.some((t: { name: string }) => t.name === "list_workflows"), label);
        assert(!/Schema portability|Error: tool|Warning: tool/.test(listed), `${label}: --strict findings:\n${listed}`);

        const apps = json(await call("--method", "tools/call", "--tool-name", "list_applications"));
        assertEquals(apps.isError, undefined, JSON.stringify(apps));
        assertEquals(apps.structuredContent.applications.map((a: { name: string }) => a.name), ["billing"]);

        const resource = json(await call("--method", "resources/read", "--uri", "dbos://applications"));
        assertStringIncludes(resource.contents[0].text, "billing", label);

        const prompt = json(
          await call(
            "--method",
            "prompts/get",
            "--prompt-name",
            "debug_failed_workflows",
            "--prompt-args",
            "application=billing",
          ),
        );
        assertStringIncludes(prompt.messages[0].content.text, 'application_name "billing"', label);
      }
    } finally {
      await server.stop();
    }
  });
});

Deno.test("every flag of the README's claude mcp add commands is one that claude mcp add --help lists", async () => {
  const claude = await client("claude");
  await withHome(async (home) => {
    const help = (await run(claude, ["mcp", "add", "--help"], { env: clientEnv(home), cwd: home })).out;
    const commands = readmeClaudeCommands();
    assert(commands.length >= 4, `found ${commands.length} commands`);
    for (const words of commands) {
      const own = words.slice(0, words.includes("--") ? words.indexOf("--") : words.length);
      for (const flag of own.filter((w) => w.startsWith("-"))) {
        assert(new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, "\\-")}([\\s,<]|$)`, "m").test(help), `${flag}: ${help}`);
      }
    }
  });
});
