// The three kinds of Conductor credentials: the device login (profile from
// `GET {conductor-url}/v2/users/me`, `--org` overriding its organization),
// a token from DBOS_TOKEN (an API key with --org, or a user JWT), and none
// (`--no-auth`: no Authorization header). In-process against the loopback
// emulators, and spawned under the README's permission flags for token mode
// and no-auth mode.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { connectInProcess, type InProcess, textOf } from "./_mcp.ts";
import { conductorModeFlags, MOD_PATH, spawnConductorModeServer, V8_FLAGS } from "./_server_process.ts";
import { ALL_PERMISSIONS, type RecordedRequest, startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { deviceLogin } from "./fixtures/faults.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { createServer } from "../src/server.ts";
import type { Config } from "../src/config/mod.ts";
import { ConfigError } from "../src/core/errors.ts";
import { join } from "../src/util/path.ts";

const ORG = "acme";
const APP = "sample-app";
const API_KEY = "dbos_k3yThatMustNeverLeakAnywhere0123456789";
const LOGIN_TOOLS = ["login", "login_complete", "logout"];

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content?: unknown };

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "dbos-mcp-modes-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function serve(config: Partial<Config>, home: string): Promise<InProcess> {
  return await connectInProcess({ config: { home, timeoutMs: 5_000, noConfirm: true, ...config }, log: () => {} });
}

async function toolNames(mcp: InProcess): Promise<string[]> {
  return (await mcp.client.listTools()).tools.map((t) => t.name);
}

async function call(mcp: InProcess, name: string, args: Record<string, unknown> = {}): Promise<Result> {
  return await mcp.client.callTool({ name, arguments: args }) as Result;
}

function profileRequests(requests: RecordedRequest[]): number {
  return requests.filter((r) => r.rawPath.endsWith("/v2/users/me")).length;
}

/** An RFC 9457 problem, as v2 Conductor answers errors. */
function problem(status: number, detail: string): Response {
  return new Response(JSON.stringify({ type: "about:blank", title: "Error", status, detail }), {
    status,
    headers: { "content-type": "application/problem+json" },
  });
}

/** The API key grants of an emulator that accepts `API_KEY` with every permission. */
function fullKey(): Record<string, { permissions: string[] }> {
  return { [API_KEY]: { permissions: [...ALL_PERMISSIONS] } };
}

/**
 * A Conductor without authentication: answers listApps for whatever organization the path names (unlike the
 * emulator's own no-auth mode, which serves `local` only) and records each request's headers.
 */
async function noAuthConductor() {
  return await startConductorEmulator({
    org: "unused",
    isValidToken: () => false,
    onRequest: (rec) => {
      if (rec.headers.authorization !== undefined) return problem(400, "this Conductor has no authentication");
      if (rec.operation !== "listApps") return problem(404, "no such route");
      const org = rec.segments[1];
      return Response.json([{ name: APP, id: "a-1", orgId: org, status: "AVAILABLE" }]);
    },
  });
}

Deno.test("token mode with an API key: Bearer key, the --org organization, no login tools, no profile call", async () => {
  await using login = await startLoginEmulator({ organization: ORG });
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: () => false,
    applications: [APP],
    onRequest: (_rec, req) => login.usersMe(req),
    v2: { apiKeys: fullKey() },
  });
  await using dir = await tempDir();
  await using mcp = await serve({ conductorUrl: conductor.baseUrl, token: API_KEY, org: ORG }, dir.path);

  const names = await toolNames(mcp);
  for (const tool of LOGIN_TOOLS) assert(!names.includes(tool), `${tool} is not offered in token mode`);
  assert(names.includes("list_applications"));
  const apps = await call(mcp, "list_applications");
  assertEquals(apps.isError, undefined, textOf(apps));
  assertEquals((apps.structuredContent?.applications as { name: string }[])[0].name, APP);
  const sent = conductor.requests.filter((r) => r.operation === "listApps");
  assertEquals(sent.length, 1);
  assertEquals(sent[0].headers.authorization, `Bearer ${API_KEY}`);
  assertEquals(sent[0].segments.slice(0, 2), ["orgs", ORG]);
  assertEquals(profileRequests(conductor.requests), 0, "an API key cannot call /v2/users/me, so it is never asked");
  const initialize = mcp.client.getInstructions() ?? "";
  assert(!initialize.includes("call login"), "the instructions do not send the agent to a login tool");
  assert(!JSON.stringify(apps).includes(API_KEY));
});

