/**
 * What a workflow exchanged, and the workflow itself as DBOS exports it:
 * `get_workflow_events`, `get_workflow_notifications`,
 * `get_workflow_streams`, `export_workflow`. Values are clipped like
 * workflow payloads (about 1 KB each) and the answers stay within the
 * answer budget.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type ToolContext } from "../core/tool.ts";
import { payload } from "../core/private.ts";
import { clip } from "../core/budget.ts";
import { applicationName, workflowId } from "./_schemas.ts";
import {
  eventShape,
  normalizeEvent,
  normalizeNotification,
  normalizeStream,
  notificationShape,
  streamShape,
} from "./_schemas_reads.ts";
import { head } from "./_render.ts";

/** The most items (events, messages, streams) one answer lists. */
const MAX_ITEMS = 1_000;
const CLIPPED = "the tools show about max-field-bytes of each value";

function clipValue(text: string, ctx: ToolContext): string {
  return clip(text, ctx.limits.maxFieldBytes, CLIPPED);
}

/** A note when the list had more items than an answer lists. */
function moreNote(total: number, what: string): string | undefined {
  return total > MAX_ITEMS ? `Showing the first ${MAX_ITEMS} ${what}; there are more.` : undefined;
}

const ref = z.strictObject({ application_name: applicationName, workflow_id: workflowId });

/** `get_workflow_events`. */
export const getWorkflowEvents = defineTool({
  name: "get_workflow_events",
  description: "The events a workflow published with setEvent: each key and its latest value (clipped): its " +
    "reported progress, or results callers wait for with getEvent.",
  input: ref,
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    events: z.array(eventShape),
    count: z.number().int(),
    note: z.string().optional(),
  }),
  annotations: { title: "Get workflow events", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const raw = await ctx.backend.listWorkflowEvents(args.application_name, args.workflow_id, {
      signal: ctx.signal,
      payloadBytes: ctx.limits.maxFieldBytes,
    });
    const events = raw.slice(0, MAX_ITEMS).map(normalizeEvent).map((e) => ({ ...e, value: clipValue(e.value, ctx) }));
    const note = moreNote(raw.length, "events");
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      events,
      count: events.length,
      ...(note ? { note } : {}),
    };
  },
  render(r) {
    if (r.count === 0) return `Workflow ${r.workflow_id} published no events.`;
    const lines = [`${r.count} event(s) of ${r.workflow_id}:`, ...r.events.map((e) => `${e.key} = ${e.value}`)];
    if (r.note) lines.push(r.note);
    return lines.join("\n");
  },
});

/** `get_workflow_notifications`. */
export const getWorkflowNotifications = defineTool({
  name: "get_workflow_notifications",
  description: "The messages sent to a workflow (send/recv), oldest first: topic, message (clipped), when sent, " +
    "whether consumed. Use it when a workflow waits in recv, to see whether its message arrived.",
  input: ref,
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    notifications: z.array(notificationShape),
    count: z.number().int(),
    note: z.string().optional(),
  }),
  annotations: {
    title: "Get workflow notifications",
    readOnlyHint: true,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: false,
  async handler(args, ctx) {
    const raw = await ctx.backend.listWorkflowNotifications(args.application_name, args.workflow_id, {
      signal: ctx.signal,
      payloadBytes: ctx.limits.maxFieldBytes,
    });
    const notifications = raw.slice(0, MAX_ITEMS).map(normalizeNotification)
      .map((n) => ({ ...n, message: clipValue(n.message, ctx) }));
    const note = moreNote(raw.length, "messages");
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      notifications,
      count: notifications.length,
      ...(note ? { note } : {}),
    };
  },
  render(r) {
    if (r.count === 0) return `No messages were sent to workflow ${r.workflow_id}.`;
    const lines = [`${r.count} message(s) sent to ${r.workflow_id}:`];
    for (const n of r.notifications) {
      lines.push(
        `${n.createdAt ?? "?"}  topic ${n.topic ?? "(default)"}  ${n.consumed ? "consumed" : "NOT consumed"}: ` +
          n.message,
      );
    }
    if (r.note) lines.push(r.note);
    return lines.join("\n");
  },
});

