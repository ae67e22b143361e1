// Assertions for tests. Stand-in for `@std/assert` (JSR is not reachable where
// this is built); the names match @std/assert so the swap is one line.
import assert from "node:assert/strict";

/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}
/** Asserts deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.notDeepStrictEqual(actual, expected, msg);
}
/** Asserts that `value` is truthy. */
export function assert_(value: unknown, msg?: string): asserts value {
  assert.ok(value, msg);
}
export { assert_ as assert };
/** Asserts that `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  assert.ok(
    actual.includes(expected),
    msg ??
      `Expected ${JSON.stringify(actual.length > 400 ? `${actual.slice(0, 400)}…` : actual)} to include ${
        JSON.stringify(expected)
      }`,
  );
}
/** Asserts that `actual` matches `re`. */
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  assert.match(actual, re, msg);
}
/** Asserts that `fn` rejects, optionally with an error of class `E`; returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => E,
  msgIncludes?: string,
): Promise<E> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, "Expected function to reject");
  if (ErrorClass) assert.ok(caught instanceof ErrorClass, `Expected ${ErrorClass.name}, got ${caught}`);
  if (msgIncludes) assertStringIncludes((caught as Error).message, msgIncludes);
  return caught as E;
}
/** Asserts that `fn` throws; returns the error. */
export function assertThrows(fn: () => unknown, msgIncludes?: string): Error {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, "Expected function to throw");
  if (msgIncludes) assertStringIncludes((caught as Error).message, msgIncludes);
  return caught as Error;
}
