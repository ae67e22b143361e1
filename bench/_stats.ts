/**
 * Statistics and the figure type every benchmark section reports.
 *
 * @module
 */

/** The `p`th percentile (nearest rank) of `values`; `NaN` when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Median, 95th percentile and count of some samples. */
export interface Summary {
  /** Median. */
  p50: number;
  /** 95th percentile (nearest rank). */
  p95: number;
  /** Number of samples. */
  n: number;
}

/** Summarizes samples. */
export function summarize(values: readonly number[]): Summary {
  return { p50: percentile(values, 50), p95: percentile(values, 95), n: values.length };
}

/** Units of a figure. */
export type Unit = "ms" | "bytes" | "MB" | "calls/s" | "count";

/** One line of the results table. */
export interface Figure {
  /** Stable identifier, e.g. `cold_start.vs_floor`. */
  id: string;
  /** What was measured, for people. */
  figure: string;
  /** Unit of `ours` and `baseline`. */
  unit: Unit;
  /** Our value (a median unless the figure says otherwise). */
  ours: number;
  /** Our 95th percentile, where it matters. */
  oursP95?: number;
  /** What we are compared with, when anything. */
  baselineName?: string;
  /** Its value. */
  baseline?: number;
  /** Its 95th percentile, where it matters. */
  baselineP95?: number;
  /** `ours / baseline`, when both exist. */
  ratio?: number;
  /** The target, for people (e.g. `<= 1.3x`). */
  target: string;
  /** Whether the target is met; absent for figures without a target. */
  met?: boolean;
  /** Samples and anything else worth keeping in the JSON. */
  detail?: Record<string, unknown>;
}

/** `a / b`, or `undefined` when it has no meaning. */
export function ratioOf(a: number, b: number | undefined): number | undefined {
  return b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? undefined : a / b;
}

/** Milliseconds since `start` (a `performance.now()` value). */
export function since(start: number): number {
  return performance.now() - start;
}
