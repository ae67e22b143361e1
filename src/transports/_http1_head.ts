/**
 * Parsing an HTTP/1.1 request head (RFC 9112): the request line, the header
 * fields, and the body framing they declare. Strict where leniency lets a
 * request be read two ways (request smuggling): a field name with whitespace
 * before its colon, obsolete line folding, `Content-Length` with
 * `Transfer-Encoding`, conflicting lengths, and a missing or repeated `Host`
 * are refused.
 *
 * @module
 */
import type { Framing } from "./_http1_reader.ts";

/** A parsed request head. */
export interface RequestHead {
  /** The method, as sent (methods are case-sensitive). */
  method: string;
  /** The request target's path and query (origin form). */
  target: string;
  /** `1.0` or `1.1`. */
  version: "1.0" | "1.1";
  /** The header fields. */
  headers: Headers;
  /** How the body is delimited. */
  framing: Framing;
  /** Whether the client asked to keep the connection open after this request. */
  keepAlive: boolean;
  /** Whether the client waits for `100 Continue` before sending its body. */
  expectContinue: boolean;
}

/** A head that cannot be served, with the status to answer. */
export interface HeadRefusal {
  /** HTTP status: 400, 417, 501 or 505. */
  status: number;
  /** What was wrong, for the client. */
  message: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Parses `text` (the head without its final empty line, one octet per character). */
export function parseHead(text: string): RequestHead | HeadRefusal {
  const lines = text.split("\r\n");
  const requestLine = lines[0].match(/^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/);
  if (!requestLine || !TOKEN.test(requestLine[1])) return bad("the request line is not 'METHOD TARGET HTTP/1.1'");
  const [, method, rawTarget, major, minor] = requestLine;
  if (major !== "1" || (minor !== "0" && minor !== "1")) {
    return { status: 505, message: "HTTP Version Not Supported: send HTTP/1.1" };
  }
  const target = originForm(rawTarget);
  if (target === undefined) return bad("the request target is not a path");
  const headers = new Headers();
  let hosts = 0;
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    if (line.includes("\r") || line.includes("\n")) return bad("a header line holds a bare CR or LF");
    if (line[0] === " " || line[0] === "\t") return bad("obsolete line folding in a header field");
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) return bad(`a header line is not 'Name: value'`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) return bad(`the header field '${name}' holds a control character`);
    if (name.toLowerCase() === "host") hosts++;
    try {
      headers.append(name, value);
    } catch {
      return bad(`the header field '${name}' is not valid`);
    }
  }
  const version = minor === "1" ? "1.1" : "1.0";
  if (version === "1.1" && hosts !== 1) return bad("an HTTP/1.1 request carries exactly one Host header");
  if (hosts > 1) return bad("a request carries at most one Host header");
  const framing = framingOf(headers, version);
  if ("status" in framing) return framing;
  const connection = (headers.get("connection") ?? "").toLowerCase().split(",").map((t) => t.trim());
  const keepAlive = version === "1.1" ? !connection.includes("close") : false;
  const expect = headers.get("expect");
  if (expect !== null && expect.toLowerCase() !== "100-continue") {
    return { status: 417, message: "Expectation Failed: only 'Expect: 100-continue' is understood" };
  }
  return { method, target, version, headers, framing, keepAlive, expectContinue: expect !== null && version === "1.1" };
}

/** The path and query of a request target in origin or absolute form; `undefined` for any other form. */
function originForm(target: string): string | undefined {
  if (target.startsWith("/")) return target;
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return undefined;
  }
}

function framingOf(headers: Headers, version: "1.0" | "1.1"): Framing | HeadRefusal {
  const te = headers.get("transfer-encoding");
  const cl = headers.get("content-length");
  if (te !== null) {
    if (cl !== null) return bad("a request may not carry both Content-Length and Transfer-Encoding");
    if (version === "1.0") return bad("HTTP/1.0 has no Transfer-Encoding");
    if (te.trim().toLowerCase() !== "chunked") {
      return { status: 501, message: "Not Implemented: the only transfer coding taken is 'chunked'" };
    }
    return { kind: "chunked" };
  }
  if (cl === null) return { kind: "length", length: 0 };
  const values = cl.split(",").map((v) => v.trim());
  if (!values.every((v) => /^\d+$/.test(v)) || new Set(values.map((v) => v.replace(/^0+(?=\d)/, ""))).size !== 1) {
    return bad("Content-Length is not one decimal number");
  }
  return { kind: "length", length: Number(values[0]) };
}

function bad(what: string): HeadRefusal {
  return { status: 400, message: `Bad Request: ${what}` };
}
