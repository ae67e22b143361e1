/**
 * The read-only wall: a backend wrapper that passes reads through and
 * refuses every mutation itself, so even a tool or plugin that asked for a
 * change could not make one.
 *
 * @module
 */
import { DbosMcpError } from "../core/errors.ts";
import { callOperation, forwardingBackend, OPERATIONS, type WorkflowBackend } from "./backend.ts";

/** Thrown when something tries to mutate through a read-only backend. */
export class ReadOnlyError extends DbosMcpError {
  /** Creates the error for `operation` (e.g. "cancel a workflow"). */
  constructor(operation: string) {
    super(`Cannot ${operation}: this server runs in read-only mode, which refuses every change to workflows.`, {
      code: "POLICY",
      hint: "Ask an operator to do it, or run a server without --read-only / --production.",
    });
    this.name = "ReadOnlyError";
  }
}

/**
 * Wraps `inner` so that reads pass and mutations (those marked in
 * {@linkcode OPERATIONS}) reject with {@linkcode ReadOnlyError} without
 * reaching it.
 */
export function readOnlyBackend(inner: WorkflowBackend): WorkflowBackend {
  return forwardingBackend(inner.kind, (name, args) => {
    const op = OPERATIONS[name];
    return op.mutates ? Promise.reject(new ReadOnlyError(op.what)) : callOperation(inner, name, args);
  }, () => inner.close());
}
