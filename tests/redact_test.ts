// The redact plugin: createRedactor over every kind and rendering a tool
// result carries (util.inspect, JSON, JSON in strings, headers, env files,
// prose, truncated renderings), key names in any case and separator style,
// options and their validation, idempotence, weird input, the control set,
// and the sample app's seeded secrets through the plugin's transformResult and
// through the real call pipeline (in-process).
import { inspect } from "node:util";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { connectInProcess, textOf } from "./_mcp.ts";
import { StaticBackend } from "./fixtures/static_backend.ts";
import {
  ALPHABETS,
  CONTROL_FIELDS,
  CONTROL_VALUES,
  fakePicker,
  SECRETS_INPUT,
  SECRETS_STEPS,
  secretsOutput,
  SEEDED_SECRETS,
  SEEDS,
} from "./fixtures/sample_secrets.ts";
import redactPlugin, {
  createRedactor,
  redactingBackend,
  REDACTION_KINDS,
  type RedactOptions,
  RedactOptionsError,
  redactResult,
} from "../plugins/redact.ts";
import { ConfigError } from "../src/core/errors.ts";
import type { CallInfo, ToolResult } from "../src/plugin_host/contract.ts";
import type { Step, Workflow } from "../src/backends/backend.ts";
import { getWorkflow, listSteps, listWorkflows } from "../src/tools/workflows.ts";

const { UPPER, DIGITS, HEX, ALNUM, B64URL, B64 } = ALPHABETS;
const INSPECT = { depth: null, maxArrayLength: null, maxStringLength: null } as const;
const cat = (...parts: string[]): string => parts.join("");

/** Fake secrets for one test (no literal token in this file). */
function fakes(seed: number) {
  const pick = fakePicker(seed);
  const jwt = [
    btoa(JSON.stringify({ alg: "HS256", typ: "JWT" })).replace(/=+$/, ""),
    btoa(JSON.stringify({ sub: "u-" + pick(DIGITS, 5), exp: 1767312000 })).replace(/=+$/, "").replace(/\+/g, "-"),
    pick(B64URL, 43),
  ].join(".");
  const pemLines = [cat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", pick(B64, 32)), pick(B64, 64), pick(B64, 64)];
  let last = "";
  return {
    /** Random characters that become `last` (the secret part of a vendor token). */
    vendor(alphabet: string, n: number): string {
      last = pick(alphabet, n);
      return last;
    },
    /** The secret part made by the latest `vendor` call. */
    get last(): string {
      return last;
    },
    pick,
    jwt,
    awsId: cat("AK", "IA", pick(UPPER + DIGITS, 16)),
    awsSecret: pick(ALNUM + "/+", 40),
    github: cat("gh", "p_", pick(ALNUM, 36)),
    githubPat: cat("github", "_pat_", pick(ALNUM, 22), "_", pick(ALNUM, 59)),
    gitlab: cat("gl", "pat-", pick(B64URL, 20)),
    slack: cat("xo", "xb-", pick(DIGITS, 12), "-", pick(DIGITS, 13), "-", pick(ALNUM, 24)),
    slackHook: pick(ALNUM, 24),
    stripe: cat("sk", "_live_", pick(ALNUM, 24)),
    google: cat("AI", "za", pick(B64URL, 35)),
    googleOauth: cat("GOCS", "PX-", pick(B64URL, 28)),
    openai: cat("sk", "-proj-", pick(B64URL, 48)),
    anthropic: cat("sk", "-ant-api03-", pick(B64URL, 80)),
    sendgrid: cat("S", "G.", pick(B64URL, 22), ".", pick(B64URL, 43)),
    npm: cat("np", "m_", pick(ALNUM, 36)),
    hf: cat("h", "f_", pick(ALNUM, 34)),
    pemLines,
    pem: [cat("-----BEGIN ", "PRIVATE KEY-----"), ...pemLines, cat("-----END ", "PRIVATE KEY-----")].join("\n"),
    opaque: "op-" + pick(ALNUM, 30),
    basic: btoa("user:" + pick(ALNUM, 16)),
    pw: "pw-" + pick(ALNUM, 16),
    hex: pick(HEX, 40),
  };
}

/** Secrets (of `secrets`) that appear in `text`, whole or by their first or last 16 characters. */
function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) =>
    text.includes(s) || (s.length >= 24 && (text.includes(s.slice(0, 16)) || text.includes(s.slice(-16))))
  );
}

function assertNoLeak(text: string, secrets: readonly string[], what = "output"): void {
  const found = leaks(text, secrets);
  assertEquals(found, [], `${what} leaks ${found.length} secret(s): ${found.map((s) => s.slice(0, 12)).join(", ")}`);
}

// ------------------------------------------------------------- value kinds

