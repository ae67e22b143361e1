// The HTTP/1.1 front end of the Streamable HTTP transport, on the wire: the
// head deadline (slow or silent clients), head size, strict parsing against
// request smuggling, keep-alive and pipelining, chunked and 100-continue
// bodies, streamed answers, the connection cap and shutdown.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { ManualClock } from "./_fake_clock.ts";
import { MemoryBackend } from "./fixtures/memory_backend.ts";
import { createServer } from "../src/server.ts";
import { serveHttp } from "../src/transports/http.ts";
import { type Http1Options, type Http1Server, listenHttp1 } from "../src/transports/_http1_server.ts";
import { parseHead } from "../src/transports/_http1_head.ts";
import { prng } from "./fixtures/sample_secrets.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A raw loopback connection: writes bytes, reads until a condition holds or the peer closes (bounded to 5 s). */
async function dial(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let received = "";
  let closed = false;
  const buf = new Uint8Array(65_536);
  const pump = (async () => {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      received += dec.decode(buf.subarray(0, n));
    }
    closed = true;
  })();
  const until = async (what: string, met: () => boolean) => {
    const deadline = Date.now() + 5_000;
    while (!met()) {
      if (Date.now() > deadline) throw new Error(`no ${what} within 5 s; received ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    write: (text: string | Uint8Array) => conn.write(typeof text === "string" ? enc.encode(text) : text),
    get received() {
      return received;
    },
    get closed() {
      return closed;
    },
    /** Waits for `count` complete answers (by Content-Length or chunked end). */
    answers: async (count: number) => {
      await until(`${count} answers`, () => splitAnswers(received).length >= count);
      return splitAnswers(received);
    },
    untilClosed: () => until("close", () => closed),
    close: async () => {
      try {
        conn.close();
      } catch {
        // the server closed it
      }
      await pump;
    },
  };
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** The complete answers in `raw`, in order. */
function splitAnswers(raw: string): Answer[] {
  const out: Answer[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) return out;
    const lines = rest.slice(0, end).split("\r\n");
    const status = Number(lines[0].match(/^HTTP\/1\.1 (\d{3}) /)?.[1] ?? 0);
    const headers = new Headers(
      lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
    );
    let body = rest.slice(end + 4);
    if (status === 100) {
      out.push({ status, headers, body: "" });
      rest = body;
      continue;
    }
    if (headers.get("transfer-encoding") === "chunked") {
      let text = "";
      let at = 0;
      for (;;) {
        const eol = body.indexOf("\r\n", at);
        if (eol < 0) return out;
        const size = parseInt(body.slice(at, eol), 16);
        if (body.length < eol + 2 + size + 2) return out;
        text += body.slice(eol + 2, eol + 2 + size);
        at = eol + 2 + size + 2;
        if (size === 0) break;
      }
      out.push({ status, headers, body: text });
      rest = body.slice(at);
      continue;
    }
    const length = Number(headers.get("content-length") ?? 0);
    if (body.length < length) return out;
    out.push({ status, headers, body: body.slice(0, length) });
    rest = body.slice(length);
    body = "";
  }
}

/** Echoes a request's method, path and body; a body that cannot be read is answered 400. */
async function echo(req: Request): Promise<Response> {
  let body = "";
  try {
    body = req.body ? await req.text() : "";
  } catch (e) {
    return new Response(`unreadable body: ${(e as Error).message}`, { status: 400 });
  }
  return new Response(`${req.method} ${new URL(req.url).pathname} ${body}`);
}

type FrontOptions = Partial<Http1Options> & { handler?: (req: Request) => Promise<Response> };

/** A front end on a fake clock serving `handler` (by default {@linkcode echo}), with a 10 s head deadline. */
function startFront(opts: FrontOptions = {}): { server: Http1Server; clock: ManualClock } {
  const clock = new ManualClock();
  const server = listenHttp1({
    hostname: "127.0.0.1",
    port: 0,
    headTimeoutMs: 10_000,
    clock,
    log: () => {},
    refusal: (status, message) => new Response(message, { status }),
    ...opts,
  }, opts.handler ?? echo);
  return { server, clock };
}

/** Runs `fn` against a front end from {@linkcode startFront}, and shuts it down. */
async function withEcho(
  fn: (ctx: { port: number; server: Http1Server; clock: ManualClock }) => Promise<void>,
  opts: FrontOptions = {},
) {
  const { server, clock } = startFront(opts);
  try {
    await fn({ port: server.addr.port, server, clock });
  } finally {
    await server.shutdown();
  }
}

const head = (port: number, lines: string[] = []) =>
  [`POST /echo HTTP/1.1`, `host: 127.0.0.1:${port}`, ...lines].join("\r\n") + "\r\n\r\n";

Deno.test("HTTP answers 408 and closes a connection whose headers do not arrive within the read timeout", async () => {
  const clock = new ManualClock();
  const server = await createServer({ backend: new MemoryBackend(), log: () => {} });
  const http = serveHttp(server, { hostname: "127.0.0.1", port: 0, log: () => {}, readTimeoutMs: 10_000, clock });
  try {
    const c = await dial(http.port);
    await c.write(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${http.port}\r\n`);
    await clock.untilRequested(2); // the idle sweep, and this head's deadline
    await clock.advance(9_999);
    // Still in time, and more bytes do not move the deadline (a client trickling its head is not let off).
    await c.write("content-type: appl");
    await clock.advance(1);
    await c.untilClosed();
    const [answer] = splitAnswers(c.received);
    assertEquals(answer.status, 408);
    assertStringIncludes(answer.body, "did not arrive within 10000 ms (--http-read-timeout)");
    assertEquals(answer.headers.get("connection"), "close");
    await c.close();
    assertEquals(http.connections, 0);
    // The server keeps serving.
    const d = await dial(http.port);
    await d.write(`GET /other HTTP/1.1\r\nhost: 127.0.0.1:${http.port}\r\n\r\n`);
    assertEquals((await d.answers(1))[0].status, 404);
    await d.close();
  } finally {
    await http.shutdown();
    await server.close();
  }
});

