// Filters that take one value or a list of them (any matches), as the
// official server's list filters do, shared by the tools that filter
// workflows.
import { z } from "zod";
import { type SEARCH_TIME_FIELDS, WORKFLOW_STATUSES, type WorkflowSearch } from "../backends/backend.ts";
import { timeArg } from "./_time.ts";

/** A non-empty name of at most `max` characters. */
export const name = (max: number): z.ZodString => z.string().min(1).max(max);

/**
 * What was wrong with a one-or-many filter value: the single value's problem, or for a list its first bad
 * item's (zod's own message for a failed union is only "Invalid input", which does not say what to fix).
 */
function oneOrManyError(issue: { input?: unknown }): string | undefined {
  const branches = (issue as { errors?: { message: string; path: PropertyKey[] }[][] }).errors ?? [];
  const first = branches[Array.isArray(issue.input) ? 1 : 0]?.[0];
  if (!first) return undefined;
  return first.path.length ? `item ${first.path.map(String).join(".")}: ${first.message}` : first.message;
}

/** A filter that takes one value or a list of them (any matches), at most 100. */
export function oneOrMany<T extends z.ZodType<string>>(
  item: T,
  what: string,
): z.ZodOptional<z.ZodUnion<readonly [T, z.ZodArray<T>]>> {
  return z.union([item, z.array(item).min(1).max(100)], { error: oneOrManyError }).optional().describe(
    `${what} (one or a list).`,
  );
}

/** A workflow status, in any letter case; a wrong one names the statuses there are. */
export const workflowStatus: z.ZodType<(typeof WORKFLOW_STATUSES)[number], string> = z.preprocess(
  (v) => typeof v === "string" ? v.trim().toUpperCase() : v,
  z.enum(WORKFLOW_STATUSES, { error: () => `must be one of ${WORKFLOW_STATUSES.join(", ")}` }),
) as unknown as z.ZodType<(typeof WORKFLOW_STATUSES)[number], string>;

/** A one-or-many filter's values as a list. */
export const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

/** The time-window filters of the tools that filter workflows, in the official server's argument names. */
export const timeWindowArgs = {
  start_time: timeArg("Created at or after"),
  end_time: timeArg("Created at or before"),
  completed_after: timeArg("Completed at or after"),
  completed_before: timeArg("Completed at or before"),
  dequeued_after: timeArg("Dequeued at or after"),
  dequeued_before: timeArg("Dequeued at or before"),
};

/** The time window of parsed arguments, in v2's names. */
export function timeWindowOf(
  args: { [K in keyof typeof timeWindowArgs]?: string },
): Pick<WorkflowSearch, typeof SEARCH_TIME_FIELDS[number]> {
  return {
    startTime: args.start_time,
    endTime: args.end_time,
    completedAfter: args.completed_after,
    completedBefore: args.completed_before,
    dequeuedAfter: args.dequeued_after,
    dequeuedBefore: args.dequeued_before,
  };
}
