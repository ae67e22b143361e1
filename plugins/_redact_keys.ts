// Key-based redaction of the redact plugin: which key names hold secrets
// (`password`, `api-key`, `X-Amz-Security-Token`, ...), and a scanner that
// finds `key: value` pairs inside text in the forms tool results carry them:
// util.inspect (`password: 'x'`, `'x-api-key': 'y'`, strings split as
// `'…\n' +\n  '…'`), JSON (`"token":"x"`, also escaped as `\"token\":\"x\"`
// inside another JSON string), `key=value` (env files, query strings,
// connection strings), headers (`Authorization: Bearer x`), YAML, and prose
// (`rejected api key vk_…`). Private to plugins/redact.ts.
import { isAlreadyRedacted, looksSecret, marker } from "./_redact_patterns.ts";

/** The categories key-based rules report, as marker kinds. */
export const KEY_CATEGORIES: readonly string[] = [
  "password",
  "token",
  "secret",
  "api_key",
  "authorization",
  "cookie",
  "private_key",
  "aws_secret_key",
];

// Words that may follow the secret word of a key without changing what it
// holds: `password_hash`, `secret_value`, `private_key_pem`, `token2`.
const VALUE_SUFFIXES = new Set([
  "value",
  "values",
  "hash",
  "hashed",
  "encrypted",
  "enc",
  "b64",
  "base64",
  "hex",
  "raw",
  "plain",
  "plaintext",
  "str",
  "string",
  "text",
  "data",
  "pem",
  "der",
  "bytes",
  "header",
]);

// Words before `token` that make it a pagination cursor, not a credential.
const PAGINATION = new Set(["next", "page", "continuation", "pagination", "cursor", "sync", "resume"]);

// Words that form a secret key name with a following `key` / `keys`.
const KEY_PREFIXES: Record<string, string> = {
  api: "api_key",
  access: "api_key",
  app: "api_key",
  account: "api_key",
  master: "api_key",
  encryption: "api_key",
  signing: "api_key",
  subscription: "api_key",
  license: "api_key",
  client: "api_key",
  consumer: "api_key",
  secret: "secret",
  private: "private_key",
  ssh: "private_key",
};

// Words the scanner joins to a following key word across one space ("api key").
const PHRASE_PREFIXES = new Set([
  ...Object.keys(KEY_PREFIXES),
  "auth",
  "refresh",
  "session",
  "bearer",
  "aws",
  "basic",
]);

// Keys whose bare value in prose ("... api key vk_123 ...") is redacted.
const PROSE_KEYS = new Set([
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "accesskey",
  "secretkey",
  "privatekey",
  "accesstoken",
  "refreshtoken",
  "authtoken",
  "sessiontoken",
  "bearertoken",
  "apitoken",
  "clientsecret",
  "apisecret",
]);

// Unquoted values that are literals, never secrets.
const LITERALS = new Set([
  "true",
  "false",
  "null",
  "undefined",
  "nan",
  "infinity",
  "none",
  "nil",
  "yes",
  "no",
  "on",
  "off",
]);
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?n?$/;

/**
 * Splits a key name into lower-case words: separators, camelCase and
 * letter/digit boundaries split (`xApiKey` → `x api key`, `API_KEY2` →
 * `api key 2`, `PGPASSWORD` → `pgpassword`).
 *
 * @example
 * ```ts
 * import { keyWords } from "./_redact_keys.ts";
 * keyWords("X-Amz-Security-Token"); // ["x", "amz", "security", "token"]
 * ```
 */
