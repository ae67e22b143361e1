// Zod schemas shared by the tools: arguments agents pass, and the shapes of
// the Conductor contract that tools return. Fields that carry application
// data (inputs, outputs, event, notification and stream values) are marked
// with `payload(...)`: private mode replaces them by a description of their
// type and size (core/private.ts). A new tool's shape marks its own.
import { z } from "zod";
import { payload } from "../core/private.ts";

export const applicationName = z.string().min(1).max(256).describe(
  "Name of the DBOS application, as list_applications returns it (application_name).",
);

export const workflowId = z.string().min(1).max(1024).describe(
  "Workflow id (WorkflowUUID), as list_workflows returns it.",
);

const optionalText = z.string().nullish();

export const applicationShape = z.looseObject({
  application_id: optionalText.describe("Unique id."),
  application_name: z.string().describe("Name; pass it as application_name to the other tools."),
  org_id: optionalText,
  status: z.string().describe("AVAILABLE while an executor is connected; workflow tools need AVAILABLE."),
  language: optionalText,
});

export const executorShape = z.looseObject({
  executor_id: z.string(),
  application_id: optionalText,
  application_version: optionalText,
  status: optionalText.describe("HEALTHY, DISCONNECTED or DEAD."),
  hostname: optionalText,
  created_at: optionalText.describe("Epoch milliseconds."),
  updated_at: optionalText.describe("Epoch milliseconds."),
  language: optionalText,
  dbos_version: optionalText,
});

export const workflowShape = z.looseObject({
  WorkflowUUID: z.string().describe("Workflow id."),
  Status: z.string().describe(
    "PENDING, SUCCESS, ERROR, CANCELLED, ENQUEUED, MAX_RECOVERY_ATTEMPTS_EXCEEDED or DELAYED.",
  ),
  WorkflowName: optionalText.describe("Workflow function name."),
  WorkflowClassName: optionalText,
  WorkflowConfigName: optionalText,
  AuthenticatedUser: optionalText,
  AssumedRole: optionalText,
  AuthenticatedRoles: optionalText.describe("JSON array, as a string."),
  Input: payload(optionalText.describe("Input as text (only when loaded).")),
  Output: payload(optionalText.describe("Output as text (only when loaded).")),
  Error: optionalText.describe("Error message, when the workflow failed."),
  CreatedAt: optionalText.describe("Epoch milliseconds."),
  UpdatedAt: optionalText.describe("Epoch milliseconds."),
  QueueName: optionalText,
  ApplicationVersion: optionalText,
  ExecutorID: optionalText,
  ForkedFrom: optionalText,
});

export const stepShape = z.looseObject({
  function_id: z.number().int().describe("Step id; pass it as start_step to fork_workflow."),
  function_name: z.string(),
  output: payload(z.string().nullish()),
  error: optionalText,
  child_workflow_id: optionalText,
  started_at_epoch_ms: optionalText,
  completed_at_epoch_ms: optionalText,
});

/** Arguments of the tools that address one workflow. */
export const workflowRef = z.strictObject({ application_name: applicationName, workflow_id: workflowId });
