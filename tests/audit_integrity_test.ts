// The audit log under the conditions that break naive logs: several server
// processes writing one file (the lock, one chain), writes that fail
// part-way (cut back to the last complete record), the HMAC chain with
// DBOS_MCP_AUDIT_KEY (forgeries with recomputed plain hashes fail), head
// anchors on stderr and `audit verify --head` through `deno task`, and the
// start-up check of a required log.
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "./_assert.ts";
import { FakeClock } from "./_fake_clock.ts";
import {
  AUDIT_GENESIS,
  AUDIT_KEY_ENV,
  AuditKeyError,
  type AuditRecord,
  createAuditPlugin,
  runAuditCli,
  verifyAuditLog,
} from "../plugins/audit.ts";
import { AuditLog, type AuditSink } from "../plugins/_audit_log.ts";
import { auditHooks } from "../plugins/_audit_plugin.ts";
import { recordHash } from "../plugins/_audit_chain.ts";
import { auditKeyFromEnv } from "../plugins/_audit_key.ts";
import { cancel, inTempDir, lines, read, runCall, sampleLog, withoutAnchors, writeLines } from "./_audit.ts";
import { MOD_PATH } from "./_server_process.ts";

const KEY = "k3y-for-tests-0123456789abcdef-0123456789abcdef";
const OTHER_KEY = "another-key-for-tests-0123456789abcdef-012345";
const REPO = new URL("..", import.meta.url).pathname;

const keyOf = (value: string) => auditKeyFromEnv((name) => (name === AUDIT_KEY_ENV ? value : undefined));
const noRedaction = { redact: <T>(v: T) => v, redactText: (t: string) => t };

/** A record with its hash recomputed as plain SHA-256 after `change` (a forger who does not have the key). */
async function forgedPlain(line: string, prev: string, change: (r: Record<string, unknown>) => void = () => {}) {
  const r = JSON.parse(line);
  change(r);
  delete r.hash;
  delete r.mac;
  r.prev = prev;
  const hash = await recordHash(r);
  return { line: JSON.stringify({ ...r, hash }), hash };
}

/** `audit verify` in-process with `env` as the environment; returns the exit status and the one line printed. */
async function verifyCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; line: string }> {
  const out: string[] = [];
  const code = await runAuditCli(args, { out: (l) => out.push(l), err: (l) => out.push(l) }, (n) => env[n]);
  return { code, line: out.join("\n") };
}

// ---- several processes, one log ------------------------------------------------------------------------------------

/**
 * A child process that opens the log with the audit plugin, says `ready`,
 * waits for a line on stdin, then runs `count` calls (every third a
 * mutation) as fast as it can.
 */
const WRITER = `
import { createAuditPlugin } from ${JSON.stringify(new URL("../plugins/audit.ts", import.meta.url).href)};
import { auditKeyFromEnv } from ${JSON.stringify(new URL("../plugins/_audit_key.ts", import.meta.url).href)};
const [path, name, count] = Deno.args;
const plugin = await createAuditPlugin({ path, key: await auditKeyFromEnv(), log: (m) => console.error(m) });
console.log("ready");
const buf = new Uint8Array(8);
await Deno.stdin.read(buf);
for (let i = 0; i < Number(count); i++) {
  const mutates = i % 3 === 0;
  const call = {
    id: name + "-" + i, tool: mutates ? "cancel_workflow" : "list_workflows", mutates, args: { i },
    session: { id: name }, startedAt: 0,
  };
  await plugin.beforeCall(call);
  await plugin.afterCall(call, { decision: { allowed: true }, ok: true, durationMs: 1, resultBytes: 2 });
}
await plugin.close();
console.log("done");
`;

