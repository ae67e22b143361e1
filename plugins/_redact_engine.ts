// The redaction engine of the redact plugin: walks values, finds JSON held
// in strings, runs the value patterns and the key scanner over text, and
// keeps allowlisted spans out of reach. Options arrive here already
// validated (see plugins/redact.ts). Private to plugins/redact.ts.
import {
  applyPattern,
  combinePatterns,
  isAlreadyRedacted,
  isMarker,
  marker,
  MARKER_SOURCE,
  type ValuePattern,
} from "./_redact_patterns.ts";
import { type KeyClassifier, type ScanContext, scanKeys, stemRegex } from "./_redact_keys.ts";

/** Deeper values (objects in objects, JSON in strings) are replaced by a marker. */
export const MAX_DEPTH = 200;

/** Rounds of the text rules at most (one more than needed to see that nothing changes). */
const MAX_ROUNDS = 4;

/** Compiled settings of a {@linkcode RedactionEngine}. */
export interface EngineSettings {
  /** Value patterns, in order (built-in ones first). */
  patterns: readonly ValuePattern[];
  /** The key classifier. */
  keys: KeyClassifier;
  /** Allowlisted exact values. */
  allowExact: readonly string[];
  /** Allowlisted regexes (global). */
  allowRegexes: readonly RegExp[];
}

interface Protection {
  open: string;
  close: string;
  spans: string[];
  only: RegExp;
}

/**
 * Redacts text and values with compiled settings.
 *
 * @example
 * ```ts
 * import { RedactionEngine } from "./_redact_engine.ts";
 * import { BUILTIN_PATTERNS } from "./_redact_patterns.ts";
 * import { KeyClassifier } from "./_redact_keys.ts";
 * const engine = new RedactionEngine({
 *   patterns: BUILTIN_PATTERNS,
 *   keys: new KeyClassifier(),
 *   allowExact: [],
 *   allowRegexes: [],
 * });
 * engine.text("password=hunter2x"); // "password=[REDACTED:password]"
 * ```
 */
export class RedactionEngine {
  readonly #s: EngineSettings;
  readonly #stems: RegExp;
  readonly #passes: readonly ValuePattern[];

  /** Creates an engine. */
  constructor(settings: EngineSettings) {
    this.#s = settings;
    this.#stems = stemRegex(settings.keys.extraStems);
    this.#passes = combinePatterns(settings.patterns);
  }

  /** Redacts one string; never throws (text it cannot process becomes a marker). */
  text(text: string): string {
    try {
      return this.#textTop(String(text), 0);
    } catch {
      return marker("unprocessable");
    }
  }

  /** Deep-copies and redacts a value; never throws, never mutates `value`. */
  value<T>(value: T): T {
    try {
      return this.#value(value, 0, undefined, new Set()) as T;
    } catch {
      return marker("unprocessable") as T;
    }
  }

  #allowed(value: string): boolean {
    if (this.#s.allowExact.includes(value)) return true;
    for (const re of this.#s.allowRegexes) {
      re.lastIndex = 0;
      const m = re.exec(value);
      if (m && m.index === 0 && m[0].length === value.length) return true;
    }
    return false;
  }

