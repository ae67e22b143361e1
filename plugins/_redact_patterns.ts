// Value patterns of the redact plugin: secrets recognised by their shape
// alone (a vendor prefix, a PEM armour, credentials inside a URL, an HTTP
// auth scheme), wherever they appear. Private to plugins/redact.ts.
//
// Every pattern is linear (no nested quantifiers over overlapping classes),
// tolerates truncated values (text renderings cut long values with `…`), and
// leaves its own markers alone, so redacting twice changes nothing.

/** Matches one redaction marker, e.g. `[REDACTED:jwt]`. */
export const MARKER_SOURCE = String.raw`\[REDACTED:[a-z0-9_]{1,40}\]`;

const MARKER_ONLY = new RegExp(`^${MARKER_SOURCE}$`);
const MARKER_ANY = new RegExp(MARKER_SOURCE, "g");

/**
 * The marker that replaces a secret of `kind`.
 *
 * @example
 * ```ts
 * import { marker } from "./_redact_patterns.ts";
 * marker("jwt"); // "[REDACTED:jwt]"
 * ```
 */
export function marker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/**
 * Whether `value` is exactly one marker.
 *
 * @example
 * ```ts
 * import { isMarker } from "./_redact_patterns.ts";
 * isMarker("[REDACTED:password]"); // true
 * ```
 */
export function isMarker(value: string): boolean {
  return MARKER_ONLY.test(value);
}

/**
 * Whether `value` holds nothing worth redacting once its markers are taken
 * out: an auth scheme word, punctuation and space at most (for example
 * `Bearer [REDACTED:bearer]`).
 *
 * @example
 * ```ts
 * import { isAlreadyRedacted } from "./_redact_patterns.ts";
 * isAlreadyRedacted("Bearer [REDACTED:bearer]"); // true
 * isAlreadyRedacted("hunter2"); // false
 * ```
 */
