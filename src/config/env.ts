/**
 * The environment: variables read only when Deno may, and the default home
 * folder derived from `HOME`.
 *
 * @module
 */
import { join } from "../util/path.ts";

/** Reads an environment variable, or `undefined` when unset or when Deno may not read it. */
export function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The default home folder, `~/.dbos-mcp`, or `undefined` when the user's home is unknown. */
export function defaultHome(env: (name: string) => string | undefined = readEnv): string | undefined {
  const base = env("HOME") ?? env("USERPROFILE");
  return base ? join(base, ".dbos-mcp") : undefined;
}
