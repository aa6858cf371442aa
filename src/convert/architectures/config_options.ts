/**
 * Typed reading of one section of a checkpoint's config file (`text_config`,
 * `model_cfg.vision_cfg`, …) for the architecture modules: each option with the defaults of the
 * library that wrote it, and every wrong or unsupported value refused as a {@linkcode ModelError}
 * naming the config file and the option's path in it.
 *
 * @module
 */

import { ModelError } from "../../errors.ts";

/** The options of one config section, read with defaults. */
export class ConfigOptions {
  readonly #values: Record<string, unknown>;
  readonly #where: string;
  readonly #source: string;

  /**
   * Reads `values`, found at `where` (e.g. `"model_cfg.vision_cfg."`, or `""` for the top level)
   * in the config file `source`.
   */
  constructor(values: Record<string, unknown>, where: string, source: string) {
    this.#values = values;
    this.#where = where;
    this.#source = source;
  }

  /** The config file's path. */
  get source(): string {
    return this.#source;
  }

  /** The section's raw values. */
  get values(): Readonly<Record<string, unknown>> {
    return this.#values;
  }

  /** A refusal naming the option (`model_cfg.vision_cfg.pool_type`) and the config file. */
  error(key: string, problem: string): ModelError {
    return new ModelError(`${this.#source}: ${this.#where}${key} ${problem}`, {
      path: this.#source,
    });
  }

  /** Whether the option is given (not absent and not null). */
  has(key: string): boolean {
    return this.#values[key] !== undefined && this.#values[key] !== null;
  }

  /** The sub-section `key` (an object; empty when absent or null). */
  section(key: string): ConfigOptions {
    const value = this.#values[key] ?? {};
    if (typeof value !== "object" || Array.isArray(value)) {
      throw this.error(key, `must be an object, got ${JSON.stringify(value)}`);
    }
    return new ConfigOptions(
      value as Record<string, unknown>,
      `${this.#where}${key}.`,
      this.#source,
    );
  }

  /** A positive integer, `fallback` when absent or null. */
  positiveInteger(key: string, fallback: number): number {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw this.error(key, `must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** An integer (ids may be 0 or negative), `fallback` when absent or null. */
  integer(key: string, fallback: number): number {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw this.error(key, `must be an integer, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** A positive finite number, `fallback` when absent or null. */
  positiveNumber(key: string, fallback: number): number {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || !(value > 0)) {
      throw this.error(key, `must be a positive number, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** A boolean, `fallback` when absent or null. */
  flag(key: string, fallback: boolean): boolean {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "boolean") {
      throw this.error(key, `must be true or false, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** A string that must be one of `allowed`, `fallback` when absent or null. */
  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      throw this.error(
        key,
        `${JSON.stringify(value)} is not supported (supported: ${allowed.join(", ")})`,
      );
    }
    return value as T;
  }

  /**
   * Refuses `key` (whose value is `value`) unless `value` divides `other`, the value of
   * `otherKey` (heads the width, patches the image).
   */
  requireDivides(key: string, value: number, otherKey: string, other: number): void {
    if (other % value !== 0) {
      throw this.error(key, `(${value}) must divide ${otherKey} (${other})`);
    }
  }

  /** Refuses the option when it is set to anything but false, null, 0 or an empty value. */
  refuseIfSet(key: string, why: string): void {
    const value = this.#values[key];
    const unset = value === undefined || value === null || value === false || value === 0 ||
      value === "" || (Array.isArray(value) && value.length === 0) ||
      (typeof value === "object" && value !== null && Object.keys(value).length === 0);
    if (!unset) throw this.error(key, `${JSON.stringify(value)} is not supported: ${why}`);
  }

  /** Refuses every option whose key is not in `known` and is set (see {@linkcode refuseIfSet}). */
  refuseUnknown(known: ReadonlySet<string>, why: string): void {
    for (const key of Object.keys(this.#values)) {
      if (!known.has(key)) this.refuseIfSet(key, why);
    }
  }
}
