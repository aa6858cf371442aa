/**
 * The Python reference's decode + preprocess speed on one core, for comparison: Pillow, with
 * torchvision's transform when it is installed (bench/pil_preprocess.py), on the same images
 * as {@linkcode measureDecode}. Optional: without `/usr/bin/python3` and Pillow the measure is
 * skipped with the reason (clipbench itself never runs Python).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { runPythonScript } from "./python_script.ts";

const SCRIPT = fileURLToPath(new URL("./pil_preprocess.py", import.meta.url));

/** What {@linkcode measurePil} measured, or why it did not. */
export type PilMeasure =
  | {
    /** Pillow's version, and torchvision's (or numpy's when torchvision is absent). */
    readonly library: string;
    /** Images timed. */
    readonly images: number;
    /** Seconds in `Image.open` + `load`. */
    readonly decodeSeconds: number;
    /** Seconds in the transform. */
    readonly preprocessSeconds: number;
    /** Images per second, one core. */
    readonly imagesPerSecond: number;
  }
  | {
    /** Why there is no measure. */
    readonly skipped: string;
  };

/**
 * Runs bench/pil_preprocess.py on the first `count` images of `shards` (local tar paths),
 * preprocessed to `size` × `size`.
 */
export async function measurePil(
  shards: readonly string[],
  count: number,
  size: number,
): Promise<PilMeasure> {
  const run = await runPythonScript(SCRIPT, [String(count), String(size), ...shards], {
    PIL: { name: "Pillow", package: "python3-pil" },
  });
  return "skipped" in run ? run : JSON.parse(run.stdout);
}
