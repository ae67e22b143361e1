import { type Credentials, CredentialsFileError, CredentialStore } from "../src/auth/credentials.ts";
import { NotLoggedInError } from "../src/core/errors.ts";
import { join } from "../src/util/path.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";

const POSIX = Deno.build.os !== "windows";
const SECRET = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3Njc0MDAwMDB9.c2VjcmV0LXNpZ25hdHVyZQ";

interface Sandbox extends AsyncDisposable {
  dir: string;
  home: string;
  warnings: string[];
  store: CredentialStore;
}

/** A fresh temporary folder per test, removed at the end. */
async function sandbox(): Promise<Sandbox> {
  const dir = await Deno.makeTempDir({ prefix: "dbos-mcp-credentials-" });
  const home = join(dir, ".dbos-mcp");
  const warnings: string[] = [];
  return {
    dir,
    home,
    warnings,
    store: new CredentialStore(home, { warn: (msg) => warnings.push(msg) }),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  return names.sort();
}

const ALICE: Credentials = {
  token: SECRET,
  userName: "alice",
  organization: "acme",
  refreshToken: "v1.refresh-token-value",
  expiresAt: 1_767_400_000_000,
};

Deno.test("CredentialStore.read() returns null when there is no credentials file", async () => {
  await using s = await sandbox();
  assertEquals(await s.store.read(), null);
  assertEquals(await s.store.readPendingLogin(), null);
});

Deno.test("CredentialStore.write() creates the folder with mode 0700 and the file with mode 0600", {
  ignore: !POSIX,
}, async () => {
  await using s = await sandbox();
  const oldUmask = Deno.umask(0o000);
  try {
    await s.store.write(ALICE);
  } finally {
    Deno.umask(oldUmask);
  }
  assertEquals(await modeOf(s.home), 0o700);
  assertEquals(await modeOf(s.store.credentialsPath), 0o600);
  assertEquals(await s.store.read(), ALICE);
  await s.store.writePendingLogin({ device_code: "device-code-1", interval: 5, expires_at: 1_767_225_900 });
  assertEquals(await modeOf(s.store.pendingLoginPath), 0o600);
});

Deno.test("CredentialStore.write() replaces the file by renaming a complete temporary file", {
  ignore: !POSIX,
}, async () => {
  await using s = await sandbox();
  await s.store.write(ALICE);
  const before = await Deno.stat(s.store.credentialsPath);
  await s.store.write({ ...ALICE, userName: "bob" });
  const after = await Deno.stat(s.store.credentialsPath);
  assert(before.ino !== after.ino, "the file must be replaced by a rename, not rewritten in place");
  assertEquals((await s.store.read())?.userName, "bob");
  assertEquals(await listDir(s.home), ["credentials"]);
});

Deno.test("CredentialStore.write() removes its temporary file and keeps the old file when the rename fails", async () => {
  await using s = await sandbox();
  await s.store.write(ALICE);
  // A non-empty folder where the pending login file should go makes the rename fail.
  await Deno.mkdir(join(s.store.pendingLoginPath, "blocker"), { recursive: true });
  const err = await assertRejects(
    () => s.store.writePendingLogin({ device_code: "device-code-1", interval: 5, expires_at: 1 }),
    CredentialsFileError,
  );
  assertStringIncludes(err.message, s.store.pendingLoginPath);
  assertEquals(await listDir(s.home), ["credentials", "pending_login"]);
  assertEquals(await s.store.read(), ALICE);
});

Deno.test(
  "CredentialStore.read() tightens a file readable by others to 0600 and warns",
  { ignore: !POSIX },
  async () => {
    await using s = await sandbox();
    await s.store.write(ALICE);
    await Deno.chmod(s.store.credentialsPath, 0o644);
    assertEquals(await s.store.read(), ALICE);
    assertEquals(await modeOf(s.store.credentialsPath), 0o600);
    assertEquals(s.warnings.length, 1);
    assertStringIncludes(s.warnings[0], s.store.credentialsPath);
    assertStringIncludes(s.warnings[0], "0644");
    assert(!s.warnings[0].includes(SECRET));
    await s.store.read();
    assertEquals(s.warnings.length, 1, "a private file causes no warning");
  },
);

Deno.test("CredentialStore.read() throws NotLoggedInError for an empty file", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home);
  await Deno.writeTextFile(s.store.credentialsPath, "  \n");
  const err = await assertRejects(() => s.store.read(), NotLoggedInError);
  assertStringIncludes(err.message, `${s.store.credentialsPath} is empty`);
  assertStringIncludes(err.message, "log in again");
  assertEquals(err.code, "NOT_LOGGED_IN");
});