Deno.test("token mode with an API key: a 403 says the key's scope does not allow it, and 401 says to replace it", async () => {
  const apiKeys = fullKey();
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: () => false,
    onRequest: (rec) => {
      if (!rec.authorized) return undefined;
      if (rec.operation === "getWorkflow") {
        return Response.json({ workflowId: "wf-1", status: "PENDING", workflowName: "checkout" });
      }
      if (rec.operation === "cancelWorkflow") return problem(403, "forbidden: key lacks application.write");
      return undefined;
    },
    v2: { apiKeys },
  });
  await using dir = await tempDir();
  await using mcp = await serve({ conductorUrl: conductor.baseUrl, token: API_KEY, org: ORG }, dir.path);

  const refused = await call(mcp, "cancel_workflow", { application_name: APP, workflow_id: "wf-1" });
  assertEquals(refused.isError, true);
  const text = textOf(refused);
  assertStringIncludes(text, "HTTP 403");
  assertStringIncludes(text, "the key's scope does not allow it");
  assertStringIncludes(text, "application.read");
  assert(!text.includes("`login`"), "no login tool to point at in token mode");
  assertEquals(conductor.requests.filter((r) => r.operation === "cancelWorkflow").length, 1, "sent once, not retried");

  delete apiKeys[API_KEY]; // the key is revoked
  const rejected = await call(mcp, "list_applications");
  assertEquals(rejected.isError, true);
  assertStringIncludes(textOf(rejected), "did not accept the API key in DBOS_TOKEN (HTTP 401)");
  assertStringIncludes(textOf(rejected), "Set DBOS_TOKEN");
  for (const res of [refused, rejected]) assert(!JSON.stringify(res).includes(API_KEY), "the key never leaks");
});

Deno.test("token mode with a user JWT: the organization comes from /v2/users/me, asked once; --org skips it", async () => {
  await using login = await startLoginEmulator({ organization: ORG, userName: "ada" });
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    applications: [APP],
    onRequest: (_rec, req) => login.usersMe(req),
  });
  const jwt = (await deviceLogin(login)).accessToken;
  await using dir = await tempDir();
  {
    await using mcp = await serve({ conductorUrl: conductor.baseUrl, token: jwt }, dir.path);
    assert(!(await toolNames(mcp)).includes("login"));
    for (let i = 0; i < 2; i++) {
      const res = await call(mcp, "list_applications");
      assertEquals(res.isError, undefined, textOf(res));
      assert(!JSON.stringify(res).includes(jwt));
    }
    const profile = conductor.requests.filter((r) => r.rawPath.endsWith("/v2/users/me"));
    assertEquals(profile.length, 1, "the profile is asked once");
    assertEquals(profile[0].headers.authorization, `Bearer ${jwt}`);
    const apps = conductor.requests.filter((r) => r.operation === "listApps");
    assert(apps.length > 0);
    assert(apps.every((r) => r.segments[1] === ORG && r.headers.authorization === `Bearer ${jwt}`));
  }
  conductor.clearLog();
  {
    await using mcp = await serve({ conductorUrl: conductor.baseUrl, token: jwt, org: ORG }, dir.path);
    assertEquals((await call(mcp, "list_applications")).isError, undefined);
    assertEquals(profileRequests(conductor.requests), 0, "--org: no profile needed");
  }
  login.expireAccessTokensNow();
  conductor.clearLog();
  {
    await using mcp = await serve({ conductorUrl: conductor.baseUrl, token: jwt }, dir.path);
    const res = await call(mcp, "list_applications");
    assertEquals(res.isError, true);
    assertStringIncludes(textOf(res), "did not accept the user JWT in DBOS_TOKEN");
    assertStringIncludes(textOf(res), "--org");
    assert(!JSON.stringify(res).includes(jwt));
  }
});

