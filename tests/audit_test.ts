// The audit plugin: records and their hash chain, the verifier and each kind
// of tampering it detects, fail-closed refusals (unwritable path, a log that
// breaks mid-run, --audit-required), concurrency, continuing an existing
// log, the file mode and redaction of what is recorded.
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "./_assert.ts";
import { FakeClock } from "./_fake_clock.ts";
import auditPlugin, {
  AUDIT_GENESIS,
  AuditLogReadError,
  AuditLogStartError,
  AuditLogUnavailableError,
  type AuditRecord,
  createAuditPlugin,
  runAuditCli,
  verifyAuditLog,
} from "../plugins/audit.ts";
import { AuditLog, type AuditSink } from "../plugins/_audit_log.ts";
import { auditHooks } from "../plugins/_audit_plugin.ts";
import { recordHash } from "../plugins/_audit_chain.ts";
import { ConfigError } from "../src/core/errors.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import {
  callOf,
  cancel,
  fakeHost,
  inTempDir,
  lines,
  read,
  records,
  reHashed,
  runCall,
  sampleLog,
  withoutAnchors,
  writeLines,
} from "./_audit.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

// ---- records and the chain -----------------------------------------------------------------------------------------

Deno.test("audit plugin writes and flushes a mutation's intent before it is sent, and its outcome after", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5));
    const plugin = await createAuditPlugin({ path, clock, log: () => {} });
    const call = cancel("wf-7");
    let seenByHandler: AuditRecord[] = [];
    const run = await runCall(plugin, call, async () => {
      seenByHandler = await records(path); // what is on disk when the mutation is sent
      clock.advance(40);
      return { content: [{ type: "text", text: "Cancelled wf-7" }] };
    });
    await plugin.close?.();
    assert(run.sent);
    assertEquals(seenByHandler.map((r) => r.kind), ["intent"]);
    const [intent, done] = await records(path);
    assertEquals(intent, {
      v: 1,
      seq: 1,
      time: "2026-01-02T03:04:05.000Z",
      kind: "intent",
      call_id: call.id,
      session: "session-1",
      client: { name: "test-client", version: "1.2.3" },
      tool: "cancel_workflow",
      mutates: true,
      args: { application_name: "shop", workflow_id: "wf-7" },
      decision: { allowed: true },
      outcome: null,
      duration_ms: null,
      result_bytes: null,
      prev: AUDIT_GENESIS,
      hash: intent.hash,
    });
    assertEquals(Object.keys(done), Object.keys(intent), "every record has the same keys, in the same order");
    assertEquals(done.seq, 2);
    assertEquals(done.kind, "call");
    assertEquals(done.call_id, call.id);
    assertEquals(done.time, "2026-01-02T03:04:05.040Z");
    assertEquals(done.outcome, { ok: true });
    assertEquals(done.duration_ms, 12.5);
    assertEquals(done.result_bytes, JSON.stringify(run.result).length);
    assertEquals(done.prev, intent.hash);
    assertEquals(intent.hash, await recordHash(intent));
    assertEquals(AUDIT_GENESIS, "0".repeat(64));
  });
});

Deno.test("audit plugin flushes a mutation's intent to disk before beforeCall returns", async () => {
  await inTempDir(async (dir) => {
    const events: string[] = [];
    const log = await AuditLog.open(`${dir}/audit.jsonl`, {
      warn: () => {},
      wrapSink: (sink) => ({
        write: (p) => (events.push("write"), sink.write(p)),
        syncData: () => (events.push("flush"), sink.syncData()),
        close: () => sink.close(),
      }),
    });
    const plugin = auditHooks(log, {
      required: false,
      clock: new FakeClock(),
      log: () => {},
      maxArgBytes: 65536,
      redactor: { redact: (v) => v, redactText: (t) => t },
    });
    await runCall(plugin, cancel(), () => {
      events.push("sent");
      return { content: [{ type: "text", text: "Cancelled" }] };
    });
    await plugin.close?.();
    assertEquals(events, ["write", "flush", "sent", "write", "flush"]);
  });
});

Deno.test("audit plugin writes one record per read and per refused call, with the refusal and errors", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    const rs = await records(path);
    assertEquals(rs.map((r) => `${r.seq} ${r.kind} ${r.tool}`), [
      "1 call list_workflows",
      "2 intent cancel_workflow",
      "3 call cancel_workflow",
      "4 call list_workflows",
      "5 intent cancel_workflow",
      "6 call cancel_workflow",
      "7 call fork_workflow",
      "8 call list_workflows",
    ]);
    assertEquals(rs[5].outcome, { ok: false, error: "Workflow wf-2 does not exist" });
    assertEquals(rs[6].decision, {
      allowed: false,
      code: "READ_ONLY",
      reason: "fork_workflow changes workflows, and this server is read-only.",
    });
    assertEquals(rs[6].outcome?.ok, false);
    assert(rs.every((r) => !JSON.stringify(r).includes("done")), "results' content is never recorded");
  });
});

