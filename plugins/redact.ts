// Secretlint evaluation (bench/redact_bench.ts, `deno run -A bench/redact_bench.ts`):
// the recommended preset (@secretlint/secretlint-rule-preset-recommend 13.0.7
// run by @secretlint/core 13.0.7, every reported range replaced by a marker)
// against these hand-written rules.
//
// | rules                         | seeded secrets (84, executor renderings) | wider corpus (42) | controls changed |
// |-------------------------------|------------------------------------------|-------------------|------------------|
// | hand-written (this plugin)    | 86/86 occurrences (100%)                 | 40/42 (95%)       | 0                |
// | secretlint preset             | 19/86 (22%)                              | 17/42 (40%)       | 0                |
// | secretlint + AWS id scan      | 22/86 (26%)                              | 18/42 (43%)       | 0                |
//
// (The seeded corpus grew from 66 to 84 with the encoded and re-shaped secrets of issue 18: base64 JSON,
// URL-encoded pairs and URLs, a key as an array of lines, header pairs, XML, other languages' key names, a
// zero-width key, a raw @ in a URL password, a PuTTY key, a Teams webhook, an Azure SAS, a JWE; on the 1 MiB
// mixed document after that change: 38 MB/s against secretlint's 41-61 MB/s in the same run.)
//
// Speed on a 1 MiB mixed document (tool results, logs, a secret every few KB),
// median of 9 interleaved runs on the shared 2-core machine: 34-88 MB/s for
// these rules against 26-64 MB/s for secretlint over several runs (the spread
// is the machine's load; in each run the two were within a factor of 1.5, and
// these rules were ahead in most). A typical tool result (under 100 KB) takes
// a few milliseconds either way.
//
// Decision: keep the hand-written rules; secretlint is not used. It wins on
// neither axis. It finds vendor tokens by shape but nothing by key name
// (`password: 'x'`, `client_secret`, `DB_PASSWORD=`, cookies), no JWT or
// bearer token, no URL credentials outside postgres/mysql/mongodb URLs, and no
// private key split the way util.inspect prints multi-line strings (which is
// how Conductor returns every input and output); it also wants a private key's
// body to start like real DER. On the wider corpus it found nothing that these
// rules miss (both miss `mysql -p<password>` and "admin / <password>" prose).
// Its preset does cover more vendors (Cloudflare, Figma, Vercel, 1Password,
// ...); the most common of its vendor formats are among the patterns below.
/**
 * The `redact` plugin: removes secrets from every tool result (its text and
 * its `structuredContent`, errors included) before the agent sees it, and
 * offers the same rules to other code ({@linkcode createRedactor}; the audit
 * plugin redacts call arguments with it).
 *
 * What it finds, each replaced by a marker naming its kind
 * (`[REDACTED:<kind>]`):
 *
 * - by value, wherever it appears: JWTs (`jwt`), `Bearer` and `Basic`
 *   credentials (`bearer`, `basic_auth`), AWS access key ids
 *   (`aws_access_key`), GitHub, GitLab, Slack, Stripe, Google, OpenAI,
 *   Anthropic, SendGrid, npm and Hugging Face tokens and keys
 *   (`github_token`, `gitlab_token`, `slack_token`, `slack_webhook`,
 *   `stripe_key`, `google_api_key`, `google_oauth`, `openai_key`,
 *   `anthropic_key`, `sendgrid_key`, `npm_token`, `huggingface_token`),
 *   more vendors' tokens (`shopify_token`, `vault_token`, `pypi_token`,
 *   `docker_token`, `databricks_token`, `grafana_token`, `tailscale_key`,
 *   `digitalocean_token`, `linear_key`, `groq_key`, `notion_token`,
 *   `discord_webhook`, `teams_webhook`), Azure shared access signatures
 *   (`azure_sas`: the `sig=` of a query that has an `sv=` version), JWEs
 *   (`jwt`), PEM and PuTTY private keys (`private_key`; also a PEM key
 *   stored as an array of lines), and passwords inside URLs
 *   (`connection_string` for database schemes, `url_credentials` otherwise;
 *   the user and host stay; the password runs to the authority's last `@`);
 * - by key name, case- and separator-insensitive, when the secret word is
 *   the key's head noun (`password`, `DB_PASSWORD`, `passwordHash`, `apiKey`,
 *   `x-api-key`, `client_secret`, `Set-Cookie`, `X-Amz-Security-Token`,
 *   `auth`): the whole value, as the key's category (`password`, `token`,
 *   `secret`, `api_key`, `authorization`, `cookie`, `private_key`,
 *   `aws_secret_key`). A head noun may be written in several words
 *   (`pass_phrase`, `mot_de_passe`) or in another language (`passwort`,
 *   `kennwort`, `contraseña`, `senha`, `wachtwoord`, `lösenord`, `hasło`,
 *   `пароль`, `密码`, ...); invisible characters inside a key name
 *   (zero-width space, joiners, soft hyphen) are ignored.
 *   Keys are found in objects and inside text: util.inspect
 *   (`password: 'x'`, multi-line strings split as `'…\n' +`), JSON (also
 *   escaped inside another JSON string), `key=value` (env files, query
 *   strings, connection strings), headers (`Authorization: Digest …`), YAML,
 *   XML elements (`<password>x</password>`, `<db:password>`, CDATA),
 *   `[name, value]` pairs (`["X-Api-Key", "…"]`, as header lists are
 *   stored), and prose (`rejected api key vk_…`, when the next word looks
 *   like a credential).
 *
 * Encoded text is decoded and redacted: base64 (standard or URL-safe) of a
 * JSON document is written back in the same encoding with its secrets
 * redacted; percent-encoded text that hides delimiters
 * (`password%3Dx`, `postgres%3A%2F%2Fu%3Ap%40h`) gets its markers in place,
 * the rest keeping its encoding.
 *
 * Strings that hold exactly one JSON document are parsed, redacted
 * structurally and written back the same way (compact or with the same
 * indentation); a document that would not round-trip unchanged (big numbers,
 * unusual spacing) is redacted as text instead, so nothing that is not
 * redacted changes.
 *
 * Decisions (see the tests for each):
 *
 * - Key rules only replace strings (and arrays of strings): numbers,
 *   booleans and null under a secret key stay, so `password_reset_count: 3`
 *   or `max_tokens: 4096` are never eaten; a purely numeric password written
 *   as a number (or unquoted, `pin=1234`) is therefore not redacted.
 * - Metadata keys are not secrets: `token_type`, `secret_name`,
 *   `api_key_id`, `password_updated_at`, `tokenizer`, pagination tokens
 *   (`next_token`, `page_token`). `X-Amz-Credential` (an access key id and a
 *   scope) is not a secret key either; the access key id in it is still
 *   redacted by value.
 * - Presigned URLs: their signature (`X-Amz-Signature`, `sig`, `Signature`)
 *   is an HMAC of one request that expires; it is not treated as a
 *   credential, so a presigned URL without an access key id or session token
 *   survives intact. An Azure SAS (`sv=` with `sig=`) is the exception: it is
 *   often valid for years and grants access by itself, so its `sig` goes. An `X-Amz-Security-Token` is redacted (it is a
 *   credential). To keep whole presigned URLs, allowlist them (`allow`).
 * - Hex digests, UUIDs, base64 blobs and other high-entropy strings are not
 *   secrets by shape alone: no entropy rule (it would eat sha256 digests,
 *   ids and signatures); they are redacted only under a secret key name.
 * - Unquoted values stop at white space, `,`, `;`, `&` or a closing bracket
 *   (a passphrase with spaces written unquoted is only partly hidden), except
 *   `Cookie` and `Authorization` with a scheme, which run to the line's end.
 *
 * The plugin also offers `redactText` to the server: every diagnostic line
 * written to stderr goes through the same rules.
 *
 * Redacting twice gives the same text as redacting once, and nothing throws:
 * text that cannot be processed becomes `[REDACTED:unprocessable]`.
 *
 * The plugin sees results after the tools have shaped them. A value clipped
 * at its end is still caught (rules accept truncated tokens and unterminated
 * quotes), but a page that starts inside a secret (`byte_offset`) has lost
 * the prefix or key that identified it: {@linkcode redactingBackend} redacts
 * what the backend returns before any clipping.
 *
 * @module
 */
