/**
 * An HTTP request the handler refuses, with the status to answer and the request field at fault.
 *
 * @module
 */

import { ClipbenchError } from "../errors.ts";

/** A refused request: the HTTP status, a message for the client, and the field involved. */
export class RequestError extends ClipbenchError {
  /** The HTTP status to answer with (4xx). */
  readonly status: number;
  /** The request body field at fault, where there is one. */
  readonly field?: string;

  /**
   * Creates an instance.
   *
   * @param status The HTTP status.
   * @param message What is wrong, naming the field.
   * @param options `field` and `cause`.
   */
  constructor(
    status: number,
    message: string,
    options: { field?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause, exitCode: 2 });
    this.status = status;
    this.field = options.field;
  }
}