/** `get_workflow_streams`. */
export const getWorkflowStreams = defineTool({
  name: "get_workflow_streams",
  description: "The streams a workflow wrote (writeStream): each key with its first values (max_values, each " +
    "clipped), how many it holds, and (system-database mode) whether it is closed. Shows what a " +
    "streaming workflow produced so far.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_id: workflowId,
    max_values: z.number().int().min(1).max(1_000).default(20).describe(
      "At most this many values per stream (default 20).",
    ),
  }),
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    streams: z.array(streamShape),
    count: z.number().int(),
    note: z.string().optional(),
  }),
  annotations: { title: "Get workflow streams", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const raw = await ctx.backend.listWorkflowStreams(args.application_name, args.workflow_id, {
      maxValues: args.max_values,
    }, { signal: ctx.signal, payloadBytes: ctx.limits.maxFieldBytes });
    const streams = raw.slice(0, MAX_ITEMS).map(normalizeStream).map((s) => ({
      ...s,
      values: s.values.slice(0, args.max_values).map((v) => clipValue(v, ctx)),
    }));
    const note = moreNote(raw.length, "streams");
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      streams,
      count: streams.length,
      ...(note ? { note } : {}),
    };
  },
  render(r) {
    if (r.count === 0) return `Workflow ${r.workflow_id} wrote no streams.`;
    const lines = [`${r.count} stream(s) of ${r.workflow_id}:`];
    for (const s of r.streams) {
      const state = s.closed === undefined ? "" : s.closed ? " (closed)" : " (open)";
      const of = s.valueCount !== undefined && s.valueCount > s.values.length ? ` of ${s.valueCount}` : "";
      lines.push(`${s.key}${state}: ${s.values.length}${of} value(s): ${head(s.values.join(", "), 400)}`);
    }
    if (r.note) lines.push(r.note);
    return lines.join("\n");
  },
});

/** What `export_workflow` returns. */
interface ExportResult {
  [key: string]: unknown;
  application: string;
  workflow_id: string;
  serialized_workflow: string;
  byte_offset: number;
  total_bytes: number;
  next_byte_offset?: number;
  complete: boolean;
  format: string;
}

const FORMAT = "DBOS's export format: base64 of gzipped JSON (an array of {workflow_status, operation_outputs, " +
  "workflow_events, workflow_events_history, streams}), as Conductor's import takes it.";

/** `export_workflow`. */
export const exportWorkflow = defineTool({
  name: "export_workflow",
  description: "Export a workflow (export_children: its children too) with its steps, events and streams in " +
    "DBOS's serialized form, to copy a production failure into a development application " +
    "(import_workflow). Long exports come in parts: call again with byte_offset = next_byte_offset " +
    "and join the parts until complete.",
  input: z.strictObject({
    application_name: applicationName,
    workflow_id: workflowId,
    export_children: z.boolean().optional().describe("Also export the workflows it started (default false)."),
    byte_offset: z.number().int().min(0).optional().describe("Start of this part (next_byte_offset of the last)."),
    max_bytes: z.number().int().min(256).optional().describe(
      "Most bytes in this part (default: what the budget holds).",
    ),
  }),
  output: z.object({
    application: z.string(),
    workflow_id: z.string(),
    serialized_workflow: payload(z.string().describe("This part of the serialized workflow.")),
    byte_offset: z.number().int(),
    total_bytes: z.number().int().describe("Length of the whole serialized workflow."),
    next_byte_offset: z.number().int().optional().describe("Pass as byte_offset for the next part."),
    complete: z.boolean().describe("True when this part ends the serialized workflow."),
    format: z.string(),
  }),
  annotations: { title: "Export workflow", readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  mutates: false,
  async handler(args, ctx) {
    const whole = await ctx.backend.exportWorkflow(args.application_name, args.workflow_id, {
      exportChildren: args.export_children,
    }, { signal: ctx.signal });
    // base64 is ASCII: characters are bytes. The part appears in the JSON and in the text.
    const room = Math.max(256, Math.floor((ctx.limits.maxResultBytes - 1_600) / 2));
    const size = Math.min(args.max_bytes ?? room, room);
    const from = Math.min(args.byte_offset ?? 0, whole.length);
    const part = whole.slice(from, from + size);
    const end = from + part.length;
    return {
      application: args.application_name,
      workflow_id: args.workflow_id,
      serialized_workflow: part,
      byte_offset: from,
      total_bytes: whole.length,
      ...(end < whole.length ? { next_byte_offset: end } : {}),
      complete: end >= whole.length,
      format: FORMAT,
    };
  },
  render(r: ExportResult) {
    const where = r.complete
      ? `bytes ${r.byte_offset}-${r.byte_offset + r.serialized_workflow.length} of ${r.total_bytes} (the last part)`
      : `bytes ${r.byte_offset}-${r.next_byte_offset} of ${r.total_bytes}: call again with byte_offset ` +
        `${r.next_byte_offset} for the next part`;
    return `Export of ${r.workflow_id}, ${where}:\n${r.serialized_workflow}`;
  },
});