Deno.test("redactText() replaces every value kind with a marker naming it", () => {
  const f = fakes(1);
  const cases: [string, string, string][] = [
    ["jwt", `session ${f.jwt} ok`, f.jwt],
    ["bearer", `Authorization: Bearer ${f.opaque}`, f.opaque],
    ["basic_auth", `Proxy-Authorization: Basic ${f.basic}`, f.basic],
    ["aws_access_key", `key id ${f.awsId} in us-east-1`, f.awsId],
    ["github_token", `git push with ${f.github}`, f.github],
    ["github_token", `token=${f.githubPat}`, f.githubPat],
    ["gitlab_token", `clone with ${f.gitlab}`, f.gitlab],
    ["slack_token", `bot ${f.slack}`, f.slack],
    ["slack_webhook", `https://hooks.slack.com/services/T01/B02/${f.slackHook}`, f.slackHook],
    ["stripe_key", `stripe ${f.stripe}`, f.stripe],
    ["google_api_key", `maps?key=${f.google}`, f.google],
    ["google_oauth", `oauth client ${f.googleOauth}`, f.googleOauth],
    ["openai_key", `model call with ${f.openai}`, f.openai],
    ["anthropic_key", `claude call with ${f.anthropic}`, f.anthropic],
    ["sendgrid_key", `mail via ${f.sendgrid}`, f.sendgrid],
    ["npm_token", `//registry.npmjs.org/:_authToken=${f.npm}`, f.npm],
    ["huggingface_token", `hub ${f.hf}`, f.hf],
    ["private_key", `key:\n${f.pem}\nend`, f.pemLines[1]],
    ["connection_string", `postgres://app:${f.pw}@db.internal:5432/orders`, f.pw],
    ["connection_string", `redis://:${f.pw}@cache:6379/0`, f.pw],
    ["url_credentials", `https://deploy:${f.pw}@ci.example.com/hook`, f.pw],
    ["discord_webhook", `https://discord.com/api/webhooks/1234567890/${f.vendor(B64URL, 68)}`, f.last],
    [
      "teams_webhook",
      `https://acme.webhook.office.com/webhookb2/${crypto.randomUUID()}@${crypto.randomUUID()}/IncomingWebhook/${
        f.vendor(HEX, 32)
      }/${crypto.randomUUID()}`,
      f.last,
    ],
    ["azure_sas", `https://a.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=${f.vendor(ALNUM, 43)}%3D`, f.last],
    ["shopify_token", `shop ${cat("shp", "at_")}${f.vendor(HEX, 32)}`, f.last],
    ["vault_token", `VAULT_TOKEN=${cat("hv", "s.")}${f.vendor(B64URL, 90)}`, f.last],
    ["pypi_token", `upload with ${cat("pypi", "-AgEI")}${f.vendor(B64URL, 100)}`, f.last],
    ["docker_token", `login -p ${cat("dckr", "_pat_")}${f.vendor(B64URL, 27)}`, f.last],
    ["databricks_token", `host=x ${cat("da", "pi")}${f.vendor(HEX, 32)}`, f.last],
    ["grafana_token", `grafana ${cat("gl", "sa_")}${f.vendor(ALNUM, 32)}_${f.pick(HEX, 8)}`, f.last],
    ["tailscale_key", `join ${cat("tskey", "-auth-")}${f.vendor(ALNUM, 30)}`, f.last],
    ["digitalocean_token", `doctl ${cat("do", "p_v1_")}${f.vendor(HEX, 64)}`, f.last],
    ["linear_key", `linear ${cat("lin", "_api_")}${f.vendor(ALNUM, 40)}`, f.last],
    ["groq_key", `groq ${cat("gs", "k_")}${f.vendor(ALNUM, 52)}`, f.last],
    ["notion_token", `notion ${cat("nt", "n_")}${f.vendor(ALNUM, 46)}`, f.last],
    ["aws_secret_key", `AWS_SECRET_ACCESS_KEY=${f.awsSecret}`, f.awsSecret],
    ["password", `{ password: '${f.pw}' }`, f.pw],
    ["token", `{"refresh_token":"${f.hex}"}`, f.hex],
    ["secret", `client_secret=${f.hex}`, f.hex],
    ["api_key", `X-Api-Key: ${f.hex}`, f.hex],
    ["authorization", `Authorization: Digest username="u", response="${f.hex}"`, f.hex],
    ["cookie", `Cookie: sid=${f.hex}`, f.hex],
    ["private_key", `{ ssh_private_key: '${f.hex}' }`, f.hex],
  ];
  const { redactText } = createRedactor();
  for (const [kind, text, secret] of cases) {
    const out = redactText(text);
    assertStringIncludes(out, `[REDACTED:${kind}]`, `${kind}: ${out}`);
    assert(!out.includes(secret), `${kind} leaked: ${out}`);
  }
  assertEquals([...new Set(cases.map((c) => c[0]))].sort(), [...REDACTION_KINDS].sort(), "every kind is covered");
});

Deno.test("redactText() keeps the user and host of a URL and the scheme word of an auth header", () => {
  const f = fakes(2);
  const { redactText } = createRedactor();
  assertEquals(
    redactText(`postgres://app_user:${f.pw}@db.internal:5432/orders?sslmode=require`),
    "postgres://app_user:[REDACTED:connection_string]@db.internal:5432/orders?sslmode=require",
  );
  assertEquals(redactText(`Authorization: Bearer ${f.opaque}`), "Authorization: Bearer [REDACTED:bearer]");
});

Deno.test("redactText() finds a PEM private key raw, JSON-escaped, split by util.inspect and truncated", () => {
  const f = fakes(3);
  const { redactText } = createRedactor();
  const forms = [
    f.pem,
    JSON.stringify({ private_key: f.pem, client_email: "svc@example.iam" }),
    inspect({ note: "x", key: f.pem }, INSPECT),
    JSON.stringify({ k: f.pem }).slice(0, 120) + "…[truncated 90 of 300 bytes]",
    `${f.pem.slice(0, 150).replace(/\n/g, " ")}…`,
  ];
  for (const text of forms) {
    const out = redactText(text);
    assertStringIncludes(out, "[REDACTED:private_key]", text);
    assertNoLeak(out, f.pemLines.map((l) => l.slice(0, 24)), text);
  }
  assertStringIncludes(redactText(JSON.stringify({ private_key: f.pem, client_email: "svc@example.iam" })), "svc@");
  const pub = cat("-----BEGIN ", "PUBLIC KEY-----\n", f.pemLines[1], "\n-----END ", "PUBLIC KEY-----");
  assertEquals(redactText(pub), pub, "public keys stay");
});

// --------------------------------------------------------------- key names

Deno.test("redact() treats key names case- and separator-insensitively", () => {
  const f = fakes(4);
  const { redact } = createRedactor();
  const input = {
    Password: f.pw,
    "api-key": f.hex,
    API_KEY: f.hex,
    apiKey: f.hex,
    "x-api-key": f.hex,
    "X-API-KEY": f.hex,
    PGPASSWORD: f.pw,
    "db.password": f.pw,
    client_secret: f.hex,
    refreshToken: f.hex,
    "X-Amz-Security-Token": f.hex,
    Authorization: `Digest username="u", response="${f.hex}"`,
    "Set-Cookie": `sid=${f.hex}; Path=/`,
    ssh_private_key: f.hex,
    aws_secret_access_key: f.awsSecret,
    passwordHash: f.hex,
    auth: f.basic,
  };
  assertEquals(redact(input), {
    Password: "[REDACTED:password]",
    "api-key": "[REDACTED:api_key]",
    API_KEY: "[REDACTED:api_key]",
    apiKey: "[REDACTED:api_key]",
    "x-api-key": "[REDACTED:api_key]",
    "X-API-KEY": "[REDACTED:api_key]",
    PGPASSWORD: "[REDACTED:password]",
    "db.password": "[REDACTED:password]",
    client_secret: "[REDACTED:secret]",
    refreshToken: "[REDACTED:token]",
    "X-Amz-Security-Token": "[REDACTED:token]",
    Authorization: "[REDACTED:authorization]",
    "Set-Cookie": "[REDACTED:cookie]",
    ssh_private_key: "[REDACTED:private_key]",
    aws_secret_access_key: "[REDACTED:aws_secret_key]",
    passwordHash: "[REDACTED:password]",
    auth: "[REDACTED:authorization]",
  });
});