import type { CallInfo, Plugin, ToolResult } from "../src/plugin_host/contract.ts";
import type { WorkflowBackend } from "../src/backends/backend.ts";
import { definePlugin } from "../src/plugin_host/contract.ts";
import { ConfigError, errorMessage } from "../src/core/errors.ts";
import { BUILTIN_PATTERNS, marker, PATTERN_KINDS, type ValuePattern } from "./_redact_patterns.ts";
import { KEY_CATEGORIES, KeyClassifier } from "./_redact_keys.ts";
import { RedactionEngine } from "./_redact_engine.ts";

/** An extra value pattern (JSON-friendly: the regex is given by its source). */
export interface RedactPattern {
  /** The marker kind, e.g. `internal_token` for `[REDACTED:internal_token]` (`[a-z][a-z0-9_]*`, at most 40). */
  kind: string;
  /**
   * The regex source, e.g. `"itk_[A-Za-z0-9]{20,}"`. The whole match is
   * replaced, or only the named group `secret` when there is one
   * (`"session=(?<secret>[a-f0-9]{32})"`). It must not match the empty string.
   */
  pattern: string;
  /** Regex flags among `i`, `m`, `s`, `u`, `v` (`g` and `d` are added as needed). @default {""} */
  flags?: string;
}

/**
 * Options of {@linkcode createRedactor} and of the plugin (the plugin's
 * entry in the config file's plugin options). Every value is plain JSON.
 */