Deno.test("CredentialStore.read() throws NotLoggedInError for a corrupt file without quoting it", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home);
  for (const text of [`{"token": "${SECRET}"`, `["${SECRET}"]`, `"${SECRET}"`]) {
    await Deno.writeTextFile(s.store.credentialsPath, text);
    const err = await assertRejects(() => s.store.read(), NotLoggedInError);
    assertStringIncludes(err.message, "corrupt");
    assertStringIncludes(err.message, "log in again");
    assert(!err.message.includes(SECRET) && !(err.hint ?? "").includes(SECRET));
  }
});

Deno.test("CredentialStore.read() throws NotLoggedInError for a file without a token", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home);
  await Deno.writeTextFile(s.store.credentialsPath, JSON.stringify({ userName: "alice", organization: "acme" }));
  const err = await assertRejects(() => s.store.read(), NotLoggedInError);
  assertStringIncludes(err.message, "no token");
});

Deno.test("CredentialStore.read() reads a file written by the Python server", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home);
  await Deno.writeTextFile(
    s.store.credentialsPath,
    JSON.stringify({ token: SECRET, userName: "alice", organization: "acme" }, null, 2),
  );
  assertEquals(await s.store.read(), { token: SECRET, userName: "alice", organization: "acme" });
});

Deno.test("CredentialStore.write() keeps the keys it does not know", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home);
  await Deno.writeTextFile(
    s.store.credentialsPath,
    JSON.stringify({ token: "old-token-value", userName: "alice", organization: "acme", team: { id: 7 } }),
  );
  await s.store.write({ token: SECRET, userName: "alice", organization: "acme" });
  const doc = JSON.parse(await Deno.readTextFile(s.store.credentialsPath));
  assertEquals(doc, { team: { id: 7 }, token: SECRET, userName: "alice", organization: "acme" });
});

Deno.test("CredentialStore.write() drops a refresh token and expiry that the new login lacks", async () => {
  await using s = await sandbox();
  await s.store.write(ALICE);
  await s.store.write({ token: SECRET, userName: "bob", organization: "acme" });
  const doc = JSON.parse(await Deno.readTextFile(s.store.credentialsPath));
  assertEquals(doc, { token: SECRET, userName: "bob", organization: "acme" });
});

Deno.test("CredentialStore.read() ignores a refresh token or expiry of the wrong type", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home);
  await Deno.writeTextFile(
    s.store.credentialsPath,
    JSON.stringify({ token: SECRET, userName: "alice", organization: "acme", refreshToken: 5, expiresAt: "soon" }),
  );
  assertEquals(await s.store.read(), { token: SECRET, userName: "alice", organization: "acme" });
});

Deno.test("CredentialStore.delete() removes the credentials and the pending login, and tolerates their absence", async () => {
  await using s = await sandbox();
  assertEquals(await s.store.delete(), false);
  await s.store.write(ALICE);
  await s.store.writePendingLogin({ device_code: "device-code-1", interval: 5, expires_at: 1_767_225_900 });
  assertEquals(await s.store.delete(), true);
  assertEquals(await s.store.read(), null);
  assertEquals(await s.store.readPendingLogin(), null);
  assertEquals(await s.store.deletePendingLogin(), false);
});