Deno.test("verifyAuditLog() accepts an intact chain and audit verify prints one line and exits 0", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    const result = await verifyAuditLog(path);
    const last = (await records(path)).at(-1)!;
    assertEquals(result, {
      ok: true,
      records: 8,
      lastSeq: 8,
      head: last.hash,
      openIntents: 0,
      keyedRecords: 0,
      recoveries: 0,
    });
    const out: string[] = [];
    const err: string[] = [];
    assertEquals(await runAuditCli(["verify", path], { out: (l) => out.push(l), err: (l) => err.push(l) }), 0);
    assertEquals(err, []);
    assertEquals(out.length, 1);
    assertStringIncludes(out[0], `${path}: OK: 8 records, chain intact; head seq 8 hash ${last.hash}`);
  });
});

Deno.test("verifyAuditLog() accepts an empty log", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await Deno.writeTextFile(path, "");
    assertEquals(await verifyAuditLog(path), {
      ok: true,
      records: 0,
      lastSeq: 0,
      head: AUDIT_GENESIS,
      openIntents: 0,
      keyedRecords: 0,
      recoveries: 0,
    });
  });
});

// ---- tampering -----------------------------------------------------------------------------------------------------

/** Each way of tampering with the 8-line sample log, and what the verifier must say. */
const TAMPERINGS: {
  name: string;
  tamper: (ls: string[]) => Promise<string[]> | string[];
  line: number;
  error: RegExp;
}[] = [
  {
    name: "a field of a record is altered",
    tamper: (ls) => ls.map((l, i) => i === 2 ? l.replace('"wf-1"', '"wf-9"') : l),
    line: 3,
    error: /^line 3 \(seq 3\) was altered: its hash does not match its content$/,
  },
  {
    name: "a record's decision is flipped",
    tamper: (ls) => ls.map((l, i) => i === 6 ? l.replace('"allowed":false', '"allowed":true') : l),
    line: 7,
    error: /^line 7 \(seq 7\) was altered/,
  },
  {
    name: "a record's hash itself is edited",
    tamper: (ls) =>
      ls.map((l, i) => i === 3 ? l.replace(/"hash":"([0-9a-f])/, (_, c) => `"hash":"${c === "0" ? "1" : "0"}`) : l),
    line: 4,
    error: /^line 4 \(seq 4\) was altered/,
  },
  {
    name: "a record is altered and its hash recomputed",
    tamper: async (
      ls,
    ) => [...ls.slice(0, 2), await reHashed(ls[2], (r) => (r.outcome = { ok: false })), ...ls.slice(3)],
    line: 3,
    error: /^line 3 \(seq 3\) was altered \(its hash recomputed\): line 4 \(seq 4\) does not link to it$/,
  },
  {
    name: "a record in the middle is removed",
    tamper: (ls) => ls.filter((_, i) => i !== 4),
    line: 5,
    error: /^a record is missing before line 5: seq jumps from 4 to 6$/,
  },
  {
    name: "two records in the middle are removed",
    tamper: (ls) => ls.filter((_, i) => i !== 1 && i !== 2),
    line: 2,
    error: /^a record is missing before line 2: seq jumps from 1 to 4$/,
  },
  {
    name: "the first record is removed",
    tamper: (ls) => ls.slice(1),
    line: 1,
    error: /^records are missing before line 1: the log starts at seq 2, not 1$/,
  },
  {
    name: "a copy of an earlier record is inserted",
    tamper: (ls) => [...ls.slice(0, 5), ls[1], ...ls.slice(5)],
    line: 6,
    error: /^line 6 was inserted: the chain continues at line 7 \(seq 6\)$/,
  },
  {
    name: "a forged record that links correctly is inserted",
    tamper: async (ls) => {
      const prev = JSON.parse(ls[4]).hash;
      const forged = await reHashed(ls[3], (r) => {
        r.seq = 6;
        r.prev = prev;
        r.tool = "get_workflow";
      });
      return [...ls.slice(0, 5), forged, ...ls.slice(5)];
    },
    line: 6,
    error: /^line 6 was inserted: line 7 \(seq 6\) links to line 5$/,
  },
  {
    name: "a line of text is inserted",
    tamper: (ls) => [...ls.slice(0, 2), '{"note":"nothing happened"}', ...ls.slice(2)],
    line: 3,
    error: /^line 3 is not an audit record: its format version is undefined, not 1$/,
  },
  {
    name: "an empty line is inserted",
    tamper: (ls) => [...ls.slice(0, 2), "", ...ls.slice(2)],
    line: 3,
    error: /^line 3 is empty/,
  },
  {
    name: "two records are swapped",
    tamper: (ls) => [...ls.slice(0, 3), ls[4], ls[3], ...ls.slice(5)],
    line: 4,
    error: /^line 4 is out of order: it holds seq 5, but seq 4 comes later, at line 5$/,
  },
  {
    name: "a record is moved to the end",
    tamper: (ls) => [...ls.slice(0, 2), ...ls.slice(3), ls[2]],
    line: 3,
    error: /^line 3 is out of order: it holds seq 4, but seq 3 comes later, at line 8$/,
  },
  {
    name: "a record is made invalid JSON",
    tamper: (ls) => ls.map((l, i) => i === 5 ? l.slice(0, -1) : l),
    line: 6,
    error: /^line 6 is not valid JSON/,
  },
];

for (const { name, tamper, line, error } of TAMPERINGS) {
  Deno.test(`verifyAuditLog() names the first bad line when ${name}`, async () => {
    await inTempDir(async (dir) => {
      const path = `${dir}/audit.jsonl`;
      await sampleLog(path);
      await writeLines(path, await tamper(await lines(path)));
      const result = await verifyAuditLog(path);
      assert(!result.ok, "tampering is detected");
      assertMatch(result.error, error);
      assertEquals(result.line, line);
      assertEquals(result.records, line - 1, "records before the bad line are counted as verified");
    });
  });
}

Deno.test("verifyAuditLog() reports a last line cut in the middle as truncated", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    const text = await Deno.readTextFile(path);
    for (const cut of [1, 30]) {
      await Deno.writeTextFile(path, text.slice(0, -cut));
      const result = await verifyAuditLog(path);
      assert(!result.ok);
      assertEquals(result.line, 8);
      assertEquals(result.error, "line 8 is truncated: the file does not end with a newline");
    }
  });
});

Deno.test("verifyAuditLog() detects whole records cut from the end when given a head noted earlier", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    const noted = await verifyAuditLog(path);
    assert(noted.ok);
    const ls = await lines(path);
    await writeLines(path, ls.slice(0, 6));
    assert((await verifyAuditLog(path)).ok, "a chain alone cannot tell that its end was cut");
    const cut = await verifyAuditLog(path, { knownHead: noted.head });
    assert(!cut.ok);
    assertEquals(cut.line, 7);
    assertEquals(
      cut.error,
      `the log no longer holds the known head ${noted.head}: records were cut from its end, or it was replaced`,
    );
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l) };
    assertEquals(await runAuditCli(["verify", path, "--head", noted.head], io), 1);
    assertEquals(err.length, 1);
    // A log that grew after the head was noted still holds it.
    await writeLines(path, ls);
    assert((await verifyAuditLog(path, { knownHead: JSON.parse(ls[5]).hash })).ok);
    assertEquals(await runAuditCli(["verify", path, "--head", JSON.parse(ls[5]).hash], io), 0);
  });
});

Deno.test("audit verify prints one line to stderr and exits 1 for a tampered log", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    await writeLines(path, (await lines(path)).filter((_, i) => i !== 4));
    const out: string[] = [];
    const err: string[] = [];
    assertEquals(await runAuditCli(["verify", path], { out: (l) => out.push(l), err: (l) => err.push(l) }), 1);
    assertEquals(out, []);
    assertEquals(err, [`${path}: FAILED at line 5: a record is missing before line 5: seq jumps from 4 to 6`]);
  });
});

Deno.test("audit verify exits 2 on a usage error and 1 when the log cannot be read", async () => {
  await inTempDir(async (dir) => {
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l) };
    assertEquals(await runAuditCli([], io), 2);
    assertEquals(await runAuditCli(["check", "x"], io), 2);
    assertEquals(await runAuditCli(["verify"], io), 2);
    assertEquals(await runAuditCli(["verify", "x", "--head", "abc"], io), 2);
    assertStringIncludes(err.join("\n"), "usage: audit verify PATH");
    err.length = 0;
    assertEquals(await runAuditCli(["verify", `${dir}/none.jsonl`], io), 1);
    assertEquals(err, [`${dir}/none.jsonl: FAILED: Cannot read the audit log ${dir}/none.jsonl: no such file`]);
    await assertRejects(() => verifyAuditLog(`${dir}/none.jsonl`), AuditLogReadError, "no such file");
  });
});

// ---- fail closed ---------------------------------------------------------------------------------------------------

/** Paths that cannot be opened for writing, even by root. */
const UNWRITABLE: { name: string; setup: (dir: string) => Promise<string>; says: string }[] = [
  {
    name: "its folder does not exist",
    setup: (dir) => Promise.resolve(`${dir}/missing/audit.jsonl`),
    says: "its folder DIR/missing does not exist",
  },
  {
    name: "its folder is a file",
    setup: async (dir) => {
      await Deno.writeTextFile(`${dir}/plain`, "");
      return `${dir}/plain/audit.jsonl`;
    },
    says: "part of the folder DIR/plain is not a folder",
  },
  {
    name: "it is a folder",
    setup: async (dir) => {
      await Deno.mkdir(`${dir}/audit.jsonl`);
      return `${dir}/audit.jsonl`;
    },
    says: "DIR/audit.jsonl is a folder",
  },
];

for (const { name, setup, says } of UNWRITABLE) {
  Deno.test(`audit plugin refuses mutations, and sends nothing, when the log cannot be opened because ${name}`, async () => {
    await inTempDir(async (dir) => {
      const path = await setup(dir);
      const host = fakeHost({ auditLog: path });
      const plugin = await auditPlugin({}, host);
      const run = await runCall(plugin, cancel());
      assertEquals(run.sent, false);
      assertStringIncludes(run.refusal!, `The audit log ${path} cannot be written (${says.replace("DIR", dir)})`);
      assertStringIncludes(run.refusal!, "cancel_workflow was not sent: no mutation is sent without an audit record");
      assertEquals(host.logs.length, 1, "the failure is reported once, at start-up");
      assertStringIncludes(host.logs[0], path);
      const reading = await runCall(plugin, read());
      assertEquals(reading.sent, true, "reads go on without --audit-required");
      await plugin.close?.();
    });
  });
}

Deno.test("audit plugin's refusal says how to fix the log and is an AuditLogUnavailableError", async () => {
  await inTempDir(async (dir) => {
    const plugin = await createAuditPlugin({ path: `${dir}/missing/audit.jsonl`, log: () => {} });
    const err = await assertRejects(
      async () => await plugin.beforeCall?.(cancel()),
      AuditLogUnavailableError,
    );
    assertEquals(err.code, "POLICY");
    assertEquals(err.path, `${dir}/missing/audit.jsonl`);
    assertEquals(
      err.hint,
      `Create the folder ${dir}/missing, or point --audit-log at a file in an existing folder, then restart the server.`,
    );
  });
});

Deno.test("audit plugin with required refuses reads too when the log cannot be written", async () => {
  await inTempDir(async (dir) => {
    const plugin = await createAuditPlugin({ path: `${dir}/missing/audit.jsonl`, required: true, log: () => {} });
    const run = await runCall(plugin, read());
    assertEquals(run.sent, false);
    assertStringIncludes(run.refusal!, "list_workflows was refused: with --audit-required no call runs");
  });
});

Deno.test("audit plugin factory with required refuses to start when the log cannot be opened, naming path and fix", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/missing/audit.jsonl`;
    const cases = [
      { options: {}, host: fakeHost({ auditLog: path, auditRequired: true }) },
      { options: { required: true }, host: fakeHost({ auditLog: path }) },
    ];
    for (const { options, host } of cases) {
      const err = await assertRejects(() => auditPlugin(options, host), AuditLogStartError);
      assertEquals(err.path, path);
      assertEquals(
        err.message,
        `The audit log ${path} cannot be opened for appending (its folder ${dir}/missing does not exist), and ` +
          "--audit-required (implied by --production) needs it.",
      );
      assertEquals(
        err.hint,
        `Create the folder ${dir}/missing, or point --audit-log at a file in an existing folder, then start the ` +
          "server again.",
      );
      assertEquals(host.logs, [], "nothing else is written: the error is the one line");
    }
  });
});

