// The one secret-scrubbing mechanism: the SecretSet's rule (3 characters and
// more, in every form a secret is written in), redactUrl for messages written
// before the set knows a password, errorMessage for unknown thrown values,
// and the server handing one set to every path that writes text out (tool
// results, diagnostics, audit records) and to the login's HTTP calls.
import { z } from "zod";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { MIN_SECRET_LENGTH, REDACTED, redactUrl, SecretSet, urlPassword } from "../src/core/secrets.ts";
import { errorMessage, UpstreamError } from "../src/core/errors.ts";
import { defineTool } from "../src/core/tool.ts";
import { refreshAccessToken } from "../src/auth/device_flow.ts";
import type { Plugin } from "../src/plugin_host/contract.ts";
import { join } from "../src/util/path.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";
import { connectInProcess, textOf } from "./_mcp.ts";

function setOf(...values: string[]): SecretSet {
  const secrets = new SecretSet();
  for (const v of values) secrets.add(v);
  return secrets;
}

Deno.test("SecretSet.scrub() removes a known secret of 3 characters or more wherever it appears", () => {
  assertEquals(MIN_SECRET_LENGTH, 3);
  const secrets = setOf("k3y", "ab", "");
  assertEquals(secrets.scrub("a k3y, and monk3ys"), `a ${REDACTED}, and mon${REDACTED}s`);
  // Shorter values are not recorded: removing them would destroy ordinary text.
  assertEquals(secrets.scrub("ab cd"), "ab cd");
  assertEquals(secrets.containsKnown("nothing here"), false);
});

Deno.test("SecretSet records a secret's percent-encoded, percent-decoded and JSON-escaped forms", () => {
  const fromUrl = setOf("s3cr%40t");
  assertEquals(fromUrl.scrub("url s3cr%40t, driver s3cr@t"), `url ${REDACTED}, driver ${REDACTED}`);
  const raw = setOf('pa/ss"w@rd');
  const json = JSON.stringify({ note: 'here: pa/ss"w@rd' });
  assert(raw.containsKnown(json), "the JSON-escaped form is known");
  assertEquals(raw.scrub("postgres://u:pa%2Fss%22w%40rd@db/x"), `postgres://u:${REDACTED}@db/x`);
});

Deno.test("SecretSet.scrubKnown() removes the longer of two overlapping secrets whole", () => {
  const secrets = setOf("abc", "abcdef-long");
  assertEquals(secrets.scrubKnown("x abcdef-long y abc"), `x ${REDACTED} y ${REDACTED}`);
});

Deno.test("SecretSet.scrub() also removes JWT-shaped strings it was never told about", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl";
  assertEquals(new SecretSet().scrub(`Bearer ${jwt}`), "Bearer [REDACTED:jwt]");
});

Deno.test("SecretSet.scrubValue() scrubs nested strings and keys and leaves the input unchanged", () => {
  const secrets = setOf("hunter2");
  const input = { a: ["x hunter2", 3, null, { hunter2: true }], b: "clean" };
  const copy = structuredClone(input);
  assertEquals(secrets.scrubValue<unknown>(input), { a: [`x ${REDACTED}`, 3, null, { [REDACTED]: true }], b: "clean" });
  assertEquals(input, copy);
});

Deno.test("redactUrl() removes every URL password in a text, also without a user or with a raw '/'", () => {
  assertEquals(redactUrl("postgres://svc:pw@db:5432/x"), `postgres://svc:${REDACTED}@db:5432/x`);
  assertEquals(redactUrl("postgres://:pw@db/x"), `postgres://:${REDACTED}@db/x`);
  assertEquals(redactUrl("bad postgres://u:pa/ss@db/x"), `bad postgres://u:${REDACTED}@db/x`);
  assertEquals(
    redactUrl("a=postgres://u:one@h/a b=postgres://v:two@h/b"),
    `a=postgres://u:${REDACTED}@h/a b=postgres://v:${REDACTED}@h/b`,
  );
  assertEquals(redactUrl("postgres://db.internal:5432/x"), "postgres://db.internal:5432/x");
  assertEquals(urlPassword("postgres://u:p%40ss@h/x"), "p%40ss");
  assertEquals(urlPassword("not a url"), undefined);
});

