/**
 * Parity tools for chasing a JavaScript-vs-Python mismatch: the token ids clipbench feeds the text
 * tower, and the tensor it feeds the vision tower, without running either.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { decodeNativeImage } from "../image/decode/mod.ts";
import { loadModelConfig, loadPreprocessor, loadTokenizer } from "../model/model.ts";
import type { CropRounding, PreprocessMode } from "../image/preprocess/config.ts";
import type { TextCleaning } from "../model/tokenizer.ts";

/**
 * Tokenises `texts` with a model folder's tokenizer.
 *
 * @returns one block per text: the text, its ids (padded) and its attention mask.
 */
export async function inspectText(
  modelDir: string,
  texts: readonly string[],
  options: { textCleaning?: TextCleaning } = {},
): Promise<string> {
  const config = await loadModelConfig(modelDir);
  const tokenizer = await loadTokenizer(modelDir, config, options);
  const batch = tokenizer.encodeBatch(texts);
  const ctx = batch.contextLength;
  const header =
    `context length ${ctx}, pad id ${tokenizer.padId}, text cleaning ${tokenizer.textCleaning}`;
  const blocks = texts.map((text, i) => {
    const ids = batch.ids.subarray(i * ctx, (i + 1) * ctx);
    const mask = batch.attentionMask.subarray(i * ctx, (i + 1) * ctx);
    const used = mask.reduce((a, b) => a + b, 0);
    return [
      `text: ${JSON.stringify(text)}`,
      `tokens: ${used}`,
      `input_ids: [${ids.join(", ")}]`,
      `attention_mask: [${mask.join(", ")}]`,
    ].join("\n");
  });
  return [header, ...blocks].join("\n\n");
}

/** The bytes of the image file named on the command line. */
async function readImageFile(file: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(file);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a folder, not an image file"
      : (error as Error).message;
    throw new UsageError(`cannot read the image ${file}: ${reason}`, { cause: error });
  }
}

/**
 * Decodes and preprocesses an image file as the model would see it.
 *
 * @param options `out`: a path to write the tensor's raw little-endian float32 values (C order);
 *   `preprocess` and `cropRounding` as for an evaluation.
 * @returns the tensor's shape and per-channel statistics.
 * @throws {UsageError} when `file` cannot be read or `out` cannot be written.
 * @throws {ImageDecodeError} when `file` is not an image Pillow would decode.
 */
export async function inspectImage(
  modelDir: string,
  file: string,
  options: { out?: string; cropRounding?: CropRounding; preprocess?: PreprocessMode } = {},
): Promise<string> {
  const config = await loadModelConfig(modelDir);
  const { preprocessor } = await loadPreprocessor(modelDir, config, options);
  const bytes = await readImageFile(file);
  const image = await decodeNativeImage(bytes, file);
  const { height, width } = preprocessor;
  const tensor = new Float32Array(3 * height * width);
  preprocessor.process(image, tensor, 0);
  const lines = [
    `file: ${file} (${image.width}×${image.height}, Pillow mode ${image.mode})`,
    `shape: [1, 3, ${height}, ${width}] float32`,
  ];
  const plane = height * width;
  for (let c = 0; c < 3; c++) {
    let min = Infinity, max = -Infinity, sum = 0;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const v = tensor[i];
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    lines.push(
      `channel ${c}: min ${min.toPrecision(8)}  max ${max.toPrecision(8)}  mean ${
        (sum / plane).toPrecision(8)
      }`,
    );
  }
  lines.push(
    `first values: [${Array.from(tensor.subarray(0, 8), (v) => v.toPrecision(8)).join(", ")}]`,
  );
  if (options.out) {
    const bytesOut = new Uint8Array(tensor.length * 4);
    const view = new DataView(bytesOut.buffer);
    tensor.forEach((v, i) => view.setFloat32(i * 4, v, true));
    try {
      await Deno.writeFile(options.out, bytesOut);
    } catch (error) {
      throw new UsageError(`--out: cannot write ${options.out}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    lines.push(`wrote ${tensor.length} little-endian float32 values to ${options.out}`);
  }
  return lines.join("\n");
}