export function isAlreadyRedacted(value: string): boolean {
  if (!value.includes("[REDACTED:")) return false;
  return /^[\sA-Za-z:=;,'"`]{0,16}$/.test(value.replace(MARKER_ANY, ""));
}

/**
 * Whether a bare token found after a key word or an auth scheme looks like a
 * credential rather than an English word: at least 8 characters with both a
 * letter and a digit, or at least 16 with both cases.
 *
 * @example
 * ```ts
 * import { looksSecret } from "./_redact_patterns.ts";
 * looksSecret("vk_9fQ2x7LpA0"); // true
 * looksSecret("expired"); // false
 * ```
 */
export function looksSecret(token: string): boolean {
  if (token.length < 8 || token.startsWith("[REDACTED:")) return false;
  const letter = /[A-Za-z]/.test(token);
  if (letter && /[0-9]/.test(token)) return true;
  return token.length >= 16 && /[a-z]/.test(token) && /[A-Z]/.test(token);
}

/** One value pattern: a global regex and what to put in place of a match. */
export interface ValuePattern {
  /** The marker kind. */
  readonly kind: string;
  /** A global (and, for named groups, `d`) regex. */
  readonly regex: RegExp;
  /**
   * Cheap pre-check: the pattern cannot match text that contains none of
   * these (case-sensitive) substrings. Absent: always run the regex.
   */
  readonly hints?: readonly string[];
  /** The replacement of one match, or `undefined` to keep it as is. */
  replace(match: RegExpExecArray): string | undefined;
  /** True when the whole match becomes the marker and the source has no capturing group (it can be combined). */
  readonly whole?: boolean;
}

const DB_SCHEMES = new Set([
  "postgres",
  "postgresql",
  "mysql",
  "mariadb",
  "mongodb",
  "mongodb+srv",
  "redis",
  "rediss",
  "amqp",
  "amqps",
  "mssql",
  "sqlserver",
  "oracle",
  "cockroachdb",
  "clickhouse",
  "cassandra",
  "neo4j",
  "couchdb",
  "memcached",
]);

const whole = (kind: string) => (): string => marker(kind);

/** A pattern whose whole match is the secret. */
function simple(kind: string, source: string, hints?: string[]): ValuePattern {
  return { kind, regex: new RegExp(source, "g"), hints, replace: whole(kind), whole: true };
}

/**
 * Merges each run of consecutive `whole` patterns into one alternation (one
 * pass over the text instead of one per pattern, about three times faster;
 * at one position the earlier pattern wins, as when run one after another).
 *
 * @example
 * ```ts
 * import { BUILTIN_PATTERNS, combinePatterns } from "./_redact_patterns.ts";
 * const passes = combinePatterns(BUILTIN_PATTERNS); // fewer passes, same kinds
 * ```
 */
export function combinePatterns(patterns: readonly ValuePattern[]): ValuePattern[] {
  const out: ValuePattern[] = [];
  let run: ValuePattern[] = [];
  const flush = () => {
    if (run.length === 1) out.push(run[0]);
    if (run.length > 1) {
      const kinds = run.map((p) => p.kind);
      const hints = run.every((p) => p.hints) ? run.flatMap((p) => p.hints ?? []) : undefined;
      out.push({
        kind: kinds.join("|"),
        regex: new RegExp(run.map((p, i) => `(?<k${i}>${p.regex.source})`).join("|"), "g"),
        hints,
        replace(m) {
          for (let i = 0; i < kinds.length; i++) if (m.groups?.[`k${i}`] !== undefined) return marker(kinds[i]);
          return undefined;
        },
      });
    }
    run = [];
  };
  for (const p of patterns) {
    if (p.whole) run.push(p);
    else {
      flush();
      out.push(p);
    }
  }
  flush();
  return out;
}

// Private-key armour, then a body that may be split the way util.inspect
// splits multi-line strings (`'…\n' +\n  '…'`), JSON-escaped (`\n`), or stored
// as an array of lines (`'…',\n  '…'` and `"…","…"`, quotes maybe escaped),
// and may have lost its END line to truncation.
const PEM_LABEL = String.raw`[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----`;
const QUOTE = String.raw`\\*['"\x60]`;
const KEY_BREAK = String.raw`${QUOTE}[ \t]*[+,]\s*${QUOTE}`;
const PEM_BODY = String.raw`(?:[A-Za-z0-9+/=\s:,.]|-(?!----)|\\+[nrt]|${KEY_BREAK})*`;
// PuTTY's key file: a header line, then lines of `Name: value` and base64 up to its `Private-MAC`.
const PPK_BODY = String.raw`(?:(?!Private-MAC)(?:[A-Za-z0-9+/=\s:,._@-]|\\+[nrt]|${KEY_BREAK}))*`;

/**
 * The built-in value patterns, in the order they run (specific before
 * generic: an Anthropic key before the OpenAI shape that would also match it,
 * a JWT before the bearer token that may carry it).
 */
export const BUILTIN_PATTERNS: readonly ValuePattern[] = [
  simple("private_key", `-----BEGIN${PEM_LABEL}${PEM_BODY}(?:-----END${PEM_LABEL})?`, ["PRIVATE KEY"]),
  simple("private_key", `PuTTY-User-Key-File-\\d+:${PPK_BODY}(?:Private-MAC:[ \\t]*[0-9a-fA-F]*)?`, ["PuTTY-User-Key"]),
  // JOSE compact serialization: a JWT (header.payload.signature) or a JWE (header.key.iv.ciphertext.tag, the
  // key empty with direct encryption).
  simple(
    "jwt",
    String
      .raw`(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.(?:(?:eyJ[A-Za-z0-9_-]*|[A-Za-z0-9_-]{10,})(?:\.[A-Za-z0-9_-]*){0,3}|\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?)`,
    ["eyJ"],
  ),
  simple("github_token", String.raw`(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})`, [
    "gh",
    "github_pat_",
  ]),
  simple("gitlab_token", String.raw`(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{16,}`, ["glpat-"]),
  simple("slack_token", String.raw`(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9-]{10,}`, ["xox"]),
  simple(
    "stripe_key",
    String.raw`(?<![A-Za-z0-9])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{16,})`,
    ["_live_", "_test_", "whsec_"],
  ),
  simple("google_api_key", String.raw`(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{20,}`, ["AIza"]),
  simple("google_oauth", String.raw`(?<![A-Za-z0-9_-])(?:GOCSPX-[A-Za-z0-9_-]{16,}|ya29\.[A-Za-z0-9_-]{20,})`, [
    "GOCSPX-",
    "ya29.",
  ]),
  simple("anthropic_key", String.raw`(?<![A-Za-z0-9_-])sk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_-]{20,}`, ["sk-ant-"]),
  simple("openai_key", String.raw`(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}`, ["sk-"]),
  simple("sendgrid_key", String.raw`(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`, ["SG."]),
  simple("npm_token", String.raw`(?<![A-Za-z0-9])npm_[A-Za-z0-9]{30,}`, ["npm_"]),
  simple("huggingface_token", String.raw`(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}`, ["hf_"]),
  simple("shopify_token", String.raw`(?<![A-Za-z0-9])shp(?:at|ss|ca|pa)_[a-fA-F0-9]{20,}`, ["shp"]),
  simple("vault_token", String.raw`(?<![A-Za-z0-9])hv[sbr]\.[A-Za-z0-9_-]{20,}`, ["hvs.", "hvb.", "hvr."]),
  simple("pypi_token", String.raw`(?<![A-Za-z0-9])pypi-AgE[A-Za-z0-9_-]{20,}`, ["pypi-AgE"]),
  simple("docker_token", String.raw`(?<![A-Za-z0-9])dckr_pat_[A-Za-z0-9_-]{20,}`, ["dckr_pat_"]),
  simple("databricks_token", String.raw`(?<![A-Za-z0-9])dapi[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9])`, ["dapi"]),
  simple("grafana_token", String.raw`(?<![A-Za-z0-9])(?:glc_[A-Za-z0-9+/]{20,}={0,2}|glsa_[A-Za-z0-9_]{20,})`, [
    "glc_",
    "glsa_",
  ]),
  simple("tailscale_key", String.raw`(?<![A-Za-z0-9])tskey-[a-z]+-[A-Za-z0-9-]{16,}`, ["tskey-"]),
  simple("digitalocean_token", String.raw`(?<![A-Za-z0-9])do[por]_v1_[a-f0-9]{32,}`, ["_v1_"]),
  simple("linear_key", String.raw`(?<![A-Za-z0-9])lin_(?:api|oauth)_[A-Za-z0-9]{20,}`, ["lin_"]),
  simple("groq_key", String.raw`(?<![A-Za-z0-9])gsk_[A-Za-z0-9]{20,}`, ["gsk_"]),
  simple("notion_token", String.raw`(?<![A-Za-z0-9])ntn_[A-Za-z0-9]{20,}`, ["ntn_"]),
  simple(
    "aws_access_key",
    String
      .raw`(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|A3T[A-Z0-9])[A-Z0-9]{12,16}(?![A-Za-z0-9])`,
  ),
  {
    kind: "slack_webhook",
    regex: /(https:\/\/hooks\.slack\.com\/(?:services|workflows)\/)[A-Za-z0-9_/-]{8,}/g,
    hints: ["hooks.slack.com"],
    replace: (m) => `${m[1]}${marker("slack_webhook")}`,
  },
  {
    kind: "teams_webhook",
    regex:
      /(https:\/\/(?:[A-Za-z0-9-]+\.webhook\.office\.com\/webhookb2\/|outlook\.office(?:365)?\.com\/webhook\/))[A-Za-z0-9@_/-]{20,}/g,
    hints: ["webhook"],
    replace: (m) => `${m[1]}${marker("teams_webhook")}`,
  },
  {
    // An Azure shared access signature: a query with a service version (sv=YYYY-MM-DD) and a sig=, in either order.
    // Unlike a presigned S3 URL's signature, a SAS is often long-lived and grants access by itself.
    kind: "azure_sas",
    regex:
      /(?<![A-Za-z0-9_])(?:sv=\d{4}-\d\d-\d\d[^\s'"`<>#]{0,2000}?[?&;]sig=(?<a>[A-Za-z0-9%+/=_-]+)|sig=(?<b>[A-Za-z0-9%+/=_-]+)(?=[^\s'"`<>#]{0,2000}?[&;]sv=\d{4}-\d\d-\d\d))/dg,
    hints: ["sig="],
    replace(m) {
      const span = m.indices?.groups?.a ?? m.indices?.groups?.b;
      const secret = m.groups?.a ?? m.groups?.b;
      if (!span || !secret || isMarker(secret) || secret.startsWith("%5BREDACTED")) return undefined;
      const [a, b] = span;
      return m[0].slice(0, a - m.index) + marker("azure_sas") + m[0].slice(b - m.index);
    },
  },
  {
    kind: "discord_webhook",
    regex: /(https:\/\/(?:ptb\.|canary\.)?discord(?:app)?\.com\/api\/webhooks\/\d+\/)[A-Za-z0-9_-]{20,}/g,
    hints: ["discord"],
    replace: (m) => `${m[1]}${marker("discord_webhook")}`,
  },
  {
    // scheme://user:password@host — keep the user and the host, hide the password.
    kind: "url_credentials",
    // The match starts at "://" (fast to find); the scheme is read by a lookbehind.
    // The password runs to the authority's last `@` (a raw `@` in a password is common; `/ ? #` end the authority).
    regex: /:\/\/(?<=(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{1,30}):\/\/)([^\s:/?#@'"`\\]*):([^\s/?#'"`\\]+)@/g,
    hints: ["://"],
    replace(m) {
      if (isMarker(m[3]) || (m[3].includes("@") && isMarker(m[3].slice(0, m[3].lastIndexOf("@"))))) return undefined;
      const kind = DB_SCHEMES.has(m[1].toLowerCase()) ? "connection_string" : "url_credentials";
      return `://${m[2]}:${marker(kind)}@`;
    },
  },
  {
    // HTTP auth schemes followed by a credential (the scheme word stays).
    kind: "bearer",
    regex: /(?<![A-Za-z0-9])(Bearer|Basic)([ \t]+)([A-Za-z0-9._~+/-]{8,}=*)(?![A-Za-z0-9._~+/=-])/gi,
    replace(m) {
      const token = m[3];
      const basic = m[1].toLowerCase() === "basic";
      const ok = basic
        ? /[0-9+/=]/.test(token) || /[A-Z]/.test(token.slice(1))
        : looksSecret(token) || /[._~+/=-]/.test(token);
      if (!ok) return undefined;
      return `${m[1]}${m[2]}${marker(basic ? "basic_auth" : "bearer")}`;
    },
  },
];

/** The kinds of {@linkcode BUILTIN_PATTERNS} (a `bearer` pattern also yields `basic_auth` and `connection_string`). */
export const PATTERN_KINDS: readonly string[] = [
  ...new Set([...BUILTIN_PATTERNS.map((p) => p.kind), "basic_auth", "connection_string"]),
];

/**
 * Runs one pattern over `text`, replacing each match the pattern wants
 * replaced. Returns `text` itself when nothing changed.
 *
 * @example
 * ```ts
 * import { applyPattern, BUILTIN_PATTERNS } from "./_redact_patterns.ts";
 * const jwt = BUILTIN_PATTERNS.find((p) => p.kind === "jwt")!;
 * applyPattern(jwt, "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"); // "token [REDACTED:jwt]"
 * ```
 */
export function applyPattern(pattern: ValuePattern, text: string): string {
  if (pattern.hints && !pattern.hints.some((h) => text.includes(h))) return text;
  const re = pattern.regex;
  re.lastIndex = 0;
  let out = "";
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0] === "") {
      re.lastIndex++;
      continue;
    }
    const replacement = pattern.replace(m);
    if (replacement !== undefined && replacement !== m[0]) {
      out += text.slice(last, m.index) + replacement;
      last = m.index + m[0].length;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}
