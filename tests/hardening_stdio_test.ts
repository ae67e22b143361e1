// What crosses stdio, with the server as a process under the README's flags
// and a raw JSON-RPC peer (no SDK client to smooth things over): garbage lines
// get JSON-RPC errors and the server goes on; 200 calls in flight on one
// connection are all answered, each to its own id, with the server's memory
// bounded; closing stdin ends the process with status 0 promptly (the figure is reported); SIGTERM
// ends it cleanly, a call in flight answered and the audit log flushed.
import { assert, assertEquals } from "./_assert.ts";
import { hasStackTrace, recordFigures, SecretSweep, stopwatch } from "./_hardening.ts";
import { conductorModeFlags, MOD_PATH } from "./_server_process.ts";
import { type JsonRpcResponse, spawnPeer, type StdioPeer } from "./fixtures/stdio_peer.ts";
import { type RecordedRequest, startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { type LoginEmulator, startLoginEmulator } from "./fixtures/login_emulator.ts";
import { deviceLogin, writeCredentials } from "./fixtures/faults.ts";
import { verifyAuditLog } from "../plugins/audit.ts";
import { join } from "../src/util/path.ts";

const ORG = "acme";
const APP = "sample-app";
const IN_FLIGHT = 200;
const BURSTS = 5;
/** How soon the server must exit after stdin closes or SIGTERM: generous; the exact figures are reported. */
const EXIT_BOUND_MS = 5_000;

/** Holds requests until `n` are waiting at once (or `timeoutMs` passed), then lets them all through. */
class Gate {
  #waiting: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The most requests seen waiting at once. */
  maxWaiting = 0;
  constructor(readonly n: number, readonly timeoutMs: number) {}
  pass(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.maxWaiting = Math.max(this.maxWaiting, this.#waiting.length);
      if (this.#waiting.length >= this.n) this.open();
      else this.#timer ??= setTimeout(() => this.open(), this.timeoutMs);
    });
  }
  open(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const release of this.#waiting.splice(0)) release();
  }
}

/** A Conductor (v2 answers) for APP that echoes the workflow id it is asked for. */
function echo(rec: RecordedRequest): Response | undefined {
  if (rec.segments[3] !== APP) return undefined;
  const json = (v: unknown) => new Response(JSON.stringify(v), { headers: { "content-type": "application/json" } });
  switch (rec.operation) {
    case "getWorkflow":
      return json({
        workflowId: rec.segments[5],
        status: "SUCCESS",
        workflowName: "checkout",
        createdAt: "2026-01-01T00:00:00.000Z",
        output: JSON.stringify({ id: rec.segments[5], pad: "x".repeat(300) }),
      });
    case "cancelWorkflow":
      return new Response(null, { status: 204 });
    case "searchWorkflows":
      return json([]);
  }
  return undefined;
}

interface Setup {
  login: LoginEmulator;
  dir: string;
  home: string;
  auditLog: string;
  spawn(): StdioPeer;
}

async function setup(
  login: LoginEmulator,
  conductorUrl: string,
): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-stdio-" });
  const home = join(dir, "home");
  const auditLog = join(dir, "audit.jsonl");
  await writeCredentials(home, await deviceLogin(login), { organization: ORG });
  const hosts = [...new Set([new URL(conductorUrl).host, new URL(login.loginUrl).host])];
  return {
    login,
    dir,
    home,
    auditLog,
    spawn: () =>
      spawnPeer({
        flags: conductorModeFlags({ hosts, home, paths: [dir] }),
        args: [
          "--conductor-url",
          conductorUrl,
          "--login-url",
          login.loginUrl,
          "--home",
          home,
          "--audit-log",
          auditLog,
        ],
      }),
  };
}

function resultOf(res: JsonRpcResponse): { isError?: boolean; structuredContent?: Record<string, unknown> } {
  return (res.result ?? {}) as { isError?: boolean; structuredContent?: Record<string, unknown> };
}

