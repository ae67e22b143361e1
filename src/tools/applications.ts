/**
 * Application tools: `list_applications`, `list_executors`.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../core/tool.ts";
import {
  applicationName,
  applicationShape,
  executorShape,
  normalizeApplication,
  normalizeExecutor,
} from "./_schemas.ts";
import { pairs } from "./_render.ts";

/** `list_applications`. */
export const listApplications = defineTool({
  name: "list_applications",
  description: "The DBOS applications you can inspect, with their status. Call it first: the other tools take " +
    "an application_name from here, and only AVAILABLE ones (an executor connected, or in " +
    "system-database mode a database that answers) answer workflow queries; an UNAVAILABLE one may " +
    "say why (reason). Next: list_workflows.",
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
    if (r.count === 0) {
      return "No applications. Connect a DBOS application to Conductor, or configure system databases (--app).";
    }
    const lines = r.applications.map((a) =>
      [
        a.name,
        a.status,
        a.language,
        typeof a.reason === "string" ? `(${a.reason})` : "",
        typeof a.sdkGeneration === "string" ? `DBOS TypeScript SDK ${a.sdkGeneration}` : "",
        typeof a.limited === "string" ? `limited: ${a.limited}` : "",
        typeof a.hint === "string" ? `\n  ${a.hint}` : "",
      ].filter(Boolean).join("  ")
    );
    return `${r.count} application(s):\n${lines.join("\n")}`;
  },
});

/** What `list_executors` says when the executors are derived from a system database. */
export const DERIVED_EXECUTORS_NOTE =
  "Derived from the system database, not live: each executor id found in this application's recent workflows " +
  "(the latest 50,000 and every PENDING one), with its application version, the last time it updated a " +
  "workflow (updatedAt) and how many workflows it holds PENDING. Only DBOS Conductor sees live connections, " +
  "so there is no health status; an executor that stopped still appears until it ages out.";

/** `list_executors`. */
export const listExecutors = defineTool({
  name: "list_executors",
  description: "An application's executors (processes): id, version, host, health (HEALTHY, DISCONNECTED, " +
    "DEAD), last heartbeat. Use it when an application is UNAVAILABLE or work seems stuck. In " +
    "system-database mode it is derived from workflow records (see note): last activity and PENDING " +
    "workflows held, no health.",
  input: z.strictObject({ application_name: applicationName }),
  output: z.object({
    application: z.string(),
    executors: z.array(executorShape),
    count: z.number().int(),
    note: z.string().optional().describe("How the list was obtained, when it is not Conductor's live view."),
  }),
  annotations: { title: "List executors", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const executors = (await ctx.backend.listExecutors(args.application_name, { signal: ctx.signal })).map(
      normalizeExecutor,
    );
    const out: { application: string; executors: typeof executors; count: number; note?: string } = {
      application: args.application_name,
      executors,
      count: executors.length,
    };
    if (ctx.backend.kind === "sysdb") out.note = DERIVED_EXECUTORS_NOTE;
    return out;
  },
  render(r) {
    const note = r.note ? `\n${r.note}` : "";
    if (r.count === 0) return `Application ${r.application} has no executors.${note}`;
    const lines = r.executors.map((e) =>
      [
        e.executorId,
        e.status ?? (r.note ? "" : "?"),
        pairs(e, ["appVersion", "hostname", "language", "dbosVersion"]),
        typeof e.pendingWorkflows === "number" ? `pending=${e.pendingWorkflows}` : "",
        e.updatedAt ? `${r.note ? "last active" : "updated"} ${e.updatedAt}` : "",
      ].filter(Boolean).join("  ")
    );
    return `${r.count} executor(s) of ${r.application}:\n${lines.join("\n")}${note}`;
  },
});
