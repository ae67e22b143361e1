// Deno permissions withheld, one at a time, from the README's flags (with
// --no-prompt, so a missing grant is an error, not a prompt): the server
// still answers `initialize` and `tools/list`, each call that needs the
// missing grant answers an isError result naming the exact `--allow-*` flag
// to add, calls that do not need it still work, and no stack trace reaches
// the agent.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { hasStackTrace, recordFigures, SecretSweep, stopwatch } from "./_hardening.ts";
import { conductorModeArgs, conductorModeFlags } from "./_server_process.ts";
import { isError, spawnPeer, textOf } from "./fixtures/stdio_peer.ts";
import { startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { deviceLogin, writeCredentials } from "./fixtures/faults.ts";
import { join } from "../src/util/path.ts";

const ORG = "acme";

/** One withheld grant: the flags without it, and what each call must answer. */
interface Withheld {
  grant: string;
  /** Removes the grant from the README's flags. */
  flags(flags: string[]): string[];
  /** Drop `--home` from the arguments too (the server must find the folder itself). */
  noHome?: boolean;
  /** Each call, and the flag its error must name (null: it must succeed). */
  calls: [tool: string, flag: string | null][];
}

Deno.test("permissions: each grant withheld in turn, the server answers and names the flag to add", async (t) => {
  const elapsed = stopwatch();
  const sweep = new SecretSweep();
  const handled: string[] = [];
  await using login = await startLoginEmulator({ organization: ORG });
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    applications: ["sample-app"],
    onRequest: (_rec, req) => login.usersMe(req),
  });
  const conductorHost = new URL(conductor.baseUrl).host;
  const loginHost = new URL(login.loginUrl).host;
  const root = await Deno.makeTempDir({ prefix: "dbos-mcp-perms-" });
  const without = (prefix: string) => (flags: string[]) => flags.filter((f) => !f.startsWith(prefix));

  const cases: Withheld[] = [
    {
      grant: "net",
      flags: without("--allow-net"),
      calls: [
        ["list_applications", `--allow-net=${conductorHost}`],
        ["login", `--allow-net=${loginHost}`],
      ],
    },
    {
      grant: "read",
      flags: without("--allow-read"),
      calls: [
        ["list_applications", "--allow-read={home}"],
        ["login", "--allow-read={home}"],
        ["login_complete", "--allow-read={home}"],
      ],
    },
    {
      grant: "write",
      flags: without("--allow-write"),
      calls: [
        ["list_applications", null],
        ["login", "--allow-write={home}"],
        ["logout", "--allow-write={home}"],
      ],
    },
    {
      grant: "env (with --home)",
      flags: without("--allow-env"),
      calls: [["list_applications", null], ["list_executors", null]],
    },
    {
      grant: "env",
      flags: without("--allow-env"),
      noHome: true,
      calls: [
        ["list_applications", "--allow-env=HOME (or pass --home DIR)"],
        ["login", "--allow-env=HOME (or pass --home DIR)"],
      ],
    },
  ];

  const withheld = async (c: Withheld) => {
    const home = join(root, c.grant.replace(/\W+/g, "-"), ".dbos-mcp");
    await writeCredentials(home, await deviceLogin(login), { organization: ORG });
    const peer = spawnPeer({
      flags: c.flags(conductorModeFlags({ hosts: [conductorHost, loginHost], home })),
      args: [
        ...conductorModeArgs({
          conductorUrl: conductor.baseUrl,
          loginUrl: login.loginUrl,
          home: c.noHome ? undefined : home,
        }),
      ],
    });
    try {
      const init = await peer.initialize();
      assert(init.result, `initialize answers: ${JSON.stringify(init).slice(0, 300)} ${peer.stderr()}`);
      const tools = await peer.request("tools/list", {});
      assert((tools.result as { tools: unknown[] }).tools.length > 0, "tools/list answers");
      for (const [tool, flag] of c.calls) {
        const res = await peer.callTool(tool, tool === "list_executors" ? { application_name: "sample-app" } : {});
        const text = textOf(res);
        assert(!hasStackTrace(text), `no stack trace: ${text}`);
        if (flag === null) {
          assert(!isError(res), `${tool} needs no --allow-${c.grant}: ${text}`);
        } else {
          assert(isError(res), `${tool} fails without --allow-${c.grant}`);
          assertStringIncludes(text, flag.replace("{home}", home));
        }
      }
      assertEquals(peer.exited(), false, "the server keeps serving");
      assert(!hasStackTrace(peer.stdout()), "no stack trace on stdout");
      assertEquals(peer.badLines, []);
    } finally {
      await peer.close();
      sweep.capture(`${c.grant} stdout`, peer.stdout());
      sweep.capture(`${c.grant} stderr`, peer.stderr());
    }
    handled.push(c.grant);
  };

  try {
    for (const c of cases) {
      await t.step(`--allow-${c.grant} withheld${c.noHome ? ", no --home" : ""}`, () => withheld(c));
    }
  } finally {
    sweep.lookFor(login.allSecrets());
    await Deno.remove(root, { recursive: true });
  }

  await t.step("no token, refresh token or device code in anything the servers wrote", () => {
    assertEquals(sweep.leaks(), []);
  });
  await recordFigures("permissions", {
    secretLeaks: sweep.leaks().reduce((n, l) => n + l.count, 0),
    sweptBytes: sweep.bytes,
    secretsLookedFor: sweep.secretCount,
    extra: { "grants withheld and handled": handled.join(", ") },
    durationMs: elapsed(),
  });
});