Deno.test("redactText() finds secret keys in util.inspect, JSON, env, query, header, YAML and prose forms", () => {
  const f = fakes(5);
  const { redactText } = createRedactor();
  const cases: [string, string][] = [
    [`[ { user: 'ann', Password: '${f.pw}' } ]`, `[ { user: 'ann', Password: '[REDACTED:password]' } ]`],
    [`{ 'x-api-key': '${f.hex}', n: 1 }`, `{ 'x-api-key': '[REDACTED:api_key]', n: 1 }`],
    [`{"API_KEY":"${f.hex}","n":1} tail`, `{"API_KEY":"[REDACTED:api_key]","n":1} tail`],
    [`{ "apiKey": "${f.hex}" } tail`, `{ "apiKey": "[REDACTED:api_key]" } tail`],
    [`DB_PASSWORD=${f.pw}\nLOG=info`, `DB_PASSWORD=[REDACTED:password]\nLOG=info`],
    [`/cb?code=1&access_token=${f.hex}&state=2`, `/cb?code=1&access_token=[REDACTED:token]&state=2`],
    [`Cookie: sid=${f.hex}; lang=en\r\nHost: x`, `Cookie: [REDACTED:cookie]\r\nHost: x`],
    [`db:\n  password: ${f.pw}\n  host: h`, `db:\n  password: [REDACTED:password]\n  host: h`],
    [
      `Server=s;User ID=u;Password=${f.pw};Encrypt=true`,
      `Server=s;User ID=u;Password=[REDACTED:password];Encrypt=true`,
    ],
    [`{:secret => "${f.hex}"}`, `{:secret => "[REDACTED:secret]"}`],
    [`{User:alice Password:${f.pw} Port:5432}`, `{User:alice Password:[REDACTED:password] Port:5432}`],
    [`vendor rejected api key ${f.pw}.`, `vendor rejected api key [REDACTED:api_key].`],
    [`login failed with password ${f.pw}`, `login failed with password [REDACTED:password]`],
    [`secret: '${f.pw}\\n' +\n    'more'`, `secret: '[REDACTED:secret]'`],
  ];
  for (const [text, expected] of cases) assertEquals(redactText(text), expected, text);
});

Deno.test("redactText() leaves non-secret keys, numbers, literals and look-alike words alone", () => {
  const { redactText, redact } = createRedactor();
  const texts = [
    inspect({ ...CONTROL_FIELDS }, INSPECT),
    JSON.stringify(CONTROL_FIELDS),
    "password_reset_count: 3, max_tokens=4096, token_type: Bearer, tokenizer: wordpiece",
    "password: null, token: undefined, secret: true, api_key: 42",
    "Please reset your password via the link. The token expired. The bearer token was rejected.",
    "https://example.com/reset-password?id=5 and /api/token/refresh",
    "X-Amz-Credential=[REDACTED:aws_access_key]%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
  ];
  for (const t of texts) assertEquals(redactText(t), t);
  assertEquals(redact({ ...CONTROL_FIELDS }), { ...CONTROL_FIELDS });
});

// ---------------------------------------------------------------- JSON

Deno.test("redact() redacts JSON inside strings inside JSON and writes each level back the same way", () => {
  const f = fakes(6);
  const { redact } = createRedactor();
  const inner = JSON.stringify({ password: f.pw, region: "eu-west-1" });
  const middle = JSON.stringify({ config: inner, id: "cfg-1" }, null, 2);
  const result = {
    workflow: { workflowId: "wf-7", status: "ERROR", createdAt: "2026-01-01T00:00:00.000Z", input: middle },
    n: 3,
  };
  const out = redact(result);
  assertEquals(out.workflow.workflowId, "wf-7");
  assertEquals(out.workflow.status, "ERROR");
  assertEquals(out.workflow.createdAt, "2026-01-01T00:00:00.000Z");
  assertEquals(out.n, 3);
  const parsed = JSON.parse(out.workflow.input);
  assertEquals(out.workflow.input, JSON.stringify(parsed, null, 2), "indentation kept");
  assertEquals(JSON.parse(parsed.config), { password: "[REDACTED:password]", region: "eu-west-1" });
  assert(!JSON.stringify(out).includes(f.pw));
});

Deno.test("redactText() redacts escaped JSON inside text without parsing it", () => {
  const f = fakes(7);
  const { redactText } = createRedactor();
  const text = `error: body {\\"token\\":\\"${f.hex}\\",\\"id\\":\\"req-1\\"} rejected`;
  assertEquals(redactText(text), `error: body {\\"token\\":\\"[REDACTED:token]\\",\\"id\\":\\"req-1\\"} rejected`);
});

Deno.test("redactText() keeps a JSON document that would not round-trip (big numbers) byte for byte", () => {
  const f = fakes(8);
  const { redactText } = createRedactor();
  const text = `{"id": 12345678901234567890123, "password": "${f.pw}", "at": 1.50}`;
  assertEquals(redactText(text), `{"id": 12345678901234567890123, "password": "[REDACTED:password]", "at": 1.50}`);
});

// ---------------------------------------------------------------- options

