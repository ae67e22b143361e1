// Counts the occurrences of a cron expression in a window, so that
// backfill_schedule can refuse a backfill that would start too many
// workflows before it asks for any. Cron as DBOS schedules write it: five
// fields (minute hour day-of-month month day-of-week) or six (seconds
// first); `*`, `?`, numbers, ranges `a-b`, steps `*/n`, `a-b/n` and `a/n`,
// lists, month and weekday names, 7 for Sunday; when both day fields are
// restricted, a day matches either (as in Vixie cron). Evaluated in the
// schedule's time zone. Occurrences are counted strictly after the start
// and before the end, as DBOS's backfill walks them.
import { InvalidArgumentError } from "../core/errors.ts";

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface Field {
  /** Allowed values. */
  values: Set<number>;
  /** The field was `*` or `?` (matters for the day fields). */
  any: boolean;
}

/** A parsed cron expression. */
interface Cron {
  seconds: Field;
  minutes: Field;
  hours: Field;
  days: Field;
  months: Field;
  weekdays: Field;
}

/** The longest window that is counted: 31 days. */
export const MAX_COUNT_WINDOW_MS = 31 * 24 * 3600_000;

function bad(expression: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`Cannot count the runs of cron '${expression}': ${why}.`, {
    hint: "Backfill this schedule with the application itself (DBOS.backfillSchedule), or fix its cron.",
  });
}

function parseField(
  text: string,
  min: number,
  max: number,
  names: string[] | undefined,
  expression: string,
): Field {
  const values = new Set<number>();
  const value = (t: string): number => {
    const upper = t.toUpperCase();
    const named = names ? names.indexOf(upper) : -1;
    if (named >= 0) return named + (names === MONTHS ? 1 : 0);
    if (!/^\d+$/.test(t)) throw bad(expression, `'${t}' is not a number`);
    const n = Number(t);
    if (n < min || n > max) throw bad(expression, `${n} is outside ${min}-${max}`);
    return n;
  };
  const any = text === "*" || text === "?";
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined || range === "") throw bad(expression, `'${part}' is not a cron field`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(expression, `'${part}' has a bad step`);
    let lo: number, hi: number;
    if (range === "*" || range === "?") [lo, hi] = [min, max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-");
      [lo, hi] = [value(a), value(b)];
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    if (lo > hi) throw bad(expression, `'${part}' is an empty range`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, any };
}

/** Parses a cron expression of 5 or 6 fields; throws `InvalidArgumentError` when it is not one. */
function parseCron(expression: string): Cron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw bad(expression, "it does not have 5 or 6 fields");
  const [sec, rest] = fields.length === 6 ? [fields[0], fields.slice(1)] : ["0", fields];
  const weekdays = parseField(rest[4], 0, 7, DAYS, expression);
  if (weekdays.values.delete(7)) weekdays.values.add(0);
  return {
    seconds: parseField(sec, 0, 59, undefined, expression),
    minutes: parseField(rest[0], 0, 59, undefined, expression),
    hours: parseField(rest[1], 0, 23, undefined, expression),
    days: parseField(rest[2], 1, 31, undefined, expression),
    months: parseField(rest[3], 1, 12, MONTHS, expression),
    weekdays,
  };
}

interface LocalTime {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

function localTimeOf(timeZone: string | undefined): (ms: number) => LocalTime {
  if (timeZone === undefined || timeZone === "UTC") {
    return (ms) => {
      const d = new Date(ms);
      return {
        minute: d.getUTCMinutes(),
        hour: d.getUTCHours(),
        day: d.getUTCDate(),
        month: d.getUTCMonth() + 1,
        weekday: d.getUTCDay(),
      };
    };
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
  } catch (err) {
    throw new InvalidArgumentError(`Cannot count the runs of the schedule: unknown time zone '${timeZone}'.`, {
      cause: err,
    });
  }
  return (ms) => {
    const parts: Record<string, string> = {};
    for (const p of format.formatToParts(ms)) parts[p.type] = p.value;
    return {
      minute: Number(parts.minute),
      hour: Number(parts.hour),
      day: Number(parts.day),
      month: Number(parts.month),
      weekday: DAYS.indexOf(parts.weekday.toUpperCase()),
    };
  };
}

function dayMatches(c: Cron, t: LocalTime): boolean {
  const dom = c.days.values.has(t.day);
  const dow = c.weekdays.values.has(t.weekday);
  if (!c.days.any && !c.weekdays.any) return dom || dow;
  return dom && dow;
}

/** What {@linkcode countOccurrences} found. */
export interface Occurrences {
  /** How many, up to `stopAfter + 1`. */
  count: number;
  /** The first occurrence (ISO 8601), if any. */
  first?: string;
  /** The last counted occurrence (ISO 8601), if any. */
  last?: string;
}

/**
 * Counts the occurrences of `expression` (in `timeZone`, UTC by default)
 * strictly after `startMs` and before `endMs`, stopping once the count
 * passes `stopAfter`. The window must be at most {@linkcode MAX_COUNT_WINDOW_MS}.
 */
export function countOccurrences(
  expression: string,
  timeZone: string | undefined,
  startMs: number,
  endMs: number,
  stopAfter: number,
): Occurrences {
  const cron = parseCron(expression);
  const local = localTimeOf(timeZone);
  const seconds = [...cron.seconds.values].sort((a, b) => a - b);
  const out: Occurrences = { count: 0 };
  for (let minute = Math.floor(startMs / 60_000) * 60_000; minute < endMs; minute += 60_000) {
    const t = local(minute);
    if (!cron.minutes.values.has(t.minute) || !cron.hours.values.has(t.hour)) continue;
    if (!cron.months.values.has(t.month) || !dayMatches(cron, t)) continue;
    for (const s of seconds) {
      const at = minute + s * 1000;
      if (at <= startMs || at >= endMs) continue;
      out.count++;
      out.first ??= new Date(at).toISOString();
      out.last = new Date(at).toISOString();
      if (out.count > stopAfter) return out;
    }
  }
  return out;
}