Deno.test("CredentialStore pending login round-trips and reads the Python server's format", async () => {
  await using s = await sandbox();
  const pending = {
    device_code: "device-code-1",
    interval: 5,
    expires_at: 1_767_225_900.5,
    user_code: "BCDF-GHJK",
    verification_uri: "https://login.example/activate",
    verification_uri_complete: "https://login.example/activate?user_code=BCDF-GHJK",
    last_poll_at: 1_767_225_001,
  };
  await s.store.writePendingLogin(pending);
  assertEquals(await s.store.readPendingLogin(), pending);
  // The Python server writes only these keys, with expires_at from time.time().
  await Deno.writeTextFile(
    s.store.pendingLoginPath,
    JSON.stringify({ device_code: "device-code-2", interval: 5, expires_at: 1767225900.25 }),
  );
  assertEquals(await s.store.readPendingLogin(), {
    device_code: "device-code-2",
    interval: 5,
    expires_at: 1767225900.25,
  });
});

Deno.test("CredentialStore.readPendingLogin() throws an error that says to log in again for a corrupt file", async () => {
  await using s = await sandbox();
  await Deno.mkdir(s.home);
  await Deno.writeTextFile(s.store.pendingLoginPath, "{not json");
  const err = await assertRejects(() => s.store.readPendingLogin(), NotLoggedInError);
  assertStringIncludes(err.message, s.store.pendingLoginPath);
  assertStringIncludes(err.hint ?? "", "login");
});

