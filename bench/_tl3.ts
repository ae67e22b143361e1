import { connectInProcess } from "../tests/_mcp.ts";
const home = await Deno.makeTempDir();
await using mcp = await connectInProcess({
  config: { home, conductorUrl: "http://127.0.0.1:9", loginUrl: "http://127.0.0.1:9" },
  log: () => {},
});
const a = await mcp.client.listTools();
const t = a.tools.find((x) => x.name === Deno.args[0])!;
console.log(JSON.stringify(t));
