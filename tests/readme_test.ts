// The README is the front door: its commands, permission flags and option
// table must match what the code does.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { conductorModeFlags, sysdbModeFlags, V8_FLAGS } from "./_server_process.ts";
import { OPTIONS } from "../src/config/mod.ts";
import { BUILTIN_TOOLS } from "../src/tools/mod.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const DENO_JSON = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
const DEFAULT_FLAGS = conductorModeFlags({
  hosts: ["cloud.dbos.dev", "login.dbos.dev"],
  home: "$HOME/.dbos-mcp",
});

/** The words of a shell command, with line continuations joined and quotes removed. */
function words(command: string): string[] {
  return command.replace(/\\\n/g, " ").split(/\s+/).filter(Boolean).map((w) => w.replace(/^'(.*)'$/, "$1"));
}

Deno.test("the README's deno run command uses exactly the tested permission flags", () => {
  const block = README.match(/```sh\n(deno run [\s\S]*?)```/);
  assert(block, "the README has a `deno run` block");
  const flags = words(block[1]).filter((w) => w.startsWith("--"));
  assertEquals(flags, DEFAULT_FLAGS);
});

Deno.test("the README's system-database command uses exactly the tested permission flags", () => {
  const block = [...README.matchAll(/```sh\n(deno run [\s\S]*?)```/g)].find((m) =>
    m[1].includes("--allow-net=db.internal:5432")
  );
  assert(block, "the README has a system-database `deno run` block");
  const flags = words(block[1]).filter((w) =>
    w.startsWith("--allow") || w.startsWith("--v8-flags") || w === "--no-prompt"
  );
  assertEquals(flags, sysdbModeFlags({ hostPorts: ["db.internal:5432"] }));
});

Deno.test("every command and client config in the README that serves carries the runtime flag", () => {
  const lines = README.split("\n");
  const serving = lines.flatMap((line, i) => /deno run --no-prompt|"--no-prompt",/.test(line) ? [i] : []);
  assert(serving.length >= 12, `found ${serving.length} commands`);
  for (const i of serving) {
    assertStringIncludes(lines.slice(i, i + 2).join(" "), V8_FLAGS, `README line ${i + 1}`);
  }
});

Deno.test("the start and compile tasks use the README's permission flags", () => {
  const tasks = ["start", ...Object.keys(DENO_JSON.tasks).filter((t) => t.startsWith("compile"))];
  assertEquals(tasks.length, 6, "start, compile and four compile targets");
  for (const task of tasks) {
    const flags = words(DENO_JSON.tasks[task].command).filter((w) =>
      w.startsWith("--") && w !== "--output" && w !== "--target" && w !== "--include"
    );
    assertEquals(flags, DEFAULT_FLAGS, `task ${task}`);
  }
});

Deno.test("the README's configuration table names every flag and environment variable", () => {
  for (const opt of OPTIONS) {
    if (opt.flag) assertStringIncludes(README, `\`--${opt.flag}${opt.value ? ` ${opt.value}` : ""}\``);
    if (opt.env) assertStringIncludes(README, `\`${opt.env}\``);
    if (opt.fileKey && !opt.flag) assertStringIncludes(README, `\`${opt.fileKey}\``);
  }
});

Deno.test("the README's tool table lists every tool", () => {
  for (const tool of BUILTIN_TOOLS) {
    assert(new RegExp(`^\\| \`${tool.name}\`\\s+\\|`, "m").test(README), `README lists ${tool.name}`);
  }
});

Deno.test("the README gives the test command that .ci/run runs", async () => {
  const ci = await Deno.readTextFile(new URL("../.ci/run", import.meta.url));
  const testLine = README.split("\n").find((l) => /^npx -y deno@[\d.]+ task test$/.test(l));
  assert(testLine, "README has the test command");
  assert(ci.split("\n").some((l) => l.trim() === testLine), ".ci/run runs the README's test command");
});

Deno.test("every JSON block of the README parses, and every TOML block is tables, keys and arrays", () => {
  const json = [...README.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert(json.length >= 12, `found ${json.length} JSON blocks`);
  for (const block of json) JSON.parse(block);
  const toml = [...README.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert(toml.length >= 2, `found ${toml.length} TOML blocks`);
  for (const block of toml) {
    let inArray = false;
    for (const line of block.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))) {
      if (inArray) {
        if (line === "]") inArray = false;
        else assert(/^"[^"]*",$/.test(line), `TOML array item: ${line}`);
      } else if (/^\[[\w.]+\]$/.test(line)) continue;
      else if (/^\w+ = \[$/.test(line)) inArray = true;
      else assert(/^\w+ = "[^"]*"$/.test(line), `TOML line: ${line}`);
    }
    assert(!inArray, "TOML arrays are closed");
  }
});