export interface RedactOptions {
  /**
   * Extra secret key names, matched like the built-in ones (case- and
   * separator-insensitive, as the key's last words: `"ssn"` also matches
   * `customer_ssn` and `customerSSN`). A hit is marked with the key's words
   * joined by `_` (`"session id"` → `[REDACTED:session_id]`).
   * @default {[]}
   */
  keys?: string[];
  /** Extra value patterns, run after the built-in ones. @default {[]} */
  patterns?: RedactPattern[];
  /**
   * Values never redacted. Each entry is an exact value and, when it is a
   * valid regex source, also a regex: any span of text that equals an entry
   * or that the regex matches is left untouched (for example
   * `"https://reports\\.s3\\.amazonaws\\.com/[^\\s'\"]*"` keeps presigned
   * URLs of one bucket whole).
   * @default {[]}
   */
  allow?: string[];
  /**
   * Key names never treated as secret (case- and separator-insensitive,
   * whole key), e.g. `"token"` when a domain uses the word for something
   * public.
   * @default {[]}
   */
  ignoreKeys?: string[];
  /**
   * Built-in kinds switched off: value-pattern kinds (`jwt`, `bearer`, ...)
   * or key categories (`password`, `token`, ...); see {@linkcode REDACTION_KINDS}.
   * @default {[]}
   */
  disable?: string[];
}

/** Redacts values and text. */
export interface Redactor {
  /**
   * Returns a redacted deep copy of a JSON-like value (objects, arrays,
   * strings; Dates, Maps, Sets and Errors are copied too). Never mutates
   * `value`, never throws (cycles become `"[Circular]"`, values nested deeper
   * than 200 levels `[REDACTED:depth]`), and is idempotent.
   */
  redact<T>(value: T): T;
  /** Returns `text` redacted (embedded JSON, util.inspect text, headers, prose). Never throws; idempotent. */
  redactText(text: string): string;
}

/** The built-in marker kinds: value-pattern kinds, then key categories. */
export const REDACTION_KINDS: readonly string[] = [...new Set([...PATTERN_KINDS, ...KEY_CATEGORIES])];

/**
 * The redact options are invalid. `option` names the culprit, e.g.
 * `patterns[1].pattern`.
 *
 * @example
 * ```ts
 * import { createRedactor, RedactOptionsError } from "./redact.ts";
 * try {
 *   createRedactor({ patterns: [{ kind: "x", pattern: "(" }] });
 * } catch (err) {
 *   if (err instanceof RedactOptionsError) console.error(err.option); // "patterns[0].pattern"
 * }
 * ```
 */
export class RedactOptionsError extends ConfigError {
  /** The option at fault. */
  readonly option: string;
  /** Creates the error. */
  constructor(option: string, problem: string, options: { cause?: unknown } = {}) {
    super(`Invalid redact option '${option}': ${problem}`, {
      hint: "Fix the redact plugin's options in the config file, then restart.",
      cause: options.cause,
    });
    this.name = "RedactOptionsError";
    this.option = option;
  }
}

const OPTION_NAMES = ["keys", "patterns", "allow", "ignoreKeys", "disable"] as const;