Deno.test("token mode with an expired user JWT says it expired, without asking Conductor", async () => {
  await using conductor = await startConductorEmulator({ org: ORG, isValidToken: () => true });
  const payload = btoa(JSON.stringify({ sub: "u", exp: 1_000_000_000 })).replace(/=+$/, "");
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${payload}.c2lnbmF0dXJlLW9mLWEtdGVzdA`;
  await using dir = await tempDir();
  await using mcp = await serve({ conductorUrl: conductor.baseUrl, token: jwt }, dir.path);
  const res = await call(mcp, "list_applications");
  assertEquals(res.isError, true);
  assertStringIncludes(textOf(res), "The user JWT in DBOS_TOKEN expired at 2001-09-09T01:46:40.000Z");
  assertEquals(conductor.requests.length, 0);
  assert(!JSON.stringify(res).includes(jwt));
});

Deno.test("no-auth mode sends no Authorization header, serves org 'local' unless --org, and lists no login tools", async () => {
  await using conductor = await noAuthConductor();
  await using dir = await tempDir();
  for (const [org, expected] of [[undefined, "local"], ["team_a", "team_a"]] as const) {
    conductor.clearLog();
    await using mcp = await serve({ conductorUrl: conductor.baseUrl, noAuth: true, org }, dir.path);
    const names = await toolNames(mcp);
    for (const tool of LOGIN_TOOLS) assert(!names.includes(tool), `${tool} is not offered with --no-auth`);
    const res = await call(mcp, "list_applications");
    assertEquals(res.isError, undefined, textOf(res));
    assertEquals(conductor.requests.length, 1);
    assertEquals(conductor.requests[0].headers.authorization, undefined, "no Authorization header");
    assertEquals(conductor.requests[0].segments.slice(0, 2), ["orgs", expected]);
  }
});

Deno.test("no-auth mode against a Conductor that wants credentials says to drop --no-auth", async () => {
  await using conductor = await startConductorEmulator({ org: "local", isValidToken: () => true });
  await using dir = await tempDir();
  await using mcp = await serve({ conductorUrl: conductor.baseUrl, noAuth: true }, dir.path);
  const res = await call(mcp, "list_applications");
  assertEquals(res.isError, true);
  assertStringIncludes(textOf(res), "this server runs with --no-auth");
  assertStringIncludes(textOf(res), "Restart without --no-auth");
});

Deno.test("device login reads the profile from {conductor-url}/v2/users/me, and --org overrides its organization", async () => {
  const OTHER = "other_org";
  await using login = await startLoginEmulator({ organization: ORG, userName: "ada" });
  await using conductor = await startConductorEmulator({
    org: OTHER,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    applications: [APP],
    onRequest: (_rec, req) => login.usersMe(req),
  });
  await using dir = await tempDir();
  const home = join(dir.path, ".dbos-mcp");
  await using mcp = await serve({ conductorUrl: conductor.baseUrl, loginUrl: login.loginUrl, org: OTHER }, home);
  const names = await toolNames(mcp);
  for (const tool of LOGIN_TOOLS) assert(names.includes(tool), `${tool} is offered with the device login`);

  assertEquals((await call(mcp, "login")).isError, undefined);
  const done = await call(mcp, "login_complete");
  assertEquals(done.structuredContent?.status, "complete", textOf(done));
  assertEquals(done.structuredContent?.userName, "ada");
  assertEquals(done.structuredContent?.organization, OTHER);
  const profile = conductor.requests.filter((r) => r.rawPath.endsWith("/v2/users/me"));
  assertEquals(profile.length, 1);
  assertEquals(profile[0].rawPath, `${new URL(conductor.baseUrl).pathname}/v2/users/me`);
  assertEquals(profile[0].method, "GET");

  const saved = JSON.parse(await Deno.readTextFile(join(home, "credentials")));
  assertEquals([saved.userName, saved.organization], ["ada", ORG], "the file keeps the profile, as Python's does");
  const res = await call(mcp, "list_applications");
  assertEquals(res.isError, undefined, textOf(res));
  assertEquals(conductor.requests.filter((r) => r.operation === "listApps")[0].segments[1], OTHER);
});

Deno.test("createServer() refuses an API key without an organization, and --no-auth with DBOS_TOKEN", async () => {
  await using dir = await tempDir();
  const err = await assertRejects(
    () => createServer({ config: { home: dir.path, token: API_KEY }, log: () => {} }),
    ConfigError,
  );
  assertStringIncludes(err.message, "pass --org NAME or set DBOS_ORG");
  assert(!err.message.includes(API_KEY));
  const both = await assertRejects(
    () => createServer({ config: { home: dir.path, token: API_KEY, org: ORG, noAuth: true }, log: () => {} }),
    ConfigError,
  );
  assertStringIncludes(both.message, "Both --no-auth (DBOS_MCP_NO_AUTH) and DBOS_TOKEN are set");
});

Deno.test("the command exits 2 with one stderr line for an API key in DBOS_TOKEN without --org", async () => {
  await using dir = await tempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", V8_FLAGS, "--allow-env=HOME,DBOS_*", MOD_PATH, "--home", dir.path],
    env: { DBOS_TOKEN: API_KEY },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 2, stderr);
  assertEquals(new TextDecoder().decode(out.stdout), "");
  assertEquals(stderr.trim().split("\n").length, 1, stderr);
  assertStringIncludes(stderr, "DBOS_TOKEN holds a Conductor API key");
  assertStringIncludes(stderr, "--org");
  assert(!stderr.includes(API_KEY));
});

Deno.test("spawned under the README's flags: an API key with --production keeps the key out of results, stderr and the audit log", async () => {
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: () => false,
    applications: [APP],
    v2: { apiKeys: fullKey() },
  });
  await using dir = await tempDir();
  const home = join(dir.path, "home");
  const auditLog = join(dir.path, "audit.jsonl");
  const server = await spawnConductorModeServer(
    { conductorUrl: conductor.baseUrl, loginUrl: "https://login.dbos.dev", home },
    {
      args: ["--org", ORG, "--production", "--audit-log", auditLog],
      env: { DBOS_TOKEN: API_KEY },
      flags: (h, hosts) => conductorModeFlags({ hosts, home: h, paths: [dir.path] }),
    },
  );
  try {
    const names = (await server.client.listTools()).tools.map((t) => t.name);
    for (const tool of LOGIN_TOOLS) assert(!names.includes(tool), `${tool} is not offered in token mode`);
    assert(!names.includes("cancel_workflow"), "--production is read-only");
    const apps = await server.client.callTool({ name: "list_applications", arguments: {} }) as Result;
    assertEquals(apps.isError, undefined, textOf(apps));
    const missing = await server.client.callTool({
      name: "get_workflow",
      arguments: { application_name: "nope", workflow_id: "w" },
    });
    const sent = conductor.requests.filter((r) => r.operation === "listApps");
    assertEquals(sent.length, 1);
    assertEquals(sent[0].headers.authorization, `Bearer ${API_KEY}`);
    await server.close();
    const everything = JSON.stringify([apps, missing]) + server.stderr() + await Deno.readTextFile(auditLog);
    assert(everything.includes("list_applications"), "the audit log recorded the calls");
    assert(!everything.includes(API_KEY), "the API key appears nowhere");
  } finally {
    await server.close();
  }
});

Deno.test("spawned under the README's flags: --no-auth sends no Authorization header", async () => {
  await using conductor = await noAuthConductor();
  await using dir = await tempDir();
  const server = await spawnConductorModeServer(
    { conductorUrl: conductor.baseUrl, loginUrl: "https://login.dbos.dev", home: join(dir.path, "home") },
    { args: ["--no-auth"] },
  );
  try {
    const names = (await server.client.listTools()).tools.map((t) => t.name);
    assert(!names.includes("login"), "no login tools with --no-auth");
    const apps = await server.client.callTool({ name: "list_applications", arguments: {} }) as Result;
    assertEquals(apps.isError, undefined, textOf(apps));
    assertEquals(conductor.requests.length, 1);
    assertEquals(conductor.requests[0].headers.authorization, undefined);
    assertEquals(conductor.requests[0].segments.slice(0, 2), ["orgs", "local"]);
  } finally {
    await server.close();
  }
});