Deno.test("audit plugin factory with required refuses to start when another process holds the log's lock", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    using holder = await Deno.open(path, { write: true, create: true });
    await holder.lock(true);
    const clock = new FakeClock();
    const err = await assertRejects(
      () => createAuditPlugin({ path, required: true, checkAtStart: true, clock, lockTimeoutMs: 2000, log: () => {} }),
      AuditLogStartError,
    );
    assertStringIncludes(err.message, "another process has held its lock for more than 2000 ms");
    assertStringIncludes(err.hint!, `fuser ${path}`);
    assert(clock.sleeps.length > 1 && clock.sleeps.every((ms) => ms <= 50), "polled with short waits");
    assertEquals(clock.sleeps.reduce((a, b) => a + b, 0), 2000, "for exactly the timeout, on the fake clock");
  });
});

Deno.test("audit plugin with required writes an intent before every call, reads included", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const plugin = await auditPlugin({}, fakeHost({ auditLog: path, auditRequired: true }));
    await runCall(plugin, read());
    await plugin.close?.();
    assertEquals((await records(path)).map((r) => `${r.kind} ${r.tool}`), [
      "intent list_workflows",
      "call list_workflows",
    ]);
  });
});

/** Wraps the file so that every write after the first `okWrites` fails like a full disk. */
function fillsUpAfter(okWrites: number): (sink: AuditSink) => AuditSink {
  return (sink) => {
    let writes = 0;
    return {
      write: (p) => {
        if (++writes > okWrites) return Promise.reject(new Error("No space left on device (os error 28)"));
        return sink.write(p);
      },
      syncData: () => sink.syncData(),
      close: () => sink.close(),
    };
  };
}

