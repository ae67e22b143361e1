/**
 * Redaction benchmark: the redact plugin's hand-written rules against the
 * secretlint recommended rule preset (`@secretlint/secretlint-rule-preset-recommend`
 * run by `@secretlint/core`, each reported range replaced by a marker), on
 *
 * - coverage of the sample app's seeded secrets, in the text an executor
 *   returns for the `secrets` workflow (util.inspect for inputs and outputs,
 *   serialized-error JSON for errors);
 * - coverage of a wider hand-made corpus (shell history, env files, YAML,
 *   HTTP dumps, connection strings, Python/Go/Ruby renderings, logs);
 * - false positives: control values changed;
 * - speed: MB/s on a 1 MiB mixed document (tool results, logs, a few secrets).
 *
 * ```sh
 * deno run -A bench/redact_bench.ts
 * ```
 *
 * Prints a table. Nothing here runs in the test suite.
 *
 * @module
 */
import { inspect } from "node:util";
import { lintSource } from "@secretlint/core";
import { creator as recommendPreset } from "@secretlint/secretlint-rule-preset-recommend";
import { createRedactor } from "../plugins/redact.ts";
import {
  ALPHABETS,
  CONTROL_VALUES,
  fakePicker,
  SECRETS_INPUT,
  SECRETS_STEPS,
  secretsOutput,
  SEEDED_SECRETS,
} from "../tests/fixtures/sample_secrets.ts";

/** Epoch milliseconds as the ISO 8601 text v2 answers carry. */
const isoAt = (ms: number): string => new Date(ms).toISOString();

const { UPPER, DIGITS, HEX, ALNUM, B64URL, B64 } = ALPHABETS;
const INSPECT = { depth: null, maxArrayLength: null, maxStringLength: null } as const;

/** A document with the secrets it holds. */
interface Doc {
  name: string;
  text: string;
  secrets: string[];
}

/** A way of redacting text. */
interface Method {
  name: string;
  redact(text: string): Promise<string>;
}

// ------------------------------------------------------------------ corpora

function seededDocs(): Doc[] {
  const docs: Doc[] = [];
  const add = (name: string, text: string) =>
    docs.push({ name, text, secrets: SEEDED_SECRETS.filter((s) => text.includes(s)) });
  add("input", inspect([SECRETS_INPUT], INSPECT));
  add("output", inspect(secretsOutput(SECRETS_INPUT), INSPECT));
  for (const step of SECRETS_STEPS) {
    if ("error" in step) {
      const err = new Error(step.error);
      add(step.name, JSON.stringify({ name: err.name, message: err.message, stack: err.stack }));
    } else {
      add(step.name, inspect(step.output, INSPECT));
    }
  }
  return docs;
}

const cat = (...parts: string[]): string => parts.join("");

