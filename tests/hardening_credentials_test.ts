// The credentials folder under stress, with the server as a process under the
// README's flags: an empty file, invalid JSON, a missing folder, a read-only
// folder, a file other users may read (tightened to 0600, with a warning on
// stderr), a folder other users may enter (tightened to 0700), a symbolic
// link or a FIFO at `credentials` (refused at once, the link's target
// untouched, other calls not stalled), `logout` in read-only mode (neither
// listed nor run), and a process killed in the middle of writing the file
// (what is left is the old file or the new one, never a broken one).
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { hasStackTrace, recordFigures, SecretSweep, stopwatch } from "./_hardening.ts";
import { conductorModeArgs, conductorModeFlags } from "./_server_process.ts";
import { isError, spawnPeer, type StdioPeer, textOf } from "./fixtures/stdio_peer.ts";
import { startConductorEmulator } from "./fixtures/conductor_emulator.ts";
import { startLoginEmulator } from "./fixtures/login_emulator.ts";
import { deviceLogin, type LoginTokens, writeCredentials } from "./fixtures/faults.ts";
import { join } from "../src/util/path.ts";

const ORG = "acme";
const POSIX = Deno.build.os !== "windows";
const IS_ROOT = POSIX && Deno.uid() === 0;
/** Root ignores file modes: run the server without the capabilities that let it (util-linux `setpriv`). */
const DROP_ROOT_OVERRIDES = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"];
const CAN_MAKE_READ_ONLY = POSIX && (!IS_ROOT || ["/usr/bin/setpriv", "/bin/setpriv"].some(exists));

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
const KILLS = 20;
/** More kills, if needed, until at least one landed mid-write (a bound, so the test ends). */
const MAX_KILLS = 80;

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

/** `work`, or a failure naming `what` once `ms` have passed (a stalled server must fail the test, not hang it). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The script of a process that writes the credentials file over and over, alternating two logins. */
function writerScript(home: string): string {
  const store = new URL("../src/auth/credentials.ts", import.meta.url).href;
  return `
import { CredentialStore } from ${JSON.stringify(store)};
const store = new CredentialStore(${JSON.stringify(home)}, { warn: () => {} });
const big = "x".repeat(1024 * 1024); // a large file keeps each write, and its fsync, busy for a while
await Deno.stdout.write(new TextEncoder().encode("writing\\n"));
for (let i = 0;; i++) {
  const v = i % 2 === 0 ? "new" : "old";
  await store.write({ token: "token-" + v, userName: v + big, organization: "acme" });
}
`;
}

