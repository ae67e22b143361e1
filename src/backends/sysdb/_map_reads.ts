// Maps the DBOS client's queues, schedules and versions (5.3.0
// `WorkflowQueue`, `WorkflowSchedule`, `VersionInfo`) to Conductor v2's
// `Queue`, `Schedule` and `ApplicationVersion` (`conductor-v2.md` sections
// 3.1 and 7.2), as DBOS's executor reports them to Conductor: times as ISO
// 8601, contexts as readable text, absent values left out. Pure functions.
import type { ApplicationVersion, Queue, Schedule } from "../backend.ts";
import { isoTime, valueText } from "./_map.ts";

/** A rate limit of the DBOS client's `WorkflowQueue`. */
export interface ClientRateLimit {
  readonly limitPerPeriod: number;
  readonly periodSec: number;
}

/** The parts of the DBOS client's `WorkflowQueue` this module reads. */
export interface ClientQueue {
  readonly name: string;
  readonly concurrency?: number;
  readonly rateLimit?: ClientRateLimit;
  readonly workerConcurrency?: number;
  readonly partitionConcurrency?: number;
  readonly partitionWorkerConcurrency?: number;
  readonly partitionRateLimit?: ClientRateLimit;
  readonly minPollingIntervalMs?: number;
  readonly applicationName?: string;
}

/** The parts of the DBOS client's `WorkflowSchedule` this module reads. */
export interface ClientSchedule {
  readonly scheduleId: string;
  readonly scheduleName: string;
  readonly workflowName: string;
  readonly workflowClassName?: string | null;
  readonly schedule: string;
  readonly status: string;
  readonly context: unknown;
  readonly lastFiredAt: string | null;
  readonly automaticBackfill: boolean;
  readonly cronTimezone: string | null;
  readonly applicationName?: string | null;
}

/** The parts of the DBOS client's `VersionInfo` this module reads. */
export interface ClientVersion {
  readonly versionId: string;
  readonly versionName: string;
  readonly versionTimestamp: number;
  readonly createdAt: number;
}

function put<T extends object>(out: T, key: keyof T, value: unknown): void {
  if (value !== undefined && value !== null && !(typeof value === "number" && !Number.isFinite(value))) {
    (out as Record<PropertyKey, unknown>)[key] = value;
  }
}

/**
 * A queue in v2's shape. Every queue dispatches in priority order
 * (`priorityEnabled`, as the executor reports it), and a queue is
 * partitioned when it has a partition limit.
 */
export function toQueue(q: ClientQueue): Queue {
  const out: Queue = { name: q.name };
  put(out, "concurrency", q.concurrency);
  put(out, "workerConcurrency", q.workerConcurrency);
  put(out, "rateLimitMax", q.rateLimit?.limitPerPeriod);
  put(out, "rateLimitPeriodSecs", q.rateLimit?.periodSec);
  out.priorityEnabled = true;
  out.partitionQueue = q.partitionConcurrency !== undefined || q.partitionWorkerConcurrency !== undefined ||
    q.partitionRateLimit !== undefined;
  out.pollingIntervalSecs = (q.minPollingIntervalMs ?? 1000) / 1000;
  put(out, "applicationName", q.applicationName);
  put(out, "partitionConcurrency", q.partitionConcurrency);
  put(out, "partitionWorkerConcurrency", q.partitionWorkerConcurrency);
  put(out, "partitionRateLimitMax", q.partitionRateLimit?.limitPerPeriod);
  put(out, "partitionRateLimitPeriodSecs", q.partitionRateLimit?.periodSec);
  return out;
}

/** A schedule in v2's shape; its context (deserialized by the client) as readable text, only with `loadContext`. */
export function toSchedule(s: ClientSchedule, loadContext: boolean): Schedule {
  const out: Schedule = {
    scheduleId: s.scheduleId,
    scheduleName: s.scheduleName,
    workflowName: s.workflowName,
    cronExpression: s.schedule,
    status: s.status,
    automaticBackfill: s.automaticBackfill === true,
  };
  if (s.workflowClassName) out.workflowClass = s.workflowClassName;
  if (loadContext) out.context = valueText(s.context);
  const fired = s.lastFiredAt === null ? NaN : Date.parse(s.lastFiredAt);
  if (Number.isFinite(fired)) out.lastFiredAt = new Date(fired).toISOString();
  if (s.cronTimezone) out.cronTimezone = s.cronTimezone;
  if (s.applicationName) out.applicationName = s.applicationName;
  return out;
}

/** A version in v2's shape, times as ISO 8601. */
export function toVersion(v: ClientVersion): ApplicationVersion {
  const out: ApplicationVersion = { versionId: v.versionId, versionName: v.versionName };
  put(out, "versionTimestamp", isoTime(v.versionTimestamp));
  put(out, "createdAt", isoTime(v.createdAt));
  return out;
}