Deno.test("createRedactor() adds extra keys and patterns from options", () => {
  const f = fakes(9);
  const { redactText, redact } = createRedactor({
    keys: ["ssn", "session id"],
    patterns: [
      { kind: "internal_token", pattern: "itk_[A-Za-z0-9]{20,}" },
      { kind: "order_secret", pattern: "order-secret=(?<secret>[a-f0-9]{40})", flags: "i" },
    ],
  });
  assertEquals(redact({ customerSSN: "078-05-1120", "X-Session-Id": "abc123", ssn_count: 2 }), {
    customerSSN: "[REDACTED:ssn]",
    "X-Session-Id": "[REDACTED:session_id]",
    ssn_count: 2,
  });
  const itk = "itk_" + f.pick(ALNUM, 24);
  assertEquals(redactText(`use ${itk} now`), "use [REDACTED:internal_token] now");
  assertEquals(redactText(`ORDER-SECRET=${f.hex};`), "ORDER-SECRET=[REDACTED:order_secret];");
});

Deno.test("createRedactor() never redacts allowlisted values, exact or by regex", () => {
  const f = fakes(10);
  const signature = f.pick(HEX, 64);
  const presigned = "https://reports.s3.amazonaws.com/a.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
    `&X-Amz-Credential=${f.awsId}%2F20260131%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=${f.hex}` +
    `&X-Amz-Signature=${signature}`;
  const text = inspect({ reportUrl: presigned, demo: f.stripe, password: f.pw }, INSPECT);
  const plain = createRedactor().redactText(text);
  assert(!plain.includes(f.awsId) && !plain.includes(f.hex) && !plain.includes(f.stripe));
  assertStringIncludes(plain, signature, "a request signature is not a credential");

  const allowed = createRedactor({ allow: [f.stripe, String.raw`https://reports\.s3\.amazonaws\.com/[^\s'"]*`] });
  const out = allowed.redactText(text);
  assertStringIncludes(out, presigned);
  assertStringIncludes(out, f.stripe);
  assertStringIncludes(out, "password: '[REDACTED:password]'");
  assertEquals(allowed.redactText(out), out);
  assertEquals(allowed.redact({ api_key: f.stripe }), { api_key: f.stripe });
});

Deno.test("createRedactor() ignores keys and disables kinds on request", () => {
  const f = fakes(11);
  const { redact, redactText } = createRedactor({ ignoreKeys: ["token"], disable: ["jwt", "cookie"] });
  const uuid = crypto.randomUUID();
  assertEquals(redact({ token: uuid, Cookie: "a=b", password: f.pw }), {
    token: uuid,
    Cookie: "a=b",
    password: "[REDACTED:password]",
  });
  assertEquals(redactText(`trace ${f.jwt}`), `trace ${f.jwt}`);
});

Deno.test("createRedactor() rejects invalid options with a RedactOptionsError naming the option", () => {
  const bad: [unknown, string][] = [
    [{ nope: 1 }, "nope"],
    [{ keys: "password" }, "keys"],
    [{ keys: [""] }, "keys[0]"],
    [{ keys: ["--"] }, "keys[0]"],
    [{ patterns: {} }, "patterns"],
    [{ patterns: [{ kind: "x", pattern: "(" }] }, "patterns[0].pattern"],
    [{ patterns: [{ kind: "x", pattern: "a*" }] }, "patterns[0].pattern"],
    [{ patterns: [{ kind: "Bad Kind", pattern: "a" }] }, "patterns[0].kind"],
    [{ patterns: [{ kind: "x", pattern: "a", flags: "g" }] }, "patterns[0].flags"],
    [{ patterns: [{ kind: "x", pattern: "a", extra: 1 }] }, "patterns[0].extra"],
    [{ allow: [3] }, "allow[0]"],
    [{ disable: ["jwtt"] }, "disable[0]"],
    [[], "(options)"],
  ];
  for (const [options, option] of bad) {
    const err = assertThrows(() => createRedactor(options as RedactOptions));
    assert(err instanceof RedactOptionsError, `${JSON.stringify(options)}: ${err}`);
    assert(err instanceof ConfigError);
    assertEquals(err.name, "RedactOptionsError");
    assertEquals(err.option, option);
    assertEquals(err.code, "CONFIG");
    assertStringIncludes(err.message, `'${option}'`);
  }
  assertStringIncludes(
    assertThrows(() => createRedactor({ patterns: [{ kind: "x", pattern: "(" }] })).message,
    "is not a valid regex",
  );
  assert(REDACTION_KINDS.includes("jwt") && REDACTION_KINDS.includes("password"));
});

// ------------------------------------------------------- robustness

Deno.test("redact() never mutates its input and redacting twice equals redacting once", () => {
  const f = fakes(12);
  const { redact, redactText } = createRedactor();
  const input = {
    input: inspect([SECRETS_INPUT], INSPECT),
    output: inspect(secretsOutput(SECRETS_INPUT), INSPECT),
    nested: { list: [f.jwt, { password: f.pw }], when: "2026-01-31T12:34:56.789Z" },
  };
  const before = structuredClone(input);
  const once = redact(input);
  assertEquals(input, before);
  assertEquals(redact(once), once);
  for (const s of [...SECRETS_STEPS.map((s) => JSON.stringify(s)), input.input, input.output]) {
    const r = redactText(s);
    assertEquals(redactText(r), r);
  }
});

Deno.test("redactText() and redact() are idempotent on random mixes of secrets, keys, quotes and markers", () => {
  const pick = fakePicker(99);
  const bits = [
    ...["password", "Password", ": ", "=", "'", '"', "`", "\\", '\\"', "\n", " ", ",", "{", "}", "[", "]", " + "],
    ...["Bearer ", "Basic ", "token", "api key ", "x-api-key", "Cookie: ", "Authorization: ", "secret is ", "…"],
    ...[cat("-----BEGIN ", "PRIVATE KEY-----"), cat("-----END ", "PRIVATE KEY-----"), "postgres://u:", "@h/db"],
    ...["[REDACTED:token]", "eyJ", ".", ...SEEDED_SECRETS.slice(0, 20)],
  ];
  const any = () => bits[Number.parseInt(pick(HEX, 2), 16) % bits.length];
  const { redact, redactText } = createRedactor({ allow: ["keep", "h/db"] });
  for (let i = 0; i < 3000; i++) {
    const text = Array.from({ length: 1 + (i % 16) }, any).join("");
    const once = redactText(text);
    assertEquals(redactText(once), once, JSON.stringify(text));
    if (i % 10 === 0) {
      const value = { password: text, note: JSON.stringify({ inner: text, token: text }), list: [text] };
      const r = redact(value);
      assertEquals(redact(r), r, JSON.stringify(text));
    }
  }
});