async function startWriter(script: string, path: string, name: string, count: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read`,
      `--allow-write=${path}`,
      `--allow-env=${AUDIT_KEY_ENV}`,
      script,
      path,
      name,
      String(count),
    ],
    env: { [AUDIT_KEY_ENV]: KEY },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await stdout.read();
  assertEquals(first.value?.trim(), "ready", "the writer opened the log");
  return { child, stdout };
}

Deno.test("two server processes appending to one log at once keep one HMAC chain that verifies", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const script = `${dir}/writer.ts`;
    await Deno.writeTextFile(script, WRITER);
    const count = 150; // 200 records each: 50 mutations (intent + call) and 100 reads
    const writers = [await startWriter(script, path, "a", count), await startWriter(script, path, "b", count)];
    // Both have opened the log; release them together.
    await Promise.all(writers.map(async ({ child }) => {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
    }));
    const outcomes = await Promise.all(writers.map(async ({ child, stdout }) => {
      let rest = "";
      for (let r = await stdout.read(); !r.done; r = await stdout.read()) rest += r.value;
      const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
      return { status, rest, stderr };
    }));
    for (const o of outcomes) {
      assertEquals(o.status.code, 0, o.stderr);
      assertEquals(o.rest.trim(), "done");
      assertEquals(withoutAnchors(o.stderr.trim().split("\n")), [], "no write was refused or lost");
      assert(!o.stderr.includes(KEY), "the key is never written to stderr");
    }
    const ls = await lines(path);
    assertEquals(ls.length, 400);
    const rs = ls.map((l) => JSON.parse(l) as AuditRecord);
    assertEquals(rs.map((r) => r.seq), rs.map((_, i) => i + 1), "one sequence, no fork");
    for (const name of ["a", "b"]) {
      const mine = rs.filter((r) => r.session === name);
      assertEquals(mine.length, 200, `every record of writer ${name} is there`);
      assertEquals(new Set(mine.filter((r) => r.kind === "call").map((r) => r.call_id)).size, count);
    }
    // Both opened the log while it was empty: one chain of 400 means each continued from the file, not memory.
    const switches = rs.filter((r, i) => i > 0 && r.session !== rs[i - 1].session).length;
    console.log(`two writers: ${switches} switches between them in 400 records`);
    const result = await verifyAuditLog(path, { key: await keyOf(KEY) });
    assert(result.ok, JSON.stringify(result));
    assertEquals([result.records, result.keyedRecords, result.openIntents], [400, 400, 0]);
    assert(!(await Deno.readTextFile(path)).includes(KEY), "the key is never written to the log");
  });
});

Deno.test("a writer that cannot get the log's lock in time refuses the call, then records again once it is free", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const clock = new FakeClock();
    const logs: string[] = [];
    const plugin = await createAuditPlugin({ path, clock, lockTimeoutMs: 1000, log: (m) => logs.push(m) });
    assertEquals((await runCall(plugin, cancel("wf-1"))).sent, true);
    // Another process (here: another open file description) holds the lock.
    const other = await Deno.open(path, { write: true });
    await other.lock(true);
    const refused = await runCall(plugin, cancel("wf-2"));
    assertEquals(refused.sent, false, "the mutation is not sent without its intent");
    assertStringIncludes(
      refused.refusal!,
      `The audit log ${path} cannot be written (another process has held its lock for more than 1000 ms), so ` +
        "cancel_workflow was not sent",
    );
    const readRun = await runCall(plugin, read());
    assertEquals(readRun.sent, true, "reads go on; their record is lost and said so");
    assertStringIncludes(logs.join("\n"), "audit: the record of list_workflows (call ");
    assertStringIncludes(logs.join("\n"), "was not written: another process has held its lock for more than 1000 ms");
    // Three records waited (the refused mutation's intent and call record, the read's record), each the timeout.
    assertEquals(clock.sleeps.reduce((a, b) => a + b, 0), 3000, "on the fake clock");
    await other.unlock();
    other.close();
    assertEquals((await runCall(plugin, cancel("wf-3"))).sent, true, "not a lasting failure: the next call records");
    await plugin.close?.();
    const result = await verifyAuditLog(path);
    assert(result.ok, JSON.stringify(result));
    assertEquals(result.records, 4);
  });
});

Deno.test("audit plugin continues from records another writer appended, not from its memory", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const first = await createAuditPlugin({ path, log: () => {} });
    const second = await createAuditPlugin({ path, log: () => {} });
    for (let i = 0; i < 5; i++) {
      await runCall(i % 2 ? first : second, cancel(`wf-${i}`));
      await runCall(i % 2 ? second : first, read({ i }));
    }
    await first.close?.();
    await second.close?.();
    const result = await verifyAuditLog(path);
    assert(result.ok, JSON.stringify(result));
    assertEquals(result.records, 15);
  });
});

// ---- torn writes ---------------------------------------------------------------------------------------------------

/** Wraps the file so that the write after the first `okWrites` writes half its bytes, and the next one fails. */
function tearsAfter(okWrites: number): (sink: AuditSink) => AuditSink {
  return (sink) => {
    let writes = 0;
    return {
      write: (p) => {
        writes++;
        if (writes <= okWrites) return sink.write(p);
        if (writes === okWrites + 1) return sink.write(p.subarray(0, Math.ceil(p.length / 2)));
        return Promise.reject(new Error("No space left on device (os error 28)"));
      },
      syncData: () => sink.syncData(),
      close: () => sink.close(),
    };
  };
}

Deno.test("a write that fails half-way leaves the log ending at the last complete record", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const logs: string[] = [];
    const log = await AuditLog.open(path, { warn: (m) => logs.push(m), wrapSink: tearsAfter(3) });
    const plugin = auditHooks(log, {
      required: false,
      clock: new FakeClock(),
      log: (m) => logs.push(m),
      maxArgBytes: 65536,
      redactor: noRedaction,
    });
    assertEquals((await runCall(plugin, cancel("wf-1"))).sent, true); // 2 writes
    assertEquals((await runCall(plugin, read())).sent, true); // 1 write
    const before = await Deno.readTextFile(path);
    const torn = await runCall(plugin, cancel("wf-2")); // half a line, then "disk full"
    assertEquals(torn.sent, false);
    assertStringIncludes(torn.refusal!, "No space left on device");
    await plugin.close?.();
    const after = await Deno.readTextFile(path);
    assertEquals(after, before, "the half-written record was cut off");
    assert(after.endsWith("\n"));
    const result = await verifyAuditLog(path);
    assert(result.ok, JSON.stringify(result));
    assertEquals(result.records, 3);
    assertEquals(logs.length, 1, "the failure is reported once");
  });
});

Deno.test("a flush that fails after the whole line was written leaves the log ending at the last complete record", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    let syncs = 0;
    const log = await AuditLog.open(path, {
      warn: () => {},
      wrapSink: (sink) => ({
        write: (p) => sink.write(p),
        syncData: () => ++syncs > 1 ? Promise.reject(new Error("Input/output error (os error 5)")) : sink.syncData(),
        close: () => sink.close(),
      }),
    });
    const first = await log.append(entryOf("a"));
    await assertRejects(() => log.append(entryOf("b")), Error, "Input/output error");
    await log.close();
    assertEquals((await lines(path)).map((l) => JSON.parse(l).call_id), ["a"]);
    assertEquals(first.seq, 1);
    assert((await verifyAuditLog(path)).ok);
  });
});

function entryOf(callId: string) {
  return {
    time: "2026-01-01T00:00:00.000Z",
    kind: "call" as const,
    call_id: callId,
    session: "s",
    client: null,
    tool: "list_workflows",
    mutates: false,
    args: {},
    decision: { allowed: true },
    outcome: { ok: true },
    duration_ms: 1,
    result_bytes: 2,
  };
}

// ---- the HMAC chain ------------------------------------------------------------------------------------------------

/** A log of 8 records written with `key`. */
async function keyedLog(path: string, key = KEY): Promise<void> {
  const plugin = await createAuditPlugin({ path, key: await keyOf(key), clock: new FakeClock(), log: () => {} });
  for (let i = 0; i < 4; i++) await runCall(plugin, i % 2 ? cancel(`wf-${i}`) : read({ i }));
  await runCall(plugin, cancel("wf-9"));
  await plugin.close?.();
}

Deno.test("with DBOS_MCP_AUDIT_KEY records are HMAC-chained and verify with that key only", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await keyedLog(path);
    const rs = (await lines(path)).map((l) => JSON.parse(l));
    assertEquals(rs.length, 8);
    assert(rs.every((r) => r.mac === "hmac-sha256"));
    assert(rs[0].hash !== await recordHash(rs[0]), "not a plain SHA-256");
    assertEquals(rs[0].hash, await recordHash(rs[0], await keyOf(KEY)));

    const ok = await verifyCli(["verify", path], { [AUDIT_KEY_ENV]: KEY });
    assertEquals(ok.code, 0, ok.line);
    assertMatch(ok.line, /: OK: 8 records, chain intact; head seq 8 hash [0-9a-f]{64}; 8 HMAC-verified with/);

    const withoutKey = await verifyCli(["verify", path]);
    assertEquals(withoutKey.code, 1);
    assertStringIncludes(withoutKey.line, `FAILED at line 1: line 1 (seq 1) is HMAC-chained: set ${AUDIT_KEY_ENV}`);

    const wrongKey = await verifyCli(["verify", path], { [AUDIT_KEY_ENV]: OTHER_KEY });
    assertEquals(wrongKey.code, 1);
    assertStringIncludes(wrongKey.line, "line 1 (seq 1) was altered, or written with another key");

    const short = await verifyCli(["verify", path], { [AUDIT_KEY_ENV]: "short" });
    assertEquals(short.code, 2);
    assertStringIncludes(short.line, `${AUDIT_KEY_ENV} is too short`);
    assert(!short.line.includes("short\n") && !short.line.endsWith("short"), "the key's value is not echoed");
  });
});

Deno.test("a rewrite with recomputed plain hashes passes without a key but fails when a key was used", async () => {
  await inTempDir(async (dir) => {
    // Without a key, a forger who rewrites a record and recomputes every hash after it goes unnoticed.
    const plain = `${dir}/plain.jsonl`;
    await sampleLog(plain);
    const pl = await lines(plain);
    let prev = JSON.parse(pl[2]).hash;
    for (let i = 3; i < pl.length; i++) {
      const forged = await forgedPlain(pl[i], prev, (r) => {
        if (i === 3) (r.args as Record<string, unknown>).workflow_id = "wf-innocent";
      });
      pl[i] = forged.line;
      prev = forged.hash;
    }
    await writeLines(plain, pl);
    assert((await verifyAuditLog(plain)).ok, "a plain chain cannot tell: that is what the key is for");

    // With a key, the same forgery is found, whether it starts mid-log or rewrites the whole log.
    const path = `${dir}/keyed.jsonl`;
    await keyedLog(path);
    const original = await lines(path);
    const key = await keyOf(KEY);
    for (const from of [3, 0]) {
      const ls = [...original];
      prev = from === 0 ? AUDIT_GENESIS : JSON.parse(ls[from - 1]).hash;
      for (let i = from; i < ls.length; i++) {
        const forged = await forgedPlain(ls[i], prev, (r) => {
          if (i === from) r.tool = "list_queues";
        });
        ls[i] = forged.line;
        prev = forged.hash;
      }
      await writeLines(path, ls);
      const result = await verifyAuditLog(path, { key });
      assert(!result.ok, `forgery from line ${from + 1} detected`);
      if (from === 3) {
        assertEquals(result.line, 4);
        assertStringIncludes(result.error, "line 4 (seq 4) is not HMAC-chained though line 1 before it is");
      } else {
        assertEquals(result.line, 8);
        assertStringIncludes(result.error, "the last record, is not HMAC-chained, but a key was given");
      }
    }
    // Keeping the mac field and recomputing a plain hash fails as an alteration.
    const ls = [...original];
    const r = JSON.parse(ls[5]);
    r.tool = "list_queues";
    delete r.hash;
    ls[5] = JSON.stringify({ ...r, hash: await recordHash(r) });
    await writeLines(path, ls);
    const altered = await verifyAuditLog(path, { key });
    assert(!altered.ok);
    assertEquals(altered.line, 6);
    assertStringIncludes(altered.error, "line 6 (seq 6) was altered, or written with another key");
  });
});

Deno.test("a log begun without a key goes on HMAC-chained once the key is set, and verifies with it", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    const plugin = await createAuditPlugin({ path, key: await keyOf(KEY), log: () => {} });
    await runCall(plugin, cancel());
    await plugin.close?.();
    const rs = (await lines(path)).map((l) => JSON.parse(l));
    assertEquals(rs.map((r) => r.mac ?? "-"), [...Array(8).fill("-"), "hmac-sha256", "hmac-sha256"]);
    const result = await verifyAuditLog(path, { key: await keyOf(KEY) });
    assert(result.ok, JSON.stringify(result));
    assertEquals([result.records, result.keyedRecords], [10, 2]);
  });
});

Deno.test("a server without the key, or with another one, does not chain onto a keyed log", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await keyedLog(path);
    const before = await Deno.readTextFile(path);
    const noKey = await createAuditPlugin({ path, log: () => {} });
    const run = await runCall(noKey, cancel());
    assertEquals(run.sent, false);
    assertStringIncludes(run.refusal!, `its last record (seq 8) is HMAC-chained: it was written with ${AUDIT_KEY_ENV}`);
    await noKey.close?.();
    const otherKey = await createAuditPlugin({ path, key: await keyOf(OTHER_KEY), log: () => {} });
    const other = await runCall(otherKey, cancel());
    assertEquals(other.sent, false);
    assertStringIncludes(other.refusal!, `was altered, or written with another ${AUDIT_KEY_ENV}`);
    await otherKey.close?.();
    assertEquals(await Deno.readTextFile(path), before, "the log is left as it was");
  });
});

Deno.test("an audit key shorter than 32 bytes is refused without echoing it", async () => {
  const err = await assertRejects(() => keyOf("too-short-key"), AuditKeyError);
  assert(!err.message.includes("too-short-key") && !err.hint?.includes("too-short-key"));
  assertStringIncludes(err.hint!, "openssl rand -hex 32");
  assertEquals(await auditKeyFromEnv(() => undefined), undefined);
  assertEquals(await auditKeyFromEnv(() => ""), undefined, "an empty variable means no key");
});

// ---- anchors and --head --------------------------------------------------------------------------------------------

Deno.test("the head goes to stderr at start, every N records and at exit, and audit verify --head checks it", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const logs: string[] = [];
    const plugin = await createAuditPlugin({ path, anchorEvery: 3, log: (m) => logs.push(m) });
    for (let i = 0; i < 4; i++) await runCall(plugin, read({ i }));
    await plugin.close?.();
    const rs = (await lines(path)).map((l) => JSON.parse(l));
    assertEquals(logs, [
      `audit: head of ${path}: seq 0 hash ${AUDIT_GENESIS} (at start)`,
      `audit: head of ${path}: seq 3 hash ${rs[2].hash} (after 3 records)`,
      `audit: head of ${path}: seq 4 hash ${rs[3].hash} (at exit)`,
    ]);
    const anchor = logs[1].match(/hash ([0-9a-f]{64})/)![1];
    assertEquals((await verifyCli(["verify", path, "--head", anchor])).code, 0);
    // Cut the last two records: the chain is still valid, but the anchor is gone.
    await writeLines(path, (await lines(path)).slice(0, 2));
    assertEquals((await verifyCli(["verify", path])).code, 0, "a cut tail alone looks intact");
    const cut = await verifyCli(["verify", path, "--head", anchor]);
    assertEquals(cut.code, 1);
    assertStringIncludes(cut.line, `the log no longer holds the known head ${anchor}`);
  });
});

Deno.test("deno task audit-verify PATH --head HASH works, with the key from DBOS_MCP_AUDIT_KEY", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await keyedLog(path);
    const head = JSON.parse((await lines(path)).at(-1)!).hash;
    const task = async (args: string[], env: Record<string, string>) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "audit-verify", ...args],
        cwd: REPO,
        env: { NO_COLOR: "1", ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, out: new TextDecoder().decode(out.stdout), err: new TextDecoder().decode(out.stderr) };
    };
    const ok = await task([path, "--head", head], { [AUDIT_KEY_ENV]: KEY });
    assertEquals(ok.code, 0, ok.err);
    assertEquals(
      ok.out.trim(),
      `${path}: OK: 8 records, chain intact; head seq 8 hash ${head}; 8 HMAC-verified with ${AUDIT_KEY_ENV}`,
    );
    const missing = await task([path, "--head", "f".repeat(64)], { [AUDIT_KEY_ENV]: KEY });
    assertEquals(missing.code, 1);
    assertStringIncludes(missing.err, `the log no longer holds the known head ${"f".repeat(64)}`);
    const bad = await task([path, "--head", "nothex"], { [AUDIT_KEY_ENV]: KEY });
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.err, "--head needs a record hash (64 lowercase hex digits)");
    assert(![ok, missing, bad].some((r) => (r.out + r.err).includes(KEY)), "the key is never printed");
  });
});

// ---- the start-up check ----------------------------------------------------------------------------------------------

Deno.test("in production, a missing audit folder stops the server at start with status 1 and one stderr line", async () => {
  const path = "/nonexistent/dbos-mcp-audit/audit.jsonl";
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1:1",
      "--allow-env=HOME,DBOS_*,PG*",
      `--allow-read=${REPO},/nonexistent`,
      "--allow-write=/nonexistent",
      MOD_PATH,
      "--production",
      "--audit-log",
      path,
      "--database-url",
      "postgres://x@127.0.0.1:1/x",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 1, stderr);
  assertEquals(new TextDecoder().decode(out.stdout), "", "nothing on stdout");
  const errLines = stderr.trimEnd().split("\n");
  assertEquals(errLines.length, 1, stderr);
  assertStringIncludes(errLines[0], "dbos-mcp: cannot start: ");
  assertStringIncludes(errLines[0], `The audit log ${path} cannot be opened for appending`);
  assertStringIncludes(errLines[0], "its folder /nonexistent/dbos-mcp-audit does not exist");
  assertStringIncludes(errLines[0], "Create the folder /nonexistent/dbos-mcp-audit");
});
