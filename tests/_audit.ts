// Helpers of the audit plugin's tests (tests/audit_*_test.ts): temporary
// folders, calls as the pipeline builds them, driving one call through the
// plugin's hooks, and reading or forging log lines.
import { assert, assertEquals } from "./_assert.ts";
import { FakeClock } from "./_fake_clock.ts";
import { type AuditRecord, createAuditPlugin } from "../plugins/audit.ts";
import { recordHash } from "../plugins/_audit_chain.ts";
import { DEFAULTS } from "../src/config/mod.ts";
import type { CallInfo, CallOutcome, Plugin, PluginHost, ToolResult } from "../src/plugin_host/contract.ts";
import type { WorkflowBackend } from "../src/backends/backend.ts";
import { SecretSet } from "../src/core/secrets.ts";

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
export async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "audit_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A host with the default configuration plus `config`, whose log lines are kept in `logs`. */
export function fakeHost(config: { auditLog?: string; auditRequired?: boolean } = {}): PluginHost & { logs: string[] } {
  const logs: string[] = [];
  return {
    config: { ...DEFAULTS, home: undefined, ...config },
    readOnly: false,
    backend: {} as WorkflowBackend,
    log: (message: string) => logs.push(message),
    secrets: new SecretSet(),
    logs,
  };
}

/** A call as the pipeline would build it. */
export function callOf(tool: string, args: unknown, mutates: boolean): CallInfo {
  return {
    id: crypto.randomUUID(),
    tool,
    mutates,
    args,
    session: { id: "session-1", client: { name: "test-client", version: "1.2.3" } },
    startedAt: Date.UTC(2026, 0, 1),
  };
}

export const read = (args: unknown = { application_name: "shop" }) => callOf("list_workflows", args, false);
export const cancel = (id = "wf-1") => callOf("cancel_workflow", { application_name: "shop", workflow_id: id }, true);

/** What one call through the pipeline did: whether the handler ran ("sent") and the result. */
export interface Run {
  sent: boolean;
  refusal?: string;
  result: ToolResult;
}

/**
 * Drives one call through the plugin the way the server does: beforeCall
 * (a throw refuses the call and the handler never runs), the handler, then
 * afterCall with the outcome. `handler` returns the result or throws.
 */
export async function runCall(
  plugin: Plugin,
  call: CallInfo,
  handler: () => Promise<ToolResult> | ToolResult = () => ({ content: [{ type: "text", text: "done" }] }),
): Promise<Run> {
  let decision: CallOutcome["decision"] = { allowed: true };
  let result: ToolResult;
  let sent = false;
  let refusal: string | undefined;
  try {
    await plugin.beforeCall?.(call);
  } catch (err) {
    refusal = (err as Error).message;
    decision = { allowed: false, code: "PLUGIN", reason: `Refused by plugin 'audit': ${refusal}` };
  }
  if (refusal === undefined) {
    sent = true;
    try {
      result = await handler();
    } catch (err) {
      result = { content: [{ type: "text", text: (err as Error).message }], isError: true };
    }
  } else {
    result = { content: [{ type: "text", text: decision.allowed ? "" : decision.reason }], isError: true };
  }
  const outcome: CallOutcome = {
    decision,
    ok: !result.isError,
    ...(result.isError ? { error: result.content[0].text } : {}),
    durationMs: 12.5,
    resultBytes: new TextEncoder().encode(JSON.stringify(result)).length,
  };
  await plugin.afterCall?.(call, outcome, result);
  return { sent, refusal, result };
}

/** Reports a call that the policy refused (no beforeCall), as the server does. */
export async function refuseByPolicy(plugin: Plugin, call: CallInfo): Promise<void> {
  const reason = `${call.tool} changes workflows, and this server is read-only.`;
  const result: ToolResult = { content: [{ type: "text", text: reason }], isError: true };
  await plugin.afterCall?.(call, {
    decision: { allowed: false, code: "READ_ONLY", reason },
    ok: false,
    error: reason,
    durationMs: 0.1,
    resultBytes: 90,
  }, result);
}

/** The diagnostics without the head anchors (`audit: head of ...`) written at start, every N records and at exit. */
export function withoutAnchors(logs: string[]): string[] {
  return logs.filter((m) => !m.startsWith("audit: head of "));
}

export async function records(path: string): Promise<AuditRecord[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

export async function lines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  assert(text.endsWith("\n"), "the log ends with a newline");
  return text.slice(0, -1).split("\n");
}

export async function writeLines(path: string, ls: string[]): Promise<void> {
  await Deno.writeTextFile(path, ls.map((l) => `${l}\n`).join(""));
}

/** A record rewritten with `change` applied and its hash recomputed (a forger's edit). */
export async function reHashed(line: string, change: (r: Record<string, unknown>) => void): Promise<string> {
  const r = JSON.parse(line);
  change(r);
  delete r.hash;
  return JSON.stringify({ ...r, hash: await recordHash(r) });
}

/** Writes a log of 8 records: 3 reads, 2 mutations (intent + call each) and 1 refused call. */
export async function sampleLog(path: string): Promise<void> {
  const plugin = await createAuditPlugin({ path, clock: new FakeClock(), log: () => {} });
  await runCall(plugin, read());
  await runCall(plugin, cancel("wf-1"));
  await runCall(plugin, read({ application_name: "shop", status: "ERROR" }));
  await runCall(plugin, cancel("wf-2"), () => {
    throw new Error("Workflow wf-2 does not exist");
  });
  await refuseByPolicy(plugin, callOf("fork_workflow", { workflow_id: "wf-1" }, true));
  await runCall(plugin, read());
  await plugin.close?.();
  assertEquals((await lines(path)).length, 8);
}