Deno.test("audit plugin refuses mutations from the moment the log stops being writable, and reads go on", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const logs: string[] = [];
    const log = await AuditLog.open(path, { warn: (m) => logs.push(m), wrapSink: fillsUpAfter(2) });
    const plugin = auditHooks(log, {
      required: false,
      clock: new FakeClock(),
      log: (m) => logs.push(m),
      maxArgBytes: 65536,
      redactor: { redact: (v) => v, redactText: (t) => t },
    });
    assertEquals((await runCall(plugin, cancel("wf-1"))).sent, true); // intent + call: 2 writes
    const refused = await runCall(plugin, cancel("wf-2"));
    assertEquals(refused.sent, false);
    assertStringIncludes(refused.refusal!, "No space left on device");
    assertStringIncludes(refused.refusal!, "cancel_workflow was not sent");
    assertEquals((await runCall(plugin, read())).sent, true);
    const later = await runCall(plugin, cancel("wf-3"));
    assertEquals(later.sent, false, "the log stays unavailable: no later mutation is sent either");
    assertEquals(logs.length, 1, "the failure is reported once");
    await plugin.close?.();
    const result = await verifyAuditLog(path);
    assert(result.ok);
    assertEquals(result.records, 2);
  });
});

Deno.test("audit plugin refuses mutations once the log file is removed or replaced while it runs", async () => {
  await inTempDir(async (dir) => {
    for (const change of ["remove", "replace"]) {
      const path = `${dir}/${change}.jsonl`;
      const logs: string[] = [];
      const plugin = await createAuditPlugin({ path, log: (m) => logs.push(m) });
      assertEquals((await runCall(plugin, cancel())).sent, true);
      if (change === "remove") await Deno.remove(path);
      else await Deno.rename(await Deno.makeTempFile({ dir }), path);
      const run = await runCall(plugin, cancel());
      assertEquals(run.sent, false, change);
      assertStringIncludes(run.refusal!, "the file was removed or replaced while the server ran");
      assertEquals((await runCall(plugin, read())).sent, true);
      assertEquals(withoutAnchors(logs).length, 1);
      await plugin.close?.();
    }
  });
});