Deno.test("CredentialStore names the missing --allow-read or --allow-write flag when Deno refuses", async () => {
  await using s = await sandbox();
  await s.store.write(ALICE);
  const moduleUrl = new URL("../src/auth/credentials.ts", import.meta.url).href;
  const script = join(s.dir, "probe.ts");
  await Deno.writeTextFile(
    script,
    `import { CredentialStore } from ${JSON.stringify(moduleUrl)};
const store = new CredentialStore(${JSON.stringify(s.home)});
const out = {};
for (const [name, op] of [["read", () => store.read()], ["write", () => store.write({ token: "t", userName: "u", organization: "o" })]]) {
  try { await op(); out[name] = "ok"; } catch (err) { out[name] = { name: err.name, flag: err.flag, message: err.message }; }
}
console.log(JSON.stringify(out));
`,
  );
  const run = async (flags: string[]) => {
    const srcDir = new URL("../src/", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", `--allow-read=${srcDir},${script}`, ...flags, script],
      cwd: s.dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert(out.success, new TextDecoder().decode(out.stderr));
    return JSON.parse(stdout);
  };
  const none = await run([]);
  assertEquals(none.read.name, "MissingPermissionError");
  assertEquals(none.read.flag, `--allow-read=${s.home}`);
  const readOnly = await run([`--allow-read=${s.home}`]);
  assertEquals(readOnly.read, "ok");
  assertEquals(readOnly.write.name, "MissingPermissionError");
  assertEquals(readOnly.write.flag, `--allow-write=${s.home}`);
  assert(!JSON.stringify([none, readOnly]).includes(SECRET));
});

Deno.test("CredentialStore.write() reports a home path that is a file", async () => {
  await using s = await sandbox();
  await Deno.writeTextFile(s.home, "not a folder");
  const err = await assertRejects(() => s.store.write(ALICE), CredentialsFileError);
  assertStringIncludes(err.message, "is not a folder");
});

Deno.test("CredentialStore.read() sees every change to a file it read before, however it was changed", {
  ignore: !POSIX,
}, async (t) => {
  await using s = await sandbox();
  const path = join(s.home, "credentials");
  const old = new Date(Date.now() - 60_000); // long settled: its parse may be reused by its stamp
  const save = async (token: string, how: "in place" | "by rename") => {
    const text = JSON.stringify({ token, userName: "alice", organization: "acme" });
    if (how === "in place") await Deno.writeTextFile(path, text);
    else {
      await Deno.writeTextFile(`${path}.new`, text, { mode: 0o600 });
      await Deno.rename(`${path}.new`, path);
    }
    await Deno.utime(path, old, old);
  };
  await s.store.write(ALICE);
  await save("token-aaaaaaaaaaaa", "in place");
  assertEquals((await s.store.read())?.token, "token-aaaaaaaaaaaa");
  await t.step("rewritten in place, same size, same modification time", async () => {
    await save("token-bbbbbbbbbbbb", "in place");
    assertEquals((await s.store.read())?.token, "token-bbbbbbbbbbbb");
  });
  await t.step("replaced by another file (as another process saves a login)", async () => {
    await save("token-cccccccccccc", "by rename");
    assertEquals((await s.store.read())?.token, "token-cccccccccccc");
  });
  await t.step("removed", async () => {
    await Deno.remove(path);
    assertEquals(await s.store.read(), null);
  });
  await t.step("made readable by others again", async () => {
    await save("token-dddddddddddd", "in place");
    assertEquals((await s.store.read())?.token, "token-dddddddddddd");
    await Deno.chmod(path, 0o644);
    assertEquals((await s.store.read())?.token, "token-dddddddddddd");
    assertEquals(await modeOf(path), 0o600);
    assertStringIncludes(s.warnings.join("\n"), "readable by other users");
  });
});

Deno.test({
  name: "CredentialStore refuses a symbolic link at credentials: the target outside is neither read nor chmod-ed",
  ignore: !POSIX,
  fn: async () => {
    await using s = await sandbox();
    await Deno.mkdir(s.home, { mode: 0o700 });
    const target = join(s.dir, "elsewhere.json");
    const content = JSON.stringify(ALICE);
    await Deno.writeTextFile(target, content);
    await Deno.chmod(target, 0o644);
    await Deno.symlink(target, join(s.home, "credentials"));
    for (const attempt of [() => s.store.read(), () => s.store.write({ ...ALICE, userName: "mallory" })]) {
      const err = await assertRejects(attempt, CredentialsFileError);
      assertStringIncludes(err.message, "is a symbolic link");
      assertStringIncludes(err.hint!, `rm ${join(s.home, "credentials")}`);
    }
    assertEquals(await Deno.readTextFile(target), content);
    assertEquals(await modeOf(target), 0o644);
    assertEquals(s.warnings, []);
  },
});

Deno.test({
  name: "CredentialStore refuses a symbolic link at pending_login, and a folder at credentials",
  ignore: !POSIX,
  fn: async () => {
    await using s = await sandbox();
    await Deno.mkdir(join(s.home, "credentials"), { recursive: true, mode: 0o700 });
    await Deno.chmod(s.home, 0o700);
    const target = join(s.dir, "pending.json");
    await Deno.writeTextFile(target, JSON.stringify({ device_code: "dc-1", interval: 5, expires_at: 2e9 }));
    await Deno.chmod(target, 0o644);
    await Deno.symlink(target, join(s.home, "pending_login"));
    const pending = await assertRejects(() => s.store.readPendingLogin(), CredentialsFileError);
    assertStringIncludes(pending.message, "is a symbolic link");
    assertEquals(await modeOf(target), 0o644);
    const folder = await assertRejects(() => s.store.read(), CredentialsFileError);
    assertStringIncludes(folder.message, "is a folder, not a regular file");
  },
});

Deno.test({
  name: "CredentialStore tightens a pre-existing folder other users may enter to 0700, with a warning",
  ignore: !POSIX,
  fn: async () => {
    await using s = await sandbox();
    await Deno.mkdir(s.home);
    await Deno.chmod(s.home, 0o755);
    await Deno.writeTextFile(join(s.home, "credentials"), JSON.stringify(ALICE), { mode: 0o600 });
    assertEquals((await s.store.read())?.userName, "alice");
    assertEquals(await modeOf(s.home), 0o700);
    assertEquals(s.warnings, [`${s.home} was accessible to other users (mode 0755); changed its mode to 0700.`]);
    // A write checks again: a folder loosened later is tightened before the new login is saved.
    await Deno.chmod(s.home, 0o770);
    await s.store.write(ALICE);
    assertEquals(await modeOf(s.home), 0o700);
    assertEquals(s.warnings.length, 2);
  },
});
