/**
 * The body of one decoding worker of a {@linkcode DecodePool}: an {@linkcode InThreadDecoder}
 * (slot_decoder.ts, the same one `numWorkers: 0` runs on the main thread) that decodes encoded
 * images in their Pillow mode and preprocesses them straight into a slot of the pool's shared
 * pixel buffer. It keeps its own decoders (the WebAssembly modules are compiled once per worker)
 * and its own resize scratch buffers, so nothing is allocated per image beyond the decoded image.
 *
 * Messages: one {@linkcode DecodeWorkerInit} first, then {@linkcode DecodeJob}s, each answered by
 * a {@linkcode DecodeReply} with the same `id`. A sample that cannot be used is answered with the
 * message of its error, which becomes the skip reason exactly as with `numWorkers: 0`; any other
 * error (a programming error, see skip_reason.ts) is rethrown, which fails the worker and so the
 * pool (a `DecodePoolError`) and the run.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { ImagePreprocessor } from "../image/preprocess/kernel.ts";
import { InThreadDecoder } from "./slot_decoder.ts";
import type { DecodeJob, DecodeReply, DecodeWorkerInit } from "./decode_messages.ts";

let decoder: InThreadDecoder | undefined;

async function run(job: DecodeJob): Promise<DecodeReply> {
  const error = await decoder!.decode(job.bytes, job.ext, job.slot);
  return error === undefined ? { id: job.id } : { id: job.id, error };
}

self.onmessage = async (event: MessageEvent<DecodeWorkerInit | DecodeJob>) => {
  const message = event.data;
  if (message.kind === "init") {
    decoder = new InThreadDecoder(
      new ImagePreprocessor(message.settings),
      new Float32Array(message.slots),
    );
    return;
  }
  self.postMessage(await run(message));
};