Deno.test("credentials: empty, corrupt, missing, read-only, loose modes, a link, a FIFO, read-only logout, killed mid-write", async (t) => {
  const elapsed = stopwatch();
  const sweep = new SecretSweep();
  const extra: Record<string, number | string> = {};
  await using login = await startLoginEmulator({ organization: ORG });
  await using conductor = await startConductorEmulator({
    org: ORG,
    isValidToken: (tok) => login.isValidAccessToken(tok),
    applications: ["sample-app"],
    onRequest: (_rec, req) => login.usersMe(req),
  });
  const root = await Deno.makeTempDir({ prefix: "dbos-mcp-creds-" });
  const hosts = [...new Set([new URL(conductor.baseUrl).host, new URL(login.loginUrl).host])];
  const peers: StdioPeer[] = [];
  const serve = async (home: string, prefix?: string[], extraArgs: string[] = []) => {
    const peer = spawnPeer({
      flags: conductorModeFlags({ hosts, home }),
      args: [
        ...conductorModeArgs({
          conductorUrl: conductor.baseUrl,
          loginUrl: login.loginUrl,
          home,
        }),
        "--login-wait",
        "3000",
        ...extraArgs,
      ],
      prefix,
    });
    peers.push(peer);
    assert((await within(30_000, "initialize", peer.initialize())).result, "initialize answers");
    return peer;
  };
  const logsIn = async (peer: StdioPeer) => {
    const started = await peer.callTool("login", {});
    assert(!isError(started), textOf(started));
    const done = await peer.callTool("login_complete", {});
    assert(!isError(done), textOf(done));
    assertEquals((done.result as { structuredContent?: { status?: string } }).structuredContent?.status, "complete");
  };
  const listsApps = async (peer: StdioPeer) => {
    const res = await peer.callTool("list_applications", {});
    assert(!isError(res), textOf(res));
  };
  let tokens: LoginTokens | undefined;
  const freshLogin = async () => (tokens = await deviceLogin(login));

  try {
    await t.step("an empty or corrupt file means 'log in again', and logging in repairs it", async () => {
      const home = join(root, "corrupt");
      const peer = await serve(home);
      const cases = ["", "   \n", "{not json", "[1, 2]", "null", '{"userName": "alice"}', "\u0000\u0001"];
      for (const content of cases) {
        await Deno.mkdir(home, { recursive: true, mode: 0o700 });
        await Deno.writeTextFile(join(home, "credentials"), content, { mode: 0o600 });
        const res = await peer.callTool("list_applications", {});
        assert(isError(res), `${JSON.stringify(content)} is not a login`);
        const text = textOf(res);
        assertStringIncludes(text, "login", `${JSON.stringify(content)}: ${text}`);
        assert(!hasStackTrace(text));
      }
      await logsIn(peer);
      await listsApps(peer);
      JSON.parse(await Deno.readTextFile(join(home, "credentials")));
      assertEquals(peer.exited(), false);
    });

    await t.step("a missing folder: not logged in; logging in creates it (0700) and the file (0600)", async () => {
      const home = join(root, "missing", "deeper", ".dbos-mcp");
      const peer = await serve(home);
      const res = await peer.callTool("list_applications", {});
      assert(isError(res));
      assertStringIncludes(textOf(res), "You are not logged in");
      await logsIn(peer);
      await listsApps(peer);
      if (POSIX) {
        assertEquals(await modeOf(home), 0o700);
        assertEquals(await modeOf(join(home, "credentials")), 0o600);
      }
    });

    await t.step({
      name: "a read-only folder: the saved login works, a new one is refused clearly or kept in memory",
      ignore: !CAN_MAKE_READ_ONLY,
      fn: async () => {
        const home = join(root, "readonly");
        await writeCredentials(home, await freshLogin(), { organization: ORG });
        await Deno.chmod(home, 0o500);
        try {
          const peer = await serve(home, IS_ROOT ? DROP_ROOT_OVERRIDES : undefined);
          await listsApps(peer);
          // Starting a login must write the pending login: refused, with what to do.
          const started = await peer.callTool("login", {});
          assert(isError(started));
          const text = textOf(started);
          assertStringIncludes(text, "permission denied");
          assertStringIncludes(text, `chmod 700 ${home}`);
          assert(!hasStackTrace(text));
          // A refreshed token cannot be saved: it is kept in memory, with one warning, and calls go on.
          login.expireAccessTokensNow();
          await listsApps(peer);
          await listsApps(peer);
          const warnings = peer.stderr().split("\n").filter((l) => l.includes("keeping it in memory"));
          assertEquals(warnings.length, 1, peer.stderr());
          assertEquals(JSON.parse(await Deno.readTextFile(join(home, "credentials"))).token, tokens!.accessToken);
        } finally {
          await Deno.chmod(home, 0o700);
        }
      },
    });

    await t.step({
      name: "a file other users may read is tightened to 0600, with a warning on stderr",
      ignore: !POSIX,
      fn: async () => {
        const home = join(root, "loose");
        await writeCredentials(home, await freshLogin(), { organization: ORG });
        const file = join(home, "credentials");
        await Deno.chmod(file, 0o644);
        const peer = await serve(home);
        await listsApps(peer);
        assertEquals(await modeOf(file), 0o600);
        assertStringIncludes(
          peer.stderr(),
          `${file} was readable by other users (mode 0644); changed its mode to 0600`,
        );
      },
    });

    await t.step({
      name: "a folder other users may enter is tightened to 0700, with a warning on stderr",
      ignore: !POSIX,
      fn: async () => {
        const home = join(root, "open-folder");
        await writeCredentials(home, await freshLogin(), { organization: ORG });
        await Deno.chmod(home, 0o755);
        const peer = await serve(home);
        await listsApps(peer);
        assertEquals(await modeOf(home), 0o700);
        assertStringIncludes(
          peer.stderr(),
          `${home} was accessible to other users (mode 0755); changed its mode to 0700`,
        );
      },
    });

    await t.step({
      name: "a symbolic link at credentials is refused: its target outside the folder is not read or chmod-ed",
      ignore: !POSIX,
      fn: async () => {
        const home = join(root, "linked");
        await Deno.mkdir(home, { mode: 0o700 });
        const fresh = await freshLogin();
        const target = join(root, "outside-credentials.json");
        const content = JSON.stringify({ token: fresh.accessToken, userName: "alice", organization: ORG });
        await Deno.writeTextFile(target, content);
        await Deno.chmod(target, 0o644);
        await Deno.symlink(target, join(home, "credentials"));
        const peer = await serve(home);
        const res = await peer.callTool("list_applications", {});
        assert(isError(res), "a link is not a login");
        assertStringIncludes(textOf(res), `${join(home, "credentials")} is a symbolic link`);
        assertStringIncludes(textOf(res), "Remove the link");
        assert(!hasStackTrace(textOf(res)));
        assertEquals(await Deno.readTextFile(target), content);
        assertEquals(await modeOf(target), 0o644);
        assert(!peer.stderr().includes("changed its mode"), peer.stderr());
      },
    });

    await t.step({
      name: "a FIFO at credentials gives a clear error at once, and a concurrent ping is not stalled",
      ignore: !POSIX,
      fn: async () => {
        const home = join(root, "fifo");
        await Deno.mkdir(home, { mode: 0o700 });
        const made = await new Deno.Command("mkfifo", { args: ["-m", "600", join(home, "credentials")] }).output();
        assert(made.success, "mkfifo made the FIFO");
        const peer = await serve(home);
        const took = stopwatch();
        const [res, ping] = await within(
          5_000,
          "list_applications and ping with a FIFO at credentials",
          Promise.all([peer.callTool("list_applications", {}), peer.request("ping")]),
        );
        extra["FIFO at credentials: answered in ms"] = took();
        assertEquals(ping.result, {});
        assert(isError(res), "a FIFO is not a login");
        assertStringIncludes(textOf(res), "is a FIFO (named pipe), not a regular file");
        assertEquals(peer.exited(), false);
      },
    });

    await t.step("logout is neither listed nor run in read-only mode: the shared credentials file stays", async () => {
      const home = join(root, "read-only-logout");
      await writeCredentials(home, await freshLogin(), { organization: ORG });
      const file = join(home, "credentials");
      const before = await Deno.readTextFile(file);
      const peer = await serve(home, undefined, ["--read-only"]);
      const listed = await peer.request("tools/list", {});
      const names = (listed.result as { tools: { name: string }[] }).tools.map((tool) => tool.name);
      assert(!names.includes("logout"), names.join(", "));
      assert(names.includes("login"), "login is still offered");
      const res = await peer.callTool("logout", {});
      assert(isError(res));
      assertStringIncludes(textOf(res), "logout is disabled in read-only mode");
      assertEquals(await Deno.readTextFile(file), before);
      await listsApps(peer); // the refresh token was not revoked either: the login still works
    });

    await t.step(
      `killed at least ${KILLS} times, at least once mid-write: the old file or the new one, never a broken one`,
      async () => {
        const home = join(root, "killed");
        await Deno.mkdir(home, { mode: 0o700 });
        const script = join(root, "writer.ts");
        await Deno.writeTextFile(script, writerScript(home));
        await Deno.writeTextFile(
          join(home, "credentials"),
          JSON.stringify({ token: "token-old", userName: `old${"x".repeat(1024 * 1024)}`, organization: ORG }),
          { mode: 0o600 },
        );
        const seen: Record<string, number> = { old: 0, new: 0 };
        const leftovers = new Set<string>();
        // A kill landed mid-write when it left a temporary file of its own (each write names a fresh one):
        // the writer was between creating it and renaming it over the credentials file.
        let midWrite = 0;
        let cutShort = 0;
        let kills = 0;
        for (let i = 0; i < KILLS || (midWrite === 0 && i < MAX_KILLS); i++) {
          kills++;
          const writer = new Deno.Command(Deno.execPath(), {
            args: ["run", "--no-prompt", `--allow-read=${home},${script}`, `--allow-write=${home}`, script],
            stdout: "piped",
            stderr: "null",
          }).spawn();
          const reader = writer.stdout.getReader();
          await reader.read(); // "writing": the loop has started
          await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
          writer.kill("SIGKILL");
          await writer.status;
          reader.releaseLock();
          await writer.stdout.cancel();
          const doc = JSON.parse(await Deno.readTextFile(join(home, "credentials")));
          assert(doc.token === "token-old" || doc.token === "token-new", `an old or new file: ${doc.token}`);
          assertEquals(doc.userName.length, 3 + 1024 * 1024, "whole, not cut");
          seen[doc.token.slice(6)]++;
          for await (const entry of Deno.readDir(home)) {
            if (!entry.name.endsWith(".tmp") || leftovers.has(entry.name)) continue;
            leftovers.add(entry.name);
            midWrite++;
            // Shorter than a whole file: the kill landed while the bytes were being written.
            if ((await Deno.stat(join(home, entry.name))).size < 1024 * 1024) cutShort++;
          }
        }
        extra["writers killed"] = kills;
        extra["killed between temp file and rename"] = midWrite;
        extra["killed while writing the temp file"] = cutShort;
        console.log(
          `killed ${kills} writers: ${seen.old} left the old file, ${seen.new} the new one; ${midWrite} were ` +
            `caught between creating the temporary file and renaming it (${cutShort} while writing it)`,
        );
        assert(midWrite >= 1, `none of ${kills} kills landed mid-write: the test proved nothing`);
        // The server starts from what is left, temporary files included ('log in again': an unknown token).
        const peer = await serve(home);
        const res = await peer.callTool("list_applications", {});
        assert(isError(res));
        assertStringIncludes(textOf(res), "login");
      },
    );
  } finally {
    for (const peer of peers) {
      await peer.close();
      sweep.capture("stdout", peer.stdout());
      sweep.capture("stderr", peer.stderr());
    }
    sweep.lookFor(login.allSecrets());
    await Deno.remove(root, { recursive: true });
  }

  await t.step("nothing but JSON-RPC on any server's stdout", () => {
    assertEquals(peers.flatMap((p) => p.badLines), []);
  });

  await t.step("no token, refresh token or device code in anything the servers wrote", () => {
    assertEquals(sweep.leaks(), []);
  });
  await recordFigures("credentials", {
    ...sweep.figures(),
    extra,
    durationMs: elapsed(),
  });
});
