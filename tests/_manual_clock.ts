import type { Clock } from "../src/util/clock.ts";

interface Sleeper {
  until: number;
  resolve(): void;
}

/**
 * A clock whose sleeps last until the test releases them, or until their
 * signal aborts (then they reject and are gone). Time moves only on release.
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];
  #onSleep: (() => void)[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        until: this.#now + ms,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
      for (const notify of this.#onSleep.splice(0)) notify();
    });
  }

  /** How many sleeps are waiting. */
  get sleeping(): number {
    return this.#sleepers.length;
  }

  /** Resolves once something sleeps (at once if something already does); rejects after `timeoutMs` of real time. */
  sleeper(timeoutMs = 5_000): Promise<void> {
    if (this.#sleepers.length > 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing slept on the clock within ${timeoutMs} ms`)), timeoutMs);
      this.#onSleep.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Moves time to the earliest sleep's end and wakes it; does nothing when nothing sleeps. */
  release(): void {
    const first = this.#sleepers.sort((a, b) => a.until - b.until).shift();
    if (!first) return;
    this.#now = Math.max(this.#now, first.until);
    first.resolve();
  }
}
