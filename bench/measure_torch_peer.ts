/**
 * The PyTorch peer of the end-to-end measure (`deno task bench --peer torch`): CLIP_benchmark's
 * own structure — a torch DataLoader with worker processes, Pillow decode, torchvision's
 * transform, the vision tower in PyTorch, the classifier product and top-5 — on the same shards
 * and samples as clipbench's end-to-end run, in a fresh `/usr/bin/python3` (bench/torch_peer.py).
 * The model is the generated preset's shape in PyTorch (speed does not depend on the weights).
 *
 * Optional: without `/usr/bin/python3`, torch or torchvision the measure is skipped with the
 * reason (`apt-get install python3-torch python3-torchvision`); clipbench itself never runs
 * Python.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./torch_peer.py", import.meta.url));

/** What {@linkcode measureTorchPeer} measured, or why it did not. */
export type TorchPeerMeasure =
  | {
    /** PyTorch, torchvision and Pillow versions, and the DataLoader's workers. */
    readonly library: string;
    /** Samples scored. */
    readonly samples: number;
    /** Seconds of the loop. */
    readonly seconds: number;
    /** Seconds until the first batch arrived. */
    readonly firstBatchSeconds: number;
    /** Images per second over the loop. */
    readonly imagesPerSecond: number;
  }
  | {
    /** Why there is no measure. */
    readonly skipped: string;
  };

/** Options of {@linkcode measureTorchPeer}. */
export interface TorchPeerOptions {
  /** Local tar shards, in order. */
  readonly shards: readonly string[];
  /** Samples to score (the first ones). */
  readonly samples: number;
  /** Images per batch. */
  readonly batchSize: number;
  /** DataLoader worker processes. */
  readonly workers: number;
  /** torch intra-op threads (0: torch's default). */
  readonly threads: number;
  /** Classes of the classifier. */
  readonly classes: number;
  /** The model shape (bench/torch_export_clip_vision.py's presets). */
  readonly preset: "vit-b-32" | "tiny";
}

/** Runs bench/torch_peer.py once. */
export async function measureTorchPeer(options: TorchPeerOptions): Promise<TorchPeerMeasure> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(PYTHON, {
      args: [
        SCRIPT,
        String(options.samples),
        String(options.batchSize),
        String(options.workers),
        String(options.threads),
        String(options.classes),
        options.preset,
        ...options.shards,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { skipped: `${PYTHON} not found` };
    throw error;
  }
  const text = new TextDecoder();
  if (!output.success) {
    const stderr = text.decode(output.stderr).trim();
    const missing = /No module named '?(torch|torchvision|PIL)/.exec(stderr);
    return {
      skipped: missing
        ? `${missing[1]} is not installed for ${PYTHON} ` +
          "(apt-get install python3-torch python3-torchvision python3-pil)"
        : `torch_peer.py failed: ${stderr.split("\n").slice(-1)[0]}`,
    };
  }
  return JSON.parse(text.decode(output.stdout));
}
