/**
 * A backend built on first use, so that start-up (and `tools/list`) never
 * waits for, or pays for, loading a backend's dependencies (the DBOS SDK in
 * system-database mode).
 *
 * @module
 */
import { callOperation, forwardingBackend, type WorkflowBackend } from "./backend.ts";

/**
 * Wraps a backend factory; the factory runs on the first call. A failed
 * build is not kept: the next call tries again.
 *
 * @example
 * ```ts ignore
 * const backend = lazyBackend("sysdb", async () => (await import("./sysdb/backend.ts")).createSysdbBackend(...));
 * ```
 */
export function lazyBackend(kind: WorkflowBackend["kind"], factory: () => Promise<WorkflowBackend>): WorkflowBackend {
  let built: Promise<WorkflowBackend> | undefined;
  const get = () =>
    built ??= factory().catch((err) => {
      built = undefined;
      throw err;
    });
  return forwardingBackend(kind, async (name, args) => callOperation(await get(), name, args), async () => {
    const pending = built;
    built = undefined;
    if (pending) await (await pending.catch(() => undefined))?.close();
  });
}
