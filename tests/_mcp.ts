// Helpers to talk to the server the way a client does: in-process over the
// SDK's InMemoryTransport, or as a child process over stdio.
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { createServer, type CreateServerOptions, type DbosMcpServer } from "../src/server.ts";

export { Client };

/** A client connected in-process to a fresh server. */
export interface InProcess extends AsyncDisposable {
  client: Client;
  server: DbosMcpServer;
  close(): Promise<void>;
}

/** Starts a server with `options` and connects an SDK client to it in memory. */
export async function connectInProcess(options: CreateServerOptions): Promise<InProcess> {
  const server = await createServer(options);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "dbos-mcp-tests", version: "1.0.0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  const close = async () => {
    await client.close();
    await server.close();
  };
  return { client, server, close, [Symbol.asyncDispose]: close };
}

/** The text of a tool result's first content item. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.filter((c) => c.type === "text").map((c) => c.text ?? "").join("\n");
}
