// The password of a system database URL that has none: `PGPASSWORD`, else
// the matching line of the password file (`PGPASSFILE`, else ~/.pgpass), as
// libpq does. The `pg` driver would look the file up itself, but it reads
// HOME without asking Deno first and, when that is not allowed, crashes the
// process from inside a socket callback; this lookup asks first, and says
// which grant is missing instead.
import { ConfigError, errorMessage } from "../../core/errors.ts";
import { join } from "../../util/path.ts";
import { readEnv } from "../../config/mod.ts";
import type { DatabaseTarget } from "./_targets.ts";

/** One line of a password file. */
interface PassEntry {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
}

/** Splits a password-file line on unescaped colons, unescaping `\:` and `\\`. */
export function parsePassLine(line: string): PassEntry | undefined {
  if (line.trim() === "" || line.trimStart().startsWith("#")) return undefined;
  const fields: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && i + 1 < line.length) {
      current += line[++i];
    } else if (c === ":" && fields.length < 4) {
      fields.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  fields.push(current);
  if (fields.length !== 5) return undefined;
  const [host, port, database, user, password] = fields;
  return { host, port, database, user, password };
}

/** The password of the first line of `text` that matches `target` (`*` matches anything). */
export function findPassword(
  text: string,
  target: Pick<DatabaseTarget, "hostPort" | "database" | "user">,
): string | undefined {
  const colon = target.hostPort.lastIndexOf(":");
  const host = target.hostPort.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = target.hostPort.slice(colon + 1);
  const user = target.user ?? "";
  const match = (pattern: string, value: string) => pattern === "*" || pattern === value;
  for (const line of text.split(/\r?\n/)) {
    const e = parsePassLine(line);
    if (!e) continue;
    if (match(e.host, host) && match(e.port, port) && match(e.database, target.database) && match(e.user, user)) {
      return e.password;
    }
  }
  return undefined;
}

/**
 * A password function for the `pg` driver, for a URL without a password.
 * It runs only when the server asks for a password (not with `trust` or
 * certificate authentication).
 */
export function passwordLookup(target: DatabaseTarget): () => Promise<string> {
  return async () => {
    const fromEnv = readEnv("PGPASSWORD");
    if (fromEnv) return fromEnv;
    const home = readEnv("HOME");
    const file = readEnv("PGPASSFILE") || (home ? join(home, ".pgpass") : undefined);
    const missing = (why: string) =>
      new ConfigError(
        `PostgreSQL asks for a password for ${target.where}, and the URL has none: ${why}.`,
        {
          hint: "Put the password in the URL, or set PGPASSWORD, or let the server read your password file " +
            "(add --allow-env=HOME --allow-read=$HOME/.pgpass, or set PGPASSFILE and allow reading it).",
        },
      );
    if (!file) throw missing("no PGPASSWORD, and the password file's location is unknown (HOME is not readable)");
    if ((await Deno.permissions.query({ name: "read", path: file })).state !== "granted") {
      throw missing(`no PGPASSWORD, and Deno may not read ${file}`);
    }
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw missing(`no PGPASSWORD, and ${file} cannot be read (${errorMessage(err)})`);
    }
    const password = findPassword(text, target);
    if (password === undefined) throw missing(`no PGPASSWORD, and no line of ${file} matches`);
    return password;
  };
}
