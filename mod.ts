/**
 * dbos-mcp: an MCP server that lets AI agents inspect and manage DBOS durable
 * workflows, through DBOS Conductor.
 *
 * Run it as a command:
 *
 * ```sh
 * deno run --no-prompt --allow-net=cloud.dbos.dev,login.dbos.dev \
 *   --allow-env=HOME,DBOS_* --allow-read=$HOME/.dbos-mcp --allow-write=$HOME/.dbos-mcp \
 *   jsr:@x/dbos-mcp
 * ```
 *
 * or embed it:
 *
 * @example Serving in-process
 * ```ts ignore
 * import { createServer } from "jsr:@x/dbos-mcp";
 * // @ts-types="@modelcontextprotocol/sdk/server/stdio"
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
 *
 * const server = createServer({ config: { home: "/srv/dbos-mcp" } });
 * await server.connect(new StdioServerTransport());
 * ```
 *
 * @module
 */
export {
  createServer,
  type CreateServerOptions,
  type DbosMcpServer,
  INSTRUCTIONS,
  type McpTransport,
} from "./src/server.ts";
export {
  type AppDatabase,
  completeConfig,
  type CompleteConfigOptions,
  type Config,
  type ConfigOf,
  type ConfigSources,
  DEFAULTS,
  type KindOf,
  loadConfigFile,
  OPTION_TABLE,
  type OptionEntry,
  type OptionKind,
  OPTIONS,
  type OptionSpec,
  type Parser,
  type RawValue,
  resolveConfig,
  type ValueOf,
} from "./src/config/mod.ts";
export {
  type CallDecision,
  type CallInfo,
  type CallOutcome,
  type ClientInfo,
  definePlugin,
  type Plugin,
  type PluginFactory,
  type PluginHost,
  type ToolResult,
} from "./src/plugin_host/contract.ts";
export { payload, privateDescription } from "./src/core/private.ts";
export { type HttpServeOptions, type HttpServing, serveHttp } from "./src/transports/http.ts";
export {
  defineTool,
  type JsonObject,
  type Schema,
  type SchemaIssue,
  type SchemaResult,
  type ToolAnnotations,
  type ToolContext,
  type ToolDefinition,
} from "./src/core/tool.ts";
export type {
  Application,
  BackendOperation,
  BackfillWindow,
  CallOptions,
  CancelOptions,
  DeleteOptions,
  Executor,
  ForkFromFailureOptions,
  ForkOptions,
  OperationInfo,
  ResumeOptions,
  ScheduleTiming,
  Step,
  StepPage,
  Workflow,
  WorkflowBackend,
  WorkflowSearch,
  WorkflowStatus,
} from "./src/backends/backend.ts";
export { OPERATIONS, WORKFLOW_STATUSES } from "./src/backends/backend.ts";
export type {
  ApplicationVersion,
  ExportOptions,
  Queue,
  Schedule,
  ScheduleFilter,
  StepAggregate,
  StepAggregatesQuery,
  StreamsOptions,
  WorkflowAggregate,
  WorkflowAggregatesQuery,
  WorkflowEvent,
  WorkflowNotification,
  WorkflowStream,
} from "./src/backends/backend.ts";
export {
  AccessDeniedError,
  ConfigError,
  DbosMcpError,
  type DbosMcpErrorOptions,
  type ErrorCode,
  InvalidArgumentError,
  MissingPermissionError,
  NotFoundError,
  NotLoggedInError,
  UpstreamError,
} from "./src/core/errors.ts";
export { MIN_SECRET_LENGTH, REDACTED, type Scrubber, SecretSet } from "./src/core/secrets.ts";
export type { AccessGrant, RejectionOptions, TokenSource } from "./src/backends/conductor/token_port.ts";
export type {
  LoginComplete,
  LoginOutcome,
  LoginPending,
  LoginService,
  LoginStarted,
  LoginStatus,
  LogoutOutcome,
} from "./src/core/login_service.ts";
import { main } from "./src/cli/main.ts";
export { main };
export { type Clock, systemClock } from "./src/util/clock.ts";
export type { FetchLike } from "./src/util/http_client.ts";
export type { LogFn } from "./src/util/log.ts";
export { NAME, VERSION } from "./src/util/version.ts";

if (import.meta.main) {
  // No top-level await: a plugin may import this module (`jsr:@x/dbos-mcp`) while main() is loading it, and
  // that import waits for this module's evaluation, which must not wait for main().
  main(Deno.args).then((code) => Deno.exit(code), (err) => {
    console.error(`dbos-mcp: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  });
}
