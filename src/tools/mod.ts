/**
 * Every built-in tool, in the order `tools/list` shows them. Adding a tool is
 * one entry here plus its definition (and a reviewed snapshot update).
 *
 * @module
 */
import type { ToolDefinition } from "../core/tool.ts";
import { login, loginComplete, logout } from "./auth.ts";
import { listApplications, listExecutors } from "./applications.ts";
import { getWorkflow, listSteps, listWorkflows } from "./workflows.ts";
import { cancelWorkflow, forkWorkflow, resumeWorkflow } from "./manage.ts";
import { listQueues, summarizeWorkflows, workflowTree } from "./insights.ts";
import { exportWorkflow, getWorkflowEvents, getWorkflowNotifications, getWorkflowStreams } from "./communications.ts";
import { getStepAggregates, getWorkflowAggregates } from "./aggregates.ts";
import { getQueue, getSchedule, listApplicationVersions, listSchedules } from "./configuration.ts";
import { deleteWorkflow } from "./delete.ts";
import { bulkCancelWorkflows, bulkDeleteWorkflows, bulkResumeWorkflows, forkFromFailure } from "./bulk.ts";
import { backfillSchedule, pauseSchedule, resumeSchedule, triggerSchedule } from "./schedule_writes.ts";
import { setLatestApplicationVersion } from "./version_writes.ts";
import { importWorkflow } from "./import.ts";

/** The built-in tools. */
// deno-lint-ignore no-explicit-any
export const BUILTIN_TOOLS: readonly ToolDefinition<any, any>[] = [
  login,
  loginComplete,
  logout,
  listApplications,
  listExecutors,
  listWorkflows,
  getWorkflow,
  listSteps,
  getWorkflowEvents,
  getWorkflowNotifications,
  getWorkflowStreams,
  getWorkflowAggregates,
  getStepAggregates,
  listSchedules,
  getSchedule,
  listApplicationVersions,
  getQueue,
  exportWorkflow,
  summarizeWorkflows,
  listQueues,
  workflowTree,
  cancelWorkflow,
  resumeWorkflow,
  forkWorkflow,
  deleteWorkflow,
  bulkCancelWorkflows,
  bulkResumeWorkflows,
  bulkDeleteWorkflows,
  forkFromFailure,
  pauseSchedule,
  resumeSchedule,
  triggerSchedule,
  backfillSchedule,
  setLatestApplicationVersion,
  importWorkflow,
];
