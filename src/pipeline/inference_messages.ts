/**
 * The messages between a {@linkcode WorkerImageEncoder} and its worker (`inference_worker.ts`).
 *
 * @module
 */

import type { SessionSettings } from "../model/onnx_session.ts";

/** First message: the graph to open and where the pixels are. */
export interface InferenceWorkerInit {
  /** Message kind. */
  readonly kind: "init";
  /** The image graph (a vision tower, or a joint graph). */
  readonly path: string;
  /** Session options. */
  readonly settings: SessionSettings;
  /** Output names, in order of preference. */
  readonly outputNames: readonly string[];
  /** Image height and width the preprocessor writes. */
  readonly height: number;
  /** Image width. */
  readonly width: number;
  /** The shared pixel slots the decoding workers write into. */
  readonly slots: SharedArrayBuffer;
}

/** Encode the images in `slots`, in that order, as one batch. */
export interface InferenceJob {
  /** Message kind. */
  readonly kind: "encode";
  /** Identifies the replies. */
  readonly id: number;
  /** Slot indices, in batch order. */
  readonly slots: readonly number[];
}

/** Close the session (the worker answers `released`). */
export interface InferenceRelease {
  /** Message kind. */
  readonly kind: "release";
}

/** What the worker says. */
export type InferenceReply =
  /** The session is open. */
  | { readonly kind: "ready" }
  /** The session could not be opened. */
  | { readonly kind: "failed"; readonly message: string; readonly path?: string }
  /** Job `id`'s pixels were copied out: its slots may be reused. */
  | { readonly kind: "gathered"; readonly id: number }
  /** Job `id`'s L2-normalised embeddings (`count × dim`). */
  | {
    readonly kind: "encoded";
    readonly id: number;
    readonly embeddings: Float32Array;
    readonly dim: number;
  }
  /** Job `id` failed. */
  | { readonly kind: "error"; readonly id: number; readonly message: string }
  /** The session is closed. */
  | { readonly kind: "released" };
