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
import { runPythonScript } from "./python_script.ts";

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
  const run = await runPythonScript(
    SCRIPT,
    [
      String(options.samples),
      String(options.batchSize),
      String(options.workers),
      String(options.threads),
      String(options.classes),
      options.preset,
      ...options.shards,
    ],
    {
      torchvision: { name: "torchvision", package: "python3-torchvision" },
      torch: { name: "torch", package: "python3-torch" },
      PIL: { name: "PIL", package: "python3-pil" },
    },
  );
  return "skipped" in run ? run : JSON.parse(run.stdout);
}
