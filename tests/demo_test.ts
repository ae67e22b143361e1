// `deno task demo` end to end (with --no-wait): it starts PostgreSQL and the
// sample app, shows what an agent sees, prints a working client config, and
// leaves nothing behind.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";

Deno.test("the demo shows applications, failed workflows and their steps, and a client config, then cleans up", async () => {
  const demo = new URL("./demo.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", demo, "--no-wait"],
    env: { NO_COLOR: "1", DBOS_SYSTEM_DATABASE_URL: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr).slice(-2000));
  for (
    const expected of [
      "▶ list_applications()",
      "demo-shop  AVAILABLE",
      "▶ cancel_workflow(",
      "(now CANCELLED)",
      "2 workflow(s) in demo-shop:",
      "FAILED #1  charge  error: payment declined: card expired",
      "Derived from the system database",
      "claude mcp add dbos-demo -e DBOS_SYSTEM_DATABASE_URL=postgres://",
      '"--allow-env=DBOS_*,PG*"',
      'VS Code (.vscode/mcp.json):\n  {\n    "servers": {\n      "dbos-demo": {\n        "type": "stdio",',
      'Gemini CLI (~/.gemini/settings.json):\n  {\n    "mcpServers": {',
    ]
  ) assertStringIncludes(text, expected);
  const dir = text.match(/data in (\S+)/)?.[1];
  assert(dir, "the demo says where its cluster lives");
  await Deno.stat(dir).then(() => {
    throw new Error(`the demo left ${dir} behind`);
  }, () => {});
});