Deno.test("audit plugin repairs a log whose last line is incomplete with a recovered record", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    const text = await Deno.readTextFile(path);
    const cut = text.slice(0, -20);
    await Deno.writeTextFile(path, cut);
    const partial = new TextEncoder().encode(cut.slice(cut.lastIndexOf("\n") + 1));
    const logs: string[] = [];
    const plugin = await createAuditPlugin({ path, clock: new FakeClock(), log: (m) => logs.push(m) });
    assertEquals(withoutAnchors(logs), [
      `audit: the audit log ${path} ended with an incomplete line (${partial.length} bytes: a write cut off by a ` +
      'crash or a full disk); removed it and recorded that as seq 8 (kind "recovered")',
    ]);
    const run = await runCall(plugin, cancel());
    assertEquals(run.sent, true, "the repaired log goes on recording");
    await plugin.close?.();
    const ls = await lines(path);
    assertEquals(ls.slice(0, 7), text.split("\n").slice(0, 7), "the complete records are kept as they were");
    const recovered = JSON.parse(ls[7]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", partial));
    assertEquals(recovered, {
      v: 1,
      seq: 8,
      time: "2026-01-01T00:00:00.000Z",
      kind: "recovered",
      removed_bytes: partial.length,
      removed_sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
      reason: "the log ended with an incomplete line (a write cut off by a crash or a full disk); it was removed",
      prev: JSON.parse(ls[6]).hash,
      hash: recovered.hash,
    });
    assertEquals(recovered.hash, await recordHash(recovered));
    assertEquals(ls.slice(8).map((l) => JSON.parse(l).kind), ["intent", "call"]);
    const result = await verifyAuditLog(path);
    assert(result.ok, JSON.stringify(result));
    assertEquals([result.records, result.recoveries], [10, 1]);
  });
});

