/**
 * Workflow management tools: `cancel_workflow`, `resume_workflow`,
 * `fork_workflow`. These mutate, so read-only mode hides and refuses them.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import { applicationName, normalizeWorkflow, workflowId, workflowRef } from "./_schemas.ts";
import { DbosMcpError, NotFoundError } from "../core/errors.ts";
import { age, epochMs } from "./_render.ts";

const mutationOutput = z.object({
  application: z.string(),
  workflow_id: z.string(),
  status: z.string().optional().describe("The workflow's status right after the operation, when it could be read."),
  message: z.string(),
});

/**
 * Reads the workflow's status right after an operation. DBOS accepts a cancel
 * or resume of an id that does not exist, so a missing workflow is reported
 * as an error here: nothing was done. Any other failure to read is ignored
 * (the operation itself succeeded; its status is a courtesy).
 */
async function statusAfter(ctx: ToolContext, app: string, id: string, what: string): Promise<string | undefined> {
  try {
    return normalizeWorkflow(await ctx.backend.getWorkflow(app, id, { signal: ctx.signal })).status;
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new NotFoundError(`No workflow '${id}' in application '${app}': nothing was ${what}.`, {
        hint: "Check the id with list_workflows.",
        cause: err,
      });
    }
    return undefined;
  }
}

/**
 * Asks the user to confirm a change, when the client can ask (elicitation),
 * showing the workflow's name, status and age. A declined (or dismissed)
 * confirmation stops the change before anything is sent; so does a workflow
 * that does not exist.
 */
async function confirmChange(
  ctx: ToolContext,
  app: string,
  id: string,
  change: { ask: string; done: string; noun: string },
): Promise<void> {
  let w;
  try {
    w = normalizeWorkflow(await ctx.backend.getWorkflow(app, id, { signal: ctx.signal }));
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new NotFoundError(`No workflow '${id}' in application '${app}': nothing was ${change.done}.`, {
        hint: "Check the id with list_workflows.",
        cause: err,
      });
    }
    // The backend refused the read that comes before the change: say that the change was refused too.
    if (err instanceof DbosMcpError && err.code === "UPSTREAM") {
      throw new DbosMcpError(
        `The ${change.noun} of workflow '${id}' was refused, nothing was sent: ${err.message}`,
        { code: err.code, hint: err.hint, retryable: err.retryable, cause: err },
      );
    }
    throw err;
  }
  const created = epochMs(w.createdAt);
  const started = Number.isFinite(created) ? `, started ${age(Date.now() - created)} ago` : "";
  const answer = await ctx.confirm(
    `${change.ask} workflow ${id} (${w.workflowName ?? "?"}, ${w.status}${started}) of application ${app}?`,
  );
  if (answer === "decline") {
    throw new DbosMcpError(`The user did not confirm: workflow ${id} was not ${change.done}; nothing was sent.`, {
      code: "POLICY",
      hint: "Ask the user what they want to do instead.",
    });
  }
}

/** `cancel_workflow`. */
export const cancelWorkflow = defineTool({
  name: "cancel_workflow",
  description: "Cancel a PENDING or ENQUEUED workflow: it becomes CANCELLED at its next step boundary " +
    "(cancel_children: its children too). Interrupts production work: confirm with the user first. " +
    "Undo with resume_workflow.",
  input: workflowRef.extend({
    cancel_children: z.boolean().optional().describe("Also cancel the workflows it started (default false)."),
  }),
  output: mutationOutput,
  annotations: {
    title: "Cancel workflow",
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    await confirmChange(ctx, args.application_name, args.workflow_id, {
      ask: "Cancel",
      done: "cancelled",
      noun: "cancel",
    });
    await ctx.backend.cancelWorkflow(args.application_name, args.workflow_id, {
      cancelChildren: args.cancel_children ?? false,
    }, { signal: ctx.signal });
    const status = await statusAfter(ctx, args.application_name, args.workflow_id, "cancelled");
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      ...(status ? { status } : {}),
      message: `Cancelled workflow ${args.workflow_id}${status ? ` (now ${status})` : ""}. ` +
        "Call resume_workflow to restart it.",
    };
  },
  render: (r) => r.message,
});

/** `resume_workflow`. */
export const resumeWorkflow = defineTool({
  name: "resume_workflow",
  description: "Resume a CANCELLED workflow from its last completed step, or start an ENQUEUED one now, " +
    "bypassing its queue (queue_name: back onto that queue). Other states are refused. Then follow " +
    "it with get_workflow.",
  input: workflowRef.extend({
    queue_name: z.string().min(1).max(512).optional().describe(
      "Re-enqueue it on this queue instead of running it at once.",
    ),
  }),
  output: mutationOutput,
  annotations: {
    title: "Resume workflow",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    const resume = args.queue_name !== undefined ? { queueName: args.queue_name } : {};
    await ctx.backend.resumeWorkflow(args.application_name, args.workflow_id, resume, { signal: ctx.signal });
    const status = await statusAfter(ctx, args.application_name, args.workflow_id, "resumed");
    const noEffect = status === "SUCCESS" || status === "ERROR";
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      ...(status ? { status } : {}),
      message: noEffect
        ? `Workflow ${args.workflow_id} is still ${status}: resume did not restart it. Resume applies to ` +
          "CANCELLED and ENQUEUED workflows; to re-run a finished or failed workflow from a step, use fork_workflow."
        : `Resumed workflow ${args.workflow_id}${status ? ` (now ${status})` : ""}. Call get_workflow to follow it.`,
    };
  },
  render: (r) => r.message,
});

/** `fork_workflow`. */
export const forkWorkflow = defineTool({
  name: "fork_workflow",
  description: "Start a new workflow that re-runs one from step start_step (ids from list_steps), reusing the " +
    "recorded outputs of earlier steps: retry a failed workflow from the failing step after a fix, " +
    "optionally on another application_version. Returns the new id: follow it with get_workflow.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_id: workflowId,
    start_step: z.number().int().min(0).max(1_000_000).describe(
      "Step id (stepId from list_steps) to re-run from; 0 re-runs everything.",
    ),
    new_workflow_id: z.string().min(1).max(1024).optional().describe("Id for the new workflow (default: generated)."),
    application_version: z.string().min(1).max(512).optional().describe(
      "Run the fork on this application version (default: the original's).",
    ),
    queue_name: z.string().min(1).max(512).optional().describe("Enqueue the fork on this queue."),
    queue_partition_key: z.string().min(1).max(512).optional().describe(
      "Partition key, when queue_name is a partitioned queue.",
    ),
  }),
  output: z.object({
    application: z.string(),
    workflow_id: z.string().describe("The original workflow."),
    new_workflow_id: z.string().describe("The fork."),
    start_step: z.number().int(),
    message: z.string(),
  }),
  annotations: {
    title: "Fork workflow",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    await confirmChange(ctx, args.application_name, args.workflow_id, {
      ask: `Fork from step ${args.start_step}`,
      done: "forked",
      noun: "fork",
    });
    const newId = await ctx.backend.forkWorkflow(args.application_name, args.workflow_id, {
      startStep: args.start_step,
      newWorkflowId: args.new_workflow_id,
      appVersion: args.application_version,
      queueName: args.queue_name,
      queuePartitionKey: args.queue_partition_key,
    }, { signal: ctx.signal });
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      new_workflow_id: newId,
      start_step: args.start_step,
      message: `Forked ${args.workflow_id} from step ${args.start_step} as ${newId}. Call get_workflow on ` +
        `${newId} to follow it.`,
    };
  },
  render: (r) => r.message,
});
