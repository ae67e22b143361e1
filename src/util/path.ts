// Path helpers. Stand-in for `@std/path` (JSR is not reachable where this is
// built); swap the re-exports for `jsr:@std/path` when it is.
export { basename, dirname, isAbsolute, join, resolve } from "node:path";