Deno.test("audit plugin repairs a log that holds only an incomplete first line", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await Deno.writeTextFile(path, '{"v":1,"seq":1,"ti');
    const plugin = await createAuditPlugin({ path, log: () => {} });
    await runCall(plugin, read());
    await plugin.close?.();
    const rs = (await lines(path)).map((l) => JSON.parse(l));
    assertEquals(rs.map((r) => [r.seq, r.kind]), [[1, "recovered"], [2, "call"]]);
    assertEquals(rs[0].prev, AUDIT_GENESIS);
    assertEquals(rs[0].removed_bytes, 18);
    assert((await verifyAuditLog(path)).ok);
  });
});

Deno.test("audit plugin refuses mutations when an existing log's last record was altered", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    await writeLines(path, (await lines(path)).map((l, i) => i === 7 ? l.replace("list_workflows", "list_queues") : l));
    const plugin = await createAuditPlugin({ path, log: () => {} });
    const run = await runCall(plugin, cancel());
    assertEquals(run.sent, false);
    assertStringIncludes(run.refusal!, "its last line (seq 8) was altered");
  });
});

Deno.test("audit plugin refuses mutations after close, and afterCall never throws", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const plugin = await createAuditPlugin({ path, log: () => {} });
    await runCall(plugin, read());
    await plugin.close?.();
    await plugin.close?.();
    const refused = await runCall(plugin, cancel());
    assertEquals(refused.sent, false);
    assertStringIncludes(
      refused.refusal!,
      "(it is closed because the server is stopping), so cancel_workflow was not sent",
    );
    await runCall(plugin, read());
    assertEquals((await records(path)).length, 1);
  });
});

