/**
 * Login tools: `login`, `login_complete`, `logout`, offered only when the server has a login (Conductor mode
 * with the device login; not with `DBOS_TOKEN` or `--no-auth`).
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import type { LoginService } from "../core/login_service.ts";
import { ConfigError } from "../core/errors.ts";

function loginOf(ctx: ToolContext): LoginService {
  if (!ctx.login) throw new ConfigError("This server has no login: it does not use DBOS Conductor.");
  return ctx.login;
}

/** `login`: starts the device login and returns the URL at once. */
export const login = defineTool({
  name: "login",
  description: "Start logging in to DBOS Cloud, when a tool says the login is missing or expired. Returns at " +
    "once with a URL and a code: ask the user to open the URL and confirm the code, then call " +
    "login_complete.",
  input: z.strictObject({}),
  output: z.object({
    status: z.literal("pending_user"),
    verification_uri_complete: z.string().describe("URL for the user to open."),
    verification_uri: z.string(),
    user_code: z.string().describe("Code the user should see on that page."),
    expires_at: z.string().describe("When the code expires (ISO 8601)."),
    message: z.string(),
  }),
  annotations: { title: "Log in to DBOS Cloud", readOnlyHint: false, idempotentHint: false, openWorldHint: true },
  mutates: false,
  needsLogin: true,
  async handler(_args, ctx) {
    const started = await loginOf(ctx).startLogin({ signal: ctx.signal });
    return {
      status: "pending_user" as const,
      verification_uri_complete: started.verification_uri_complete,
      verification_uri: started.verification_uri,
      user_code: started.user_code,
      expires_at: started.expires_at,
      message: `Ask the user to open ${started.verification_uri_complete} and confirm the code ${started.user_code}` +
        ` before ${started.expires_at}, then call login_complete.`,
    };
  },
  render: (r) => r.message,
});

/** `login_complete`: waits a bounded time for the user to finish logging in. */
export const loginComplete = defineTool({
  name: "login_complete",
  description: "Finish the login started by `login` once the user has confirmed. Waits about 20 s; answers " +
    "status 'pending' if the user has not finished: call it again. On success call " +
    "list_applications.",
  input: z.strictObject({}),
  output: z.object({
    status: z.enum(["complete", "pending"]),
    userName: z.string().optional(),
    organization: z.string().optional(),
    message: z.string(),
  }),
  annotations: {
    title: "Complete DBOS Cloud login",
    readOnlyHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  mutates: false,
  needsLogin: true,
  async handler(_args, ctx) {
    // Tell a client that asked for progress that we are still waiting for the user, once a second.
    const started = Date.now();
    const ticker = setInterval(() => {
      const waited = Math.round((Date.now() - started) / 1000);
      ctx.progress(waited, undefined, `waiting for the user to finish logging in (${waited} s)`).catch(() => {});
    }, 1000);
    let outcome;
    try {
      outcome = await loginOf(ctx).completeLogin({ signal: ctx.signal });
    } finally {
      clearInterval(ticker);
    }
    if (outcome.status === "complete") {
      return {
        status: "complete" as const,
        userName: outcome.userName,
        organization: outcome.organization,
        message: `Logged in as ${outcome.userName} (organization ${outcome.organization}). ` +
          "Next, call list_applications.",
      };
    }
    return { status: "pending" as const, message: outcome.message };
  },
  render: (r) => r.message,
});

/**
 * `logout`: revokes the refresh token and deletes the saved credentials. It
 * mutates: the credentials file is shared with the other DBOS tools, so
 * read-only mode neither lists nor runs it.
 */
export const logout = defineTool({
  name: "logout",
  description: "Log out of DBOS Cloud: revokes the refresh token and deletes the credentials file. Only when " +
    "the user asks (e.g. to switch accounts); then login again.",
  input: z.strictObject({}),
  output: z.object({ revoked: z.boolean(), removed: z.boolean(), message: z.string() }),
  annotations: {
    title: "Log out of DBOS Cloud",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  // It changes state outside the server (the shared credentials file, the login service's refresh token).
  mutates: true,
  needsLogin: true,
  async handler(_args, ctx) {
    const out = await loginOf(ctx).logout({ signal: ctx.signal });
    return { revoked: out.revoked, removed: out.removed, message: out.message };
  },
  render: (r) => r.message,
});
