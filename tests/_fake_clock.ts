import type { Clock } from "../src/util/clock.ts";

/** A clock whose time moves only when something sleeps on it or `advance` is called. */
export class FakeClock implements Clock {
  #now: number;
  /** Every sleep requested, in order (ms). */
  readonly sleeps: number[] = [];
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.sleeps.push(ms);
    this.#now += ms;
    return Promise.resolve();
  }
}

/**
 * A clock whose time moves only when the test calls {@linkcode ManualClock.advance}:
 * sleeps wait until then, as timers would, so a loop that sleeps does not spin.
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: { at: number; resolve: () => void }[] = [];
  #requested = 0;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** How many sleeps were ever asked for, waiting, woken or aborted. */
  get requested(): number {
    return this.#requested;
  }
  /** How many sleeps are waiting. */
  get waiting(): number {
    return this.#sleepers.length;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#requested++;
    return new Promise((resolve, reject) => {
      const sleeper = {
        at: this.#now + ms,
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
    });
  }
  /** Moves time on by `ms`, waking each sleep when its time comes and letting what it wakes run. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      const next = this.#sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#now = Math.max(this.#now, next.at);
      this.#sleepers = this.#sleepers.filter((s) => s !== next);
      next.resolve();
      await settle();
    }
    this.#now = end;
    await settle();
  }
  /** Resolves once something sleeps on this clock (polls the event loop, bounded to 5 s). */
  async untilWaiting(count = 1): Promise<void> {
    await this.#until(() => this.#sleepers.length >= count, `${count} waiting`);
  }
  /** Resolves once `count` sleeps in all were asked for (polls the event loop, bounded to 5 s). */
  async untilRequested(count: number): Promise<void> {
    await this.#until(() => this.#requested >= count, `${count} requested`);
  }
  async #until(met: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!met()) {
      if (Date.now() > deadline) {
        throw new Error(
          `the clock did not reach ${what} within 5 s (${this.#sleepers.length} waiting, ${this.#requested} requested)`,
        );
      }
      await settle();
    }
  }
}

/** Lets every ready task and I/O callback run once. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
