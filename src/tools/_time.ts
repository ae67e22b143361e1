// Time arguments: ISO 8601, epoch milliseconds, or a duration ago ("15m", "2h", "7d").
import { z } from "zod";

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The largest epoch-ms value a `Date` holds (±100,000,000 days). */
export const MAX_EPOCH_MS = 8.64e15;

/** Epoch ms for `text` relative to `now`, or `undefined` when it is not a time a `Date` can hold. */
export function parseTime(text: string | number, now: number): number | undefined {
  const ms = parseAnyTime(text, now);
  return ms !== undefined && Math.abs(ms) <= MAX_EPOCH_MS ? ms : undefined;
}

function parseAnyTime(text: string | number, now: number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? Math.trunc(text) : undefined;
  const t = text.trim();
  const rel = t.match(/^(\d{1,6})\s*(s|m|h|d|w)(?:\s+ago)?$/i);
  if (rel) return now - Number(rel[1]) * UNITS[rel[2].toLowerCase()];
  if (/^\d{10,16}$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** A zod argument for a time, parsed to ISO 8601. */
export const timeArg = (what: string): z.ZodType<string | undefined, string | number | undefined> =>
  z.union([z.string().min(1).max(64), z.number().int().min(0)]).transform((value, ctx) => {
    const ms = parseTime(value, Date.now());
    if (ms === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration ago (15m, 2h, 7d), an ISO 8601 date-time (2026-01-31T12:00:00Z) or epoch ` +
          `milliseconds, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  }).optional().describe(`${what} (ISO 8601, epoch ms, or 15m/2h/7d ago).`);
