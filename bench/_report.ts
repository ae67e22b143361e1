/**
 * The results table (Markdown, as the README shows it), the JSON report, and
 * the description of the machine they came from.
 *
 * @module
 */
import type { Figure, Unit } from "./_stats.ts";

/** The machine a run happened on. */
export interface Machine {
  /** Logical CPUs (`nproc`). */
  nproc: number;
  /** CPU model, from `/proc/cpuinfo`. */
  cpu: string;
  /** Total memory in GiB, from `/proc/meminfo`. */
  memoryGiB: number;
  /** Operating system and kernel. */
  os: string;
  /** Deno version. */
  deno: string;
  /** Node.js version (for the Node peer), when there is one. */
  node?: string;
}

/** A whole run, as `--json FILE` writes it. */
export interface BenchReport {
  /** When the run started (ISO 8601). */
  date: string;
  /** `full` or `smoke` (tiny sizes, for CI: figures are not meaningful). */
  mode: "full" | "smoke";
  /** Where it ran. */
  machine: Machine;
  /** Wall time of the whole run, in seconds. */
  durationSeconds: number;
  /** The sizes each section used. */
  sizes: Record<string, unknown>;
  /** Every figure, in table order. */
  figures: Figure[];
}

/** Describes this machine. */
export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const memKiB = Number(/^MemTotal:\s+(\d+)\s+kB/m.exec(meminfo)?.[1] ?? NaN);
  let node: string | undefined;
  try {
    const out = await new Deno.Command("node", { args: ["--version"], stdout: "piped", stderr: "null" }).output();
    node = new TextDecoder().decode(out.stdout).trim() || undefined;
  } catch {
    node = undefined;
  }
  return {
    nproc: navigator.hardwareConcurrency,
    cpu,
    memoryGiB: Math.round((memKiB / 1_048_576) * 10) / 10,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    ...(node ? { node } : {}),
  };
}

/** One line describing the machine, for the table's heading. */
export function machineLine(m: Machine): string {
  return `${m.nproc} CPUs (${m.cpu}), ${m.memoryGiB} GiB RAM, ${m.os}, Deno ${m.deno}${
    m.node ? `, Node ${m.node}` : ""
  }`;
}

/** A value in its unit, for people; with its 95th percentile in parentheses when given. */
export function formatValue(value: number | undefined, unit: Unit, p95?: number): string {
  if (value === undefined || !Number.isFinite(value)) return "";
  const one = (v: number): string => {
    switch (unit) {
      case "ms":
        return `${Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
      case "bytes":
        return v < 102_400 ? `${Math.round(v).toLocaleString("en-US")} B` : `${(v / 1_048_576).toFixed(2)} MB`;
      case "MB":
        return `${v.toFixed(1)} MB`;
      case "calls/s":
        return `${Math.round(v).toLocaleString("en-US")} calls/s`;
      case "count":
        return Math.round(v).toLocaleString("en-US");
    }
  };
  return p95 !== undefined && Number.isFinite(p95) ? `${one(value)} (p95 ${one(p95)})` : one(value);
}

/** A ratio, for people. */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return "";
  return ratio >= 0.1 ? `${ratio.toFixed(2)}x` : `${ratio.toPrecision(2)}x`;
}

/** The figures as a Markdown table: figure, ours, baseline, ratio, target, met. */
export function formatTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.figure,
    formatValue(f.ours, f.unit, f.oursP95),
    f.baseline === undefined ? "" : `${formatValue(f.baseline, f.unit, f.baselineP95)}: ${f.baselineName ?? ""}`,
    formatRatio(f.ratio),
    f.target,
    f.met === undefined ? "" : f.met ? "yes" : "**no**",
  ]);
  const header = ["figure", "ours", "baseline", "ratio", "target", "met"];
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    `| ${header.join(" | ")} |`,
    "| --- | ---: | --- | ---: | --- | --- |",
    ...rows.map((r) => `| ${r.map(escape).join(" | ")} |`),
  ].join("\n");
}
