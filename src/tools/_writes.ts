// What the mutating tools of this group share: the workflow-id list
// argument (at most 500), the dry-run argument, the current statuses of a
// list of workflows, and the confirmation through elicitation.
import { z } from "zod";
import type { ToolContext } from "../core/tool.ts";
import { DbosMcpError, InvalidArgumentError } from "../core/errors.ts";
import { normalizeWorkflow, workflowId } from "./_schemas.ts";
import { head } from "./_render.ts";

/** The most workflow ids one bulk call takes. */
export const MAX_BULK_IDS = 500;

/** The `workflow_ids` argument of the bulk tools. */
export const workflowIds = z.array(workflowId).min(1).max(
  MAX_BULK_IDS,
  `At most ${MAX_BULK_IDS} workflow ids per call: split the list and call again for the rest.`,
).describe(`Workflow ids (1 to ${MAX_BULK_IDS}).`);

/** The `dry_run` argument: on unless set to false. */
export const dryRun = z.boolean().optional().describe(
  "Default true: report only. false applies.",
);

/** One workflow of a bulk answer. */
export const bulkRow = z.object({
  workflowId: z.string(),
  workflowName: z.string().optional(),
  status: z.string().describe("After the change (DELETED once deleted); before it in a dry run."),
  changes: z.boolean(),
});

/** A row of {@linkcode bulkRow}. */
export type BulkRow = z.infer<typeof bulkRow>;

/** The current status of each of `ids` (one list call); ids not found are left out. */
export async function statusesOf(
  ctx: ToolContext,
  app: string,
  ids: readonly string[],
): Promise<Map<string, { status: string; workflowName?: string }>> {
  const unique = [...new Set(ids)];
  const rows = await ctx.backend.listWorkflows(app, {
    workflowIds: unique,
    limit: unique.length,
    loadInput: false,
    loadOutput: false,
  }, { signal: ctx.signal });
  const out = new Map<string, { status: string; workflowName?: string }>();
  for (const raw of rows) {
    const w = normalizeWorkflow(raw);
    out.set(w.workflowId, { status: w.status, ...(w.workflowName ? { workflowName: w.workflowName } : {}) });
  }
  return out;
}

/** Refuses a list that names the same workflow twice (an agent's slip that would skew the counts). */
export function uniqueIds(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) {
      throw new InvalidArgumentError(`workflow_ids names '${head(id, 100)}' twice.`, {
        hint: "Pass each workflow id once.",
      });
    }
    seen.add(id);
  }
  return [...seen];
}

/** Refuses a real run when some ids do not exist: nothing is sent. */
export function refuseMissing(app: string, missing: readonly string[], done: string): void {
  if (missing.length === 0) return;
  const shown = missing.slice(0, 10).map((id) => `'${head(id, 100)}'`).join(", ");
  const more = missing.length > 10 ? ` and ${missing.length - 10} more` : "";
  throw new InvalidArgumentError(
    `No workflow ${shown}${more} in application '${app}': nothing was ${done}.`,
    { hint: "Drop those ids (a dry run lists them under not_found), or check them with list_workflows." },
  );
}

/** Counts of statuses, for messages: `3 PENDING, 1 ENQUEUED`. */
export function statusCounts(rows: readonly { status: string }[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
}

/**
 * Asks the user to confirm `question` when the client can ask. A declined
 * (or dismissed) confirmation stops the change before anything is sent.
 */
export async function confirmOrStop(ctx: ToolContext, question: string, notDone: string): Promise<void> {
  const answer = await ctx.confirm(question);
  if (answer === "decline") {
    throw new DbosMcpError(`The user did not confirm: ${notDone}; nothing was sent.`, {
      code: "POLICY",
      hint: "Ask the user what they want to do instead.",
    });
  }
}

/** A few ids for a confirmation question: `a, b, c and 7 more`. */
export function someIds(ids: readonly string[], max = 5): string {
  const shown = ids.slice(0, max).map((id) => head(id, 80)).join(", ");
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}