function widerDocs(): Doc[] {
  const pick = fakePicker(0xbe_4c_11);
  const s = {
    bearer: pick(B64URL, 40),
    awsSecret: pick(ALNUM + "/+", 40),
    awsId: cat("AK", "IA", pick(UPPER + DIGITS, 16)),
    glpat: cat("gl", "pat-", pick(B64URL, 20)),
    libpq: pick(ALNUM, 18),
    ado: pick(ALNUM, 20),
    pyKey: pick(ALNUM, 32),
    goPw: pick(ALNUM, 14),
    rubySecret: pick(ALNUM, 30),
    k8sPw: pick(ALNUM, 20),
    k8sStripe: cat("sk", "_live_", pick(ALNUM, 24)),
    dockerAuth: btoa("robot:" + pick(ALNUM, 24)),
    httpBasic: btoa("api:" + pick(ALNUM, 20)),
    httpCookie: pick(HEX, 32),
    prosePw: "Zq" + pick(ALNUM, 12) + "9",
    proseToken: pick(ALNUM, 32),
    clientSecret: pick(ALNUM, 40),
    refreshToken: pick(B64URL, 64),
    queryToken: pick(ALNUM, 36),
    slackHook: pick(ALNUM, 24),
    cookieJwt: [
      btoa(JSON.stringify({ alg: "RS256", typ: "JWT" })).replace(/=+$/, ""),
      btoa(JSON.stringify({ sub: "u1", exp: 1767312000 })).replace(/=+$/, ""),
      pick(B64URL, 86),
    ].join("."),
    rsaLines: Array.from({ length: 5 }, (_, i) => (i ? "" : "MIIEpAIBAAKCAQEA") + pick(B64, i ? 64 : 48)),
    sshLines: Array.from({ length: 4 }, (_, i) => (i ? "" : "b3BlbnNzaC1rZXktdjEAAAAA") + pick(B64, i ? 70 : 46)),
    npmrc: cat("np", "m_", pick(ALNUM, 36)),
    pypi: cat("py", "pi-", pick(B64URL, 60)),
    azureKey: pick(B64, 86) + "==",
    herokuPw: pick(HEX, 64),
    ghAuth: cat("gh", "o_", pick(ALNUM, 36)),
    redisPw: pick(ALNUM, 22),
    mysqlCli: pick(ALNUM, 12),
    proseAws: pick(ALNUM, 38) + "9Z",
    credsProse: pick(ALNUM, 14) + "7",
    discord: pick(B64URL, 68),
    twilio: pick(HEX, 32),
    datadog: pick(HEX, 32),
  };
  const rsa = [cat("-----BEGIN RSA ", "PRIVATE KEY-----"), ...s.rsaLines, cat("-----END RSA ", "PRIVATE KEY-----")]
    .join("\n");
  const ssh = [
    cat("-----BEGIN OPENSSH ", "PRIVATE KEY-----"),
    ...s.sshLines,
    cat("-----END OPENSSH ", "PRIVATE KEY-----"),
  ].join("\n");
  const docs: [string, string, string[]][] = [
    ["curl", `curl -H "Authorization: Bearer ${s.bearer}" https://api.example.com/v1/orders`, [s.bearer]],
    [
      "shell exports",
      `export AWS_ACCESS_KEY_ID=${s.awsId}\nexport AWS_SECRET_ACCESS_KEY="${s.awsSecret}"\n`,
      [s.awsId, s.awsSecret],
    ],
    ["git clone", `git clone https://oauth2:${s.glpat}@gitlab.example.com/team/repo.git`, [s.glpat]],
    ["libpq", `psql "host=db.internal user=app password=${s.libpq} dbname=orders sslmode=require"`, [s.libpq]],
    [
      "ado.net",
      `Server=tcp:sql.example.net,1433;Database=shop;User ID=app;Password=${s.ado};Encrypt=true;`,
      [s.ado],
    ],
    ["python repr", `{'api_key': '${s.pyKey}', 'timeout': 30, 'retries': 3}`, [s.pyKey]],
    ["go %+v", `config: {User:alice Password:${s.goPw} Port:5432}`, [s.goPw]],
    ["ruby hash", `{:user => "svc", :secret => "${s.rubySecret}"}`, [s.rubySecret]],
    [
      "k8s yaml",
      `apiVersion: v1\nkind: Secret\nstringData:\n  DATABASE_PASSWORD: ${s.k8sPw}\n  STRIPE_KEY: ${s.k8sStripe}\n`,
      [s.k8sPw, s.k8sStripe],
    ],
    ["docker config", JSON.stringify({ auths: { "registry.example.com": { auth: s.dockerAuth } } }), [s.dockerAuth]],
    [
      "http dump",
      `POST /v1/charges HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Basic ${s.httpBasic}\r\n` +
      `Cookie: sid=${s.httpCookie}; lang=en\r\n\r\n{"amount":100}`,
      [s.httpBasic, s.httpCookie],
    ],
    ["prose password", `login failed for admin with password ${s.prosePw} after 3 attempts`, [s.prosePw]],
    ["prose token", `retrying with token ${s.proseToken}`, [s.proseToken]],
    [
      "pretty json",
      JSON.stringify({ client_id: "app", client_secret: s.clientSecret, refresh_token: s.refreshToken }, null, 2),
      [s.clientSecret, s.refreshToken],
    ],
    [
      "query string",
      `GET https://api.example.com/cb?code=abc&access_token=${s.queryToken}&state=xyz`,
      [s.queryToken],
    ],
    ["slack webhook", `posting to https://hooks.slack.com/services/T01ABC/B02DEF/${s.slackHook}`, [s.slackHook]],
    ["set-cookie jwt", `Set-Cookie: id_token=${s.cookieJwt}; Path=/; HttpOnly`, [s.cookieJwt]],
    ["rsa pem", rsa, s.rsaLines],
    ["openssh pem", ssh, s.sshLines],
    ["npmrc", `//registry.npmjs.org/:_authToken=${s.npmrc}`, [s.npmrc]],
    ["pypi url", `https://__token__:${s.pypi}@upload.pypi.org/legacy/`, [s.pypi]],
    [
      "azure storage",
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${s.azureKey};EndpointSuffix=core.windows.net`,
      [s.azureKey],
    ],
    ["heroku url", `DATABASE_URL=postgres://u1a2b3:${s.herokuPw}@ec2-1-2-3-4.compute.amazonaws.com:5432/d9`, [
      s.herokuPw,
    ]],
    ["github header", `Authorization: token ${s.ghAuth}`, [s.ghAuth]],
    ["redis url", `rediss://default:${s.redisPw}@redis.example.com:6380/0`, [s.redisPw]],
    ["mysql cli", `mysql -u root -p${s.mysqlCli} shop`, [s.mysqlCli]],
    ["prose aws secret", `the secret is ${s.proseAws}`, [s.proseAws]],
    ["prose creds", `new credentials are admin / ${s.credsProse}`, [s.credsProse]],
    ["discord webhook", `https://discord.com/api/webhooks/123456789012345678/${s.discord}`, [s.discord]],
    ["twilio", `TWILIO_ACCOUNT_SID=AC${s.datadog}\nTWILIO_AUTH_TOKEN=${s.twilio}`, [s.twilio]],
    ["datadog", `DD_API_KEY=${s.datadog}`, [s.datadog]],
  ];
  return docs.map(([name, text, secrets]) => ({ name, text, secrets }));
}