Deno.test("redact() and redactText() never throw on cycles, deep nesting, huge strings and odd characters", () => {
  const f = fakes(13);
  const { redact, redactText } = createRedactor({ allow: ["keep-me"] });
  const cyclic: Record<string, unknown> = { password: f.pw };
  cyclic.self = cyclic;
  const out = redact(cyclic);
  assertEquals(out.password, "[REDACTED:password]");
  assertEquals(out.self, "[Circular]");

  let deep: unknown = { password: f.pw };
  for (let i = 0; i < 10_000; i++) deep = [deep];
  redact(deep);
  const deepJson = "[".repeat(5000) + JSON.stringify({ password: f.pw }) + "]".repeat(5000);
  assert(!redactText(deepJson).includes(f.pw));

  const odd = [
    "\u0000password=\u0000" + f.pw,
    `İİİ password: '${f.pw}' 🔑 עברית`,
    "\uE000\uE001 keep-me " + f.github,
    "'".repeat(10_000) + `password: '${f.pw}`,
    "-----BEGIN PRIVATE KEY-----".repeat(1000),
    "eyJ".repeat(100_000),
    "://".repeat(100_000) + `redis://b:${f.pw}@c`,
    "password=".repeat(50_000),
  ];
  for (const text of odd) {
    const r = redactText(text);
    assert(!r.includes(f.pw) && !r.includes(f.github), text.slice(0, 40));
  }
  assertStringIncludes(redactText("\uE000\uE001 keep-me " + f.github), "\uE000\uE001 keep-me [REDACTED:github_token]");

  const big = (`{ id: '${crypto.randomUUID()}', note: 'ok', password: '${f.pw}' }\n`).repeat(60_000);
  const t0 = performance.now();
  const r = redactText(big);
  assert(performance.now() - t0 < 20_000, "a 5 MB string takes seconds at most");
  assert(!r.includes(f.pw));

  const values = [
    undefined,
    null,
    1n,
    Symbol("s"),
    () => 1,
    new Date(0),
    new Map([["token", f.hex]]),
    new Set([f.jwt]),
  ];
  for (const v of values) redact(v);
  assertEquals((redact(new Map([["token", f.hex]])) as Map<string, string>).get("token"), "[REDACTED:token]");
  const err = redact(new Error(`bad key ${f.github}`)) as unknown as Record<string, string>;
  assert(!err.message.includes(f.github) && !String(err.stack).includes(f.github));
  assertEquals(redactText(undefined as unknown as string), "undefined");
});

// ------------------------------------------------------- the sample app

/** What an executor returns for the `secrets` workflow (as DBOS's Conductor protocol renders it). */
function executorRendering(): { workflow: Workflow; steps: Step[] } {
  const errorJson = (message: string) => {
    const err = new Error(message);
    return JSON.stringify({ name: err.name, message: err.message, stack: err.stack });
  };
  const workflow: Workflow = {
    workflowId: "wf-secrets-1",
    status: "SUCCESS",
    workflowName: "secrets",
    input: inspect([SECRETS_INPUT], INSPECT),
    output: inspect(secretsOutput(SECRETS_INPUT), INSPECT),
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:01.000Z",
    appVersion: "v1",
    executorId: "local",
  };
  const steps: Step[] = SECRETS_STEPS.map((s, i) => ({
    stepId: i + 1,
    stepName: s.name,
    ...("error" in s ? { error: errorJson(s.error) } : { output: inspect(s.output, INSPECT) }),
    startedAt: String(1767225600000 + i),
    completedAt: String(1767225600000 + i + 1),
  }));
  return { workflow, steps };
}

function toolResult(structured: Record<string, unknown>, text: string): ToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

const CALL: CallInfo = {
  id: "call-1",
  tool: "get_workflow",
  mutates: false,
  args: {},
  session: { id: "s-1" },
  startedAt: 1767225600000,
};

Deno.test("the sample app seeds at least 50 secrets of at least 8 kinds in inputs, outputs, errors and steps", () => {
  assert(SEEDED_SECRETS.length >= 50, `${SEEDED_SECRETS.length} seeded`);
  assertEquals(new Set(SEEDED_SECRETS).size, SEEDED_SECRETS.length, "distinct");
  assert(new Set(SEEDS.map((s) => s.kind)).size >= 8);
  assertEquals(new Set(SEEDS.map((s) => s.place)), new Set(["input", "output", "step_output", "step_error"]));
  const { workflow, steps } = executorRendering();
  const everything = JSON.stringify({ workflow, steps });
  const rendered = [workflow.input, workflow.output, ...steps.map((s) => s.output ?? s.error)].join("\n");
  for (const s of SEEDED_SECRETS) assert(rendered.includes(s), `seeded ${s.slice(0, 12)} is in the workflow`);
  for (const c of CONTROL_VALUES) assert(everything.includes(c), `control ${c} is in the workflow`);
});

Deno.test("transformResult() leaves no seeded secret in what get_workflow, list_steps and list_workflows return", async () => {
  const plugin = await redactPlugin({});
  assertEquals(plugin.name, "redact");
  const { workflow, steps } = executorRendering();
  const results: ToolResult[] = [];
  const get = { application: "sample-app", workflow };
  results.push(toolResult(get, getWorkflow.render(get)));
  const withSteps = { ...get, steps, failing_step: 2 };
  results.push(toolResult(withSteps, getWorkflow.render(withSteps)));
  const list = { application: "sample-app", workflow_id: workflow.workflowId, steps, count: steps.length };
  results.push(toolResult(list, listSteps.render(list)));
  const wfs = { application: "sample-app", workflows: [workflow], count: 1 };
  results.push(toolResult(wfs, listWorkflows.render(wfs)));
  results.push({ content: [{ type: "text", text: `wf-secrets-1 failed: ${steps[1].error}` }], isError: true });

  for (const result of results) {
    const before = structuredClone(result);
    const out = await plugin.transformResult!(CALL, result);
    assertEquals(result, before, "the input result is not changed");
    assertEquals(out.isError, result.isError);
    assertNoLeak(JSON.stringify(out), SEEDED_SECRETS, "a redacted result");
    const text = out.content.map((c) => c.text).join("\n");
    assertStringIncludes(text, "wf-secrets-1");
    if (out.structuredContent) {
      const w = (out.structuredContent as { workflow?: Workflow; workflows?: Workflow[] }).workflow ??
        (out.structuredContent as { workflows?: Workflow[] }).workflows?.[0];
      if (w) {
        for (const c of CONTROL_VALUES) assertStringIncludes(String(w.output), c);
        for (const k of ["workflowId", "status", "createdAt", "updatedAt", "executorId"] as const) {
          assertEquals(w[k], workflow[k]);
        }
        assertStringIncludes(String(w.output), "password_reset_count: 3");
        assertStringIncludes(String(w.output), "max_tokens: 4096");
      }
    }
  }
});