function stringList(options: Record<string, unknown>, name: string): string[] {
  const v = options[name];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new RedactOptionsError(name, `must be an array of strings, got ${typeName(v)}`);
  return v.map((item, i) => {
    if (typeof item !== "string" || item === "") {
      throw new RedactOptionsError(`${name}[${i}]`, `must be a non-empty string, got ${JSON.stringify(item)}`);
    }
    if (item.length > 2000) throw new RedactOptionsError(`${name}[${i}]`, "is longer than 2000 characters");
    return item;
  });
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

function customPattern(raw: unknown, i: number): ValuePattern {
  const at = `patterns[${i}]`;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new RedactOptionsError(at, `must be an object { kind, pattern, flags? }, got ${typeName(raw)}`);
  }
  const p = raw as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (!["kind", "pattern", "flags"].includes(k)) {
      throw new RedactOptionsError(`${at}.${k}`, "is not an option (use kind, pattern, flags)");
    }
  }
  if (typeof p.kind !== "string" || !/^[a-z][a-z0-9_]{0,39}$/.test(p.kind)) {
    throw new RedactOptionsError(
      `${at}.kind`,
      `must be lower case letters, digits and _ (at most 40, starting with a letter), got ${JSON.stringify(p.kind)}`,
    );
  }
  if (typeof p.pattern !== "string" || p.pattern === "" || p.pattern.length > 2000) {
    throw new RedactOptionsError(`${at}.pattern`, "must be a regex source of 1 to 2000 characters");
  }
  const flags = p.flags ?? "";
  if (typeof flags !== "string" || !/^[imsuv]*$/.test(flags) || new Set(flags).size !== flags.length) {
    throw new RedactOptionsError(
      `${at}.flags`,
      `must be distinct flags among i, m, s, u, v, got ${JSON.stringify(flags)}`,
    );
  }
  const group = p.pattern.includes("(?<secret>");
  let regex: RegExp;
  try {
    regex = new RegExp(p.pattern, `g${group ? "d" : ""}${flags}`);
  } catch (err) {
    throw new RedactOptionsError(`${at}.pattern`, `is not a valid regex: ${errorMessage(err)}`, { cause: err });
  }
  if (new RegExp(`^(?:${p.pattern})$`, flags).test("")) {
    throw new RedactOptionsError(`${at}.pattern`, "matches the empty string");
  }
  const kind = p.kind;
  return {
    kind,
    regex,
    replace(m) {
      const span = group ? m.indices?.groups?.secret : undefined;
      if (!span) return marker(kind);
      const [a, b] = span;
      if (a === b) return undefined;
      return m[0].slice(0, a - m.index) + marker(kind) + m[0].slice(b - m.index);
    },
  };
}

function allowRegexes(entries: string[]): RegExp[] {
  const out: RegExp[] = [];
  for (const e of entries) {
    if (!/[\\^$.*+?()[\]{}|]/.test(e)) continue;
    try {
      const re = new RegExp(e, "g");
      if (!re.test("")) out.push(re);
    } catch {
      // Not a regex: the entry is an exact value only.
    }
  }
  return out;
}

/**
 * Creates a redactor. Options are validated up front.
 *
 * @throws {RedactOptionsError} when an option is invalid (an unknown option,
 * a bad regex, an unknown kind in `disable`, ...).
 *
 * @example Redacting a workflow's input as Conductor renders it
 * ```ts
 * import { createRedactor } from "./redact.ts";
 * const redactor = createRedactor({ keys: ["ssn"] });
 * redactor.redactText("[ { user: 'ann', password: 'pa55-w0rd', ssn: '078-05-1120' } ]");
 * // "[ { user: 'ann', password: '[REDACTED:password]', ssn: '[REDACTED:ssn]' } ]"
 * ```
 *
 * @example Redacting a structured result
 * ```ts
 * import { createRedactor } from "./redact.ts";
 * const { redact } = createRedactor();
 * redact({ id: "wf-1", Error: '{"message":"bad token ghp_0123456789abcdefghij0123456789abcdef"}' });
 * // { id: "wf-1", Error: '{"message":"bad token [REDACTED:github_token]"}' }
 * ```
 */
