// Focused tests of the defects the hardening suite found, each with a
// scripted `fetch` and a fake clock: no network, no waiting.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { FakeClock } from "./_fake_clock.ts";
import { ConductorBackend, pathSegment } from "../src/backends/conductor/client.ts";
import type { AccessGrant, TokenSource } from "../src/backends/conductor/token_port.ts";
import { openDeviceLogin } from "../src/auth/device_login.ts";
import { InvalidArgumentError, MissingPermissionError, UpstreamError } from "../src/core/errors.ts";
import { type FetchLike, HttpExchangeError, httpRequest } from "../src/util/http_client.ts";
import { SecretSet } from "../src/core/secrets.ts";

const tokens: TokenSource = {
  getAccess: (): Promise<AccessGrant> => Promise.resolve({ token: "tok", organization: "acme" }),
  refreshAfterRejection: () => Promise.resolve(null),
};

/** Deno's `fetch` failing to connect: "fetch failed", the reason in `cause`. */
function refused(): Promise<Response> {
  return Promise.reject(
    new TypeError("fetch failed", {
      cause: new Error(
        "error sending request for url (http://127.0.0.1:1/): client error (Connect): tcp connect error: " +
          "Connection refused (os error 111)",
      ),
    }),
  );
}

/** Deno's `fetch` when the server closed the connection after the request was sent. */
function closedBeforeAnswer(): Promise<Response> {
  return Promise.reject(
    new TypeError("fetch failed", {
      cause: new Error("client error (SendRequest): connection closed before message completed"),
    }),
  );
}

/** A 200 whose body breaks off. */
function cutOff(): Promise<Response> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('[{"application_name": "a'));
      controller.error(new TypeError("error reading a body from connection"));
    },
  });
  return Promise.resolve(new Response(body, { status: 200 }));
}

function backend(fetch: FetchLike, clock = new FakeClock()): { backend: ConductorBackend; calls: () => number } {
  let calls = 0;
  const counted: FetchLike = (input, init) => {
    calls++;
    return fetch(input, init);
  };
  return {
    backend: new ConductorBackend({
      baseUrl: "http://conductor.test/conductor",
      tokens,
      timeoutMs: 1000,
      clock,
      fetch: counted,
    }),
    calls: () => calls,
  };
}

Deno.test("pathSegment() refuses an id with a lone UTF-16 surrogate as an invalid argument, not an internal error", () => {
  for (const id of ["\uD800", "a\uDC00b", "\uD83D"]) {
    let caught: unknown;
    try {
      pathSegment(id, "workflow id");
    } catch (err) {
      caught = err;
    }
    assert(caught instanceof InvalidArgumentError, `${JSON.stringify(id)}: ${caught}`);
    assertStringIncludes((caught as Error).message, "unpaired UTF-16 surrogate");
  }
  assertEquals(pathSegment("😀/..%2F?x=1", "workflow id"), encodeURIComponent("😀/..%2F?x=1"));
});

Deno.test("httpRequest() says why a connection failed, and whether the request may have arrived", async () => {
  const req = { service: "DBOS Conductor", method: "POST" as const, url: "http://127.0.0.1:1/x", timeoutMs: 1000 };
  const e1 = await assertRejects(() => httpRequest(req, refused), HttpExchangeError);
  assertEquals(e1.message, "Could not reach DBOS Conductor (POST http://127.0.0.1:1/x): connection refused.");
  assertEquals([e1.code, e1.mayHaveArrived], ["NETWORK", false]);

  const e2 = await assertRejects(() => httpRequest(req, closedBeforeAnswer), HttpExchangeError);
  assertStringIncludes(e2.message, "the connection was closed before an answer arrived");
  assertEquals(e2.mayHaveArrived, true);

  const e3 = await assertRejects(() => httpRequest(req, cutOff), HttpExchangeError);
  assertEquals(
    e3.message,
    "DBOS Conductor broke off its answer (POST http://127.0.0.1:1/x): the connection broke in the middle of the answer.",
  );
  assertEquals(e3.mayHaveArrived, true);
});

