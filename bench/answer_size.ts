/**
 * Answer size, in bytes of the whole `tools/call` result as JSON (text and
 * structured content, what an agent's context receives): the default
 * `list_workflows` answer when 10,000 workflows match, and `get_workflow` of
 * a workflow whose output is 1 MB (default, and with `full: true`). The
 * server runs in-process over an in-memory backend; the baseline is what the
 * backend itself returned (every matching workflow, the whole workflow),
 * which is what a server that passes answers through would send.
 *
 * @module
 */
import { connectInProcess } from "../tests/_mcp.ts";
import { MemoryBackend } from "../tests/fixtures/memory_backend.ts";
import { DEFAULTS } from "../src/config/mod.ts";
import { type Figure, ratioOf } from "./_stats.ts";

/** Epoch milliseconds as the ISO 8601 text v2 answers carry. */
const isoAt = (ms: number): string => new Date(ms).toISOString();

/** Options of {@linkcode benchAnswerSize}. */
export interface AnswerSizeOptions {
  /** Matching workflows for `list_workflows`. */
  workflows: number;
  /** Size of the large output, in bytes. */
  outputBytes: number;
  /** Progress lines. */
  log: (line: string) => void;
}

const T0 = 1_760_000_000_000;
const encoder = new TextEncoder();

/** Bytes of `value` as JSON (UTF-8). */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

/** Measures the answer sizes. */
export async function benchAnswerSize(opts: AnswerSizeOptions): Promise<Figure[]> {
  const backend = new MemoryBackend();
  for (let i = 0; i < opts.workflows; i++) {
    backend.add({
      workflowId: crypto.randomUUID(),
      createdAt: isoAt(T0 + i * 1_000),
      updatedAt: isoAt(T0 + i * 1_000 + 250),
      status: "ERROR",
      workflowName: "process_order",
      queueName: "orders",
      user: `user-${i % 50}`,
      appVersion: "a1b2c3d4e5f6",
      executorId: crypto.randomUUID(),
      input: `[ { orderId: 'order-${i}', items: [ { sku: 'sku-${i % 131}', qty: 2 } ] } ]`,
      error: `PaymentDeclinedError: card ending ${String(i % 10_000).padStart(4, "0")} was declined by the issuer\n` +
        "    at charge (/app/src/checkout.ts:88:11)\n    at processOrder (/app/src/checkout.ts:41:5)",
    });
  }
  const big = Array.from({ length: Math.ceil(opts.outputBytes / 16) }, (_, i) => `chunk-${String(i).padStart(9, "0")}|`)
    .join("").slice(0, opts.outputBytes);
  backend.add({
    workflowId: "big-output",
    createdAt: isoAt(T0 - 1),
    status: "SUCCESS",
    output: big,
    input: "[ 1 ]",
  });

  await using mcp = await connectInProcess({ backend, log: () => {} });
  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await mcp.client.callTool({ name, arguments: { application_name: "app", ...args } });
    if (res.isError) throw new Error(`${name} failed: ${JSON.stringify(res.content).slice(0, 300)}`);
    return res;
  };

  const list = await call("list_workflows", { status: "ERROR" });
  const listBytes = jsonBytes(list);
  const matching = await backend.listWorkflows("app", { status: ["ERROR"], loadInput: true, loadOutput: true });
  const rawListBytes = jsonBytes(matching);
  const listed = (list.structuredContent as { count: number }).count;
  opts.log(`list_workflows, ${matching.length} matching: ${listBytes} bytes (${listed} listed); raw ${rawListBytes}`);

  const get = await call("get_workflow", { workflow_id: "big-output" });
  const getBytes = jsonBytes(get);
  const full = await call("get_workflow", { workflow_id: "big-output", full: true });
  const fullBytes = jsonBytes(full);
  const rawGetBytes = jsonBytes(await backend.getWorkflow("app", "big-output"));
  opts.log(`get_workflow, ${opts.outputBytes}-byte output: ${getBytes} bytes, full ${fullBytes}; raw ${rawGetBytes}`);

  const budget = DEFAULTS.maxResultBytes;
  // The envelope of a tools/call result (content array, keys) adds a few bytes to the budgeted JSON plus text.
  const envelope = 256;
  return [
    {
      id: "answer_size.list_workflows_10k",
      figure: `Answer size, list_workflows status=ERROR (default page), ${
        matching.length.toLocaleString("en-US")
      } matching`,
      unit: "bytes",
      ours: listBytes,
      baselineName: "raw backend answer",
      baseline: rawListBytes,
      ratio: ratioOf(listBytes, rawListBytes),
      target: "<= 16 KB",
      met: listBytes <= 16_384,
      detail: { matching: matching.length, listed },
    },
    {
      id: "answer_size.get_workflow_1mb",
      figure: `Answer size, get_workflow, ${
        (opts.outputBytes / 1_048_576).toFixed(opts.outputBytes < 1_048_576 ? 2 : 0)
      } MB output`,
      unit: "bytes",
      ours: getBytes,
      baselineName: "raw backend answer",
      baseline: rawGetBytes,
      ratio: ratioOf(getBytes, rawGetBytes),
      target: `<= ${budget / 1024} KB (bounded)`,
      met: getBytes <= budget + envelope,
      detail: { output_bytes: opts.outputBytes },
    },
    {
      id: "answer_size.get_workflow_1mb_full",
      figure: "Answer size, get_workflow full: true, same workflow",
      unit: "bytes",
      ours: fullBytes,
      baselineName: "raw backend answer",
      baseline: rawGetBytes,
      ratio: ratioOf(fullBytes, rawGetBytes),
      target: `<= ${budget / 1024} KB (bounded)`,
      met: fullBytes <= budget + envelope,
      detail: { output_bytes: opts.outputBytes, budget_bytes: budget },
    },
  ];
}
