/**
 * Application tools: `list_applications`, `list_executors`.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../tool.ts";
import { applicationName, applicationShape, executorShape } from "./_schemas.ts";
import { isoTime, pairs } from "./_render.ts";
import { normalizeApplication, normalizeExecutor } from "./_normalize.ts";

/** `list_applications`. */
export const listApplications = defineTool({
  name: "list_applications",
  description: "List the DBOS applications you can inspect, with their status. Call this first: every " +
    "other workflow tool takes an application_name from here, and only applications whose status is " +
    "AVAILABLE (an executor is connected) can answer workflow queries. Next: list_workflows or list_executors.",
  input: z.strictObject({}),
  output: z.object({
    applications: z.array(applicationShape),
    count: z.number().int(),
  }),
  annotations: { title: "List applications", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(_args, ctx) {
    const applications = (await ctx.backend.listApplications({ signal: ctx.signal })).map(normalizeApplication);
    return { applications, count: applications.length };
  },
  render(r) {
    if (r.count === 0) return "No applications. Connect a DBOS application to Conductor first.";
    const lines = r.applications.map((a) => `${a.application_name}  ${a.status}${a.language ? `  ${a.language}` : ""}`);
    return `${r.count} application(s):\n${lines.join("\n")}`;
  },
});

/** `list_executors`. */
export const listExecutors = defineTool({
  name: "list_executors",
  description: "List the executors (running processes) of one application: id, version, host, health " +
    "(HEALTHY, DISCONNECTED, DEAD) and last heartbeat. Use it when an application is UNAVAILABLE or " +
    "workflows seem stuck, to see which processes are connected and on which application version.",
  input: z.strictObject({ application_name: applicationName }),
  output: z.object({
    application: z.string(),
    executors: z.array(executorShape),
    count: z.number().int(),
  }),
  annotations: { title: "List executors", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const executors = (await ctx.backend.listExecutors(args.application_name, { signal: ctx.signal })).map(
      normalizeExecutor,
    );
    return { application: args.application_name, executors, count: executors.length };
  },
  render(r) {
    if (r.count === 0) return `Application ${r.application} has no executors.`;
    const lines = r.executors.map((e) =>
      [
        e.executor_id,
        e.status ?? "?",
        pairs(e, ["application_version", "hostname", "language", "dbos_version"]),
        e.updated_at ? `updated ${isoTime(e.updated_at)}` : "",
      ].filter(Boolean).join("  ")
    );
    return `${r.count} executor(s) of ${r.application}:\n${lines.join("\n")}`;
  },
});