Deno.test("ConductorBackend tells the agent a mutation whose connection broke may have taken effect, and sends it once", async () => {
  for (const fetch of [closedBeforeAnswer, cutOff]) {
    const t = backend(fetch);
    const err = await assertRejects(() => t.backend.cancelWorkflow("app", "wf-1"), UpstreamError);
    assertStringIncludes(err.hint ?? "", "may or may not have taken effect");
    assertEquals(err.retryable, false);
    assertEquals(t.calls(), 1);
  }
  // Refused: nothing was sent, so "try again" is right.
  const t = backend(refused);
  const err = await assertRejects(() => t.backend.resumeWorkflow("app", "wf-1"), UpstreamError);
  assertStringIncludes(err.message, "connection refused");
  assertStringIncludes(err.hint ?? "", "try again");
  assertEquals(t.calls(), 1);
});

Deno.test("ConductorBackend retries a read whose answer was cut off, within bounds", async () => {
  const clock = new FakeClock();
  const t = backend(cutOff, clock);
  const err = await assertRejects(() => t.backend.listApplications(), UpstreamError);
  assertStringIncludes(err.message, "broke off its answer");
  assertEquals(t.calls(), 3);
  assertEquals(clock.sleeps, [250, 500]);
});

Deno.test("ConductorBackend says how long a 429 asked to wait", async () => {
  const t = backend(() => Promise.resolve(new Response("{}", { status: 429, headers: { "retry-after": "7" } })));
  const err = await assertRejects(() => t.backend.cancelWorkflow("app", "wf-1"), UpstreamError);
  assertStringIncludes(err.message, "HTTP 429, asking to wait 7 s");
});

Deno.test("The device login without a home folder names --allow-env=HOME and --home, and asks for no device code", async () => {
  let fetched = 0;
  const session = openDeviceLogin({
    home: undefined,
    loginUrl: "http://login.test",
    conductorUrl: "http://conductor.test",
    timeoutMs: 1000,
    secrets: new SecretSet(),
    clock: new FakeClock(),
    fetch: () => {
      fetched++;
      return Promise.reject(new Error("no network in this test"));
    },
    warn: () => {},
  });
  for (
    const attempt of [() => session.tokens.getAccess(), () => session.login.startLogin(), () => session.login.logout()]
  ) {
    const err = await assertRejects(attempt, MissingPermissionError);
    assertEquals(err.flag, "--allow-env=HOME (or pass --home DIR)");
  }
  assertEquals(fetched, 0);
  assertStringIncludes((await session.login.status()).problem ?? "", "Grant --allow-env=HOME (or pass --home DIR).");
});

Deno.test("a Conductor answer past 64 MiB is not read further: a clear error, and the body stops being pulled", async () => {
  const MiB = 1024 * 1024;
  let pulled = 0;
  const chunk = new TextEncoder().encode("x".repeat(MiB));
  const huge = (): Promise<Response> => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ === 200) controller.close();
        else controller.enqueue(chunk);
      },
    });
    return Promise.resolve(new Response(body, { status: 200, headers: { "content-type": "application/json" } }));
  };
  const { backend: b, calls } = backend(huge);
  const err = await assertRejects(() => b.getWorkflow("app", "wf-1"), UpstreamError);
  assertStringIncludes(err.message, `DBOS Conductor sent an answer larger than ${64 * MiB} bytes`);
  assertStringIncludes(err.hint ?? "", "system-database mode");
  assertEquals(calls(), 1, "not retried: the same answer would come back");
  assert(pulled <= 66, `pulled ${pulled} MiB of the body`);
  // A declared length past the limit is refused before reading anything.
  let read = false;
  const declared = (): Promise<Response> =>
    Promise.resolve(
      new Response(new ReadableStream({ pull: () => void (read = true) }, { highWaterMark: 0 }), {
        status: 200,
        headers: { "content-length": String(65 * MiB) },
      }),
    );
  await assertRejects(() => backend(declared).backend.getWorkflow("app", "wf-1"), UpstreamError);
  assertEquals(read, false);
});
