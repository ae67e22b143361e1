// The tool policy (read-only, --tools, --exclude-tools) and the backend-level
// read-only wall.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { decide, globMatch } from "../src/core/policy.ts";
import { readOnlyBackend, ReadOnlyError } from "../src/backends/read_only.ts";
import type { WorkflowBackend } from "../src/backends/backend.ts";
import { BUILTIN_TOOLS } from "../src/tools/mod.ts";

const open = { readOnly: false, tools: [], excludeTools: [] };

Deno.test("globMatch() matches * and ? and nothing else", () => {
  assert(globMatch("list_*", "list_workflows"));
  assert(globMatch("get_?orkflow", "get_workflow"));
  assert(!globMatch("list_*", "get_workflow"));
  assert(!globMatch("list.workflows", "list_workflows"));
  assert(globMatch("*", "anything"));
});

Deno.test("decide() refuses every mutating tool in read-only mode, and only those", () => {
  for (const tool of BUILTIN_TOOLS) {
    const d = decide(tool, tool.name, { ...open, readOnly: true });
    assertEquals(d.allowed, !tool.mutates, tool.name);
    if (!d.allowed) {
      assertEquals(d.code, "READ_ONLY");
      assertStringIncludes(d.reason, "disabled in read-only mode");
    }
  }
});

Deno.test("decide() applies --exclude-tools over --tools, and read-only over both", () => {
  const policy = { readOnly: false, tools: ["list_*", "cancel_workflow"], excludeTools: ["list_executors"] };
  const d = (name: string, p = policy) => decide(BUILTIN_TOOLS.find((t) => t.name === name), name, p);
  assertEquals(d("list_workflows").allowed, true);
  assertEquals(d("cancel_workflow").allowed, true);
  assertEquals(d("list_executors"), {
    allowed: false,
    code: "EXCLUDED",
    reason: "list_executors is disabled on this server (--exclude-tools).",
  });
  const notEnabled = d("get_workflow");
  assert(!notEnabled.allowed && notEnabled.code === "NOT_ENABLED");
  const ro = d("cancel_workflow", { ...policy, readOnly: true });
  assert(!ro.allowed && ro.code === "READ_ONLY");
  const unknown = decide(undefined, "drop_tables", open);
  assert(!unknown.allowed && unknown.code === "UNKNOWN_TOOL");
});

Deno.test("readOnlyBackend() passes reads through and refuses mutations without calling the backend", async () => {
  const calls: string[] = [];
  const record = (name: string, value: unknown = []) => () => {
    calls.push(name);
    return Promise.resolve(value);
  };
  const inner = {
    kind: "conductor",
    listApplications: record("listApplications"),
    listExecutors: record("listExecutors"),
    listWorkflows: record("listWorkflows"),
    getWorkflow: record("getWorkflow", { workflowId: "w", status: "SUCCESS", workflowName: "n" }),
    listSteps: record("listSteps"),
    cancelWorkflow: record("cancelWorkflow", undefined),
    resumeWorkflow: record("resumeWorkflow", undefined),
    forkWorkflow: record("forkWorkflow", "new"),
    close: record("close", undefined),
  } as unknown as WorkflowBackend;
  const ro = readOnlyBackend(inner);
  await ro.listApplications();
  await ro.listWorkflows("a", {});
  await ro.getWorkflow("a", "w");
  await ro.listSteps("a", "w");
  await ro.listExecutors("a");
  await assertRejects(() => ro.cancelWorkflow("a", "w"), ReadOnlyError, "read-only mode");
  await assertRejects(() => ro.resumeWorkflow("a", "w"), ReadOnlyError);
  await assertRejects(() => ro.forkWorkflow("a", "w", { startStep: 1 }), ReadOnlyError);
  assertEquals(calls, ["listApplications", "listWorkflows", "getWorkflow", "listSteps", "listExecutors"]);
});
