// The option table is the one declaration of each option: Config and DEFAULTS
// come from it, and `deno check` (which covers this file) refuses an entry
// whose default, parser and flag kind disagree. The `@ts-expect-error` lines
// below are the proof: if the check let a wrong entry through, the directive
// itself would fail `deno check`.
import { assert, assertEquals } from "./_assert.ts";
import { type Config, DEFAULTS, OPTION_TABLE, OPTIONS, type RawValue } from "../mod.ts";
import type { CheckedTable, TableEntry } from "../src/config/mod.ts";

const count = (raw: RawValue, source: string): number => {
  if (typeof raw !== "number") throw new Error(`${source} must be a number`);
  return raw;
};

const good = {
  /** A number with a default. */
  limit: { kind: "string", value: "N", default: 10, description: "A limit.", parse: count },
  /** A number without one. */
  maybe: { kind: "string", value: "N", default: undefined, description: "Maybe.", parse: count },
  /** A boolean. */
  flag: { kind: "boolean", value: "", default: false, description: "A switch.", parse: (): boolean => true },
  /** A list. */
  list: { kind: "list", value: "X", default: [], description: "A list.", parse: (): string[] => [] },
} satisfies Record<string, TableEntry>;
const checked: CheckedTable<typeof good> = good;

const wrongDefault = {
  limit: { kind: "string", value: "N", default: "10", description: "A limit.", parse: count },
} satisfies Record<string, TableEntry>;
// @ts-expect-error a default that is not what the parser returns fails deno check
const rejectedDefault: CheckedTable<typeof wrongDefault> = wrongDefault;

const wrongKind = {
  flag: { kind: "string", value: "", default: false, description: "A switch.", parse: (): boolean => true },
} satisfies Record<string, TableEntry>;
// @ts-expect-error a boolean option declared as taking a value fails deno check
const rejectedKind: CheckedTable<typeof wrongKind> = wrongKind;

const wrongListKind = {
  list: { kind: "string", value: "X", default: [], description: "A list.", parse: (): string[] => [] },
} satisfies Record<string, TableEntry>;
// @ts-expect-error a list option declared as a single value fails deno check
const rejectedListKind: CheckedTable<typeof wrongListKind> = wrongListKind;

// @ts-expect-error Config's field types come from the table's parsers: timeoutMs is a number
const wrongField: Config["timeoutMs"] = "30000";
const optionalField: Config["databaseUrl"] = undefined;
// @ts-expect-error an option with a default is never undefined
const requiredField: Config["schema"] = undefined;

Deno.test("the option table's type check accepts well-formed entries", () => {
  assertEquals(Object.keys(checked), ["limit", "maybe", "flag", "list"]);
  // The rejected tables exist at run time all the same: only the type check refuses them.
  assertEquals([rejectedDefault, rejectedKind, rejectedListKind].length, 3);
  assertEquals([wrongField, optionalField, requiredField], ["30000", undefined, undefined]);
});

Deno.test("DEFAULTS keep the documented defaults of every option", () => {
  assertEquals(DEFAULTS, {
    conductorUrl: "https://cloud.dbos.dev/conductor",
    loginUrl: "https://login.dbos.dev",
    timeoutMs: 30_000,
    loginWaitMs: 20_000,
    refreshToken: undefined,
    token: undefined,
    org: undefined,
    noAuth: false,
    databaseUrl: undefined,
    appName: undefined,
    apps: [],
    schema: "dbos",
    poolSize: 2,
    statementTimeoutMs: 10_000,
    readOnly: false,
    tools: [],
    excludeTools: [],
    toolsets: [],
    plugins: [],
    pluginOptions: {},
    configFile: undefined,
    auditLog: undefined,
    auditRequired: false,
    private: false,
    production: false,
    maxResultBytes: 24_576,
    maxFieldBytes: 1_024,
    http: undefined,
    httpToken: undefined,
    httpMaxBodyBytes: 4_194_304,
    httpMaxSessions: 64,
    httpIdleTimeoutMs: 1_800_000,
    httpReadTimeoutMs: 30_000,
    httpAllowedHosts: [],
    noConfirm: false,
  });
  assert(Object.isFrozen(DEFAULTS), "DEFAULTS cannot be changed by a caller");
});

Deno.test("OPTIONS lists every table entry in table order, with its default as --help shows it", () => {
  assertEquals(OPTIONS.map((o) => o.key), Object.keys(OPTION_TABLE));
  const text = Object.fromEntries(OPTIONS.map((o) => [o.key, o.defaultText]));
  assertEquals(text.timeoutMs, "30000");
  assertEquals(text.readOnly, "false");
  assertEquals(text.databaseUrl, "(none)");
  assertEquals(text.excludeTools, "(none)");
  assertEquals(text.tools, "(all)");
  assertEquals(text.home, "~/.dbos-mcp");
  assertEquals(text.pluginOptions, "{}");
});

Deno.test("every option's parser accepts its own default and returns it unchanged", () => {
  for (const opt of OPTIONS) {
    if (opt.default === undefined) continue;
    assertEquals(opt.parse(opt.default, `config.${opt.key}`), opt.default, opt.key);
  }
});