Deno.test("errorMessage() quotes an Error, a plain value, and a value that cannot be made a string", () => {
  assertEquals(errorMessage(new TypeError("boom")), "boom");
  assertEquals(errorMessage("plain"), "plain");
  assertEquals(errorMessage(42), "42");
  assertEquals(errorMessage(undefined), "undefined");
  assertEquals(errorMessage(Object.create(null)), "[object Object]");
});

const echo = defineTool({
  name: "echo_note",
  description: "Echoes a note.",
  input: z.strictObject({ note: z.string() }),
  output: z.object({ note: z.string() }),
  annotations: { title: "Echo", readOnlyHint: true, openWorldHint: false },
  mutates: false,
  handler: (args) => Promise.resolve({ note: args.note }),
  render: (r) => `note: ${r.note}`,
});

Deno.test("a server scrubs its database password and HTTP token from results, diagnostics and audit records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-secrets-" });
  const password = 'Pw"q7/x'; // quoted in JSON as Pw\"q7/x, in the URL as Pw%22q7%2Fx
  const httpToken = "http-bearer-token-0123456789";
  const logs: string[] = [];
  const leaky: Plugin = {
    name: "leaky",
    tools: [echo],
    setup: (host) => host.log(`leaky saw ${password} and ${httpToken}`),
  };
  const auditPath = join(dir, "audit.jsonl");
  await using mcp = await connectInProcess({
    config: {
      home: dir,
      databaseUrl: `postgres://svc:${encodeURIComponent(password)}@127.0.0.1:9/shop_dbos_sys`,
      httpToken,
      plugins: ["audit"],
      auditLog: auditPath,
    },
    backend: new StaticBackend(),
    plugins: [leaky],
    log: (m) => logs.push(m),
  });
  const result = await mcp.client.callTool({
    name: "echo_note",
    arguments: { note: `db ${password}, http ${httpToken}` },
  });
  await mcp.close();
  const everything = [JSON.stringify(result), textOf(result), ...logs, await Deno.readTextFile(auditPath)].join("\n");
  assertStringIncludes(textOf(result), `note: db ${REDACTED}, http ${REDACTED}`);
  assertEquals((result.structuredContent as { note: string }).note, `db ${REDACTED}, http ${REDACTED}`);
  assert(logs.some((l) => l.includes(`leaky saw ${REDACTED}`)), logs.join("\n"));
  for (const secret of [password, JSON.stringify(password).slice(1, -1), encodeURIComponent(password), httpToken]) {
    assert(!everything.includes(secret), `${secret} leaked into: ${everything}`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("refreshAccessToken() records new tokens in the given set and never quotes a 3-character secret", async () => {
  // A login service that misbehaves: it echoes the refresh token in a 500, and issues a short token on 200.
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const form = new URLSearchParams(await req.text());
    const token = form.get("refresh_token") ?? "";
    if (token === "r3x") return new Response(`cannot refresh ${token}`, { status: 500 });
    return Response.json({ access_token: "new-access-token-0123", refresh_token: "rot", expires_in: 60 });
  });
  const loginUrl = `http://127.0.0.1:${server.addr.port}`;
  const secrets = new SecretSet();
  const err = await assertRejects(
    () => refreshAccessToken("r3x", { loginUrl, timeoutMs: 5_000, secrets }),
    UpstreamError,
  );
  assert(!err.message.includes("r3x"), err.message);
  assertStringIncludes(err.message, `cannot refresh ${REDACTED}`);
  const tokens = await refreshAccessToken("good-refresh-token", { loginUrl, timeoutMs: 5_000, secrets });
  assertEquals(tokens.refreshToken, "rot");
  assertEquals(secrets.scrub("new-access-token-0123 rot"), `${REDACTED} ${REDACTED}`);
});
