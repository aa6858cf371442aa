/**
 * Assertions that a promise rejects with a {@linkcode DatasetError}, the error every failure of
 * the byte source and the dataset readers becomes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatasetError } from "../../src/errors.ts";

/**
 * Awaits `promise`, asserts that it rejects with a {@linkcode DatasetError}, runs `check` on
 * that error and returns it.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  check: (error: DatasetError) => void,
): Promise<DatasetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${error}`);
    check(error);
    return error;
  }
  assert.fail("expected a DatasetError");
}

/** Awaits `promise`, asserts that it rejects with a {@linkcode DatasetError}, and returns it. */
export function rejection(promise: Promise<unknown>): Promise<DatasetError> {
  return rejectsWith(promise, () => {});
}