export function keyWords(key: string): string[] {
  return foldKey(key)
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .replace(/([A-Za-z])([0-9])/g, "$1 $2")
    .replace(/([0-9])([A-Za-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== "");
}

// Invisible format characters (zero-width space, joiners, word joiner, BOM, soft hyphen) hide nothing.
const FORMAT_CHARS = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;

/**
 * A key name without invisible format characters and with Latin letters
 * folded to their base (`pass\u200Bword` → `password`, `lösenord` →
 * `losenord`, `hasło` → `haslo`); other scripts stay as they are.
 */
function foldKey(key: string): string {
  let k = key.replace(FORMAT_CHARS, "");
  // deno-lint-ignore no-control-regex
  if (/[^\x00-\x7f]/.test(k)) {
    k = k.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/ł/g, "l").replace(/Ł/g, "L");
  }
  return k;
}

/** Options of {@linkcode KeyClassifier}. */
export interface KeyClassifierOptions {
  /** Extra secret key names; each is its own category (its words joined by `_`). */
  keys?: readonly string[];
  /** Key names never treated as secret (compared without case and separators). */
  ignoreKeys?: readonly string[];
  /** Categories switched off. */
  disabled?: ReadonlySet<string>;
}

/**
 * Decides which key names hold secrets, and of which category. The secret
 * word must be the key's head noun: `password`, `db_password`,
 * `passwordHash` are secret; `password_reset_count`, `token_type`,
 * `secret_name`, `api_key_id`, `tokenizer`, `max_tokens` and `next_token`
 * are not.
 *
 * @example
 * ```ts
 * import { KeyClassifier } from "./_redact_keys.ts";
 * const keys = new KeyClassifier();
 * keys.classify("x-api-key"); // "api_key"
 * keys.classify("password_reset_count"); // undefined
 * ```
 */
export class KeyClassifier {
  readonly #extra: { words: string[]; kind: string }[];
  readonly #ignore: Set<string>;
  readonly #disabled: ReadonlySet<string>;
  readonly #cache = new Map<string, string | null>();
  /** Stems of the extra keys, for the scanner. */
  readonly extraStems: readonly string[];

  /** Creates a classifier. */
  constructor(options: KeyClassifierOptions = {}) {
    this.#extra = (options.keys ?? []).map((k) => {
      const words = keyWords(k);
      return { words, kind: words.join("_") };
    }).filter((e) => e.words.length > 0);
    this.#ignore = new Set((options.ignoreKeys ?? []).map((k) => keyWords(k).join("")));
    this.#disabled = options.disabled ?? new Set();
    this.extraStems = [...new Set(this.#extra.map((e) => e.words[e.words.length - 1]))];
  }

  /** The category of a secret key, or `undefined` when the key holds no secret. */
  classify(key: string): string | undefined {
    let hit = this.#cache.get(key);
    if (hit === undefined) {
      hit = this.#classify(key) ?? null;
      if (hit !== null && this.#disabled.has(hit)) hit = null;
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(key, hit);
    }
    return hit ?? undefined;
  }

  #classify(key: string): string | undefined {
    if (key.length > 200) return undefined;
    const all = keyWords(key);
    if (all.length === 0 || this.#ignore.has(all.join(""))) return undefined;
    let end = all.length;
    while (end > 1 && (VALUE_SUFFIXES.has(all[end - 1]) || /^\d+$/.test(all[end - 1]))) end--;
    const words = all.slice(0, end);
    for (const e of this.#extra) {
      const n = e.words.length;
      const tail = words.slice(-n);
      if (tail.length === n && tail.every((w, i) => w === e.words[i])) return e.kind;
      const single = n === 1 && e.words[0].length >= 4 && words[words.length - 1].endsWith(e.words[0]);
      if (single) return e.kind;
    }
    return headCategory(words);
  }
}

// The word for a password, in English and in other languages (folded as foldKey folds them), as the
// last word of a key: `passwort`, `db_kennwort`, `contraseña`, `пароль`, `密码`.
const PASSWORD_WORD = new RegExp(
  `(?:${
    [
      "password",
      "passwd",
      "passphrase",
      "passcode",
      "passwort",
      "kennwort",
      "motdepasse",
      "contrasena",
      "senha",
      "wachtwoord",
      "losenord",
      "passord",
      "adgangskode",
      "salasana",
      "jelszo",
      "heslo",
      "haslo",
      "geslo",
      "lozinka",
      "sifre",
      "пароль",
      "密码",
      "密碼",
      "パスワード",
      "비밀번호",
    ].join("|")
  })s?$`,
);
// The word for a secret in other languages.
const SECRET_WORD = /(?:geheimnis|secreto|segredo|segreto|секрет)$/;
// A head noun written as several words: `pass_phrase`, `pass-word`, `mot_de_passe`.
const COMPOUNDS = new Set(["password", "passphrase", "passcode", "passwort", "motdepasse", "kennwort"]);

function headCategory(all: string[]): string | undefined {
  let words = all;
  for (const n of [3, 2]) {
    if (words.length >= n && COMPOUNDS.has(words.slice(-n).join(""))) {
      words = [...words.slice(0, -n), words.slice(-n).join("")];
      break;
    }
  }
  const last = words[words.length - 1];
  const prev = words.length > 1 ? words[words.length - 2] : "";
  const before = words.slice(0, -1);
  if (last === "key" || last === "keys") {
    if (prev === "access" && before.includes("secret")) return "aws_secret_key";
    return KEY_PREFIXES[prev];
  }
  if (/(?:api|access|app|client|consumer|subscription|master)keys?$/.test(last)) return "api_key";
  if (/secretaccesskey$/.test(last)) return "aws_secret_key";
  if (/secretkeys?$/.test(last)) return "secret";
  if (/privatekeys?$/.test(last)) return "private_key";
  if (PASSWORD_WORD.test(last) || /^(?:pass|pwd|pw|pswd|pword)$/.test(last)) return "password";
  if (/authorization$/.test(last) || last === "auth") return "authorization";
  if (/cookies?$/.test(last)) return "cookie";
  if (/secrets?$/.test(last) || SECRET_WORD.test(last)) return before.includes("aws") ? "aws_secret_key" : "secret";
  if (/credentials?$/.test(last)) return before.includes("amz") || before.includes("goog") ? undefined : "secret";
  if (/token$/.test(last) || last === "jwt") {
    return before.some((w) => PAGINATION.has(w)) || last === "nexttoken" || last === "pagetoken" ? undefined : "token";
  }
  return undefined;
}

/** What the scanner needs besides the classifier. */
export interface ScanContext {
  /** The classifier. */
  keys: KeyClassifier;
  /** Whether a value is protected by the allowlist (kept as is). */
  isProtected(value: string): boolean;
}

const QUOTES = "'\"`";

const UNICODE_KEY_CHAR = /[\p{L}\p{N}\p{Mn}\u00AD\u180E\u200B-\u200F\u2060-\u2064\uFEFF]/u;

function isKeyChar(c: number): boolean {
  if (c > 127) return UNICODE_KEY_CHAR.test(String.fromCharCode(c));
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46 ||
    c === 36;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Builds the stem regex of a scanner: every secret key name contains one of
 * these, in lower case (the scanner runs it over a lower-cased copy, much
 * faster than a case-insensitive regex).
 */
export function stemRegex(extraStems: readonly string[]): RegExp {
  const stems = [
    ...["pass", "pwd", "pw", "secret", "token", "jwt", "cookie", "auth", "credential", "key"],
    // Other languages' words for a password or a secret (lower case, as found in the text).
    ...["wort", "contrase", "senha", "wachtwoord", "senord", "adgangskode", "salasana", "jelsz", "heslo", "has\u0142o"],
    ...["haslo", "geslo", "lozinka", "sifre", "\u015fifre", "geheim", "secreto", "segredo", "segreto"],
    ...["\u043f\u0430\u0440\u043e\u043b", "\u0441\u0435\u043a\u0440\u0435\u0442", "\u5bc6\u7801", "\u5bc6\u78bc"],
    ...["\u30d1\u30b9\u30ef\u30fc\u30c9", "\ube44\ubc00\ubc88\ud638"],
  ];
  for (const s of extraStems) if (!stems.some((t) => s.includes(t))) stems.push(s.replace(/[^\p{L}\p{N}]/gu, ""));
  return new RegExp(stems.filter((s) => s !== "").join("|"), "gu");
}

/**
 * Redacts the values of secret keys found in `text` (see the module notes
 * for the forms). Returns `text` itself when nothing changed.
 *
 * @example
 * ```ts
 * import { KeyClassifier, scanKeys, stemRegex } from "./_redact_keys.ts";
 * const keys = new KeyClassifier();
 * const ctx = { keys, isProtected: () => false };
 * scanKeys("[ { password: 'x1', n: 2 } ]", ctx, stemRegex([])); // "[ { password: '[REDACTED:password]', n: 2 } ]"
 * ```
 */
export function scanKeys(text: string, ctx: ScanContext, stems: RegExp): string {
  const n = text.length;
  const lower = text.toLowerCase();
  // Lower-casing keeps offsets unless some character changes length (rare scripts): then match without case.
  const search = lower.length === n ? lower : text;
  const re = lower.length === n ? stems : new RegExp(stems.source, "gi");
  let out = "";
  let last = 0;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(search)) !== null) {
    let s = m.index;
    let e = s + m[0].length;
    while (s > 0 && isKeyChar(text.charCodeAt(s - 1))) s--;
    while (e < n && isKeyChar(text.charCodeAt(e))) e++;
    re.lastIndex = e;
    if (s < last) continue;
    if (s >= 10 && text.startsWith("[REDACTED:", s - 10)) continue;
    // "api key", "access token", "private key": one space inside the key.
    if (s >= 2 && text[s - 1] === " " && isAlpha(text.charCodeAt(s - 2))) {
      let w = s - 1;
      while (w > 0 && isAlpha(text.charCodeAt(w - 1))) w--;
      if (w >= last && PHRASE_PREFIXES.has(text.slice(w, s - 1).toLowerCase())) s = w;
    }
    const key = text.slice(s, e);
    const category = ctx.keys.classify(key);
    if (category === undefined) continue;
    const hit = valueAfterKey(text, s, e, key, category, ctx);
    if (!hit) continue;
    out += text.slice(last, hit.start) + hit.replacement;
    last = hit.end;
    re.lastIndex = Math.max(re.lastIndex, hit.end);
  }
  return last === 0 ? text : out + text.slice(last);
}

interface Hit {
  start: number;
  end: number;
  replacement: string;
}

function valueAfterKey(
  text: string,
  s: number,
  e: number,
  key: string,
  category: string,
  ctx: ScanContext,
): Hit | undefined {
  const n = text.length;
  if (xmlOpens(text, s)) return xmlValue(text, e, category, ctx);
  // Quoted key: the same quote (behind the same backslashes) must close it.
  let quoted = false;
  let p = e;
  const q = text[s - 1];
  if (s > 0 && QUOTES.includes(q)) {
    let b = 0;
    while (s - 2 - b >= 0 && text[s - 2 - b] === "\\") b++;
    const close = "\\".repeat(b) + q;
    if (text.startsWith(close, e)) {
      quoted = true;
      p = e + close.length;
    }
  }
  let sp = p;
  while (sp < n && (text[sp] === " " || text[sp] === "\t")) sp++;
  const c = text[sp];
  let sepEnd = -1;
  if (c === ":" && text[sp + 1] !== ":") sepEnd = sp + 1;
  else if (c === "=" && text[sp + 1] === ">") sepEnd = sp + 2;
  else if (c === "=" && text[sp + 1] !== "=") sepEnd = sp + 1;
  if (sepEnd < 0 && quoted && c === "," && opensArray(text, s)) return pairValue(text, sp + 1, category, ctx);
  if (sepEnd < 0) {
    if (quoted || sp === p || !PROSE_KEYS.has(keyWords(key).join(""))) return undefined;
    return proseValue(text, sp, category, ctx);
  }
  // Separator found: the value follows (a line break only before a quoted value).
  let v = sepEnd;
  while (v < n && (text[v] === " " || text[v] === "\t")) v++;
  if (text[v] === "\n" || text[v] === "\r") {
    let w = v;
    while (w < n && /\s/.test(text[w])) w++;
    let b = w;
    while (b < n && text[b] === "\\") b++;
    if (!QUOTES.includes(text[b] ?? "")) return undefined;
    v = w;
  }
  let b = v;
  while (b < n && text[b] === "\\") b++;
  if (b < n && QUOTES.includes(text[b])) return quotedValue(text, v, b - v, category, ctx);
  return bareValue(text, v, category, ctx);
}

/** Where a quoted value (opening quote at `v + slashes`) ends, with inspect's `' +` continuations. */
function quotedValue(text: string, v: number, slashes: number, category: string, ctx: ScanContext): Hit | undefined {
  const q = text[v + slashes];
  let end = closeOf(text, v + slashes + 1, q, slashes);
  let contentEnd = end.contentEnd;
  let stop = end.stop;
  // util.inspect splits long multi-line strings: 'a\n' +\n    'b'
  while (end.closed) {
    const next = continuation(text, stop);
    if (!next) break;
    end = closeOf(text, next.open, next.quote, next.slashes);
    contentEnd = end.contentEnd;
    stop = end.stop;
  }
  const content = text.slice(v + slashes + 1, contentEnd);
  if (content === "" || isAlreadyRedacted(content) || ctx.isProtected(content)) return undefined;
  const open = text.slice(v, v + slashes + 1);
  const close = end.closed ? open : "";
  return { start: v, end: stop, replacement: `${open}${marker(category)}${close}` };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** After a closed string at `at`: `<space>+<space>'` opens a continuation (util.inspect's split strings). */
function continuation(text: string, at: number): { open: number; quote: string; slashes: number } | undefined {
  let i = at;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  if (text[i] !== "+") return undefined;
  i++;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  const from = i;
  while (text[i] === "\\") i++;
  if (!QUOTES.includes(text[i] ?? "x")) return undefined;
  return { open: i + 1, quote: text[i], slashes: i - from };
}

/** Finds the closing quote `q` behind `slashes` backslashes; unterminated values end at the line's end. */
function closeOf(
  text: string,
  from: number,
  q: string,
  slashes: number,
): { contentEnd: number; stop: number; closed: boolean } {
  const n = text.length;
  let i = from;
  while (i < n) {
    const ch = text[i];
    // A line break or the ellipsis of a truncated rendering ends an unterminated value (the note after it stays).
    if (ch === "\n" || ch === "\r" || ch === "\u2026") return { contentEnd: i, stop: i, closed: false };
    if (ch === q) {
      let b = 0;
      while (i - 1 - b >= from && text[i - 1 - b] === "\\") b++;
      if (b === slashes || (slashes === 0 && b % 2 === 0)) {
        return { contentEnd: i - slashes, stop: i + 1, closed: true };
      }
    }
    i++;
  }
  return { contentEnd: n, stop: n, closed: false };
}

// Characters that end an unquoted value: white space , ; & ) ] } > < quotes, backslash, and the ellipsis
// of a truncated rendering.
const BARE_END = new Set([..." \t\r\n\f\v,;&)]}><'\"`\\\u2026"].map((c) => c.charCodeAt(0)));
const AUTH_SCHEMES = /^(?:bearer|basic|digest|token|negotiate|ntlm|apikey|aws4-hmac-sha256|hoba|mutual|vapid)$/i;

function bareValue(text: string, v: number, category: string, ctx: ScanContext): Hit | undefined {
  const n = text.length;
  let end = v;
  while (end < n && !BARE_END.has(text.charCodeAt(end))) end++;
  const scheme = category === "authorization" && AUTH_SCHEMES.test(text.slice(v, end));
  if (category === "cookie" || scheme) {
    // `Cookie: a=b; c=d` and `Authorization: Digest username="…", …` run to the end of the line, or
    // to the closing quote of the string literal that holds the header.
    const close = enclosingQuote(text, v);
    end = v;
    while (end < n) {
      const ch = text[end];
      if (ch === "\n" || ch === "\r" || ch === "\\" || ch === "\u2026" || ch === close) break;
      end++;
    }
  }
  while (end > v && /[\s.]/.test(text[end - 1])) end--;
  const value = text.slice(v, end);
  if (value === "" || /^[{[(<]/.test(value) || LITERALS.has(value.toLowerCase()) || NUMBER.test(value)) {
    return undefined;
  }
  if (isAlreadyRedacted(value) || ctx.isProtected(value)) return undefined;
  return { start: v, end, replacement: marker(category) };
}

/** The quote character of a string literal open at `at` on its line (an odd count of it before), if any. */
function enclosingQuote(text: string, at: number): string | undefined {
  let start = at;
  while (start > 0 && text[start - 1] !== "\n" && at - start < 4096) start--;
  for (const q of QUOTES) {
    let count = 0;
    for (let i = start; i < at; i++) if (text[i] === q && text[i - 1] !== "\\") count++;
    if (count % 2 === 1) return q;
  }
  return undefined;
}

function proseValue(text: string, sp: number, category: string, ctx: ScanContext): Hit | undefined {
  const n = text.length;
  let v = sp;
  const connector = /^(?:is|was|of)[ \t]+/i.exec(text.slice(v, v + 8));
  if (connector) v += connector[0].length;
  let end = v;
  while (end < n && /[A-Za-z0-9_\-./+=~]/.test(text[end])) end++;
  while (end > v && text[end - 1] === ".") end--;
  const token = text.slice(v, end);
  if (!looksSecret(token) || ctx.isProtected(token)) return undefined;
  return { start: v, end, replacement: marker(category) };
}

/** Whether the key at `s` is an XML element's name: `<password`, `<db:password`. */
function xmlOpens(text: string, s: number): boolean {
  if (text[s - 1] === "<") return true;
  return text[s - 1] === ":" && /<[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(text.slice(Math.max(0, s - 66), s - 1));
}

/** The text of an XML element opened by the name ending at `e` (up to the next tag), or its CDATA section. */
function xmlValue(text: string, e: number, category: string, ctx: ScanContext): Hit | undefined {
  let gt = e;
  while (gt < text.length && gt - e < 1000 && text[gt] !== ">" && text[gt] !== "<") gt++;
  if (text[gt] !== ">" || text[gt - 1] === "/") return undefined;
  const v = gt + 1;
  if (text.startsWith("<![CDATA[", v)) {
    const close = text.indexOf("]]>", v);
    const end = close < 0 ? text.length : close + 3;
    const content = text.slice(v + 9, close < 0 ? end : close);
    if (content.trim() === "" || isAlreadyRedacted(content) || ctx.isProtected(content)) return undefined;
    return { start: v, end, replacement: marker(category) };
  }
  const lt = text.indexOf("<", v);
  let end = lt < 0 ? text.length : lt;
  let start = v;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  const content = text.slice(start, end);
  if (content === "" || isAlreadyRedacted(content) || ctx.isProtected(content)) return undefined;
  return { start, end, replacement: marker(category) };
}

/** Whether the quoted key at `s` is the first item of an array: `[ 'X-Api-Key', …`, `[\"token\", …`. */
function opensArray(text: string, s: number): boolean {
  let i = s - 2;
  while (i >= 0 && text[i] === "\\") i--;
  while (i >= 0 && isSpace(text.charCodeAt(i))) i--;
  return text[i] === "[";
}

/** The second item of a `[name, value]` pair whose name is a secret key, when the pair closes after it. */
function pairValue(text: string, from: number, category: string, ctx: ScanContext): Hit | undefined {
  let v = from;
  while (v < text.length && isSpace(text.charCodeAt(v))) v++;
  let b = v;
  while (b < text.length && text[b] === "\\") b++;
  if (!QUOTES.includes(text[b] ?? "x")) return undefined;
  const hit = quotedValue(text, v, b - v, category, ctx);
  if (!hit) return undefined;
  let after = hit.end;
  while (after < text.length && (isSpace(text.charCodeAt(after)) || text[after] === "\\")) after++;
  return text[after] === "]" ? hit : undefined;
}
