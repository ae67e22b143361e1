/**
 * The size of the `tools/list` answer, in bytes of its JSON result (what
 * every agent session pays in context before it does anything), and in
 * bytes per tool: the whole list in Conductor mode with the device login
 * (every tool), the 14 tools the server had before the mutations of issue 15
 * (measured the same way, and as main listed them at 7540fcd), and each
 * toolset alone. The server runs in-process; nothing is sent anywhere.
 *
 * @module
 */
import { connectInProcess } from "../tests/_mcp.ts";
import type { Figure } from "./_stats.ts";
import { TOOLSETS } from "../src/core/toolsets.ts";
import { jsonBytes } from "./answer_size.ts";

/** Options of {@linkcode benchToolsListSize}. */
export interface ToolsListSizeOptions {
  /** Progress lines. */
  log: (line: string) => void;
}

/** The 14 tools before issue 15. */
const BEFORE = [
  "login",
  "login_complete",
  "logout",
  "list_applications",
  "list_executors",
  "list_workflows",
  "get_workflow",
  "list_steps",
  "summarize_workflows",
  "list_queues",
  "workflow_tree",
  "cancel_workflow",
  "resume_workflow",
  "fork_workflow",
];
/** Bytes of the compact JSON of those 14 tools as `tools/list` gave them on main at 7540fcd. */
const BEFORE_AT_MAIN = 34_977;
/** The budget of the whole list. */
export const TOOLS_LIST_BUDGET = 48 * 1024;

async function listed(config: Record<string, unknown>): Promise<{ bytes: number; tools: number }> {
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-bench-list-" });
  try {
    // Unroutable URLs: listing tools sends nothing.
    await using mcp = await connectInProcess({
      config: { home, conductorUrl: "http://127.0.0.1:9", loginUrl: "http://127.0.0.1:9", ...config },
      log: () => {},
    });
    const answer = await mcp.client.listTools();
    return { bytes: jsonBytes(answer), tools: answer.tools.length };
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Measures the `tools/list` sizes. */
export async function benchToolsListSize(opts: ToolsListSizeOptions): Promise<Figure[]> {
  const all = await listed({});
  const before = await listed({ tools: BEFORE });
  const perTool = (x: { bytes: number; tools: number }) => Math.round(x.bytes / Math.max(1, x.tools));
  opts.log(`tools/list: ${all.tools} tools, ${all.bytes} bytes (${perTool(all)} per tool)`);
  opts.log(`the 14 earlier tools: ${before.bytes} bytes now, ${BEFORE_AT_MAIN} on main at 7540fcd`);
  const figures: Figure[] = [
    {
      id: "tools_list.all",
      figure: `tools/list answer, every tool (${all.tools}, Conductor mode with login)`,
      unit: "bytes",
      ours: all.bytes,
      baselineName: `the 14 earlier tools on main at 7540fcd (${Math.round(BEFORE_AT_MAIN / 14)} per tool)`,
      baseline: BEFORE_AT_MAIN,
      target: `<= ${TOOLS_LIST_BUDGET / 1024} KB`,
      met: all.bytes <= TOOLS_LIST_BUDGET,
      detail: { tools: all.tools, bytes_per_tool: perTool(all) },
    },
    {
      id: "tools_list.before",
      figure: "tools/list answer, the 14 earlier tools as listed now",
      unit: "bytes",
      ours: before.bytes,
      baselineName: "the same 14 on main at 7540fcd",
      baseline: BEFORE_AT_MAIN,
      target: "<= baseline",
      met: before.bytes <= BEFORE_AT_MAIN,
      detail: { tools: before.tools, bytes_per_tool: perTool(before) },
    },
  ];
  for (const set of Object.keys(TOOLSETS)) {
    const one = await listed({ toolsets: [set] });
    opts.log(`--toolsets ${set}: ${one.tools} tools, ${one.bytes} bytes`);
    figures.push({
      id: `tools_list.toolset_${set}`,
      figure: `tools/list answer, --toolsets ${set} (login tools included)`,
      unit: "bytes",
      ours: one.bytes,
      target: "(information)",
      detail: { tools: one.tools, bytes_per_tool: perTool(one) },
    });
  }
  return figures;
}

if (import.meta.main) {
  for (const f of await benchToolsListSize({ log: console.log })) {
    console.log(`${f.id}: ${f.ours} ${f.unit}${f.met === undefined ? "" : f.met ? " (met)" : " (NOT met)"}`);
  }
}
