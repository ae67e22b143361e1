// RFC 9457 problem details (`application/problem+json`, Conductor v2's
// `ErrorModel`) turned into errors an agent can act on. See
// conductor-v2.md section 2.7 for what each status means.
import {
  AccessDeniedError,
  type DbosMcpError,
  InvalidArgumentError,
  NotFoundError,
  NotLoggedInError,
  UpstreamError,
} from "../../core/errors.ts";
import { bodyExcerpt, type HttpResponse } from "../../util/http_client.ts";

/** The parts of a problem-details body this module reads. */
export interface Problem {
  /** Short summary, e.g. "Not Found". */
  title?: string;
  /** HTTP status. */
  status?: number;
  /** What went wrong, in words. */
  detail?: string;
  /** Validation failures: where (e.g. `body.limit`), what, and the value sent. */
  errors?: { location?: string; message?: string; value?: unknown }[];
}

/** What the caller knows about the operation that failed. */
export interface FailedOperation {
  /** Describes it for messages ("list workflows of application 'x'"). */
  what: string;
  /** Whether it changes state (never retried; the permission is `application.write`). */
  mutates: boolean;
  /** Message for a 404. */
  notFound: string;
  /** The credential kind in use, for 401/403 advice. */
  credential: "login" | "token" | "none";
  /** Maps a request location (`body.limit`, `query.limit`, `path.workflowId`) to the tool argument it came from. */
  argumentOf?: (location: string) => string | undefined;
}

const MAYBE_DONE =
  "The request may or may not have taken effect: check the workflow with get_workflow before trying again.";

/** Parses a problem-details body; `undefined` when the body is not one. */
export function parseProblem(res: HttpResponse): Problem | undefined {
  try {
    const doc = JSON.parse(res.text);
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) return undefined;
    const p = doc as Record<string, unknown>;
    return {
      title: typeof p.title === "string" ? p.title : undefined,
      status: typeof p.status === "number" ? p.status : undefined,
      detail: typeof p.detail === "string" ? p.detail : undefined,
      errors: Array.isArray(p.errors)
        ? p.errors.filter((e): e is Record<string, unknown> => !!e && typeof e === "object").map((e) => ({
          location: typeof e.location === "string" ? e.location : undefined,
          message: typeof e.message === "string" ? e.message : undefined,
          value: e.value,
        }))
        : undefined,
    };
  } catch {
    return undefined;
  }
}

function oneLine(text: string, max = 200): string {
  // Control and bidirectional-override characters become spaces: the text is the service's, not ours.
  // deno-lint-ignore no-control-regex
  const s = text.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]+/g, " ").replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The service's own words for a failure: the problem's detail (or title), else an excerpt of the body. */
function said(res: HttpResponse, problem: Problem | undefined): string {
  const text = problem?.detail ?? problem?.title ?? (res.text.trim() ? bodyExcerpt(res.text) : "");
  return text ? `: ${oneLine(text)}` : "";
}

/**
 * Whether the answer is Conductor's own problem details (`application/problem+json`, or a JSON body whose
 * `status` is the answer's): only then do 502 and 503 carry v2's executor meanings. A 502 or 503 from a
 * proxy or load balancer in front of Conductor (an HTML page, plain text, no body) says nothing of executors.
 */
function isConductorProblem(res: HttpResponse, problem: Problem | undefined): boolean {
  if (problem === undefined) return false;
  const type = (res.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/problem+json" || problem.status === res.status;
}

/** The error for a failed answer of DBOS Conductor. */
export function problemError(res: HttpResponse, op: FailedOperation): DbosMcpError {
  const s = res.status;
  const problem = parseProblem(res);
  const words = said(res, problem);
  const conductorProblem = isConductorProblem(res, problem);
  if (s === 401) {
    const hint = op.credential === "token"
      ? "The key or token in DBOS_TOKEN is invalid or expired: create a new one and restart the server with it."
      : op.credential === "none"
      ? "This Conductor requires authentication: start the server without --no-auth (log in, or set DBOS_TOKEN)."
      : undefined; // the device login's own hint: call the `login` tool, then `login_complete`
    return new NotLoggedInError(`DBOS Conductor refused to ${op.what} (HTTP 401${words}).`, { hint });
  }
  if (s === 403) {
    if (/past_limit/i.test(res.headers.get("x-dbos-error") ?? "")) {
      return new AccessDeniedError(
        `DBOS Conductor refused to ${op.what}: the organization is over its plan limit (HTTP 403${words}).`,
        { hint: "Ask an organization admin to upgrade the plan or free capacity in the DBOS console." },
      );
    }
    const permission = op.mutates ? "application.write" : "application.read";
    const who = op.credential === "token" ? "The API key in DBOS_TOKEN" : "Your DBOS account";
    return new AccessDeniedError(
      `DBOS Conductor refused to ${op.what} (HTTP 403${words}): ${who} lacks the permission ${permission} on this ` +
        "application (or is scoped to other applications).",
      {
        permission,
        hint: op.mutates
          ? "This key is read-only here: ask the user to make the change, or to use credentials with application.write."
          : "Use a key scoped to this application with application.read, or check the application name.",
      },
    );
  }
  if (s === 404) return new NotFoundError(op.notFound + (words ? ` (Conductor said${words.slice(1)})` : ""));
  if (s === 422 || s === 400) {
    const first = problem?.errors?.find((e) => e.location || e.message);
    const where = first?.location;
    const arg = where ? op.argumentOf?.(where) : undefined;
    const why = first ? `${where ? `${where}: ` : ""}${oneLine(first.message ?? "invalid")}` : oneLine(words.slice(2));
    return new InvalidArgumentError(
      `DBOS Conductor rejected the request to ${op.what} (HTTP ${s}${why ? `: ${why}` : ""}).`,
      { hint: arg ? `Fix the argument '${arg}' and try again.` : "Check the arguments and try again." },
    );
  }
  if (s === 503 && conductorProblem) {
    return new UpstreamError(
      `DBOS Conductor could not ${op.what}: the application has no healthy executor connected (HTTP 503${words}). ` +
        "This does not mean it has no workflows.",
      {
        status: s,
        retryable: !op.mutates,
        hint: "Start an executor of the application (or check why it disconnected: list_executors), then try again.",
      },
    );
  }
  if (s === 502 && conductorProblem) {
    return new UpstreamError(
      `DBOS Conductor could not ${op.what}: the application's executors failed to answer (HTTP 502${words}).`,
      {
        status: s,
        retryable: !op.mutates,
        hint: op.mutates ? MAYBE_DONE : "Try again; if it keeps failing, check the executors' logs and list_executors.",
      },
    );
  }
  if (s === 429) {
    const after = Number(res.headers.get("retry-after") ?? NaN);
    const wait = Number.isFinite(after) && after >= 0 ? `, asking to wait ${after} s` : "";
    return new UpstreamError(`DBOS Conductor is rate-limiting requests (HTTP 429${wait}) and did not ${op.what}.`, {
      status: s,
      hint: "Wait a little, then try again.",
    });
  }
  if (s >= 500) {
    return new UpstreamError(`DBOS Conductor failed to ${op.what} (HTTP ${s}${words}).`, {
      status: s,
      retryable: !op.mutates,
      hint: op.mutates ? MAYBE_DONE : "Try again; if it keeps failing, check the application's executors.",
    });
  }
  return new UpstreamError(`DBOS Conductor could not ${op.what} (HTTP ${s}${words}).`, {
    status: s,
    retryable: false,
    hint: "Workflow operations need an AVAILABLE application: check list_applications and the arguments.",
  });
}
