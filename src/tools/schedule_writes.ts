/**
 * Schedule tools that change things: `pause_schedule`, `resume_schedule`,
 * `trigger_schedule` and `backfill_schedule`. They mutate, so read-only
 * mode hides and refuses them.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import type { ScheduleTiming } from "../backends/backend.ts";
import { applicationName } from "./_schemas.ts";
import { confirmOrStop, dryRun, someIds } from "./_writes.ts";
import { countOccurrences, MAX_COUNT_WINDOW_MS } from "./_cron.ts";
import { parseTime } from "./_time.ts";

const scheduleName = z.string().min(1).max(512).describe("Schedule name (scheduleName), as list_schedules returns it.");
const scheduleRef = z.strictObject({ application_name: applicationName, schedule_name: scheduleName });

const stateOutput = z.object({
  application: z.string(),
  schedule_name: z.string(),
  status: z.string().optional().describe("ACTIVE or PAUSED, read after the change."),
  message: z.string(),
});

function describe(s: ScheduleTiming): string {
  return `${s.scheduleName} (${s.workflowName ?? "?"}, cron '${s.cronExpression}'${
    s.cronTimezone ? ` ${s.cronTimezone}` : ""
  }, ${s.status})`;
}

async function timing(ctx: ToolContext, app: string, name: string): Promise<ScheduleTiming> {
  return await ctx.backend.scheduleTiming(app, name, { signal: ctx.signal });
}

async function statusAfter(ctx: ToolContext, app: string, name: string): Promise<string | undefined> {
  try {
    return (await timing(ctx, app, name)).status;
  } catch {
    return undefined; // the change was made; the status is a courtesy
  }
}

function stateTool(action: "pause" | "resume") {
  const pause = action === "pause";
  return defineTool({
    name: `${action}_schedule`,
    description: pause
      ? "Pause a schedule: it starts no workflow until resume_schedule (backfill_schedule makes up missed " +
        "runs). Workflows already started go on."
      : "Resume a paused schedule: it fires again at its next cron time (backfill_schedule makes up missed runs).",
    input: scheduleRef,
    output: stateOutput,
    annotations: {
      title: pause ? "Pause schedule" : "Resume schedule",
      readOnlyHint: false,
      destructiveHint: pause,
      idempotentHint: true,
      openWorldHint: true,
    },
    mutates: true,
    async handler(args, ctx) {
      const app = args.application_name;
      const s = await timing(ctx, app, args.schedule_name);
      await confirmOrStop(
        ctx,
        `${pause ? "Pause" : "Resume"} schedule ${describe(s)} of application ${app}?`,
        `schedule ${args.schedule_name} was not ${action}d`,
      );
      const send = pause ? ctx.backend.pauseSchedule : ctx.backend.resumeSchedule;
      await send.call(ctx.backend, app, args.schedule_name, { signal: ctx.signal });
      const status = await statusAfter(ctx, app, args.schedule_name);
      return {
        application: app,
        schedule_name: args.schedule_name,
        ...(status ? { status } : {}),
        message: `${pause ? "Paused" : "Resumed"} schedule ${args.schedule_name}${status ? ` (now ${status})` : ""}.` +
          (pause ? " Call resume_schedule to start it again." : ""),
      };
    },
    render: (r) => r.message,
  });
}

/** `pause_schedule`. */
export const pauseSchedule = stateTool("pause");
/** `resume_schedule`. */
export const resumeSchedule = stateTool("resume");

/** `trigger_schedule`. */
export const triggerSchedule = defineTool({
  name: "trigger_schedule",
  description: "Run a schedule's workflow once now, outside its cron times (also when paused). Returns the new " +
    "workflow's id: follow it with get_workflow.",
  input: scheduleRef,
  output: z.object({
    application: z.string(),
    schedule_name: z.string(),
    new_workflow_id: z.string(),
    message: z.string(),
  }),
  annotations: {
    title: "Trigger schedule",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    const app = args.application_name;
    const s = await timing(ctx, app, args.schedule_name);
    await confirmOrStop(
      ctx,
      `Run schedule ${describe(s)} of application ${app} once now?`,
      `schedule ${args.schedule_name} was not triggered`,
    );
    const id = await ctx.backend.triggerSchedule(app, args.schedule_name, { signal: ctx.signal });
    return {
      application: app,
      schedule_name: args.schedule_name,
      new_workflow_id: id,
      message: `Started ${id} from schedule ${args.schedule_name}. Follow it with get_workflow.`,
    };
  },
  render: (r) => r.message,
});