Deno.test("every seeded secret is reported with its own kind", () => {
  const { redactText } = createRedactor();
  const { workflow, steps } = executorRendering();
  const out = [workflow.input, workflow.output, ...steps.map((s) => s.output ?? s.error)].map((t) =>
    redactText(String(t))
  ).join("\n");
  const kinds = new Set(SEEDS.map((s) => s.kind));
  for (const k of kinds) assertStringIncludes(out, `[REDACTED:${k}]`);
});

Deno.test("redactResult() withholds a structured result it cannot walk instead of passing it on", () => {
  const redactor = { redact: <T>(_v: T): T => "[REDACTED:unprocessable]" as T, redactText: (t: string) => t };
  assertThrows(() => redactResult(redactor, toolResult({ a: 1 }, "x")), "could not be redacted");
});

Deno.test("the redact plugin's factory rejects invalid options", async () => {
  const err = await Promise.resolve().then(() => redactPlugin({ keys: 5 })).catch((e) => e);
  assert(err instanceof RedactOptionsError);
  assertEquals(err.option, "keys");
});

// --------------------------------------------------- through the pipeline

/** A backend that answers with the executor rendering of the `secrets` workflow. */
class SecretsBackend extends StaticBackend {
  readonly #steps: Step[];
  constructor() {
    const { workflow, steps } = executorRendering();
    super("conductor", [workflow]);
    this.#steps = steps;
  }
  override listSteps() {
    return Promise.resolve(this.#steps);
  }
}

Deno.test("with the redact plugin loaded, no tool result carries a seeded secret", async () => {
  await using mcp = await connectInProcess({
    backend: new SecretsBackend(),
    log: () => {},
    config: { plugins: ["redact"] },
  });
  const app = "sample-app";
  const id = "wf-secrets-1";
  const calls: [string, Record<string, unknown>][] = [
    ["get_workflow", { application_name: app, workflow_id: id }],
    ["get_workflow", { application_name: app, workflow_id: id, full: true, include_steps: true }],
    ["list_steps", { application_name: app, workflow_id: id }],
    ["list_steps", { application_name: app, workflow_id: id, full: true }],
    ["list_workflows", { application_name: app, load_input: true, load_output: true }],
  ];
  for (const [name, args] of calls) {
    const res = await mcp.client.callTool({ name, arguments: args });
    assert(!res.isError, `${name}: ${textOf(res)}`);
    assertNoLeak(JSON.stringify(res), SEEDED_SECRETS, name);
    assertStringIncludes(textOf(res), id);
  }
  const full = await mcp.client.callTool({
    name: "get_workflow",
    arguments: { application_name: app, workflow_id: id, full: true },
  });
  const output = String((full.structuredContent as { workflow: Workflow }).workflow.output);
  for (const c of CONTROL_VALUES) assertStringIncludes(output, c);
});

Deno.test("redactingBackend() redacts what a backend returns, so a byte_offset page cannot start inside a secret", async () => {
  const { workflow, steps } = executorRendering();
  class Backend extends StaticBackend {
    override listSteps() {
      return Promise.resolve(steps);
    }
  }
  const inner = new Backend("conductor", [workflow]);
  const backend = redactingBackend(inner, createRedactor());
  assertEquals(backend.kind, "conductor");
  const got = await backend.getWorkflow("sample-app", workflow.workflowId);
  assertEquals(got.workflowId, workflow.workflowId);
  assertEquals(got.createdAt, workflow.createdAt);
  assertNoLeak(JSON.stringify([got, await backend.listSteps()]), SEEDED_SECRETS, "backend answers");
  await backend.cancelWorkflow("sample-app", "wf-1");
  assertEquals(inner.mutations, ["cancel wf-1"]);

  await using mcp = await connectInProcess({ backend, log: () => {}, config: { plugins: ["redact"] } });
  const input = String(workflow.input);
  for (const secret of SEEDED_SECRETS.filter((s) => input.includes(s))) {
    const res = await mcp.client.callTool({
      name: "get_workflow",
      arguments: {
        application_name: "sample-app",
        workflow_id: workflow.workflowId,
        fields: ["input"],
        byte_offset: input.indexOf(secret) + 6,
      },
    });
    assert(!JSON.stringify(res).includes(secret.slice(6, 22)), `page starting inside ${secret.slice(0, 8)}`);
  }
});

// ------------------------------------------------------- measured gaps

Deno.test("redactText() decodes base64 of JSON, redacts it, and encodes it back the same way", () => {
  const f = fakes(20);
  const { redactText, redact } = createRedactor();
  const doc = JSON.stringify({ user: "svc", password: f.pw, region: "eu-west-1" });
  const std = btoa(doc);
  const url = std.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  for (const encoded of [std, url]) {
    const out = redactText(`config=${encoded} loaded`);
    assert(!out.includes(encoded), out);
    const back = /config=(\S+) loaded/.exec(out)![1];
    const decoded = atob(back.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - back.length % 4) % 4));
    assertEquals(JSON.parse(decoded), { user: "svc", password: "[REDACTED:password]", region: "eu-west-1" });
    assertEquals(redactText(out), out, "idempotent");
  }
  assertEquals(redact({ blob: std }).blob === std, false);
  // Controls: base64 of JSON without a secret, and base64 that is not JSON, stay byte for byte.
  const harmless = btoa(JSON.stringify({ user: "svc", region: "eu-west-1", count: 3 }));
  assertEquals(redactText(`config=${harmless}`), `config=${harmless}`);
  const random = f.pick(B64, 88);
  assertEquals(redactText(`blob ${random}`), `blob ${random}`);
});