Deno.test("stdio: garbage, 200 calls in flight, closing stdin and SIGTERM, with nothing but JSON-RPC on stdout", async (t) => {
  const elapsed = stopwatch();
  const sweep = new SecretSweep();
  const extra: Record<string, number | string> = {};
  let crashes = 0;
  await using login = await startLoginEmulator({ organization: ORG });
  let gate: Gate | undefined;
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    onRequest: async (rec, req) => {
      if (gate && rec.operation === "getWorkflow") await gate.pass();
      return login.usersMe(req) ?? echo(rec);
    },
  });
  const s = await setup(login, conductor.baseUrl);
  const peer = s.spawn();
  try {
    assert((await peer.initialize()).result, "initialize answers");

    await t.step("garbage lines get JSON-RPC errors, and the server goes on", async () => {
      const garbage = [
        "garbage",
        "{not json",
        "\u0000\u0001\u0002",
        '{"jsonrpc": "2.0", "id": 1, "method": "tools/list"', // cut short
        "x".repeat(11 * 1024 * 1024), // more than the MCP SDK's 10 MB read buffer
      ];
      for (const line of garbage) await peer.write(line + "\n");
      await peer.write("\n  \r\n"); // blank lines: nothing to answer
      await peer.write("[1, 2]\n");
      await peer.write('{"jsonrpc": "2.0", "id": "bad-params", "method": "tools/call", "params": "list_workflows"}\n');
      await peer.write('{"jsonrpc": "1.0", "id": 99, "method": "tools/list"}\n');
      const parseErrors = await peer.nullIdResponses(garbage.length + 1, 10_000);
      assertEquals(parseErrors.map((r) => r.error?.code), [...garbage.map(() => -32700), -32600]);
      for (const r of parseErrors) {
        assertEquals(r.jsonrpc, "2.0");
        assert(typeof r.error?.message === "string" && !hasStackTrace(r.error.message));
      }
      // An invalid request that has an id is answered under that id.
      const list = await peer.request("tools/list", {});
      assert(Array.isArray((list.result as { tools?: unknown[] }).tools), "tools/list still answers");
      const call = await peer.callTool("list_applications", {});
      assertEquals(resultOf(call).isError, undefined, JSON.stringify(call).slice(0, 300));
      assertEquals(peer.unmatched.map((r) => [r.id, r.error?.code]), [["bad-params", -32600], [99, -32600]]);
      peer.unmatched.length = 0;
      assertEquals(peer.exited(), false);
    });

    await t.step(
      `${IN_FLIGHT} calls in flight on one connection: each answered under its id, memory bounded`,
      async () => {
        const burst = async (round: number) => {
          gate = new Gate(IN_FLIGHT, 10_000);
          const ids = Array.from({ length: IN_FLIGHT }, (_, i) => `load-${round}-${i}`);
          const answers = await Promise.all(
            ids.map((wf, i) =>
              peer.request("tools/call", {
                name: "get_workflow",
                arguments: { application_name: APP, workflow_id: wf },
              }, `r${round}-${i}`)
            ),
          );
          const waited = gate.maxWaiting;
          gate = undefined;
          for (const [i, res] of answers.entries()) {
            assertEquals(res.id, `r${round}-${i}`);
            const out = resultOf(res);
            assert(!out.isError, JSON.stringify(res).slice(0, 300));
            assertEquals((out.structuredContent?.workflow as Record<string, unknown>).workflowId, ids[i]);
          }
          return waited;
        };
        await burst(0); // warm up: modules, connections, JIT
        const before = await peer.rssKb();
        let concurrent = await burst(1);
        const afterOne = await peer.rssKb();
        for (let round = 2; round <= BURSTS; round++) concurrent = Math.min(concurrent, await burst(round));
        const after = await peer.rssKb();
        assertEquals(concurrent, IN_FLIGHT, `all ${IN_FLIGHT} requests reached Conductor before any was answered`);
        assertEquals(peer.unmatched, [], "no answer without its request");
        extra["calls in flight"] = IN_FLIGHT;
        if (before !== undefined && afterOne !== undefined && after !== undefined) {
          const mb = (kb: number) => Number((kb / 1024).toFixed(1));
          extra["RSS before load (MB)"] = mb(before);
          extra[`RSS growth after ${IN_FLIGHT} in flight (MB)`] = mb(afterOne - before);
          extra[`RSS growth after ${BURSTS}×${IN_FLIGHT} (MB)`] = mb(after - before);
          // V8 grows its heap lazily, so RSS climbs for a while even without a leak: the bounds are generous.
          assert(afterOne - before < 50 * 1024, `RSS grew by ${mb(afterOne - before)} MB under ${IN_FLIGHT} calls`);
          assert(after - before < 100 * 1024, `RSS grew by ${mb(after - before)} MB under ${BURSTS * IN_FLIGHT} calls`);
        }
      },
    );

    await t.step("closing stdin ends the process with status 0 promptly", async () => {
      const started = performance.now();
      await peer.closeStdin();
      const status = await peer.status;
      const ms = Math.round(performance.now() - started);
      extra["exit after stdin closed (ms)"] = ms;
      assertEquals(status.code, 0);
      // Generous for a slow shared machine; the figure itself goes into the hardening line.
      assert(ms < EXIT_BOUND_MS, `exited after ${ms} ms`);
      assertEquals(peer.badLines, [], "stdout carried JSON-RPC only");
    });

    await t.step("SIGTERM ends the server cleanly: the call in flight answered, the audit log flushed", async () => {
      const second = s.spawn();
      try {
        assert((await second.initialize()).result);
        for (let i = 0; i < 20; i++) await second.callTool("list_workflows", { application_name: APP });
        // The cancel goes through; the status reads around it are held for 400 ms each, and SIGTERM
        // arrives once the cancel was sent, while the status read after it is held.
        gate = new Gate(Infinity, 400);
        const seen = conductor.requests.length;
        const inFlight = second.callTool("cancel_workflow", { application_name: APP, workflow_id: "wf-term" });
        const deadline = performance.now() + 10_000;
        while (!conductor.requests.slice(seen).some((r) => r.operation === "cancelWorkflow")) {
          assert(performance.now() < deadline, "the cancel reached Conductor within 10 s");
          await new Promise((r) => setTimeout(r, 5));
        }
        const started = performance.now();
        second.kill("SIGTERM");
        const res = await inFlight;
        assert(!resultOf(res).isError, `the call in flight was answered: ${JSON.stringify(res).slice(0, 300)}`);
        const status = await second.status;
        const ms = Math.round(performance.now() - started);
        extra["exit after SIGTERM (ms)"] = ms;
        assertEquals(status.code, 0, `exit status after SIGTERM: ${JSON.stringify(status)}`);
        assert(ms < EXIT_BOUND_MS, `exited after ${ms} ms`);
        const audit = await verifyAuditLog(s.auditLog);
        assert(audit.ok, JSON.stringify(audit));
        assertEquals(audit.openIntents, 0, "every intent has its call record");
        const records = (await Deno.readTextFile(s.auditLog)).trim().split("\n").map((l) => JSON.parse(l));
        const last = records.at(-1);
        assertEquals([last.kind, last.tool, last.outcome?.ok], ["call", "cancel_workflow", true]);
        assertEquals(second.badLines, []);
      } finally {
        gate = undefined;
        await second.close();
        sweep.capture("second server stdout", second.stdout());
        sweep.capture("second server stderr", second.stderr());
      }
    });
  } finally {
    if (peer.exited() && (await peer.status).code !== 0) crashes++;
    await peer.close();
    sweep.capture("stdout", peer.stdout());
    sweep.capture("stderr", peer.stderr());
    try {
      sweep.capture("audit log", await Deno.readTextFile(s.auditLog));
    } catch {
      // no audit log written
    }
    sweep.lookFor(login.allSecrets());
    await Deno.remove(s.dir, { recursive: true });
  }

  await t.step("no token, refresh token or device code in anything the server wrote", () => {
    assertEquals(sweep.leaks(), []);
  });
  await recordFigures("stdio", {
    crashes,
    ...sweep.figures(),
    extra,
    durationMs: elapsed(),
  });
});

Deno.test("stdio: a client that closes the server's stdout ends the server with status 0, stdin still open", async () => {
  const home = await Deno.makeTempDir({ prefix: "dbos-mcp-stdio-epipe-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...conductorModeFlags({ hosts: ["127.0.0.1:9"], home }), MOD_PATH, "--home", home],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  try {
    await child.stdout.cancel(); // the read end of the server's stdout is closed
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "gone", version: "1" } },
    };
    await writer.write(new TextEncoder().encode(JSON.stringify(initialize) + "\n"));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      child.status,
      new Promise<null>((r) => (timer = setTimeout(() => r(null), 10_000))),
    ]);
    clearTimeout(timer);
    assert(ended !== null, "the server still runs 10 s after its answer could not be written");
    assertEquals(ended.code, 0, await stderr);
  } finally {
    await writer.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await child.status;
    await stderr;
    await Deno.remove(home, { recursive: true });
  }
});
