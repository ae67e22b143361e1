/**
 * Bulk workflow tools: `bulk_cancel_workflows`, `bulk_resume_workflows`,
 * `bulk_delete_workflows` and `fork_from_failure`. Each takes at most 500
 * ids and is a dry run unless `dry_run: false`: the dry run answers which
 * workflows would change and their current status, and changes nothing.
 * They mutate, so read-only mode hides and refuses them.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import { applicationName } from "./_schemas.ts";
import {
  type BulkRow,
  bulkRow,
  confirmOrStop,
  dryRun,
  refuseMissing,
  someIds,
  statusCounts,
  statusesOf,
  uniqueIds,
  workflowIds,
} from "./_writes.ts";

const CANCELLABLE = new Set(["PENDING", "ENQUEUED", "DELAYED"]);
const RESUMABLE = new Set(["ENQUEUED", "DELAYED", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]);

const bulkOutput = z.object({
  application: z.string(),
  dry_run: z.boolean(),
  workflows: z.array(bulkRow),
  not_found: z.array(z.string()),
  message: z.string(),
});

type BulkOutput = z.infer<typeof bulkOutput>;

interface BulkSpec {
  /** `cancel`, `resume`, `delete`. */
  verb: string;
  /** `cancelled`, `resumed`, `deleted`. */
  done: string;
  /** Which current statuses the operation changes. */
  changes: (status: string) => boolean;
  /** Sends the change. */
  send: (ctx: ToolContext, app: string, ids: string[]) => Promise<void>;
  /** What to say after the change. */
  next: string;
}

/** Dry run or change, then the statuses after it. */
async function runBulk(
  ctx: ToolContext,
  app: string,
  ids: string[],
  dry: boolean,
  spec: BulkSpec,
): Promise<BulkOutput> {
  const unique = uniqueIds(ids);
  const before = await statusesOf(ctx, app, unique);
  const notFound = unique.filter((id) => !before.has(id));
  const rows: BulkRow[] = unique.filter((id) => before.has(id)).map((id) => {
    const w = before.get(id)!;
    return {
      workflowId: id,
      ...(w.workflowName ? { workflowName: w.workflowName } : {}),
      status: w.status,
      changes: spec.changes(w.status),
    };
  });
  const changing = rows.filter((r) => r.changes);
  if (dry) {
    const missing = notFound.length > 0 ? ` ${notFound.length} not found.` : "";
    return {
      application: app,
      dry_run: true,
      workflows: rows,
      not_found: notFound,
      message: `Dry run: ${spec.verb} would change ${changing.length} of ${rows.length} workflows ` +
        `(${statusCounts(rows) || "none"}).${missing} Nothing was changed; repeat with dry_run: false to apply.`,
    };
  }
  refuseMissing(app, notFound, spec.done);
  await confirmOrStop(
    ctx,
    `${spec.verb[0].toUpperCase()}${spec.verb.slice(1)} ${rows.length} workflows of application ${app} ` +
      `(${statusCounts(rows)}): ${someIds(unique)}?`,
    `no workflow was ${spec.done}`,
  );
  await spec.send(ctx, app, unique);
  let after: Map<string, { status: string }> | undefined;
  try {
    after = await statusesOf(ctx, app, unique);
  } catch {
    after = undefined; // the change was made; its statuses are a courtesy
  }
  const gone = spec.verb === "delete";
  const done = rows.map((r) => ({
    ...r,
    status: gone && after && !after.has(r.workflowId) ? "DELETED" : after?.get(r.workflowId)?.status ?? r.status,
  }));
  return {
    application: app,
    dry_run: false,
    workflows: done,
    not_found: [],
    message: `Sent ${spec.verb} for ${rows.length} workflows (${changing.length} in a state it changes); now: ` +
      `${statusCounts(done)}. ${spec.next}`,
  };
}

const render = (r: BulkOutput) =>
  [r.message, ...r.workflows.slice(0, 50).map((w) => `${w.workflowId} ${w.status}${w.changes ? "" : " (unchanged)"}`)]
    .join("\n");

/** `bulk_cancel_workflows`. */
export const bulkCancelWorkflows = defineTool({
  name: "bulk_cancel_workflows",
  description: "Cancel up to 500 workflows (PENDING, ENQUEUED, DELAYED ones become CANCELLED at their next " +
    "step). Dry run by default, listing what would change: show it to the user, then call again with " +
    "dry_run: false. Undo with bulk_resume_workflows.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_ids: workflowIds,
    cancel_children: z.boolean().optional().describe("Also cancel their child workflows (default false)."),
    dry_run: dryRun,
  }),
  output: bulkOutput,
  annotations: {
    title: "Cancel workflows",
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  handler: (args, ctx) =>
    runBulk(ctx, args.application_name, args.workflow_ids, args.dry_run ?? true, {
      verb: "cancel",
      done: "cancelled",
      changes: (s) => CANCELLABLE.has(s),
      send: (c, app, ids) =>
        c.backend.bulkCancelWorkflows(app, ids, { cancelChildren: args.cancel_children ?? false }, {
          signal: c.signal,
        }),
      next: "Call bulk_resume_workflows to restart them.",
    }),
  render,
});