Deno.test("redactText() redacts URL-encoded key=value pairs and connection strings", () => {
  const f = fakes(21);
  const { redactText } = createRedactor();
  const q = `next=%2Flogin%3Fuser%3Dann%26password%3D${f.pw}%26lang%3Den`;
  const out = redactText(q);
  assert(!out.includes(f.pw), out);
  assertStringIncludes(out, "[REDACTED:password]");
  assertStringIncludes(out, "next=%2Flogin%3Fuser%3Dann%26password%3D");
  assertStringIncludes(out, "%26lang%3Den");
  const conn = `dsn=postgres%3A%2F%2Fapp%3A${f.pw}%40db.internal%3A5432%2Forders`;
  const c = redactText(conn);
  assert(!c.includes(f.pw), c);
  assertStringIncludes(c, "[REDACTED:connection_string]");
  assertStringIncludes(c, "db.internal");
  assertEquals(redactText(c), c, "idempotent");
  // Controls: encoded text without a secret stays.
  for (const keep of ["q=caf%C3%A9%20au%20lait&page=2", "next=%2Fdocs%3Fsection%3Dpassword-reset", "100%25 done"]) {
    assertEquals(redactText(keep), keep);
  }
});

Deno.test("redact() and redactText() redact a PEM private key stored as an array of lines", () => {
  const f = fakes(22);
  const { redact, redactText } = createRedactor();
  const lines = f.pem.split("\n");
  const value = { note: "ok", key_lines: lines, other: ["a", "b"] };
  const out = redact(value);
  assertNoLeak(JSON.stringify(out), f.pemLines);
  assertEquals(out.note, "ok");
  assertEquals(out.other, ["a", "b"]);
  for (const text of [JSON.stringify(value), inspect(value, INSPECT), JSON.stringify(value, null, 2)]) {
    const r = redactText(text);
    assertNoLeak(r, f.pemLines, text);
    assertStringIncludes(r, "[REDACTED:private_key]");
    assertStringIncludes(r, "other");
  }
  const pub = [cat("-----BEGIN ", "PUBLIC KEY-----"), f.pemLines[1], cat("-----END ", "PUBLIC KEY-----")];
  assertEquals(redact({ pub }), { pub }, "a public key's lines stay");
});

Deno.test("redactText() redacts a PuTTY private key but keeps what follows it", () => {
  const f = fakes(23);
  const { redactText } = createRedactor();
  const priv = f.pick(B64, 44);
  const mac = f.pick(HEX, 64);
  const ppk = [
    "PuTTY-User-Key-File-3: ssh-ed25519",
    "Encryption: none",
    "Comment: deploy@ci",
    "Public-Lines: 2",
    f.pick(B64, 64),
    f.pick(B64, 4),
    "Private-Lines: 1",
    priv,
    `Private-MAC: ${mac}`,
  ].join("\n");
  for (const text of [ppk, JSON.stringify({ key: ppk, host: "bastion" }), inspect({ key: ppk }, INSPECT)]) {
    const out = redactText(text);
    assertNoLeak(out, [priv, mac], text);
    assertStringIncludes(out, "[REDACTED:private_key]");
  }
  assertStringIncludes(redactText(JSON.stringify({ key: ppk, host: "bastion" })), "bastion");
});

Deno.test("redactText() redacts Microsoft Teams webhooks, Azure SAS signatures and JWE tokens", () => {
  const f = fakes(24);
  const { redactText } = createRedactor();
  const guid = () => crypto.randomUUID();
  const teamsSecret = f.pick(HEX, 32);
  const teams =
    `https://contoso.webhook.office.com/webhookb2/${guid()}@${guid()}/IncomingWebhook/${teamsSecret}/${guid()}`;
  const t = redactText(`post to ${teams} now`);
  assert(!t.includes(teamsSecret), t);
  assertStringIncludes(t, "[REDACTED:teams_webhook]");
  assertStringIncludes(t, "https://contoso.webhook.office.com/webhookb2/");

  const sig = encodeURIComponent(f.pick(B64, 43) + "=");
  for (
    const sas of [
      `https://acct.blob.core.windows.net/c/f.csv?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig=${sig}`,
      `https://acct.blob.core.windows.net/c/f.csv?sp=r&st=2026-01-01&se=2030-01-01&spr=https&sv=2022-11-02&sr=b&sig=${sig}`,
      `BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=${sig}`,
    ]
  ) {
    const out = redactText(sas);
    assert(!out.includes(sig), out);
    assertStringIncludes(out, "sig=[REDACTED:azure_sas]");
    assertStringIncludes(out, "sv=2022-11-02");
  }
  // Control: an AWS presigned URL's signature, and a sig= outside a SAS, stay.
  const presigned = CONTROL_VALUES.find((v) => v.includes("X-Amz-Signature"))!;
  assertEquals(redactText(presigned), presigned);
  assertEquals(redactText("https://example.com/img?sig=abc123&w=200"), "https://example.com/img?sig=abc123&w=200");

  const b64u = (s: string) => btoa(s).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const header = b64u(JSON.stringify({ alg: "dir", enc: "A256GCM" }));
  const parts = [f.pick(B64URL, 16), f.pick(B64URL, 120), f.pick(B64URL, 22)];
  const jweDir = [header, "", ...parts].join(".");
  const jweKey = [b64u(JSON.stringify({ alg: "RSA-OAEP", enc: "A256GCM" })), f.pick(B64URL, 342), ...parts].join(".");
  for (const jwe of [jweDir, jweKey]) {
    const out = redactText(`cookie value ${jwe} end`);
    assertEquals(out, "cookie value [REDACTED:jwt] end", jwe.slice(0, 30));
  }
});

