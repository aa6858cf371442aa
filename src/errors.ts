/**
 * Typed errors for clipbench.
 *
 * Every error a user can cause (bad flags, a broken dataset, an incomplete model folder) is a
 * {@linkcode ClipbenchError} with a message that names the offending flag, key, file or byte
 * offset, and an `exitCode` that the CLI returns. Programming errors stay plain `Error`s.
 *
 * @module
 */

/** Base class of every error clipbench reports to a user. */
export class ClipbenchError extends Error {
  /** Process exit status the CLI uses when this error ends a run. */
  readonly exitCode: number;

  /**
   * Creates an instance.
   *
   * @param message What went wrong, naming the file, key, flag or offset involved.
   * @param options `cause` (the underlying error) and `exitCode` (default 1).
   */
  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Invalid command-line flags or configuration (unknown key, wrong type). Exit status 2. */
export class UsageError extends ClipbenchError {
  /**
   * Creates an instance.
   *
   * @param message What is wrong with the flags or configuration.
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/**
 * A dataset that cannot be read: a missing `classnames.txt` or `nshards.txt`, an unreachable
 * shard, a truncated or corrupt tar. `path` is the file or URL; `offset` the byte offset in it,
 * where one is known.
 */
export class DatasetError extends ClipbenchError {
  /** The file or URL the problem is in. */
  readonly path?: string;
  /** Byte offset in `path` at which the problem was found. */
  readonly offset?: number;

  /**
   * Creates an instance.
   *
   * @param message What is wrong.
   * @param options `path`, `offset` and `cause`.
   */
  constructor(
    message: string,
    options: { path?: string; offset?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.path = options.path;
    this.offset = options.offset;
  }
}

/** One sample that cannot be used (an undecodable image, no label). Such samples are skipped and counted. */
export class SampleError extends ClipbenchError {
  /** The WebDataset key of the sample. */
  readonly key: string;

  /**
   * Creates an instance.
   *
   * @param key The sample's WebDataset key.
   * @param message What is wrong with it.
   */
  constructor(key: string, message: string, options: { cause?: unknown } = {}) {
    super(`sample ${key}: ${message}`, options);
    this.key = key;
  }
}

/** An image whose bytes cannot be decoded. */
export class ImageDecodeError extends ClipbenchError {
  /** The detected or declared format (`png`, `jpeg`, `gif`, `webp`, `unknown`). */
  readonly format: string;

  /**
   * Creates an instance.
   *
   * @param format The format the bytes were taken for.
   * @param message What the decoder said.
   */
  constructor(format: string, message: string, options: { cause?: unknown } = {}) {
    super(`cannot decode ${format} image: ${message}`, options);
    this.format = format;
  }
}

/** A model folder that is incomplete or whose graphs lack the expected inputs or outputs. */
export class ModelError extends ClipbenchError {
  /** The file involved, where there is one. */
  readonly path?: string;

  /**
   * Creates an instance.
   *
   * @param message What is missing or wrong, naming the file or the input names found.
   * @param options `path` and `cause`.
   */
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.path = options.path;
  }
}
