/**
 * MCP resources and prompts. Resources are read through the same pipeline as
 * tool calls (`list_applications`, `get_workflow`), so policy, redaction and
 * audit apply to them exactly as to tools.
 *
 * @module
 */
import type { PipelineAnswer } from "../core/pipeline.ts";

/** The resources a client can list. */
export const RESOURCES: { uri: string; name: string; title: string; description: string; mimeType: string }[] = [{
  uri: "dbos://applications",
  name: "applications",
  title: "DBOS applications",
  description: "The DBOS applications this server can inspect, with their status.",
  mimeType: "application/json",
}];

/** The resource templates a client can list. */
export const RESOURCE_TEMPLATES: {
  uriTemplate: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
}[] = [{
  uriTemplate: "dbos://applications/{app}/workflows/{id}",
  name: "workflow",
  title: "DBOS workflow",
  description: "One workflow's record (status, input, output, error, times), as get_workflow returns it.",
  mimeType: "application/json",
}];

/** The tool call a resource URI stands for, or `undefined` when the URI is not one of ours. */
export function resourceCall(uri: string): { tool: string; args: Record<string, unknown> } | undefined {
  if (uri === "dbos://applications") return { tool: "list_applications", args: {} };
  const m = uri.match(/^dbos:\/\/applications\/([^/]+)\/workflows\/([^/]+)$/);
  if (!m) return undefined;
  try {
    return {
      tool: "get_workflow",
      args: { application_name: decodeURIComponent(m[1]), workflow_id: decodeURIComponent(m[2]) },
    };
  } catch {
    return undefined;
  }
}

/** Turns a pipeline answer into resource contents, or an error message. */
export function resourceContents(
  uri: string,
  answer: PipelineAnswer,
): { ok: true; contents: { uri: string; mimeType: string; text: string }[] } | { ok: false; message: string } {
  if (answer.kind === "unknown-tool") return { ok: false, message: answer.message };
  const r = answer.result;
  if (r.isError || !r.structuredContent) return { ok: false, message: r.content.map((c) => c.text).join("\n") };
  return { ok: true, contents: [{ uri, mimeType: "application/json", text: JSON.stringify(r.structuredContent) }] };
}

/** One argument of a prompt. */
interface PromptArgument {
  name: string;
  description: string;
  required: boolean;
}

/** A prompt: its listing and how it renders. */
interface PromptDefinition {
  name: string;
  title: string;
  description: string;
  arguments: PromptArgument[];
  render(args: Record<string, string>): string;
}

/** The prompts a client can list and get. */
export const PROMPTS: readonly PromptDefinition[] = [
  {
    name: "debug_failed_workflows",
    title: "Debug failed workflows",
    description: "Find which workflows of an application failed in a time window, why, and at which step.",
    arguments: [
      { name: "application", description: "Application name (see list_applications).", required: true },
      { name: "window", description: "How far back to look, e.g. 15m, 1h, 24h (default 1h).", required: false },
    ],
    render: (a) => {
      const window = a.window || "1h";
      return [
        `Investigate the failed workflows of the DBOS application "${a.application}" in the last ${window}.`,
        `1. Call summarize_workflows with application_name "${a.application}" and start_time "${window}".`,
        "2. For each error group, call get_workflow with include_steps: true on one example id to see the " +
        "failing step, its error and the workflow's input.",
        "3. If a failure involves child workflows, call workflow_tree on the parent.",
        "4. Explain the likely root cause of each group, with the workflow ids as evidence, and propose a fix.",
        "Do not cancel, resume or fork any workflow unless the user explicitly asks; if they do, say which " +
        "step fork_workflow would restart from and why.",
      ].join("\n");
    },
  },
  {
    name: "triage_queue",
    title: "Triage a queue",
    description: "Find out why work on a queue is waiting or slow.",
    arguments: [
      { name: "application", description: "Application name (see list_applications).", required: true },
      { name: "queue", description: "Queue name (see list_queues).", required: true },
    ],
    render: (a) =>
      [
        `Triage the queue "${a.queue}" of the DBOS application "${a.application}".`,
        `1. Call list_queues with application_name "${a.application}" to see how much waits and runs on it.`,
        `2. Call list_workflows with queue_name "${a.queue}" and status "PENDING" to see what runs now, and ` +
        `with status "ENQUEUED" (oldest first) to see what waits.`,
        "3. For long-running PENDING workflows, call get_workflow with include_steps: true to see where they are.",
        "4. Call list_executors to check that executors are connected and healthy.",
        "5. Summarize: is the queue blocked (by what), slow (why), or healthy; and what to do. Do not cancel or " +
        "resume workflows unless the user explicitly asks.",
      ].join("\n"),
  },
  {
    name: "retry_deploy_failures",
    title: "Retry the failures of the last deploy",
    description: "Find the workflows that failed since a deploy, fork them from their failures after a dry run, " +
      "and confirm with the user before anything changes.",
    arguments: [
      { name: "application", description: "Application name (see list_applications).", required: true },
      {
        name: "since",
        description: "When the deploy went out, e.g. 2h or an ISO time (default 24h).",
        required: false,
      },
      {
        name: "version",
        description: "Run the retries on this application version (default each original's).",
        required: false,
      },
    ],
    render: (a) => {
      const since = a.since || "24h";
      const version = a.version ? `, application_version "${a.version}"` : "";
      return [
        `Retry the workflows of the DBOS application "${a.application}" that failed since ${since}.`,
        `1. Call summarize_workflows with application_name "${a.application}" and start_time "${since}" to see ` +
        "the error groups and their failing steps.",
        `2. Call list_workflows with status "ERROR" and start_time "${since}" to collect their ids (page with ` +
        "next_cursor; at most 500 per retry call).",
        `3. Call fork_from_failure with those workflow_ids, from_last_failure: true${version} and no dry_run: it is a ` +
        "dry run that lists the workflows and their status and changes nothing.",
        "4. Show the user the groups, the count and the dry run, and ask whether to retry. Only if they agree, call " +
        "fork_from_failure again with dry_run: false (the client may ask them to confirm once more).",
        "5. Follow the new_workflow_ids with list_workflows or get_workflow and report which retries succeeded.",
      ].join("\n");
    },
  },
];
