/**
 * The Conductor emulator of the tests, answering the v2 operations behind
 * `list_workflows` (`searchWorkflows`) and `get_workflow` (`getWorkflow`)
 * itself with canned JSON in v2 shapes (through its `onRequest` hook)
 * instead of relaying to a DBOS executor, so that its own latency is tiny,
 * constant and measurable with a plain HTTP request; run in a process of its
 * own. Also a home folder with a credentials file holding a token the
 * emulator accepts, and the requests the server sends, to send the same ones
 * directly.
 *
 * @module
 */
import { startConductorEmulator } from "../tests/fixtures/conductor_emulator.ts";
import { join } from "../src/util/path.ts";

/** Epoch milliseconds as the ISO 8601 text v2 answers carry. */
const isoAt = (ms: number): string => new Date(ms).toISOString();

/** The organization, application and token of the canned Conductor. */
export const CANNED = { org: "bench", app: "bench-app", token: "bench-token-0123456789" } as const;

/** The id of the workflow `get_workflow` is asked for. */
export const CANNED_WORKFLOW_ID = "wf-00000042";

/** A running canned Conductor and a home folder logged in to it. */
export interface CannedConductor extends AsyncDisposable {
  /** Conductor API base URL. */
  baseUrl: string;
  /** A home folder whose credentials file holds the accepted token. */
  home: string;
  /** The plain HTTP request the server sends for a default `list_workflows` (page of 20). */
  listWorkflowsDirect(): Promise<unknown>;
  /** The plain HTTP request the server sends for `get_workflow`. */
  getWorkflowDirect(): Promise<unknown>;
  /** Stops the emulator and deletes the home folder. */
  close(): Promise<void>;
}

/** Where a canned Conductor listens and the home folder logged in to it. */
interface CannedAddress {
  baseUrl: string;
  home: string;
}

/** One workflow as a Conductor v2 answer carries it (`Workflow`: camelCase, ISO 8601 times). */
export function cannedWorkflow(n: number, withPayloads: boolean): Record<string, unknown> {
  const created = 1_760_000_000_000 + n * 1_000;
  const failed = n % 10 === 3;
  const w: Record<string, unknown> = {
    workflowId: `wf-${String(n).padStart(8, "0")}`,
    status: failed ? "ERROR" : "SUCCESS",
    workflowName: n % 2 ? "checkout" : "send_receipt",
    workflowClass: "",
    workflowConfig: "",
    user: `user-${n % 50}`,
    assumedRole: "",
    roles: "[]",
    createdAt: isoAt(created),
    updatedAt: isoAt(created + 180),
    queueName: n % 4 === 0 ? "orders" : null,
    appVersion: "3f9c2a1b7d4e",
    executorId: "executor-7b1f0c2e",
    applicationName: CANNED.app,
  };
  if (withPayloads) {
    w.input = `[ { orderId: 'order-${n}', customer: 'cust-${n % 997}', items: [ { sku: 'sku-${
      n % 131
    }', qty: 2 } ] } ]`;
    if (failed) {
      w.error = `PaymentDeclinedError: card declined for order-${n}\n    at charge (/app/src/checkout.ts:88:11)`;
    } else {w.output = `{ orderId: 'order-${n}', total: ${n % 1000}, receipt: 'rcpt-${
        n.toString(16).padStart(12, "0")
      }' }`;}
  }
  return w;
}

/**
 * Starts the canned Conductor on loopback and a home folder with its
 * credentials, in a process of its own (`bench/fixtures/canned_conductor.ts`),
 * so that the server under test and the direct requests of the baseline both
 * reach it across a process boundary, as a server reaches a real Conductor.
 */
export async function startCannedConductor(): Promise<CannedConductor> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-read", "--allow-write", "--allow-env", CANNED_MAIN],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the canned Conductor exited before it listened (${(await child.status).code})`);
    first += value;
  }
  reader.releaseLock();
  const address = JSON.parse(first.split("\n")[0]) as CannedAddress;
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await child.status;
    })();
  return { ...address, ...directCalls(address.baseUrl), close, [Symbol.asyncDispose]: close };
}

const CANNED_MAIN = new URL("./fixtures/canned_conductor.ts", import.meta.url).pathname;

/** The plain HTTP requests the server sends for the two benchmarked tools (Conductor API v2). */
function directCalls(baseUrl: string): Pick<CannedConductor, "listWorkflowsDirect" | "getWorkflowDirect"> {
  const base = `${baseUrl}/v2/orgs/${CANNED.org}/apps/${CANNED.app}/workflows`;
  const accept = { "Authorization": `Bearer ${CANNED.token}`, "Accept": "application/json, application/problem+json" };
  const direct = async (url: string, init: RequestInit): Promise<unknown> => {
    const headers = init.body === undefined ? accept : { ...accept, "Content-Type": "application/json" };
    const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`canned Conductor answered ${res.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text);
  };
  return {
    // What the server sends for list_workflows with default arguments: one more than the page, to know if there is more.
    listWorkflowsDirect: () => direct(`${base}/search`, { method: "POST", body: JSON.stringify({ limit: 21 }) }),
    getWorkflowDirect: () => direct(`${base}/${CANNED_WORKFLOW_ID}`, { method: "GET" }),
  };
}

/**
 * Runs the canned Conductor in this process; the process entry point of
 * {@linkcode startCannedConductor} calls it.
 */
export async function serveCannedConductor(): Promise<CannedAddress & { close(): Promise<void> }> {
  const lists = new Map<number, string>();
  const listJson = (limit: number, payloads: boolean): string => {
    const key = payloads ? -limit : limit;
    let text = lists.get(key);
    if (text === undefined) {
      text = JSON.stringify(Array.from({ length: limit }, (_, i) => cannedWorkflow(i, payloads)));
      lists.set(key, text);
    }
    return text;
  };
  const getJson = JSON.stringify(cannedWorkflow(42, true));
  const headers = { "content-type": "application/json" };
  let seen = 0;
  const emulator = await startConductorEmulator({
    org: CANNED.org,
    isValidToken: (t) => t === CANNED.token,
    applications: [CANNED.app],
    onRequest: (recorded) => {
      // The log is for tests; thousands of calls would only grow it.
      if (++seen % 1_000 === 0) emulator.clearLog();
      if (!recorded.authorized) return undefined; // the emulator's own 401
      if (recorded.operation === "searchWorkflows") {
        const body = (recorded.body ?? {}) as { limit?: number; loadInput?: boolean };
        const limit = Math.min(Math.max(1, Number(body.limit ?? 20)), 501);
        return new Response(listJson(limit, body.loadInput === true), { headers });
      }
      if (recorded.operation === "getWorkflow") return new Response(getJson, { headers });
      return undefined;
    },
  });
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-bench-" });
  await Deno.writeTextFile(
    join(home, "credentials"),
    JSON.stringify({ token: CANNED.token, userName: "bench", organization: CANNED.org }),
    { mode: 0o600 },
  );
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await emulator.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    })();
  return { baseUrl: emulator.baseUrl, home, close };
}