Deno.test("HTTP closes a slowloris connection on the real clock, however steadily it trickles bytes", async () => {
  const server = await createServer({ backend: new MemoryBackend(), log: () => {} });
  const http = serveHttp(server, { hostname: "127.0.0.1", port: 0, log: () => {}, readTimeoutMs: 300 });
  try {
    const c = await dial(http.port);
    const started = Date.now();
    const line = `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${http.port}\r\nx-slow: ${"a".repeat(200)}`;
    for (let i = 0; i < line.length && !c.closed; i++) {
      await c.write(line[i]).catch(() => 0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await c.untilClosed();
    const took = Date.now() - started;
    assertEquals(splitAnswers(c.received)[0]?.status, 408);
    // 200 bytes at 20 ms would take 4 s; the 300 ms deadline ends it long before (bound generous for a slow machine).
    assert(took < 3_000, `closed after ${took} ms`);
    await c.close();
  } finally {
    await http.shutdown();
    await server.close();
  }
});

Deno.test("HTTP closes an idle kept-alive connection at the read timeout without answering", async () => {
  await withEcho(async ({ port, clock, server }) => {
    const c = await dial(port);
    await c.write(head(port, ["content-length: 2"]) + "hi");
    const [first] = await c.answers(1);
    assertEquals(first.body, "POST /echo hi");
    assertEquals(first.headers.get("keep-alive"), "timeout=10");
    await clock.untilRequested(2); // the first head's deadline (met), then the second's
    assertEquals(server.connections, 1);
    await clock.advance(10_000);
    await c.untilClosed();
    assertEquals(splitAnswers(c.received).length, 1, "nothing more is sent to a client that sent nothing");
    await c.close();
  });
});

Deno.test("HTTP answers 431 to a request head over 32 KiB, and keeps serving", async () => {
  await withEcho(async ({ port }) => {
    const c = await dial(port);
    await c.write(`GET /echo HTTP/1.1\r\nhost: x\r\nx-big: ${"b".repeat(40_000)}\r\n\r\n`);
    await c.untilClosed();
    assertEquals(splitAnswers(c.received)[0].status, 431);
    await c.close();
    const d = await dial(port);
    await d.write(head(port));
    assertEquals((await d.answers(1))[0].body, "POST /echo ");
    await d.close();
  });
});

Deno.test("HTTP refuses heads that could be read two ways, each with a status that says why", async () => {
  const cases: [string, number, string][] = [
    ["POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked", 400, "both Content-Length"],
    ["POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 4", 400, "Content-Length"],
    ["POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: +3", 400, "Content-Length"],
    ["POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked", 501, "chunked"],
    ["GET /echo HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n  folded", 400, "folding"],
    ["GET /echo HTTP/1.1\r\nhost : x", 400, "Name: value"],
    ["GET /echo HTTP/1.1\r\nx-a: 1", 400, "exactly one Host"],
    ["GET /echo HTTP/1.1\r\nhost: a\r\nhost: b", 400, "exactly one Host"],
    ["GET /echo HTTP/2.0\r\nhost: x", 505, "HTTP/1.1"],
    ["GET /echo\r\nhost: x", 400, "request line"],
    ["GET echo HTTP/1.1\r\nhost: x", 400, "target"],
    ["GET /echo HTTP/1.1\r\nhost: x\r\nexpect: 200-ok", 417, "100-continue"],
  ];
  await withEcho(async ({ port }) => {
    for (const [text, status, says] of cases) {
      const c = await dial(port);
      await c.write(text + "\r\n\r\nabc");
      await c.untilClosed();
      const [answer] = splitAnswers(c.received);
      assertEquals(answer?.status, status, JSON.stringify(text));
      assertStringIncludes(answer.body, says);
      await c.close();
    }
    const c = await dial(port);
    await c.write(head(port));
    assertEquals((await c.answers(1))[0].status, 200, "the server keeps serving");
    await c.close();
  });
});

Deno.test("parseHead() reads the request line, fields, framing, keep-alive and Expect", () => {
  const ok = parseHead(
    "POST http://h/mcp?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 007, 7\r\nX-A:  v \r\nExpect: 100-Continue",
  );
  assert(!("status" in ok));
  assertEquals(ok.target, "/mcp?x=1");
  assertEquals(ok.framing, { kind: "length", length: 7 });
  assertEquals(ok.headers.get("x-a"), "v");
  assertEquals([ok.keepAlive, ok.expectContinue], [true, true]);
  const old = parseHead("GET / HTTP/1.0");
  assert(!("status" in old));
  assertEquals([old.version, old.keepAlive, old.framing], ["1.0", false, { kind: "length", length: 0 }]);
  const closing = parseHead("GET / HTTP/1.1\r\nhost: h\r\nconnection: keep-alive, Close");
  assert(!("status" in closing) && !closing.keepAlive);
  assertEquals((parseHead("GET / HTTP/1.1\r\nhost: h\r\nx: a\x00b") as { status: number }).status, 400);
});

Deno.test("HTTP keeps a connection alive across requests and answers pipelined requests in order", async () => {
  await withEcho(async ({ port, server }) => {
    const c = await dial(port);
    await c.write(head(port, ["content-length: 3"]) + "one");
    assertEquals((await c.answers(1))[0].body, "POST /echo one");
    // Two more in one write: the second head follows the first body directly.
    await c.write(head(port, ["content-length: 3"]) + "two" + head(port, ["content-length: 5"]) + "three");
    const answers = await c.answers(3);
    assertEquals(answers.map((a) => a.body), ["POST /echo one", "POST /echo two", "POST /echo three"]);
    assertEquals(server.connections, 1);
    // `Connection: close` is honoured: answered, then closed.
    await c.write(head(port, ["connection: close"]));
    await c.untilClosed();
    const last = splitAnswers(c.received)[3];
    assertEquals([last.body, last.headers.get("connection")], ["POST /echo ", "close"]);
    await c.close();
  });
});

Deno.test("HTTP reads a chunked body with extensions and trailers, and a malformed one fails its read", async () => {
  await withEcho(async ({ port }) => {
    const c = await dial(port);
    await c.write(head(port, ["transfer-encoding: chunked"]));
    await c.write("3;name=v\r\nabc\r\n");
    await c.write("A\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n");
    assertEquals((await c.answers(1))[0].body, "POST /echo abc0123456789");
    await c.write(head(port, ["transfer-encoding: chunked"]) + "zz\r\nabc\r\n");
    await c.untilClosed(); // its framing is lost, so the connection cannot carry another request
    const bad = splitAnswers(c.received)[1];
    assertEquals(bad.status, 400);
    assertStringIncludes(bad.body, "chunk size is not hexadecimal");
    await c.close();
  });
});

Deno.test("HTTP sends 100 Continue only when the body is read, and closes when a body is left unread", async () => {
  let read = true;
  await withEcho(async ({ port }) => {
    const c = await dial(port);
    await c.write(head(port, ["content-length: 5", "expect: 100-continue"]));
    const [cont] = await c.answers(1);
    assertEquals(cont.status, 100);
    await c.write("hello");
    const answers = await c.answers(2);
    assertEquals(answers[1].body, "POST /echo hello");
    read = false;
    await c.write(head(port, ["content-length: 5", "expect: 100-continue"]));
    await c.untilClosed();
    const refused = splitAnswers(c.received);
    assertEquals(refused.length, 3, "no 100 Continue for a body the handler did not read");
    assertEquals([refused[2].status, refused[2].headers.get("connection")], [413, "close"]);
    await c.close();
  }, {
    handler: (req) => read ? echo(req) : Promise.resolve(new Response("too large", { status: 413 })),
  });
});

Deno.test("HTTP streams an event stream as it is written, and cancels it when the client leaves", async () => {
  let push: (text: string) => void = () => {};
  const { promise: cancelled, resolve: onCancel } = Promise.withResolvers<void>();
  await withEcho(async ({ port, server }) => {
    const c = await dial(port);
    await c.write(head(port));
    await waitFor(() => c.received.includes("\r\n\r\n"));
    push("data: one\n\n");
    await waitFor(() => c.received.includes("data: one"));
    assertMatch(c.received, /transfer-encoding: chunked/);
    push("data: two\n\n");
    await waitFor(() => c.received.includes("data: two"));
    await c.close();
    await cancelled;
    await waitFor(() => server.connections === 0);
  }, {
    handler: () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              push = (text) => controller.enqueue(enc.encode(text));
            },
            cancel: () => onCancel(),
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
      ),
  });
});

