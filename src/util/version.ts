/**
 * The package's name and version, read from `deno.json` so that `--version`,
 * the MCP `serverInfo` and the published package always agree.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };

/** Package name, e.g. `@x/dbos-mcp`. */
export const NAME: string = denoJson.name;
/** Package version. */
export const VERSION: string = denoJson.version;
