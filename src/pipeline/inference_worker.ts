/**
 * The body of the inference worker of a {@linkcode WorkerImageEncoder}: it opens the image graph
 * in its own onnxruntime session and encodes batches whose pixels the decoding workers left in
 * shared slots. Each batch is first copied out of the slots into a reused buffer (onnxruntime-node
 * under Deno refuses tensors over a `SharedArrayBuffer`: "Invalid argument"), the slots are handed
 * back at once, and only then does the (synchronous, multi-threaded) inference run — in this
 * worker, so the main thread stays free to read the dataset and dispatch decoding.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { VisionTower } from "../model/encoder.ts";
import { ModelError } from "../errors.ts";
import type {
  InferenceJob,
  InferenceRelease,
  InferenceReply,
  InferenceWorkerInit,
} from "./inference_messages.ts";

let tower: VisionTower | undefined;
let init: InferenceWorkerInit | undefined;
let slots: Float32Array | undefined;
let batch = new Float32Array(0);

function reply(message: InferenceReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

async function open(message: InferenceWorkerInit): Promise<void> {
  init = message;
  slots = new Float32Array(message.slots);
  try {
    tower = await VisionTower.create(message.path, message.settings, {
      outputNames: message.outputNames,
    });
    reply({ kind: "ready" });
  } catch (error) {
    const path = error instanceof ModelError ? error.path : undefined;
    reply({ kind: "failed", message: (error as Error).message ?? String(error), path });
  }
}

async function encode(job: InferenceJob): Promise<void> {
  const { height, width } = init!;
  const size = 3 * height * width;
  const count = job.slots.length;
  if (batch.length < count * size) batch = new Float32Array(count * size);
  for (let i = 0; i < count; i++) {
    const slot = job.slots[i];
    batch.set(slots!.subarray(slot * size, (slot + 1) * size), i * size);
  }
  reply({ kind: "gathered", id: job.id });
  try {
    const { embeddings, dim } = await tower!.encode(batch, count, height, width);
    reply({ kind: "encoded", id: job.id, embeddings, dim }, [embeddings.buffer as ArrayBuffer]);
  } catch (error) {
    reply({ kind: "error", id: job.id, message: (error as Error).message ?? String(error) });
  }
}

// Jobs run one at a time, in the order they arrive.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (event: MessageEvent<InferenceWorkerInit | InferenceJob | InferenceRelease>) => {
  const message = event.data;
  queue = queue.then(async () => {
    if (message.kind === "init") await open(message);
    else if (message.kind === "encode") await encode(message);
    else {
      await tower?.release();
      tower = undefined;
      reply({ kind: "released" });
    }
  });
};