const MAX_RUNS = 1000;
const windowTime = z.union([z.string().min(1).max(64), z.number().int().min(0)]);

function windowBound(value: string | number, name: string, now: number): number {
  const ms = parseTime(value, now);
  if (ms === undefined) {
    throw new InvalidArgumentError(`${name} must be an ISO 8601 date-time, epoch ms or a duration ago (7d).`, {
      hint: "For example 2026-01-31T00:00:00Z, or 2d for two days ago.",
    });
  }
  return ms;
}

/** `backfill_schedule`. */
export const backfillSchedule = defineTool({
  name: "backfill_schedule",
  description: "Start the runs a schedule missed in a past window (start_time to end_time, at most 31 days): one " +
    "workflow per cron occurrence. Refused beyond max_runs. Dry run by default: it counts the runs; then call again " +
    "with dry_run: false.",
  input: scheduleRef.extend({
    start_time: windowTime.describe("Window start, exclusive: ISO 8601, epoch ms, or a duration ago (7d)."),
    end_time: windowTime.describe("Window end, exclusive, not in the future (same forms; 0m is now)."),
    max_runs: z.number().int().min(1).max(MAX_RUNS).optional().describe(
      `Refuse when more runs would start (default 100, at most ${MAX_RUNS}).`,
    ),
    dry_run: dryRun,
  }),
  output: z.object({
    application: z.string(),
    schedule_name: z.string(),
    dry_run: z.boolean(),
    runs: z.number().int().describe("Runs in the window."),
    first: z.string().optional(),
    last: z.string().optional(),
    new_workflow_ids: z.array(z.string()).describe("The workflows started (empty in a dry run)."),
    message: z.string(),
  }),
  annotations: {
    title: "Backfill schedule",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    const app = args.application_name;
    const now = Date.now();
    const start = windowBound(args.start_time, "start_time", now);
    const end = windowBound(args.end_time, "end_time", now);
    const maxRuns = args.max_runs ?? 100;
    if (!(start < end)) {
      throw new InvalidArgumentError("backfill_schedule needs start_time before end_time.", {
        hint: "Swap them, or widen the window.",
      });
    }
    if (end > now) {
      throw new InvalidArgumentError("backfill_schedule fills a past window: end_time is in the future.", {
        hint: "Pass an end_time of now or earlier; the schedule itself starts the future runs.",
      });
    }
    if (end - start > MAX_COUNT_WINDOW_MS) {
      throw new InvalidArgumentError("backfill_schedule takes a window of at most 31 days.", {
        hint: "Split the window into several calls.",
      });
    }
    const s = await timing(ctx, app, args.schedule_name);
    const found = countOccurrences(s.cronExpression, s.cronTimezone, start, end, maxRuns);
    if (found.count > maxRuns) {
      throw new InvalidArgumentError(
        `Backfilling schedule ${args.schedule_name} from ${new Date(start).toISOString()} to ` +
          `${new Date(end).toISOString()} would start more ` +
          `than ${maxRuns} workflows (cron '${s.cronExpression}'): nothing was started.`,
        { hint: `Shorten the window, or raise max_runs (at most ${MAX_RUNS}).` },
      );
    }
    const base = {
      application: app,
      schedule_name: args.schedule_name,
      runs: found.count,
      ...(found.first ? { first: found.first } : {}),
      ...(found.last ? { last: found.last } : {}),
    };
    const span = found.count > 0 ? ` (${found.first} to ${found.last})` : "";
    if (args.dry_run ?? true) {
      return {
        ...base,
        dry_run: true,
        new_workflow_ids: [],
        message: `Dry run: backfilling ${describe(s)} would start ${found.count} workflows${span}. Nothing was ` +
          "started; repeat with dry_run: false to start them.",
      };
    }
    await confirmOrStop(
      ctx,
      `Start ${found.count} runs of schedule ${describe(s)} of application ${app}${span}?`,
      `schedule ${args.schedule_name} was not backfilled`,
    );
    const ids = await ctx.backend.backfillSchedule(app, args.schedule_name, {
      startTime: new Date(start).toISOString(),
      endTime: new Date(end).toISOString(),
    }, { signal: ctx.signal });
    return {
      ...base,
      dry_run: false,
      new_workflow_ids: ids,
      message: `Started ${ids.length} workflows from schedule ${args.schedule_name}${
        ids.length > 0 ? `: ${someIds(ids)}` : ""
      }. Follow them with list_workflows (schedule_name).`,
    };
  },
  render: (r) => r.message,
});