  /** Redacts `text` with allowlisted spans protected by placeholders. */
  #textTop(text: string, depth: number): string {
    if (text.length < 6) return text;
    const protection = this.#protect(text);
    if (!protection) return this.#textInner(text, depth, undefined);
    const out = this.#textInner(protection.text, depth, protection.p);
    const { open, close, spans } = protection.p;
    return out.replace(new RegExp(`${open}([0-9a-z]+)${close}`, "g"), (all, i: string) => {
      const span = spans[Number.parseInt(i, 36)];
      return span ?? all;
    });
  }

  #protect(text: string): { text: string; p: Protection } | undefined {
    const { allowExact, allowRegexes } = this.#s;
    if (allowExact.length === 0 && allowRegexes.length === 0) return undefined;
    const ranges: [number, number][] = [];
    for (const v of allowExact) {
      for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + v.length)) ranges.push([i, i + v.length]);
    }
    for (const re of allowRegexes) {
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        if (m[0] === "") {
          re.lastIndex++;
          continue;
        }
        ranges.push([m.index, m.index + m[0].length]);
      }
    }
    if (ranges.length === 0) return undefined;
    // Two private-use characters the text does not contain delimit the placeholders.
    const free: string[] = [];
    for (let c = 0xe000; c < 0xf8ff && free.length < 2; c++) {
      const ch = String.fromCharCode(c);
      if (!text.includes(ch)) free.push(ch);
    }
    if (free.length < 2) return undefined;
    const [open, close] = free;
    ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const spans: string[] = [];
    let out = "";
    let last = 0;
    for (const [a, b] of ranges) {
      if (a < last) {
        // Overlapping ranges merge into the previous span (its placeholder stays).
        if (b > last) {
          spans[spans.length - 1] += text.slice(last, b);
          last = b;
        }
        continue;
      }
      out += text.slice(last, a) + open + spans.length.toString(36) + close;
      spans.push(text.slice(a, b));
      last = b;
    }
    out += text.slice(last);
    return { text: out, p: { open, close, spans, only: new RegExp(`^(?:\\s|${open}[0-9a-z]+${close})+$`) } };
  }

  #textInner(text: string, depth: number, p: Protection | undefined): string {
    if (text.length < 6) return text;
    const json = this.#json(text, depth, p);
    if (json !== undefined) return json;
    const ctx: ScanContext = {
      keys: this.#s.keys,
      isProtected: (v) => (p !== undefined && p.only.test(v)) || this.#allowed(v),
    };
    let out = this.#round(text, ctx, depth);
    // A marker can give its neighbours a boundary they lacked (`…-----GOCSPX-…` becomes `…]GOCSPX-…`):
    // run the rules again where markers are, until nothing changes, so that redacting twice is the same
    // as redacting once.
    for (let round = 1; round < MAX_ROUNDS && out !== text; round++) {
      text = out;
      out = aroundMarkers(text, (part) => this.#round(part, ctx, depth));
    }
    return out;
  }

  /** One round of the text rules: value patterns, keys, then what is encoded (base64 JSON, URL encoding). */
  #round(text: string, ctx: ScanContext, depth: number): string {
    let out = text;
    for (const pattern of this.#passes) out = applyPattern(pattern, out);
    out = scanKeys(out, ctx, this.#stems);
    if (depth + 1 >= MAX_DEPTH) return out;
    out = this.#base64Json(out, depth);
    return out.includes("%") ? this.#percentEncoded(out, depth) : out;
  }

  /**
   * Base64 (standard or URL-safe) of a JSON document, e.g. a config or a credentials blob: decoded,
   * redacted like any text, and encoded back the same way when something in it was redacted.
   */
  #base64Json(text: string, depth: number): string {
    return replaceAll(text, BASE64_JSON, (token) => {
      const decoded = decodeBase64Text(token);
      if (decoded === undefined) return undefined;
      const red = this.#textInner(decoded, depth + 1, undefined);
      return red === decoded ? undefined : encodeBase64Like(red, token);
    });
  }

  /**
   * Percent-encoded text that hides delimiters (`password%3Dx`, `postgres%3A%2F%2Fu%3Ap%40h`): decoded,
   * redacted like any text, and the changed part written back (markers as they are, the rest encoded
   * again); the parts that did not change keep their original encoding.
   */
  #percentEncoded(text: string, depth: number): string {
    return replaceAll(text, PERCENT_TOKEN, (token) => {
      if (!ENCODED_DELIMITER.test(token)) return undefined;
      const { decoded, offsets } = percentDecode(token);
      const red = this.#textInner(decoded, depth + 1, undefined);
      if (red === decoded) return undefined;
      let a = 0;
      while (a < decoded.length && a < red.length && decoded[a] === red[a]) a++;
      let b = 0;
      while (b < decoded.length - a && b < red.length - a && decoded.at(-1 - b) === red.at(-1 - b)) b++;
      const middle = red.slice(a, red.length - b).split(MARKER_SPLIT).map((part, i) =>
        i % 2 === 1 ? part : part.replace(/[%&=?/:@#+;,\s"'`<>\[\]]/g, (c) => encodeURIComponent(c))
      ).join("");
      return token.slice(0, offsets[a]) + middle + token.slice(offsets[decoded.length - b]);
    });
  }

  /** Redacts text that is exactly one JSON document (re-serialized the same way), else `undefined`. */
  #json(text: string, depth: number, p: Protection | undefined): string | undefined {
    if (depth >= MAX_DEPTH) return undefined;
    let a = 0;
    while (a < text.length && /\s/.test(text[a])) a++;
    let b = text.length - 1;
    while (b > a && /\s/.test(text[b])) b--;
    const first = text[a];
    const last = text[b];
    const container = (first === "{" && last === "}") || (first === "[" && last === "]");
    if (!container && !(first === '"' && last === '"' && b > a)) return undefined;
    const core = text.slice(a, b + 1);
    let parsed: unknown;
    const indent = container ? indentOf(core) : "";
    try {
      parsed = JSON.parse(core);
      // Only lossless documents are rewritten (big numbers, odd spacing or escapes fall back to text rules).
      if (JSON.stringify(parsed, null, indent) !== core) return undefined;
    } catch {
      return undefined;
    }
    const redacted = typeof parsed === "string"
      ? this.#textInner(parsed, depth + 1, p)
      : this.#value(parsed, depth + 1, undefined, new Set(), p);
    return text.slice(0, a) + JSON.stringify(redacted, null, indent) + text.slice(b + 1);
  }

  #string(value: string, depth: number, category: string | undefined, p: Protection | undefined): string {
    let red: string;
    try {
      red = p ? this.#textInner(value, depth, p) : this.#textTop(value, depth);
    } catch {
      return marker("unprocessable");
    }
    if (category === undefined || value === "") return red;
    if (this.#allowed(value) || (p !== undefined && p.only.test(value))) return value;
    return isMarker(red) || isAlreadyRedacted(red) ? red : marker(category);
  }

  #value(
    value: unknown,
    depth: number,
    category: string | undefined,
    ancestors: Set<object>,
    p?: Protection,
  ): unknown {
    if (typeof value === "string") return this.#string(value, depth, category, p);
    if (value === null || typeof value !== "object") return value;
    if (depth >= MAX_DEPTH) return marker("depth");
    if (ancestors.has(value)) return "[Circular]";
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
    if (value instanceof Date) return new Date(value.getTime());
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return this.#array(value, depth, category, ancestors, p);
      if (value instanceof Map) {
        const out = new Map();
        for (const [k, v] of value) {
          const cat = typeof k === "string" ? this.#s.keys.classify(k) : undefined;
          out.set(this.#value(k, depth + 1, undefined, ancestors, p), this.#member(v, depth, cat, ancestors, p));
        }
        return out;
      }
      if (value instanceof Set) {
        return new Set([...value].map((v) => this.#value(v, depth + 1, category, ancestors, p)));
      }
      const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
      if (value instanceof Error) {
        out.name = this.#value(value.name, depth + 1, undefined, ancestors, p);
        out.message = this.#value(value.message, depth + 1, undefined, ancestors, p);
        if (value.stack !== undefined) out.stack = this.#value(value.stack, depth + 1, undefined, ancestors, p);
      }
      for (const [k, v] of Object.entries(value)) {
        const cat = this.#s.keys.classify(k);
        let key = this.#string(k, depth + 1, undefined, p);
        if (key !== k) { for (let i = 2; Object.hasOwn(out, key); i++) key = `${key.replace(/#\d+$/, "")}#${i}`; }
        out[key] = this.#member(v, depth, cat, ancestors, p);
      }
      return out;
    } finally {
      ancestors.delete(value);
    }
  }

  /**
   * An array: each item redacted, and two shapes that spread one secret over several items: a
   * `[name, value]` pair whose name is a secret key (header lists), and a private key stored as an
   * array of lines (every line from its BEGIN to its END is part of the key).
   */
  #array(value: unknown[], depth: number, category: string | undefined, ancestors: Set<object>, p?: Protection) {
    const item = (v: unknown, cat: string | undefined) => this.#value(v, depth + 1, cat, ancestors, p);
    if (category === undefined && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") {
      const cat = this.#s.keys.classify(value[0]);
      if (cat !== undefined) return [item(value[0], undefined), item(value[1], cat)];
    }
    let inKey = false;
    return value.map((v) => {
      if (typeof v !== "string") return item(v, category);
      if (!inKey && PEM_OPEN.test(v) && !v.includes("-----END")) {
        inKey = true;
        return item(v, category);
      }
      if (!inKey) return item(v, category);
      if (v.includes("-----END")) inKey = false;
      return this.#allowed(v) ? v : marker("private_key");
    });
  }

  /** A member of an object under a key of category `cat`: strings and arrays of strings become markers. */
  #member(v: unknown, depth: number, cat: string | undefined, ancestors: Set<object>, p?: Protection): unknown {
    const inherit = cat !== undefined && (typeof v === "string" || Array.isArray(v)) ? cat : undefined;
    return this.#value(v, depth + 1, inherit, ancestors, p);
  }
}