Deno.test("redactText() redacts XML <password> elements, with namespaces and CDATA", () => {
  const f = fakes(25);
  const { redactText } = createRedactor();
  const cases: [string, string][] = [
    [`<user><name>ann</name><password>${f.pw}</password></user>`, "<password>[REDACTED:password]</password>"],
    [`<db:Password type="plain">${f.pw}</db:Password>`, '<db:Password type="plain">[REDACTED:password]</db:Password>'],
    [`<apiKey><![CDATA[${f.pw}]]></apiKey>`, "<apiKey>[REDACTED:api_key]</apiKey>"],
    [`<client_secret>\n  ${f.pw}\n</client_secret>`, "<client_secret>\n  [REDACTED:secret]\n</client_secret>"],
  ];
  for (const [text, want] of cases) {
    const out = redactText(text);
    assertStringIncludes(out, want, text);
    assert(!out.includes(f.pw));
  }
  // Controls: non-secret elements and empty or nested elements stay.
  for (const keep of ["<name>ann</name>", "<token_type>Bearer</token_type>", "<password></password>", "<password/>"]) {
    assertEquals(redactText(keep), keep);
  }
  assertEquals(redactText("<password><hash>x</hash></password>"), "<password><hash>x</hash></password>");
});

Deno.test("redact() and redactText() know key names in other spellings and languages", () => {
  const f = fakes(26);
  const { redact, redactText } = createRedactor();
  const keys: [string, string][] = [
    ["passcode", "password"],
    ["pass_phrase", "password"],
    ["passPhrase", "password"],
    ["pass-word", "password"],
    ["passwort", "password"],
    ["Kennwort", "password"],
    ["mot_de_passe", "password"],
    ["motDePasse", "password"],
    ["contraseña", "password"],
    ["senha", "password"],
    ["wachtwoord", "password"],
    ["lösenord", "password"],
    ["hasło", "password"],
    ["пароль", "password"],
    ["密码", "password"],
    ["db_passwort", "password"],
    ["geheimnis", "secret"],
  ];
  for (const [key, kind] of keys) {
    assertEquals(redact({ [key]: f.pw }), { [key]: `[REDACTED:${kind}]` }, key);
    for (const text of [`${key}=${f.pw}`, JSON.stringify({ [key]: f.pw }), inspect({ [key]: f.pw })]) {
      const out = redactText(text);
      assert(!out.includes(f.pw), `${key}: ${out}`);
    }
  }
  // Controls: words that merely contain the letters stay.
  const keep = { passage: "intro", compass: "north", passenger: "ann", passed: "yes", password_reset_count: 3 };
  assertEquals(redact(keep), keep);
  assertEquals(redactText(JSON.stringify(keep)), JSON.stringify(keep));
});

Deno.test("redactText() redacts a URL password that holds a raw @", () => {
  const f = fakes(27);
  const { redactText } = createRedactor();
  const pw = `${f.pick(ALNUM, 8)}@${f.pick(ALNUM, 8)}`;
  for (const scheme of ["postgres", "https"]) {
    const out = redactText(`connect ${scheme}://app:${pw}@db.internal:5432/orders failed`);
    assert(!out.includes(pw.split("@")[0]) && !out.includes(pw.split("@")[1]), out);
    assertStringIncludes(out, "@db.internal:5432/orders failed");
    assertStringIncludes(out, `${scheme}://app:[REDACTED:`);
  }
  // Controls: an @ in the path or the query is not a password.
  for (const keep of ["https://example.com/users/@ann?x=1", "https://user@example.com/a@b", "mailto:a@b.c"]) {
    assertEquals(redactText(keep), keep);
  }
});

Deno.test("redact() and redactText() redact header pairs written as [name, value] arrays", () => {
  const f = fakes(28);
  const { redact, redactText } = createRedactor();
  const headers = [["Content-Type", "application/json"], ["X-Api-Key", f.hex], ["Authorization", `Digest ${f.hex}`]];
  const out = redact({ headers });
  assertEquals(out.headers, [
    ["Content-Type", "application/json"],
    ["X-Api-Key", "[REDACTED:api_key]"],
    ["Authorization", "[REDACTED:authorization]"],
  ]);
  for (const text of [JSON.stringify({ headers }), inspect({ headers }, INSPECT), inspect(new Headers(headers))]) {
    const r = redactText(text);
    assert(!r.includes(f.hex), r);
    assertStringIncludes(r, "application/json");
  }
  // Controls: a pair whose name is no secret key, and a longer list of names, stay.
  const keep = { pair: ["token_type", "Bearer"], fields: ["username", "password", "email"] };
  assertEquals(redact(keep), keep);
  assertEquals(redactText(JSON.stringify(keep)), JSON.stringify(keep));
});

Deno.test("redact() and redactText() see through zero-width characters inside key names", () => {
  const f = fakes(29);
  const { redact, redactText } = createRedactor();
  for (const zw of ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD"]) {
    const key = `pass${zw}word`;
    assertEquals(redact({ [key]: f.pw }), { [key]: "[REDACTED:password]" });
    for (const text of [`${key}=${f.pw}`, JSON.stringify({ [key]: f.pw }), `{ 'api${zw}_key': '${f.pw}' }`]) {
      assert(!redactText(text).includes(f.pw), JSON.stringify(text));
    }
  }
  assertEquals(redactText("note\u200B=visible"), "note\u200B=visible");
});

Deno.test("with the redact plugin loaded, diagnostics on stderr (a plugin's error text) are redacted too", async () => {
  const f = fakes(30);
  const lines: string[] = [];
  const leaky = {
    name: "leaky",
    transformResult: () => {
      throw new Error(`upstream refused password=${f.pw} and ${f.github}`);
    },
  };
  await using mcp = await connectInProcess({
    backend: new StaticBackend("conductor", []),
    log: (m) => lines.push(m),
    config: { plugins: ["redact"] },
    plugins: [leaky],
  });
  const res = await mcp.client.callTool({ name: "list_applications", arguments: {} });
  assertEquals(res.isError, true);
  const logged = lines.join("\n");
  assertStringIncludes(logged, "plugin 'leaky' failed in transformResult: upstream refused password=[REDACTED:");
  assertNoLeak(logged, [f.pw, f.github], "stderr");

  // Control: without the redact plugin the same line is written as it is (the hook is the plugin's).
  const raw: string[] = [];
  await using plain = await connectInProcess({
    backend: new StaticBackend("conductor", []),
    log: (m) => raw.push(m),
    plugins: [leaky],
  });
  await plain.client.callTool({ name: "list_applications", arguments: {} });
  assertStringIncludes(raw.join("\n"), f.pw);
});