function controlDocs(): string[] {
  const out = secretsOutput(SECRETS_INPUT);
  return [
    inspect(out.settings, INSPECT),
    inspect(out.controls, INSPECT),
    JSON.stringify(out.controls),
    CONTROL_VALUES.join("\n"),
    `stripe publishable ${cat("pk", "_live_")}${fakePicker(7)(ALNUM, 24)}`,
  ];
}

/** About 1 MiB of tool-result-like text with a secret every few KB. */
function mixedDocument(): string {
  const pick = fakePicker(0x1_00_00);
  const parts: string[] = [];
  let size = 0;
  const seeded = seededDocs();
  for (let i = 0; size < 1 << 20; i++) {
    const id = `wf-${pick(HEX, 8)}-${i}`;
    const created = 1767225600000 + i * 1000;
    let part: string;
    switch (i % 6) {
      case 0:
        part = JSON.stringify({
          workflowId: id,
          status: "SUCCESS",
          workflowName: "pipeline",
          createdAt: isoAt(created),
          input: inspect([{ orderId: `order-${i}`, amount: i * 3 }], INSPECT),
          output: inspect({ orderId: `order-${i}`, token: crypto.randomUUID(), stored: `at ${created}` }, INSPECT),
        });
        break;
      case 1:
        part = `#${i % 9}  transform  output: { total: ${i * 2}, label: 'order-${i}:${i * 2}' }`;
        break;
      case 2:
        part = `${new Date(created).toISOString()} INFO request ${pick(HEX, 16)} GET /orders/${i} 200 ${i % 97}ms`;
        break;
      case 3:
        part = JSON.stringify({ stepId: i, stepName: "store", output: `'stored ${id}'` }, null, 2);
        break;
      case 4:
        part = `sha256=${pick(HEX, 64)} blob=${pick(B64, 60)} id=${crypto.randomUUID()}`;
        break;
      default:
        part = i % 30 === 5 ? seeded[i % seeded.length].text : `step ${i} ok in ${i % 50} ms`;
    }
    parts.push(part);
    size += part.length + 1;
  }
  return parts.join("\n");
}

// ------------------------------------------------------------------ methods

function handWritten(): Method {
  const r = createRedactor();
  return { name: "hand-written (plugins/redact.ts)", redact: (text) => Promise.resolve(r.redactText(text)) };
}

