// The MCP ecosystem's own tools against the real server: the official
// conformance suite over Streamable HTTP, and the MCP Inspector CLI over stdio.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { conductorModeFlags, MOD_PATH } from "./_server_process.ts";
import { startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { join } from "../src/util/path.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CONFORMANCE_PLUGIN = new URL("./fixtures/plugins/conformance_plugin.ts", import.meta.url).pathname;

/**
 * Scenarios of `@modelcontextprotocol/conformance` that apply to a server that
 * is not the SDK's fixture server. The others need fixture tools, resources or
 * prompts (tools-call-simple-text, -image, -audio, -embedded-resource,
 * -mixed-content, -with-logging, -with-progress, -sampling, -elicitation,
 * resources-read-*, resources-templates-read, prompts-get-*,
 * json-schema-2020-12, elicitation-*), capabilities this server does not offer
 * (completion-complete, resources-subscribe/unsubscribe), or SSE polling
 * behaviour of the fixture server (server-sse-*). `tools-call-error` calls the
 * fixture tool `test_error_handling`, which a test plugin provides.
 */
export const CONFORMANCE_SCENARIOS = [
  "server-initialize",
  "ping",
  "logging-set-level",
  "tools-list",
  "resources-list",
  "prompts-list",
  "tools-call-error",
  "dns-rebinding-protection",
];

async function startHttpServer(home: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-env=HOME,DBOS_*",
      `--allow-read=${home},${CONFORMANCE_PLUGIN}`,
      `--allow-write=${home}`,
      MOD_PATH,
      "--http",
      "127.0.0.1:0",
      "--home",
      home,
      "--plugin",
      CONFORMANCE_PLUGIN,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 30_000;
  while (!/listening on (\S+)/.test(seen)) {
    const { value, done } = await reader.read();
    if (done || Date.now() > deadline) throw new Error(`the HTTP server did not start: ${seen}`);
    seen += value;
  }
  const url = seen.match(/listening on (\S+)/)![1];
  const drain = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe flowing */ }
  })();
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await drain.catch(() => {});
    },
  };
}

Deno.test("the official MCP conformance suite passes every scenario that applies, over HTTP", async (t) => {
  const home = await Deno.makeTempDir();
  const server = await startHttpServer(home);
  try {
    for (const scenario of CONFORMANCE_SCENARIOS) {
      await t.step(scenario, async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "npm:@modelcontextprotocol/conformance@0.1.16",
            "server",
            "--url",
            server.url,
            "--scenario",
            scenario,
          ],
          cwd: ROOT,
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assertEquals(out.code, 0, text);
        assert(/Passed: (\d+)\/\1, 0 failed/.test(text), text);
      });
    }
  } finally {
    await server.stop();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the MCP Inspector CLI lists the tools and calls list_applications over stdio", async () => {
  const inspector = join(ROOT, ".tools/node_modules/.bin/mcp-inspector");
  await Deno.stat(inspector).catch(() => {
    throw new Error("The MCP Inspector is not installed: run `deno task tools` (the test task does it first).");
  });
  await using conductor = await startConductorEmulator({
    org: "acme",
    isValidToken: (t) => t === "inspector-token",
    applications: ["billing"],
  });
  const home = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(home, "credentials"),
      JSON.stringify({ token: "inspector-token", userName: "ada", organization: "acme" }),
      { mode: 0o600 },
    );
    const flags = conductorModeFlags({ hosts: [new URL(conductor.baseUrl).host], home });
    const run = async (...method: string[]) => {
      const out = await new Deno.Command(inspector, {
        args: [
          "--cli",
          Deno.execPath(),
          "run",
          ...flags,
          MOD_PATH,
          "--conductor-url",
          conductor.baseUrl,
          "--home",
          home,
          ...method,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
      return JSON.parse(stdout);
    };
    const list = await run("--method", "tools/list");
    assert(list.tools.some((tool: { name: string }) => tool.name === "list_workflows"));
    const apps = await run("--method", "tools/call", "--tool-name", "list_applications");
    assertEquals(apps.isError, undefined, JSON.stringify(apps));
    const [app] = apps.structuredContent.applications;
    assertMatch(app.id, UUID);
    assertMatch(app.orgId, UUID);
    assertEquals(apps.structuredContent.applications, [
      {
        id: app.id,
        name: "billing",
        orgId: app.orgId,
        status: "UNAVAILABLE",
        executorTimeoutSecs: 60,
        privateMode: false,
        dbosCloud: false,
      },
    ]);
    assertStringIncludes(apps.content[0].text, "billing  UNAVAILABLE");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
