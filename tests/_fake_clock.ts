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
