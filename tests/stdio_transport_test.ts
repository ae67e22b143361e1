// The stdio line transport on its own, with stand-in streams: how bytes read
// in arbitrary chunks become messages, what a bad line is answered with, and
// how answers reach stdout however little each write takes.
import { assert, assertEquals } from "./_assert.ts";
import { MAX_LINE_BYTES, StdioLineTransport, type StdioStreams } from "../src/transports/stdio.ts";

/** Streams that hand out `chunks` one read at a time, then the end, and keep what is written. */
function streams(chunks: Uint8Array[], opts: { maxWrite?: number; gone?: Error } = {}) {
  const written: Uint8Array[] = [];
  const io: StdioStreams = {
    read(buffer) {
      const chunk = chunks.shift();
      if (!chunk) return Promise.resolve(null);
      assert(chunk.length <= buffer.length, "a test chunk fits one read");
      buffer.set(chunk);
      return Promise.resolve(chunk.length);
    },
    writeSync(bytes) {
      if (opts.gone) throw opts.gone;
      const n = Math.min(bytes.length, opts.maxWrite ?? bytes.length);
      written.push(bytes.slice(0, n));
      return n;
    },
  };
  const output = () => new TextDecoder().decode(new Uint8Array(written.flatMap((w) => [...w])));
  return { io, output };
}

/** Runs a transport over `chunks` until the input ends; resolves with the messages and what was written. */
async function run(chunks: Uint8Array[], opts: { maxWrite?: number } = {}) {
  const { io, output } = streams(chunks, opts);
  const ended = Promise.withResolvers<void>();
  const transport = new StdioLineTransport({ io, onEnd: ended.resolve });
  const messages: unknown[] = [];
  transport.onmessage = (m) => messages.push(m);
  await transport.start();
  await ended.promise;
  const answers = output().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return { transport, messages, answers, output };
}

const enc = (text: string) => new TextEncoder().encode(text);
const ping = (id: number | string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "ping", ...extra });

Deno.test("stdio transport: messages split anywhere across reads arrive whole, in order", async () => {
  const text = `${ping(1, { params: { note: "héllo ✓ 𝄞" } })}\n${ping(2)}\r\n\n${ping(3)}\n`;
  const bytes = enc(text);
  // Every split point at once: one byte per read, so multi-byte characters are cut too.
  const chunks = [...bytes].map((b) => new Uint8Array([b]));
  const { messages, answers } = await run(chunks);
  assertEquals(messages.map((m) => (m as { id: number }).id), [1, 2, 3]);
  assertEquals((messages[0] as { params: { note: string } }).params.note, "héllo ✓ 𝄞");
  assertEquals(answers, []);
});

Deno.test("stdio transport: a line that is not JSON, or not JSON-RPC, gets an error answer and the rest goes on", async () => {
  const lines = ["{not json", JSON.stringify({ id: 7, hello: "world" }), "42", ping(8)];
  const { messages, answers } = await run([enc(lines.join("\n") + "\n")]);
  assertEquals(messages.map((m) => (m as { id: number }).id), [8]);
  assertEquals(answers.map((a) => [a.id, a.error.code]), [[null, -32700], [7, -32600], [null, -32600]]);
});

Deno.test("stdio transport: a request with a '__proto__' key anywhere in its params is refused, not passed on", async () => {
  const call = (id: number, args: string) =>
    `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"logout","arguments":${args}}}`;
  const lines = [
    call(1, '{"__proto__": 1}'),
    call(2, '{"\\u005f_proto__": {"x": 1}}'), // the same key, escaped
    call(3, '{"a": [{"b": {"__proto__": null}}]}'),
    '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"__proto__":1}}',
    call(4, '{"proto": 1, "constructor": 2}'),
  ];
  const { messages, answers } = await run([enc(lines.join("\n") + "\n")]);
  assertEquals(messages.map((m) => (m as { id: number }).id), [4]);
  assertEquals(answers.map((a) => [a.id, a.error.code]), [[1, -32602], [2, -32602], [3, -32602]]);
  assert(answers[2].error.message.includes("params.arguments.a[0].b.__proto__"), answers[2].error.message);
});

Deno.test("stdio transport: a line over the limit is dropped with an error answer, the next line is read", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x61); // "aaaa...", one read's worth
  const chunks = Array.from({ length: Math.ceil(MAX_LINE_BYTES / chunk.length) + 1 }, () => chunk);
  chunks.push(enc(`\n${ping(9)}\n`));
  const { messages, answers } = await run(chunks);
  assertEquals(messages.map((m) => (m as { id: number }).id), [9]);
  assertEquals(answers.length, 1);
  assertEquals([answers[0].id, answers[0].error.code], [null, -32600]);
});

Deno.test("stdio transport: an answer of any size is written whole, however little each write takes", async () => {
  for (const size of [10, 100_000, 2_000_000]) {
    const { io, output } = streams([], { maxWrite: 4096 });
    const transport = new StdioLineTransport({ io });
    const message = { jsonrpc: "2.0", id: size, result: { text: "é".repeat(size) } };
    await transport.send(message);
    await transport.send({ jsonrpc: "2.0", id: "after", result: {} });
    const lines = output().split("\n");
    assertEquals(lines.length, 3, `size ${size}`);
    assertEquals(JSON.parse(lines[0]), message);
    assertEquals(JSON.parse(lines[1]).id, "after");
  }
});

Deno.test("stdio transport: a closed stdout ends the connection once, and the failed send rejects", async () => {
  for (const gone of [new Deno.errors.BrokenPipe("os error 32"), new Deno.errors.ConnectionReset("os error 104")]) {
    const { io } = streams([], { gone });
    let ends = 0;
    const transport = new StdioLineTransport({ io, onEnd: () => ends++ });
    for (let i = 0; i < 2; i++) {
      const failed = await transport.send({ jsonrpc: "2.0", id: i, result: {} }).then(() => false, () => true);
      assert(failed, "the send rejects");
    }
    assertEquals(ends, 1, gone.name);
  }
});
