// What a first run fetches depends on the import structure: system-database
// mode's npm packages are imported by computed `npm:` specifiers (so Deno does
// not fetch them ahead of time in Conductor mode), which must name the
// versions deno.json pins; the first-run benchmark measures what `deno
// publish` ships, without the lock.
import { assert, assertEquals } from "./_assert.ts";
import { join } from "../src/util/path.ts";
import { SYSDB_NPM_SPECIFIERS } from "../src/backends/sysdb/_npm.ts";
import { cachedPackages, publishedCopy } from "../bench/first_run.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("the computed npm specifiers of system-database mode pin the versions deno.json imports", async () => {
  const imports = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).imports as Record<string, string>;
  for (const [name, spec] of Object.entries(SYSDB_NPM_SPECIFIERS)) assertEquals(spec, imports[name], name);
});

Deno.test("no module that Conductor mode runs imports the DBOS SDK or pg by a literal specifier", async () => {
  const literal =
    /(?:^|\n)\s*import\s+(?!type\b)[^;]*?from\s+"(@dbos-inc\/dbos-sdk|pg|pg-connection-string)[/"]|import\(\s*"(?:npm:)?(@dbos-inc|pg)/;
  const offenders: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.name.endsWith(".ts") && literal.test(await Deno.readTextFile(join(ROOT, rel)))) offenders.push(rel);
    }
  };
  await walk("src");
  await walk("plugins");
  assertEquals(offenders, []);
});

Deno.test("publishedCopy() holds what deno publish ships, without deno.lock or tests", async () => {
  const dir = await publishedCopy();
  try {
    for (const f of ["mod.ts", "deno.json", "floor_server.ts", "src/backends/sysdb/_npm.ts"]) {
      assert((await Deno.stat(join(dir, f))).isFile, f);
    }
    for (const f of ["deno.lock", "tests", "bench"]) {
      assert(!(await Deno.stat(join(dir, f)).then(() => true, () => false)), `${f} is not shipped`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cachedPackages() names the npm packages of a Deno cache, scoped ones too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const p of ["zod/4.6.7", "@modelcontextprotocol/sdk/1.32.2", "@modelcontextprotocol/sdk/1.0.0"]) {
      await Deno.mkdir(join(dir, "npm", "registry.npmjs.org", p), { recursive: true });
    }
    assertEquals(await cachedPackages(dir), [
      "@modelcontextprotocol/sdk@1.0.0",
      "@modelcontextprotocol/sdk@1.32.2",
      "zod@4.6.7",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the compile-only module that names system-database mode's npm packages is imported by nothing", async () => {
  const importers: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.name.endsWith(".ts") && (await Deno.readTextFile(join(ROOT, rel))).includes("_npm_graph.ts")) {
        importers.push(rel);
      }
    }
  };
  for (const dir of ["src", "plugins"]) await walk(dir);
  assertEquals(importers, []);
  const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks as Record<
    string,
    { command: string }
  >;
  const compiles = Object.entries(tasks).filter(([name]) => name.startsWith("compile"));
  assert(compiles.length > 0);
  for (const [name, task] of compiles) {
    assert(task.command.includes("--include src/backends/sysdb/_npm_graph.ts"), `${name} embeds system-database mode`);
  }
});
