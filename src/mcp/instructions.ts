/**
 * The instructions a client receives at initialization.
 *
 * @module
 */
import type { WorkflowBackend } from "../backends/backend.ts";

/**
 * Instructions sent to the client at initialization, for the backend in use,
 * whether it has a login (the login tools), and the policy in force.
 */
export function instructions(
  kind: WorkflowBackend["kind"],
  readOnly: boolean,
  login: boolean = kind === "conductor",
): string {
  return [
    "Inspect and manage DBOS durable workflows.",
    kind === "conductor" && login
      ? "Start with list_applications. If a tool says the login is missing or expired, call login, show the " +
        "user the URL it returns, then call login_complete."
      : kind === "conductor"
      ? "Start with list_applications (this server's Conductor credentials are configured at start-up; there " +
        "is no login tool: if a tool says the credentials were refused, tell the user)."
      : "Start with list_applications (this server reads each application's DBOS system database directly; no " +
        "login is needed).",
    "Workflow operations (list_workflows, get_workflow, list_steps, cancel/resume/fork) only work for " +
    "applications whose status is AVAILABLE.",
    "For 'what failed and why', call summarize_workflows first, then get_workflow with include_steps: true.",
    readOnly
      ? "This server is read-only: it cannot cancel, resume or fork workflows."
      : "cancel_workflow, resume_workflow and fork_workflow change production state: confirm with the user first.",
  ].join("\n");
}

/** The instructions of a Conductor-mode server that may change workflows. */
export const INSTRUCTIONS: string = instructions("conductor", false);