Deno.test("HTTP sends a large answer chunked and a HEAD answer without a body", async () => {
  const big = "z".repeat(1_500_000);
  await withEcho(async ({ port }) => {
    const c = await dial(port);
    await c.write(head(port));
    const [answer] = await c.answers(1);
    assertEquals(answer.headers.get("transfer-encoding"), "chunked");
    assertEquals(answer.body.length, big.length);
    await c.write(`GET /small HTTP/1.1\r\nhost: x\r\n\r\n`);
    const [, small] = await c.answers(2);
    assertEquals(small.body, "small");
    assertEquals(small.headers.get("content-length"), "5");
    await c.write(`HEAD /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
    await c.untilClosed();
    const tail = c.received.slice(c.received.lastIndexOf("HTTP/1.1 "));
    assertMatch(tail, /^HTTP\/1\.1 200 OK\r\n/);
    assertMatch(tail, /\r\ncontent-length: 7\r\n/);
    assert(tail.endsWith("\r\n\r\n"), `a HEAD answer has no body: ${JSON.stringify(tail)}`);
    await c.close();
    // HTTP/1.0 has no chunked coding: the long answer ends with the connection.
    const old = await dial(port);
    await old.write("POST /echo HTTP/1.0\r\n\r\n");
    await old.untilClosed();
    const raw = old.received;
    assert(!/transfer-encoding/i.test(raw.slice(0, raw.indexOf("\r\n\r\n"))));
    assertEquals(raw.slice(raw.indexOf("\r\n\r\n") + 4).length, big.length);
    await old.close();
  }, {
    handler: (req) => {
      const path = new URL(req.url).pathname;
      return Promise.resolve(new Response(req.method === "POST" ? big : path === "/small" ? "small" : "nothing"));
    },
  });
});

Deno.test("HTTP closes connections beyond its cap at once and serves those it holds", async () => {
  await withEcho(async ({ port }) => {
    const a = await dial(port);
    const b = await dial(port);
    await a.write(head(port));
    await a.answers(1); // a is held
    await b.write(head(port));
    await b.answers(1);
    const c = await dial(port);
    await c.untilClosed();
    assertEquals(c.received, "");
    await Promise.all([a.close(), b.close(), c.close()]);
  }, { maxConnections: 2 });
});

Deno.test("HTTP shutdown closes idle connections and lets an answer in progress finish", async () => {
  const release = Promise.withResolvers<void>();
  const { server, clock } = startFront({
    handler: async () => {
      await release.promise;
      return new Response("finished");
    },
  });
  const port = server.addr.port;
  const idle = await dial(port);
  const busy = await dial(port);
  await busy.write(head(port));
  await waitFor(() => server.connections === 2 && clock.waiting === 1); // idle's head deadline only
  const stopping = server.shutdown();
  await idle.untilClosed();
  release.resolve();
  const [answer] = await busy.answers(1);
  assertEquals([answer.body, answer.headers.get("connection")], ["finished", "close"]);
  await stopping;
  assertEquals(server.connections, 0);
  await Promise.all([idle.close(), busy.close()]);
});

/** Polls until `met` holds, bounded to 5 s. */
async function waitFor(met: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!met()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A valid MCP request, mangled by one to three random edits of the kinds that break HTTP parsers. */
function mangled(random: () => number, port: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } },
  });
  let text = [
    `${pick(["POST", "GET", "DELETE", "PUT", "HEAD", "OPTIONS", "CONNECT", "TRACE", "P@ST", ""])} ` +
    `${pick(["/mcp", "/mcp?x=1", "*", "mcp", "//evil/mcp", "http://h/mcp", "/%00", "/" + "a".repeat(9_000)])} ` +
    `${pick(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 ", "http/1.1", "HTTP/1"])}`,
    `host: ${pick([`127.0.0.1:${port}`, "evil.example", "", `127.0.0.1:${port}\r\nhost: x`])}`,
    "content-type: application/json",
    "accept: application/json, text/event-stream",
    pick([
      `content-length: ${body.length}`,
      `content-length: ${pick([0, 1, body.length - 1, body.length + 5, 99_999_999_999])}`,
      `content-length: ${body.length}, ${body.length + 1}`,
      `content-length: -1`,
      "transfer-encoding: chunked",
      `transfer-encoding: chunked\r\ncontent-length: ${body.length}`,
      "transfer-encoding: gzip",
      "",
    ]),
    pick(["connection: close", "connection: keep-alive", "expect: 100-continue", "x-a: b", ""]),
  ].filter((l) => l !== "").join("\r\n") + "\r\n\r\n";
  text += /transfer-encoding: chunked/.test(text) ? `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : body;
  for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
    const at = Math.floor(random() * text.length);
    const kind = pick(["insert", "delete", "replace", "truncate", "none"]);
    const piece = pick([
      "\r",
      "\n",
      "\r\n",
      "\0",
      " ",
      ":",
      "\t",
      "\x7f",
      "é",
      "\r\n\r\n",
      "0\r\n\r\n",
      "ffffffff\r\n",
    ]);
    if (kind === "insert") text = text.slice(0, at) + piece + text.slice(at);
    else if (kind === "delete") text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 8));
    else if (kind === "replace") text = text.slice(0, at) + piece + text.slice(at + piece.length);
    else if (kind === "truncate") text = text.slice(0, at);
  }
  return text;
}

Deno.test("HTTP answers 300 mangled requests each with a clear 4xx or a close, never a 500, and keeps serving", async () => {
  const seed = Number(Deno.env.get("DBOS_MCP_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const random = prng(seed);
  const server = await createServer({ backend: new MemoryBackend(), log: () => {} });
  const logged: string[] = [];
  const http = serveHttp(server, {
    hostname: "127.0.0.1",
    port: 0,
    log: (line) => logged.push(line),
    readTimeoutMs: 400,
  });
  const statuses = new Map<number, number>();
  try {
    for (let batch = 0; batch < 12; batch++) {
      await Promise.all(Array.from({ length: 25 }, async () => {
        const text = mangled(random, http.port);
        const c = await dial(http.port);
        await c.write(enc.encode(text)).catch(() => 0);
        // Every case ends within the 400 ms head deadline, the body deadline after it, or at once.
        await c.untilClosed().catch(() => {});
        const status = Number(c.received.match(/^HTTP\/1\.1 (\d{3}) /)?.[1] ?? 0);
        await c.close();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert(
          status !== 500,
          `seed ${seed}: 500 for ${JSON.stringify(text.slice(0, 300))}: ${c.received.slice(0, 300)}`,
        );
        assert(
          status === 0 || (status >= 100 && status < 600),
          `seed ${seed}: no status line for ${JSON.stringify(text.slice(0, 300))}: ${c.received.slice(0, 300)}`,
        );
      }));
    }
    const seen = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s || "closed"}×${n}`).join(" ");
    console.log(`http fuzz: seed ${seed}, answers ${seen}`);
    assert([...statuses.keys()].filter((s) => s >= 400 && s < 500).length >= 4, `seed ${seed}: ${seen}`);
    assert(!logged.some((l) => /failed/.test(l)), `seed ${seed}: ${logged.join("\n")}`);
    // Still serving: a clean initialize after the storm.
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "after", version: "1" } },
    });
    const c = await dial(http.port);
    await c.write(
      `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${http.port}\r\ncontent-type: application/json\r\n` +
        `accept: application/json, text/event-stream\r\ncontent-length: ${enc.encode(body).length}\r\n\r\n${body}`,
    );
    await waitFor(() => c.received.includes('"protocolVersion"'));
    assertMatch(c.received, /^HTTP\/1\.1 200 OK\r\n/);
    await c.close();
    await waitFor(() => http.connections === 0);
  } finally {
    await http.shutdown();
    await server.close();
  }
});

Deno.test("HTTP closes the connection of a client that stops reading an answer, and cancels the answer", async () => {
  const { promise: cancelled, resolve: onCancel } = Promise.withResolvers<void>();
  let produced = 0;
  await withEcho(async ({ port, server }) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(enc.encode(head(port)));
      // The client reads nothing: once the kernel's buffers are full, a write waits past the 300 ms limit.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not cancelled within 10 s (${produced} chunks produced)`)), 10_000);
      });
      await Promise.race([cancelled, late]).finally(() => clearTimeout(timer));
      await waitFor(() => server.connections === 0);
      assert(produced > 0, "the answer was streaming");
    } finally {
      conn.close();
    }
  }, {
    writeTimeoutMs: 300,
    handler: () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              produced++;
              controller.enqueue(new Uint8Array(262_144).fill(100));
            },
            cancel: () => onCancel(),
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
      ),
  });
});