function secretlint(enableAwsIdScan: boolean): Method {
  const rule = {
    id: "@secretlint/secretlint-rule-preset-recommend",
    rule: recommendPreset,
    rules: enableAwsIdScan ? [{ id: "@secretlint/secretlint-rule-aws", options: { enableIDScanRule: true } }] : [],
  };
  return {
    name: `secretlint preset-recommend${enableAwsIdScan ? " (+AWS id scan)" : ""}`,
    async redact(text) {
      const result = await lintSource({
        source: { filePath: "/result.txt", content: text, ext: ".txt", contentType: "text" },
        // deno-lint-ignore no-explicit-any
        options: { config: { rules: [rule as any] } },
      });
      const ranges = result.messages.map((m) => m.range).sort((a, b) => a[0] - b[0]);
      let out = "";
      let last = 0;
      for (const [a, b] of ranges) {
        if (b <= last) continue;
        out += text.slice(last, Math.max(a, last)) + "[REDACTED:secretlint]";
        last = b;
      }
      return out + text.slice(last);
    },
  };
}

// ---------------------------------------------------------------- measuring

async function coverage(method: Method, docs: Doc[]): Promise<{ found: number; total: number; missed: string[] }> {
  let found = 0;
  let total = 0;
  const missed: string[] = [];
  for (const doc of docs) {
    const out = await method.redact(doc.text);
    for (const secret of doc.secrets) {
      total++;
      if (out.includes(secret)) missed.push(doc.name);
      else found++;
    }
  }
  return { found, total, missed: [...new Set(missed)] };
}

async function falsePositives(method: Method, docs: string[]): Promise<number> {
  let changed = 0;
  for (const doc of docs) {
    const out = await method.redact(doc);
    for (const value of [...CONTROL_VALUES, ...doc.split("\n")]) {
      if (doc.includes(value) && !out.includes(value) && CONTROL_VALUES.includes(value)) changed++;
    }
    if (doc.startsWith("stripe publishable") && out !== doc) changed++;
  }
  return changed;
}

/** Median MB/s of each method over `runs` runs, interleaved so that load on the machine hits all alike. */
async function speeds(methods: Method[], text: string, runs: number): Promise<number[]> {
  for (const m of methods) await m.redact(text.slice(0, 100_000)); // warm up
  const times: number[][] = methods.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [j, m] of methods.entries()) {
      const t0 = performance.now();
      await m.redact(text);
      times[j].push(performance.now() - t0);
    }
  }
  return times.map((ts) => {
    ts.sort((a, b) => a - b);
    return text.length / (1 << 20) / (ts[Math.floor(ts.length / 2)] / 1000);
  });
}

function pad(text: string, n: number): string {
  return text.length >= n ? text : text + " ".repeat(n - text.length);
}

if (import.meta.main) {
  const seeded = seededDocs();
  const wider = widerDocs();
  const controls = controlDocs();
  const doc = mixedDocument();
  const methods = [handWritten(), secretlint(false), secretlint(true)];
  const rows: string[][] = [["method", "seeded secrets", "wider corpus", "controls changed", "MB/s (1 MiB mixed)"]];
  const misses: string[] = [];
  const mbpsOf = await speeds(methods, doc, 9);
  for (const [i, m] of methods.entries()) {
    const a = await coverage(m, seeded);
    const b = await coverage(m, wider);
    const fp = await falsePositives(m, controls);
    const mbps = mbpsOf[i];
    rows.push([
      m.name,
      `${a.found}/${a.total} (${(100 * a.found / a.total).toFixed(0)}%)`,
      `${b.found}/${b.total} (${(100 * b.found / b.total).toFixed(0)}%)`,
      String(fp),
      mbps.toFixed(1),
    ]);
    misses.push(`${m.name} missed: seeded [${a.missed.join(", ")}]; wider [${b.missed.join(", ")}]`);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => pad(c, widths[i])).join(" | ")} |`;
  console.log(`mixed document: ${(doc.length / (1 << 20)).toFixed(2)} MiB; seeded secrets: ${SEEDED_SECRETS.length}`);
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  console.log("");
  for (const m of misses) console.log(m);
}