Deno.test("audit plugin names the --allow-write and --allow-read flags when Deno may not write the log", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const script = `${dir}/probe.ts`;
    const mod = new URL("../plugins/audit.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { createAuditPlugin } from ${JSON.stringify(mod)};
const plugin = await createAuditPlugin({ path: ${JSON.stringify(path)}, log: () => {} });
const call = { id: "c1", tool: "cancel_workflow", mutates: true, args: {}, session: { id: "s" }, startedAt: 0 };
try { await plugin.beforeCall(call); console.log("SENT"); } catch (err) { console.log(err.message); }
`,
    );
    const repo = new URL("..", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", `--allow-read=${repo},${dir}`, script],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertStringIncludes(
      text,
      `The audit log ${path} cannot be written (Deno may not read and write it without ` +
        `--allow-read=${path} --allow-write=${path})`,
    );
    assertStringIncludes(text, "cancel_workflow was not sent");
    await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
  });
});

// ---- concurrency, continuation, mode, redaction --------------------------------------------------------------------

Deno.test("audit plugin keeps records whole and the chain intact under 50 concurrent calls", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const plugin = await createAuditPlugin({ path, log: () => {} });
    const calls = Array.from({ length: 50 }, (_, i) => i % 3 === 0 ? cancel(`wf-${i}`) : read({ n: i }));
    const runs = await Promise.all(calls.map((call, i) =>
      runCall(plugin, call, async () => {
        // Finish out of order.
        for (let k = 0; k < (i * 7) % 5; k++) await Promise.resolve();
        return { content: [{ type: "text", text: `ok ${i}` }] };
      })
    ));
    await plugin.close?.();
    assert(runs.every((r) => r.sent));
    const ls = await lines(path);
    const mutations = calls.filter((c) => c.mutates).length;
    assertEquals(ls.length, 50 + mutations);
    assert(ls.length >= 50 && ls.length <= 100);
    const rs = ls.map((l) => JSON.parse(l) as AuditRecord);
    assertEquals(rs.map((r) => r.seq), rs.map((_, i) => i + 1));
    for (const call of calls) {
      const mine = rs.filter((r) => r.call_id === call.id);
      assertEquals(mine.map((r) => r.kind), call.mutates ? ["intent", "call"] : ["call"], call.tool);
    }
    const result = await verifyAuditLog(path);
    assert(result.ok);
    assertEquals(result.records, ls.length);
  });
});

Deno.test("audit plugin continues an existing log's chain instead of restarting it", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    await sampleLog(path);
    const before = await records(path);
    const plugin = await createAuditPlugin({ path, log: () => {} });
    await runCall(plugin, cancel());
    await plugin.close?.();
    const after = await records(path);
    assertEquals(after.slice(0, 8), before);
    assertEquals(after.slice(8).map((r) => r.seq), [9, 10]);
    assertEquals(after[8].prev, before[7].hash);
    const result = await verifyAuditLog(path);
    assert(result.ok);
    assertEquals(result.records, 10);
  });
});

Deno.test("audit plugin continues a log whose last record is longer than one read chunk", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const first = await createAuditPlugin({ path, log: () => {} });
    await runCall(first, read({ big: "x".repeat(60_000) }));
    await runCall(first, read({ bigger: "y".repeat(65_000) }));
    await first.close?.();
    const second = await createAuditPlugin({ path, log: () => {} });
    assertEquals((await runCall(second, cancel())).sent, true);
    await second.close?.();
    const result = await verifyAuditLog(path);
    assert(result.ok);
    assertEquals(result.records, 4);
  });
});

Deno.test("audit plugin creates the log with mode 0600 and tightens a wider mode with a warning", async () => {
  await inTempDir(async (dir) => {
    const fresh = `${dir}/fresh.jsonl`;
    const plugin = await createAuditPlugin({ path: fresh, log: () => {} });
    await runCall(plugin, read());
    await plugin.close?.();
    assertEquals((await Deno.stat(fresh)).mode! & 0o777, 0o600);

    const wide = `${dir}/wide.jsonl`;
    await Deno.writeTextFile(wide, "");
    await Deno.chmod(wide, 0o644);
    const logs: string[] = [];
    const again = await createAuditPlugin({ path: wide, log: (m) => logs.push(m) });
    await again.close?.();
    assertEquals((await Deno.stat(wide)).mode! & 0o777, 0o600);
    assertEquals(withoutAnchors(logs), [`audit: the audit log ${wide} had mode 0644; changed it to 0600`]);
  });
});

Deno.test("audit plugin records arguments, refusal reasons and error messages redacted", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const plugin = await auditPlugin({}, fakeHost({ auditLog: path }));
    const args = { workflow_id: "wf-1", token: JWT, password: "hunter2", note: "retry with password: hunter2" };
    await runCall(plugin, callOf("fork_workflow", args, true), () => {
      throw new Error(`upstream said: token ${JWT} is expired`);
    });
    const refused = callOf("resume_workflow", { workflow_id: "wf-2", auth: `Bearer ${JWT}` }, true);
    await plugin.afterCall?.(refused, {
      decision: { allowed: false, code: "PLUGIN", reason: `Refused by plugin 'guard': ${JWT} is not allowed` },
      ok: false,
      error: `Refused by plugin 'guard': ${JWT} is not allowed`,
      durationMs: 1,
      resultBytes: 80,
    }, { content: [{ type: "text", text: "refused" }], isError: true });
    await plugin.close?.();
    const text = await Deno.readTextFile(path);
    assert(!text.includes(JWT), "the JWT is not recorded");
    assert(!text.includes("hunter2"), "the password is not recorded");
    const [intent, failed, refusal] = await records(path);
    assertEquals(intent.args, {
      workflow_id: "wf-1",
      token: "[REDACTED:jwt]",
      password: "[REDACTED:password]",
      note: "retry with password: [REDACTED:password]",
    });
    assertEquals(failed.args, intent.args);
    assertEquals(failed.outcome, { ok: false, error: "upstream said: token [REDACTED:jwt] is expired" });
    assertEquals(refusal.args, { workflow_id: "wf-2", auth: "Bearer [REDACTED:jwt]" });
    assertEquals(refusal.decision.reason, "Refused by plugin 'guard': [REDACTED:jwt] is not allowed");
    assertEquals(args.password, "hunter2", "the call's own arguments are left alone");
    assert((await verifyAuditLog(path)).ok);
  });
});

Deno.test("audit plugin redacts with the redact plugin's options from the config file", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const host = fakeHost({ auditLog: path });
    const plugin = await auditPlugin({}, {
      ...host,
      config: { ...host.config, pluginOptions: { redact: { keys: ["ssn"] } } },
    });
    await runCall(plugin, read({ application_name: "shop", ssn: "078-05-1120" }));
    await plugin.close?.();
    assertEquals((await records(path))[0].args, { application_name: "shop", ssn: "[REDACTED:ssn]" });
  });
});

Deno.test("audit plugin records oversized arguments as their size only", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const plugin = await createAuditPlugin({ path, log: () => {}, maxArgBytes: 100 });
    const args = { filter: "z".repeat(200) };
    await runCall(plugin, read(args));
    await plugin.close?.();
    const [rec] = await records(path);
    assertEquals(rec.args, { $unrecorded: "too large", bytes: JSON.stringify(args).length });
  });
});

// ---- the factory ---------------------------------------------------------------------------------------------------

Deno.test("audit plugin factory needs a path and rejects unknown or invalid options", async () => {
  await assertRejects(() => auditPlugin({}, fakeHost()), ConfigError, "The audit plugin needs --audit-log PATH");
  await assertRejects(() => auditPlugin({ pth: "/tmp/x" }, fakeHost()), ConfigError, "Unknown option 'pth'");
  await assertRejects(() => auditPlugin({ path: 3 }, fakeHost()), ConfigError, `"path" must be a file path`);
  await assertRejects(
    () => auditPlugin({ path: "/tmp/x", required: "yes" }, fakeHost()),
    ConfigError,
    `"required" must be true or false`,
  );
});

Deno.test("audit plugin factory takes --audit-log over the path option", async () => {
  await inTempDir(async (dir) => {
    const plugin = await auditPlugin({ path: `${dir}/option.jsonl` }, fakeHost({ auditLog: `${dir}/flag.jsonl` }));
    assertEquals(plugin.name, "audit");
    await runCall(plugin, read());
    await plugin.close?.();
    assertEquals((await records(`${dir}/flag.jsonl`)).length, 1);
    await assertRejects(() => Deno.stat(`${dir}/option.jsonl`), Deno.errors.NotFound);
    const fromOption = await auditPlugin({ path: `${dir}/option.jsonl` }, fakeHost());
    await runCall(fromOption, read());
    await fromOption.close?.();
    assertEquals((await records(`${dir}/option.jsonl`)).length, 1);
  });
});

// ---- through the server --------------------------------------------------------------------------------------------

Deno.test("through the server, a mutation the audit log cannot record is refused and never reaches the backend", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/missing/audit.jsonl`;
    const backend = new StaticBackend();
    const logs: string[] = [];
    await using mcp = await connectInProcess({
      backend,
      log: (m) => logs.push(m),
      config: { plugins: ["audit"], auditLog: path },
    });
    const res = await mcp.client.callTool({
      name: "cancel_workflow",
      arguments: { application_name: "shop", workflow_id: "wf-1" },
    });
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), `Refused by plugin 'audit': The audit log ${path} cannot be written`);
    assertStringIncludes(textOf(res), `Create the folder ${dir}/missing`);
    assertEquals(backend.mutations, [], "nothing was sent");
    const list = await mcp.client.callTool({ name: "list_applications", arguments: {} });
    assertEquals(list.isError, undefined, "reads go on");
    assertStringIncludes(logs.join("\n"), path);
  });
});

