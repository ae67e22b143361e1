// Compact text renderings of the contract's objects, one line each, for the
// text content of tool results.

/** Epoch milliseconds of a time (ISO 8601 text, epoch-ms number or digits), or `NaN`. */
export function epochMs(value: unknown): number {
  if (value === null || value === undefined || value === "") return NaN;
  if (typeof value === "number") return value;
  const text = String(value);
  return /^\d+$/.test(text) ? Number(text) : Date.parse(text);
}

/** Shortens text to one line of at most `max` characters. */
export function head(text: unknown, max = 120): string {
  const s = String(text).replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** `key=value` pairs for the fields that are present. */
export function pairs(obj: Record<string, unknown>, keys: string[]): string {
  return keys
    .filter((k) => obj[k] !== undefined && obj[k] !== null && obj[k] !== "")
    .map((k) => `${k}=${head(obj[k], 80)}`)
    .join(" ");
}

/** The message of an error as the contract gives it: plain text, or JSON with a `message`. */
export function errorMessage(error: unknown): string {
  const text = String(error ?? "");
  try {
    const doc = JSON.parse(text);
    if (doc && typeof doc === "object" && typeof doc.message === "string") {
      return doc.name && doc.name !== "Error" ? `${doc.name}: ${doc.message}` : doc.message;
    }
  } catch {
    // plain text
  }
  return text.split("\n")[0];
}

/** A duration in the largest unit that fits: `45s`, `12m`, `3h`, `2d`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** One line per workflow: id, status, name, creation time and age, queue, error head. */
export function workflowLine(w: Record<string, unknown>, now: number = Date.now()): string {
  const parts = [String(w.workflowId), String(w.status), String(w.workflowName ?? "?")];
  if (w.createdAt) {
    const t = epochMs(w.createdAt);
    parts.push(Number.isFinite(t) ? `created ${w.createdAt} (${age(now - t)} ago)` : `created ${w.createdAt}`);
  }
  if (w.queueName) parts.push(`queue ${w.queueName}`);
  if (w.error) parts.push(`error: ${head(errorMessage(w.error))}`);
  return parts.join("  ");
}

/** One line per step: id, name, outcome. */
export function stepLine(s: Record<string, unknown>): string {
  const parts = [`#${s.stepId}`, String(s.stepName)];
  if (s.error) parts.push(`error: ${head(s.error)}`);
  else if (s.output !== undefined && s.output !== null) parts.push(`output: ${head(s.output, 80)}`);
  if (s.childWorkflowId) parts.push(`child ${s.childWorkflowId}`);
  return parts.join("  ");
}
