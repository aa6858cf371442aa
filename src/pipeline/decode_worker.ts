/**
 * The body of one decoding worker of a {@linkcode DecodePool}: it decodes encoded images (in
 * their Pillow mode, {@linkcode decodeNativeImage}) and preprocesses them
 * ({@linkcode ImagePreprocessor.process}) straight into a slot of the pool's shared pixel
 * buffer. It keeps its own decoders (the WebAssembly modules are compiled once per worker) and
 * its own resize scratch buffers, so nothing is allocated per image beyond the decoded image.
 *
 * Messages: one {@linkcode DecodeWorkerInit} first, then {@linkcode DecodeJob}s, each answered by
 * a {@linkcode DecodeReply} with the same `id`. A sample that cannot be used is answered with the
 * message of its error, which becomes the skip reason exactly as in the in-process path; any other
 * error (a programming error, see skip_reason.ts) is rethrown, which fails the worker and so the
 * pool (a `DecodePoolError`) and the run.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { decodeNativeImage } from "../image/decode.ts";
import { ImagePreprocessor } from "../image/preprocess.ts";
import { skipReason } from "./skip_reason.ts";
import type { DecodeJob, DecodeReply, DecodeWorkerInit } from "./decode_messages.ts";

let preprocessor: ImagePreprocessor | undefined;
let slots: Float32Array | undefined;

async function run(job: DecodeJob): Promise<DecodeReply> {
  try {
    const image = await decodeNativeImage(job.bytes, job.ext);
    preprocessor!.process(image, slots!, job.slot * preprocessor!.outputLength);
    return { id: job.id };
  } catch (error) {
    return { id: job.id, error: skipReason(error) };
  }
}

self.onmessage = async (event: MessageEvent<DecodeWorkerInit | DecodeJob>) => {
  const message = event.data;
  if (message.kind === "init") {
    preprocessor = new ImagePreprocessor(message.settings);
    slots = new Float32Array(message.slots);
    return;
  }
  self.postMessage(await run(message));
};