Deno.test("through the server, every call is recorded with the session's client and the log verifies", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/audit.jsonl`;
    const backend = new StaticBackend();
    {
      await using mcp = await connectInProcess({
        backend,
        log: () => {},
        config: { plugins: ["audit"], auditLog: path, readOnly: false },
      });
      await mcp.client.callTool({ name: "list_applications", arguments: {} });
      await mcp.client.callTool({
        name: "cancel_workflow",
        arguments: { application_name: "shop", workflow_id: "wf-1" },
      });
      await mcp.client.callTool({ name: "get_workflow", arguments: { application_name: "shop" } });
    } // closing the server closes the plugin
    assertEquals(backend.mutations, ["cancel wf-1"]);
    const rs = await records(path);
    assertEquals(rs.map((r) => `${r.kind} ${r.tool} ${r.outcome?.ok ?? "-"}`), [
      "call list_applications true",
      "intent cancel_workflow -",
      "call cancel_workflow true",
      "call get_workflow false",
    ]);
    assertEquals(rs[0].client, { name: "dbos-mcp-tests", version: "1.0.0" });
    assert(rs.every((r) => r.session === rs[0].session && r.session !== ""));
    assert(rs[2].result_bytes! > 0);
    assert((await verifyAuditLog(path)).ok);
  });
});
