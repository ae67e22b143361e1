/**
 * A V8 inspector session with a Deno server process (spawned with
 * `--inspect=127.0.0.1:0` added to its `deno run` flags), for what only the
 * runtime can tell: which modules it has loaded, and its live heap after a
 * full garbage collection.
 *
 * @module
 */
import { RpcProcess, type ServerCommand } from "./_rpc.ts";

/** A server with an inspector session. */
export interface InspectedServer extends AsyncDisposable {
  /** The server, with its JSON-RPC client. */
  server: RpcProcess;
  /** Sends an inspector command and resolves with its result. */
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The URLs of every script V8 has parsed so far (modules included). */
  scripts(): Promise<string[]>;
  /** Collects garbage (full GC) and returns the bytes of live JavaScript heap. */
  liveHeap(): Promise<number>;
  /** Closes the session and stops the server. */
  close(): Promise<void>;
}

/** Spawns `cmd` (a `deno run` command) with the inspector on a free loopback port and connects to it. */
export async function inspectServer(cmd: ServerCommand): Promise<InspectedServer> {
  if (cmd.args[0] !== "run") throw new Error(`${cmd.label}: not a deno run command`);
  const server = new RpcProcess({ ...cmd, args: ["run", "--inspect=127.0.0.1:0", ...cmd.args.slice(1)] });
  let url: string | undefined;
  for (const deadline = Date.now() + 30_000; !url; await new Promise((r) => setTimeout(r, 10))) {
    url = /ws:\/\/127\.0\.0\.1:\d+\/\S+/.exec(server.stderr)?.[0];
    if (!url && Date.now() > deadline) {
      await server.close();
      throw new Error(`${cmd.label}: no inspector address on stderr: ${server.stderr.slice(-500)}`);
    }
  }
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`${cmd.label}: cannot connect to the inspector at ${url}`));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const parsed: string[] = [];
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data));
    if (msg.method === "Debugger.scriptParsed") {
      parsed.push(String(msg.params?.url ?? ""));
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`inspector: ${msg.error.message}`));
    else p.resolve(msg.result ?? {});
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      const closed = new Promise((r) => (ws.onclose = r));
      ws.close();
      await closed;
      await server.close();
    })();
  return {
    server,
    send,
    async scripts() {
      parsed.length = 0;
      await send("Debugger.enable"); // reports every script parsed so far
      await send("Debugger.disable");
      return [...parsed];
    },
    async liveHeap() {
      await send("HeapProfiler.collectGarbage");
      const usage = await send("Runtime.getHeapUsage");
      return Number(usage.usedSize);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The module URLs among `scripts` (files and npm packages; the runtime's own `ext:` scripts left out). */
export function moduleUrls(scripts: readonly string[]): string[] {
  return [...new Set(scripts.filter((u) => u.startsWith("file://")))];
}

/** The npm packages (`name@version`) the module URLs come from. */
export function npmPackages(modules: readonly string[]): string[] {
  const names = new Set<string>();
  for (const url of modules) {
    const m = /\/npm\/[^/]+\/((?:@[^/]+\/)?[^/]+)\/([^/]+)\//.exec(url);
    if (m) names.add(`${m[1]}@${m[2]}`);
  }
  return [...names].sort();
}
