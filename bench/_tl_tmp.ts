import { connectInProcess } from "../tests/_mcp.ts";
const home = await Deno.makeTempDir();
await using mcp = await connectInProcess({
  config: { home, conductorUrl: "http://127.0.0.1:9", loginUrl: "http://127.0.0.1:9" },
  log: () => {},
});
const a = await mcp.client.listTools();
const total = new TextEncoder().encode(JSON.stringify(a)).length;
console.log("tools", a.tools.length, "bytes", total);
for (const t of a.tools) {
  console.log(
    t.name,
    new TextEncoder().encode(JSON.stringify(t)).length,
    "desc",
    t.description?.length,
    "in",
    JSON.stringify(t.inputSchema).length,
    "out",
    JSON.stringify(t.outputSchema).length,
  );
}
