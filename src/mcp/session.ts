/**
 * Binds one MCP session to the shared call pipeline: an SDK server whose
 * tools, resources and prompts all go through {@linkcode CallPipeline}, with
 * the session's own facilities (elicitation for confirmations, progress
 * notifications) handed to each call.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/index"
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { CallPipeline } from "../core/pipeline.ts";
import type { SessionFacilities } from "../core/tool.ts";
import { NAME, VERSION } from "../util/version.ts";
import { PROMPTS, RESOURCE_TEMPLATES, resourceCall, resourceContents, RESOURCES } from "./resources.ts";

/** What every session of one server shares. */
export interface SessionDeps {
  /** The pipeline every call goes through. */
  pipeline: CallPipeline;
  /** The `tools/list` answer (already filtered by policy). */
  tools: readonly Tool[];
  /** Instructions sent at initialization. */
  instructions: string;
  /** Do not ask the user to confirm mutations. */
  noConfirm: boolean;
  /** Wraps each request's work, so the server knows when calls are in flight. */
  track<T>(work: () => Promise<T>): Promise<T>;
}

/** Creates the SDK server of one MCP session, bound to the shared pipeline; connect it to a transport. */
export function bindSession(deps: SessionDeps): Server {
  const { pipeline } = deps;
  const server = new Server({ name: NAME, version: VERSION }, {
    capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} },
    instructions: deps.instructions,
  });
  const sessionId = crypto.randomUUID();
  const session = () => ({ id: sessionId, client: server.getClientVersion() });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: deps.tools as Tool[] }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra): Promise<CallToolResult> =>
    deps.track(async () => {
      const progressToken = request.params._meta?.progressToken;
      const facilities: SessionFacilities = {
        confirm: (message) => confirmWith(server, message, deps.noConfirm),
        progress: async (progress, total, message) => {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: "notifications/progress",
            params: {
              progressToken,
              progress,
              ...(total !== undefined ? { total } : {}),
              ...(message ? { message } : {}),
            },
          }).catch(() => {});
        },
      };
      const answer = await pipeline.call(
        request.params.name,
        request.params.arguments,
        extra.signal,
        session(),
        facilities,
      );
      if (answer.kind === "unknown-tool") throw new McpError(ErrorCode.InvalidParams, answer.message);
      return answer.result as CallToolResult;
    }));
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: RESOURCE_TEMPLATES }));
  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
    deps.track(async () => {
      const uri = request.params.uri;
      const call = resourceCall(uri);
      if (!call) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown resource '${
            uri.slice(0, 200)
          }': use dbos://applications or dbos://applications/{app}/workflows/{id}.`,
        );
      }
      const read = resourceContents(uri, await pipeline.call(call.tool, call.args, extra.signal, session()));
      if (!read.ok) throw new McpError(ErrorCode.InvalidParams, read.message);
      return { contents: read.contents };
    }));
  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: PROMPTS.map(({ name, title, description, arguments: args }) => ({
      name,
      title,
      description,
      arguments: args,
    })),
  }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    const prompt = PROMPTS.find((p) => p.name === request.params.name);
    if (!prompt) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown prompt '${String(request.params.name).slice(0, 100)}'; prompts: ${
          PROMPTS.map((p) => p.name).join(", ")
        }.`,
      );
    }
    const args = request.params.arguments ?? {};
    for (const a of prompt.arguments) {
      if (a.required && !args[a.name]) {
        throw new McpError(ErrorCode.InvalidParams, `Prompt ${prompt.name} needs the argument '${a.name}'.`);
      }
    }
    return {
      description: prompt.description,
      messages: [{ role: "user" as const, content: { type: "text" as const, text: prompt.render(args) } }],
    };
  });
  return server;
}

/** A transport's sending half, as {@linkcode plainErrorMessages} needs it. */
export interface Sending {
  /** Sends one JSON-RPC message. */
  // deno-lint-ignore no-explicit-any
  send(message: any, options?: any): Promise<void>;
}

/**
 * Makes `transport` send each JSON-RPC error's message as thrown, without
 * the `MCP error <code>: ` that the SDK's `McpError` puts in front of it: the
 * SDK sends `error.message` as is, and the client's `McpError` adds the same
 * prefix again (`MCP error -32602: MCP error -32602: ...`). The code stays in
 * `error.code`. Patches `transport.send` in place and returns `transport`.
 */
export function plainErrorMessages<T extends Sending>(transport: T): T {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => send(withoutPrefix(message), options);
  return transport;
}

function withoutPrefix(message: unknown): unknown {
  const error = (message as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (!error || typeof error.message !== "string" || typeof error.code !== "number") return message;
  const prefix = `MCP error ${error.code}: `;
  let text = error.message;
  while (text.startsWith(prefix)) text = text.slice(prefix.length);
  if (text === error.message) return message;
  return { ...(message as object), error: { ...error, message: text } };
}

/** Asks the client's user to confirm, when the client can (elicitation) and confirmations are on. */
async function confirmWith(
  server: Server,
  message: string,
  off: boolean,
): Promise<"accept" | "decline" | "unsupported"> {
  if (off || !server.getClientCapabilities()?.elicitation) return "unsupported";
  const answer = await server.elicitInput({
    message,
    requestedSchema: {
      type: "object",
      properties: { confirm: { type: "boolean", title: "Confirm", description: "Go ahead with this change?" } },
      required: ["confirm"],
    },
  });
  return answer.action === "accept" && answer.content?.confirm === true ? "accept" : "decline";
}
