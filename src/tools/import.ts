/**
 * `import_workflow`: imports a workflow (with its steps, and the children
 * exported with it) that `export_workflow` took from another application.
 * Conductor mode only: the DBOS client has no import, and this server
 * changes system databases only through it. It mutates, so read-only mode
 * hides and refuses it.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../core/tool.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import { applicationName } from "./_schemas.ts";
import { confirmOrStop, someIds } from "./_writes.ts";

/** The longest exported text accepted (characters of base64). */
const MAX_SERIALIZED = 16 * 1024 * 1024;
/** The most bytes the export may unpack to. */
const MAX_UNPACKED = 256 * 1024 * 1024;

/** A workflow named in an export. */
export interface ExportedWorkflow {
  /** Its id. */
  workflowId: string;
  /** Its function name, when recorded. */
  workflowName?: string;
  /** Its status, when recorded. */
  status?: string;
  /** How many steps the export holds for it. */
  steps: number;
}

function unreadable(why: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`serialized_workflow is not a DBOS workflow export: ${why}. Nothing was imported.`, {
    hint: "Pass the serializedWorkflow text that export_workflow returned, whole and unchanged.",
    cause,
  });
}

/**
 * The workflows an export holds. DBOS exports are base64 of gzip of a JSON
 * array of `{workflow_status, operation_outputs, ...}`; the ids are read so
 * that the confirmation and the audit log can name them.
 */
export async function exportedWorkflows(serialized: string): Promise<ExportedWorkflow[]> {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(serialized.trim()), (c) => c.charCodeAt(0));
  } catch (err) {
    throw unreadable("it is not base64", err);
  }
  let text = "";
  try {
    const reader = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"))
      .pipeThrough(new TextDecoderStream()).getReader();
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_UNPACKED) {
        await reader.cancel();
        throw unreadable(`it unpacks to more than ${MAX_UNPACKED / 1024 / 1024} MiB`);
      }
      text += value;
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw unreadable("it is not gzip data", err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw unreadable("it does not unpack to JSON", err);
  }
  if (!Array.isArray(doc) || doc.length === 0) throw unreadable("it holds no workflow");
  return doc.map((entry) => {
    const status = (entry as { workflow_status?: Record<string, unknown> })?.workflow_status;
    const id = status?.workflow_uuid;
    if (typeof id !== "string" || id === "") throw unreadable("a workflow in it has no id");
    const steps = (entry as { operation_outputs?: unknown }).operation_outputs;
    return {
      workflowId: id,
      ...(typeof status?.name === "string" ? { workflowName: status.name } : {}),
      ...(typeof status?.status === "string" ? { status: status.status } : {}),
      steps: Array.isArray(steps) ? steps.length : 0,
    };
  });
}

/** `import_workflow`. */
export const importWorkflow = defineTool({
  name: "import_workflow",
  description: "Import a workflow taken by export_workflow from another application or deployment: its status, " +
    "steps and exported children, same ids. Conductor mode only (the DBOS client has no import). " +
    "Then get_workflow shows it.",
  input: z.strictObject({
    application_name: applicationName,
    serialized_workflow: z.string().min(1).max(MAX_SERIALIZED).describe(
      "The serializedWorkflow text export_workflow returned.",
    ),
  }),
  output: z.object({
    application: z.string(),
    imported_workflow_ids: z.array(z.string()),
    message: z.string(),
  }),
  annotations: {
    title: "Import workflow",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  mutates: true,
  backends: ["conductor"],
  async handler(args, ctx) {
    const app = args.application_name;
    const workflows = await exportedWorkflows(args.serialized_workflow);
    const ids = workflows.map((w) => w.workflowId);
    const first = workflows[0];
    await confirmOrStop(
      ctx,
      `Import workflow ${first.workflowId} (${first.workflowName ?? "?"}, ${first.status ?? "?"}, ${first.steps} ` +
        `steps)${ids.length > 1 ? ` with ${ids.length - 1} children` : ""} into application ${app}?`,
      "no workflow was imported",
    );
    await ctx.backend.importWorkflow(app, args.serialized_workflow, { signal: ctx.signal });
    return {
      application: app,
      imported_workflow_ids: ids,
      message: `Imported ${ids.length} workflow${ids.length > 1 ? "s" : ""} into ${app}: ${someIds(ids)}. ` +
        "Check with get_workflow and list_steps.",
    };
  },
  render: (r) => r.message,
});