export function createRedactor(options: RedactOptions = {}): Redactor {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new RedactOptionsError("(options)", `must be an object, got ${typeName(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(OPTION_NAMES as readonly string[]).includes(k)) {
      throw new RedactOptionsError(k, `is not an option (known: ${OPTION_NAMES.join(", ")})`);
    }
  }
  const keys = stringList(o, "keys");
  keys.forEach((k, i) => {
    if (!/[A-Za-z0-9]/.test(k)) throw new RedactOptionsError(`keys[${i}]`, "must contain a letter or a digit");
  });
  if (o.patterns !== undefined && !Array.isArray(o.patterns)) {
    throw new RedactOptionsError(
      "patterns",
      `must be an array of { kind, pattern, flags? }, got ${typeName(o.patterns)}`,
    );
  }
  const custom = ((o.patterns ?? []) as unknown[]).map(customPattern);
  const allow = stringList(o, "allow");
  const ignoreKeys = stringList(o, "ignoreKeys");
  const disable = stringList(o, "disable");
  disable.forEach((k, i) => {
    if (!REDACTION_KINDS.includes(k)) {
      throw new RedactOptionsError(
        `disable[${i}]`,
        `unknown kind ${JSON.stringify(k)} (known: ${REDACTION_KINDS.join(", ")})`,
      );
    }
  });
  const disabled = new Set(disable);
  const engine = new RedactionEngine({
    patterns: [...BUILTIN_PATTERNS.filter((p) => !disabled.has(p.kind)), ...custom],
    keys: new KeyClassifier({ keys, ignoreKeys, disabled }),
    allowExact: allow,
    allowRegexes: allowRegexes(allow),
  });
  return {
    redact: <T>(value: T): T => engine.value(value),
    redactText: (text: string): string => engine.text(text),
  };
}

/**
 * Redacts one tool result: every text item and the structured content.
 * Returns a new result; `isError` and every other field stay.
 *
 * @example
 * ```ts
 * import { createRedactor, redactResult } from "./redact.ts";
 * const result = redactResult(createRedactor(), {
 *   content: [{ type: "text", text: "Input: [ { password: 'x1y2z3' } ]" }],
 *   structuredContent: { workflow: { Input: "[ { password: 'x1y2z3' } ]" } },
 * });
 * ```
 */
export function redactResult(redactor: Redactor, result: ToolResult): ToolResult {
  const content = result.content.map((item) =>
    item && item.type === "text" && typeof item.text === "string"
      ? { ...item, text: redactor.redactText(item.text) }
      : redactor.redact(item)
  );
  const out: ToolResult = { ...result, content };
  if (result.structuredContent !== undefined) {
    const redacted = redactor.redact(result.structuredContent);
    if (typeof redacted !== "object" || redacted === null) {
      // The redactor could not walk it: withhold rather than pass it on.
      throw new Error("the structured content could not be redacted");
    }
    out.structuredContent = redacted;
  }
  return out;
}

/**
 * Wraps an object (a workflow backend) so that every promise its methods
 * return resolves to a redacted copy. Redacting results only after the tools
 * have clipped them, or cut them at a `byte_offset`, can leave the tail of a
 * secret whose prefix or key fell on the previous page; redacting what the
 * backend returns, before any clipping, does not. Arguments pass through
 * unchanged; ids and statuses are left intact by the rules.
 *
 * @example
 * ```ts ignore
 * import { createRedactor, redactingBackend } from "./redact.ts";
 * const backend = redactingBackend(conductorBackend, createRedactor(options));
 * ```
 */
export function redactingBackend<B extends object>(backend: B, redactor: Redactor): B {
  return new Proxy(backend, {
    get(target, prop) {
      const member = Reflect.get(target, prop, target);
      if (typeof member !== "function") return member;
      return (...args: unknown[]) => {
        const out = member.apply(target, args);
        return out instanceof Promise ? out.then((v) => redactor.redact(v)) : out;
      };
    },
  });
}

/**
 * The plugin. Its options are {@linkcode RedactOptions}.
 *
 * @example In a config file
 * ```json
 * {
 *   "plugins": ["redact"],
 *   "plugin-options": { "redact": { "keys": ["ssn"], "allow": ["sk_test_public_demo_key"] } }
 * }
 * ```
 */
export default definePlugin((options: Record<string, unknown>): Plugin => {
  const redactor = createRedactor(options as RedactOptions);
  return {
    name: "redact",
    // Redact what the backend returns before tools clip or page it (a page could start inside a
    // secret), and every result again on the way out (errors, plugin tools, rendered text).
    wrapBackend: (backend: WorkflowBackend): WorkflowBackend => redactingBackend(backend, redactor),
    transformResult: (_call: CallInfo, result: ToolResult): ToolResult => redactResult(redactor, result),
    // Diagnostics on stderr (a plugin's error text, an internal error's stack) get the same rules.
    redactText: (text: string): string => redactor.redactText(text),
  };
});
