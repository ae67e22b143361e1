/**
 * A minimal MCP client for benchmarks: spawns a server process and speaks
 * raw JSON-RPC lines over its stdin and stdout, with many requests in flight
 * at once. Every compared system is driven by this same client, so its own
 * cost (small: no schema validation, one `JSON.parse` per line) is the same
 * for all of them.
 *
 * @module
 */

/** A command that starts an MCP server on stdio. */
export interface ServerCommand {
  /** Shown in progress lines and tables. */
  label: string;
  /** The executable. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Extra environment variables (added to this process's environment). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/** A JSON-RPC error answer. */
export class RpcError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** Creates the error from the answer's `error` member. */
  constructor(method: string, error: { code?: number; message?: string }) {
    super(`${method} failed: ${error.message ?? "unknown error"} (${error.code ?? "?"})`);
    this.name = "RpcError";
    this.code = error.code ?? 0;
  }
}

/** The protocol version the benchmark client announces. */
export const PROTOCOL_VERSION = "2025-06-18";

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

/** A spawned server with a JSON-RPC line client connected to its stdio. */
export class RpcProcess implements AsyncDisposable {
  /** The label of the command it runs. */
  readonly label: string;
  /** Process id of the server. */
  readonly pid: number;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #stderr = "";
  #exited = false;
  #reading: Promise<void>;
  #readingErr: Promise<void>;
  #closing?: Promise<void>;

  /** Spawns `cmd` with piped stdio. Nothing is sent yet. */
  constructor(cmd: ServerCommand) {
    this.label = cmd.label;
    this.#child = new Deno.Command(cmd.command, {
      args: cmd.args,
      env: cmd.env,
      cwd: cmd.cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#writer = this.#child.stdin.getWriter();
    this.#reading = this.#readLines();
    this.#readingErr = this.#readStderr();
    this.#child.status.then(() => {
      this.#exited = true;
      this.#failAll(new Error(`${this.label} exited; stderr: ${this.#stderr.slice(-2000)}`));
    });
  }

  /** Everything the server wrote to stderr so far (the last 64 KB). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Sends a request and resolves with its result (rejects with {@linkcode RpcError} on an error answer). */
  request(method: string, params?: Record<string, unknown>): Promise<unknown> {
    const id = this.#nextId++;
    const done = Promise.withResolvers<unknown>();
    if (this.#exited) return Promise.reject(new Error(`${this.label} has exited`));
    this.#pending.set(id, { method, resolve: done.resolve, reject: done.reject });
    this.#write({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) }).catch((err) => {
      this.#pending.delete(id);
      done.reject(err);
    });
    return done.promise;
  }

  /** Sends a notification. */
  notify(method: string, params?: Record<string, unknown>): Promise<void> {
    return this.#write({ jsonrpc: "2.0", method, ...(params ? { params } : {}) });
  }

  /** `initialize`, then `notifications/initialized`: the MCP handshake. */
  async initialize(): Promise<unknown> {
    const result = await this.request("initialize", {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "dbos-mcp-bench", version: "1.0.0" },
    });
    await this.notify("notifications/initialized");
    return result;
  }

  /** `tools/call`; resolves with the whole result (an `isError` result too). */
  callTool(name: string, args: Record<string, unknown>): Promise<ToolCallResult> {
    return this.request("tools/call", { name, arguments: args }) as Promise<ToolCallResult>;
  }

  /** The server's resident set size in bytes (`VmRSS` of `/proc/PID/status`), or `NaN` where there is no /proc. */
  async rss(): Promise<number> {
    return await rssOf(this.pid);
  }

  /**
   * The file-backed part of the resident set in bytes (`RssFile`: pages of
   * the executable and libraries, shared with other processes), or `NaN`.
   */
  async rssFile(): Promise<number> {
    return await rssOf(this.pid, "RssFile");
  }

  /** Closes stdin, waits up to `graceMs` for the server to exit, then kills it. Safe to call twice. */
  close(graceMs = 3_000): Promise<void> {
    return this.#closing ??= (async () => {
      await this.#writer.close().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)));
      const exited = await Promise.race([this.#child.status.then(() => false), timedOut]);
      clearTimeout(timer);
      if (exited) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      await this.#child.status;
      await Promise.allSettled([this.#reading, this.#readingErr]);
    })();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #write(message: unknown): Promise<void> {
    await this.#writer.write(this.#encoder.encode(JSON.stringify(message) + "\n"));
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  async #readLines(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.#child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== "") this.#onLine(line);
        nl = buffered.indexOf("\n");
      }
    }
  }

  #onLine(line: string): void {
    let msg: { id?: unknown; result?: unknown; error?: { code?: number; message?: string }; method?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not ours to judge here
    }
    if (typeof msg.id !== "number" || msg.method !== undefined) return; // notifications and server requests
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) pending.reject(new RpcError(pending.method, msg.error));
    else pending.resolve(msg.result);
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-65_536);
    }
  }
}

/** A `tools/call` result. */
export interface ToolCallResult {
  /** Text and other content items. */
  content?: { type: string; text?: string }[];
  /** The structured result. */
  structuredContent?: Record<string, unknown>;
  /** Whether the call failed. */
  isError?: boolean;
}

/** The resident set size of process `pid` (or one of its parts) in bytes, or `NaN` when `/proc` cannot tell. */
export async function rssOf(pid: number, field: "VmRSS" | "RssFile" | "RssAnon" = "VmRSS"): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