// A private key's first line (an item of an array of lines).
const PEM_OPEN = /-----BEGIN[ A-Z0-9]*PRIVATE KEY/;

// Base64 whose text starts with `{`, `[` or white space (`e`, `W`, `I`, `C`): candidates for JSON.
const BASE64_JSON = /(?<![A-Za-z0-9+/_-])[eWIC][A-Za-z0-9+/_-]{19,}={0,2}(?![A-Za-z0-9+/=_-])/g;

// A run of text with percent escapes, and the escapes that hide a delimiter a rule looks at.
const PERCENT_TOKEN = /[^\s'"`<>]*%[0-9A-Fa-f]{2}[^\s'"`<>]*/g;
const ENCODED_DELIMITER = /%(?:2[2267Ff]|3[AaDdFf]|40|5[BbDd]|7[BbDd])/;
const MARKER_SPLIT = new RegExp(`(${MARKER_SOURCE})`);

/**
 * Replaces each match of the global `re` for which `fn` returns a string. `fn` may run the engine
 * again (and so `re`): all matches are found before the first call.
 */
function replaceAll(text: string, re: RegExp, fn: (match: string) => string | undefined): string {
  return text.replace(re, (m) => fn(m) ?? m);
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The text a base64 token encodes when it is UTF-8 holding a JSON container, else `undefined` (also when cut). */
function decodeBase64Text(token: string): string | undefined {
  let b64 = token.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (b64.length % 4 === 1) b64 = b64.slice(0, -1);
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
  const first = text.trimStart()[0];
  return first === "{" || first === "[" ? text : undefined;
}

/** `text` in base64 the way `like` is written: URL-safe or standard, padded or not. */
function encodeBase64Like(text: string, like: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  let out = btoa(bin);
  if (/[-_]/.test(like) || (!/[+/]/.test(like) && !like.endsWith("=") && like.length % 4 !== 0)) {
    out = out.replace(/\+/g, "-").replace(/\//g, "_");
  }
  return like.endsWith("=") ? out : out.replace(/=+$/, "");
}

/**
 * Decodes the ASCII percent escapes of `token` (others stay as written); `offsets[i]` is where the
 * decoded character `i` starts in `token` (`offsets[decoded.length]` is its length).
 */
function percentDecode(token: string): { decoded: string; offsets: number[] } {
  let decoded = "";
  const offsets: number[] = [];
  for (let i = 0; i < token.length;) {
    offsets.push(i);
    const hex = token[i] === "%" ? token.slice(i + 1, i + 3) : "";
    if (/^[0-7][0-9A-Fa-f]$/.test(hex)) {
      decoded += String.fromCharCode(Number.parseInt(hex, 16));
      i += 3;
    } else {
      decoded += token[i];
      i++;
    }
  }
  offsets.push(token.length);
  return { decoded, offsets };
}

// Characters that may continue a token: a marker next to one changed a boundary some rule looks at.
const SOFT = /[A-Za-z0-9_.+/~$=-]/;

/**
 * Applies `fn` to the lines holding a marker that touches a token character
 * (the only places where a marker can change what a rule matches), each with
 * the line before and the line after, merged where they touch; the rest of
 * `text` stays as is.
 */
function aroundMarkers(text: string, fn: (part: string) => string): string {
  const windows: [number, number][] = [];
  const markers = new RegExp(MARKER_SOURCE, "g");
  for (let m = markers.exec(text); m !== null; m = markers.exec(text)) {
    const i = m.index;
    const j = i + m[0].length;
    if (!SOFT.test(text[i - 1] ?? "") && !SOFT.test(text[j] ?? "")) continue;
    let a = text.lastIndexOf("\n", i);
    a = a <= 0 ? 0 : text.lastIndexOf("\n", a - 1) + 1;
    let b = text.indexOf("\n", i);
    b = b < 0 ? text.length : text.indexOf("\n", b + 1);
    if (b < 0) b = text.length;
    const prev = windows[windows.length - 1];
    if (prev && a <= prev[1]) prev[1] = Math.max(prev[1], b);
    else windows.push([a, b]);
  }
  if (windows.length === 0) return text;
  if (windows.length === 1 && windows[0][0] === 0 && windows[0][1] === text.length) return fn(text);
  let out = "";
  let last = 0;
  for (const [a, b] of windows) {
    out += text.slice(last, a) + fn(text.slice(a, b));
    last = b;
  }
  return out + text.slice(last);
}

/** The indentation unit of pretty-printed JSON ("" when on one line). */
function indentOf(json: string): string {
  const nl = json.indexOf("\n");
  if (nl < 0) return "";
  const m = /^[ \t]+/.exec(json.slice(nl + 1));
  return m ? m[0] : "";
}