/** `bulk_resume_workflows`. */
export const bulkResumeWorkflows = defineTool({
  name: "bulk_resume_workflows",
  description: "Resume up to 500 CANCELLED, ENQUEUED, DELAYED or MAX_RECOVERY_ATTEMPTS_EXCEEDED workflows from " +
    "their last completed step. Dry run by default; then dry_run: false. Follow them with " +
    "list_workflows.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_ids: workflowIds,
    queue_name: z.string().min(1).max(512).optional().describe("Re-enqueue them on this queue instead."),
    dry_run: dryRun,
  }),
  output: bulkOutput,
  annotations: {
    title: "Resume workflows",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  handler: (args, ctx) =>
    runBulk(ctx, args.application_name, args.workflow_ids, args.dry_run ?? true, {
      verb: "resume",
      done: "resumed",
      changes: (s) => RESUMABLE.has(s),
      send: (c, app, ids) =>
        c.backend.bulkResumeWorkflows(app, ids, args.queue_name !== undefined ? { queueName: args.queue_name } : {}, {
          signal: c.signal,
        }),
      next: "Follow them with list_workflows.",
    }),
  render,
});

/** `bulk_delete_workflows`. */
export const bulkDeleteWorkflows = defineTool({
  name: "bulk_delete_workflows",
  description: "IRREVERSIBLE: permanently delete up to 500 workflows with their steps, inputs and outputs " +
    "(delete_children: their children too); cancel running ones first. Dry run by default: show it " +
    "to the user, then call again with dry_run: false.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_ids: workflowIds,
    delete_children: z.boolean().optional().describe("Also delete their child workflows (default false)."),
    dry_run: dryRun,
  }),
  output: bulkOutput,
  annotations: {
    title: "Delete workflows",
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  handler: (args, ctx) =>
    runBulk(ctx, args.application_name, args.workflow_ids, args.dry_run ?? true, {
      verb: "delete",
      done: "deleted",
      changes: () => true,
      send: (c, app, ids) =>
        c.backend.bulkDeleteWorkflows(app, ids, { deleteChildren: args.delete_children ?? false }, {
          signal: c.signal,
        }),
      next: "This cannot be undone.",
    }),
  render,
});

const forkOutput = bulkOutput.extend({
  new_workflow_ids: z.array(z.string()).describe("The forks (empty in a dry run)."),
});

/** `fork_from_failure`. */
export const forkFromFailure = defineTool({
  name: "fork_from_failure",
  description: "Retry up to 500 workflows after a fix: each is forked into a new workflow that reuses the " +
    "outputs of the steps before its restart step. Pick one of from_last_failure, from_last_step, " +
    "from_step, from_step_name. Candidates: list_workflows with status ERROR. Dry run by default; " +
    "then dry_run: false; follow the new ids with get_workflow.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_ids: workflowIds,
    from_last_failure: z.boolean().optional().describe("Restart at the last failed step (else the last step)."),
    from_last_step: z.boolean().optional().describe("Restart at the last recorded step."),
    from_step: z.number().int().min(0).max(1_000_000).optional().describe("Restart at this stepId."),
    from_step_name: z.string().min(1).max(512).optional().describe("Restart at the last step of this name."),
    application_version: z.string().min(1).max(512).optional().describe("Run the forks on this version."),
    queue_name: z.string().min(1).max(512).optional().describe("Enqueue the forks on this queue."),
    queue_partition_key: z.string().min(1).max(512).optional().describe("Partition key, with queue_name."),
    dry_run: dryRun,
  }),
  output: forkOutput,
  annotations: {
    title: "Fork from failure",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    const modes = [
      args.from_last_failure === true && "from_last_failure",
      args.from_last_step === true && "from_last_step",
      args.from_step !== undefined && "from_step",
      args.from_step_name !== undefined && "from_step_name",
    ].filter((m): m is string => typeof m === "string");
    if (modes.length !== 1) {
      throw new InvalidArgumentError(
        modes.length === 0
          ? "fork_from_failure needs a restart step: none of from_last_failure, from_last_step, from_step, " +
            "from_step_name was given."
          : `fork_from_failure takes exactly one of from_last_failure, from_last_step, from_step, from_step_name; ` +
            `got ${modes.join(" and ")}.`,
        { hint: "Pass from_last_failure: true to retry each workflow from the step that failed." },
      );
    }
    const mode = modes[0];
    const app = args.application_name;
    let newIds: string[] = [];
    const result = await runBulk(ctx, app, args.workflow_ids, args.dry_run ?? true, {
      verb: `fork (${mode})`,
      done: "forked",
      changes: () => true,
      send: async (c, a, ids) => {
        newIds = await c.backend.forkFromFailure(a, ids, {
          ...(args.from_last_failure ? { fromLastFailure: true } : {}),
          ...(args.from_last_step ? { fromLastStep: true } : {}),
          ...(args.from_step !== undefined ? { fromStep: args.from_step } : {}),
          ...(args.from_step_name !== undefined ? { fromStepName: args.from_step_name } : {}),
          appVersion: args.application_version,
          queueName: args.queue_name,
          queuePartitionKey: args.queue_partition_key,
        }, { signal: c.signal });
      },
      next: "Follow the new workflows (new_workflow_ids) with get_workflow.",
    });
    if (result.dry_run) return { ...result, new_workflow_ids: [] };
    return {
      ...result,
      new_workflow_ids: newIds,
      message: `Forked ${newIds.length} workflows (${mode}): ${someIds(newIds)}. ` +
        "Follow them with get_workflow; the originals are unchanged.",
    };
  },
  render: (r) =>
    [render(r), ...(r.new_workflow_ids.length > 0 ? [`new: ${r.new_workflow_ids.join(", ")}`] : [])]
      .join("\n"),
});
