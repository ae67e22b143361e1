// Compact text renderings of the contract's objects, one line each, for the
// text content of tool results.

/** Formats an epoch-ms value (number or numeric string) as ISO 8601, or returns it as is. */
export function isoTime(value: unknown): string | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  return new Date(n).toISOString();
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
  const parts = [String(w.WorkflowUUID), String(w.Status), String(w.WorkflowName ?? "?")];
  const created = isoTime(w.CreatedAt);
  if (created) {
    const t = Number(w.CreatedAt);
    parts.push(Number.isFinite(t) ? `created ${created} (${age(now - t)} ago)` : `created ${created}`);
  }
  if (w.QueueName) parts.push(`queue ${w.QueueName}`);
  if (w.Error) parts.push(`error: ${head(errorMessage(w.Error))}`);
  return parts.join("  ");
}

/** One line per step: id, name, outcome. */
export function stepLine(s: Record<string, unknown>): string {
  const parts = [`#${s.function_id}`, String(s.function_name)];
  if (s.error) parts.push(`error: ${head(s.error)}`);
  else if (s.output !== undefined && s.output !== null) parts.push(`output: ${head(s.output, 80)}`);
  if (s.child_workflow_id) parts.push(`child ${s.child_workflow_id}`);
  return parts.join("  ");
}
