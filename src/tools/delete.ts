/**
 * `delete_workflow`: permanently deletes one workflow (and, when asked, its
 * children) with its recorded steps, inputs and outputs. It mutates, so
 * read-only mode hides and refuses it.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../core/tool.ts";
import { NotFoundError } from "../core/errors.ts";
import { normalizeWorkflow, workflowRef } from "./_schemas.ts";
import { confirmOrStop } from "./_writes.ts";

/** `delete_workflow`. */
export const deleteWorkflow = defineTool({
  name: "delete_workflow",
  description: "IRREVERSIBLE: permanently delete a workflow with its steps, inputs and outputs " +
    "(delete_children: its children too). Cancel a running one first; confirm with the user. Many at " +
    "once: bulk_delete_workflows.",
  input: workflowRef.extend({
    delete_children: z.boolean().optional().describe("Also delete its child workflows (default false)."),
  }),
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    deleted: z.boolean().describe("The workflow is gone."),
    message: z.string(),
  }),
  annotations: {
    title: "Delete workflow",
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    const app = args.application_name;
    const id = args.workflow_id;
    let w;
    try {
      w = normalizeWorkflow(await ctx.backend.getWorkflow(app, id, { signal: ctx.signal }));
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`No workflow '${id}' in application '${app}': nothing was deleted.`, {
          hint: "Check the id with list_workflows.",
          cause: err,
        });
      }
      throw err;
    }
    const children = args.delete_children ? " and its children" : "";
    await confirmOrStop(
      ctx,
      `Permanently delete workflow ${id} (${w.workflowName ?? "?"}, ${w.status})${children} of application ${app}? ` +
        "This cannot be undone.",
      `workflow ${id} was not deleted`,
    );
    await ctx.backend.deleteWorkflow(app, id, { deleteChildren: args.delete_children ?? false }, {
      signal: ctx.signal,
    });
    let deleted = true;
    try {
      await ctx.backend.getWorkflow(app, id, { signal: ctx.signal });
      deleted = false;
    } catch (err) {
      if (!(err instanceof NotFoundError)) deleted = true; // the delete succeeded; the check is a courtesy
    }
    return {
      application: app,
      workflow_id: id,
      deleted,
      message: deleted
        ? `Deleted workflow ${id}${children}. This cannot be undone.`
        : `Sent the delete of workflow ${id}, but it is still listed: check it with get_workflow.`,
    };
  },
  render: (r) => r.message,
});
