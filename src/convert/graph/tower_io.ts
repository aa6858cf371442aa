/**
 * The inputs and outputs of the tower graphs, named, typed and with the dynamic axes of the
 * transformers.js exports: `pixel_values` float32 `[batch_size, num_channels, height, width]`,
 * the int64 text inputs `[batch_size, sequence_length]`, and the float32 `[batch_size, D]`
 * embeddings.
 *
 * @module
 */

import type { GraphBuilder } from "../../onnx/builder.ts";

/** Declares the image input `pixel_values`; returns its name. */
export function pixelValuesInput(graph: GraphBuilder): string {
  return graph.input("pixel_values", "float32", [
    "batch_size",
    "num_channels",
    "height",
    "width",
  ]);
}

/** Declares an int64 text input (`input_ids`, `attention_mask`, `token_type_ids`). */
export function textInput(graph: GraphBuilder, name: string): string {
  return graph.input(name, "int64", ["batch_size", "sequence_length"]);
}

/** Makes `value` the graph's output `name` (`image_embeds`, `text_embeds`), `[batch_size, dim]`. */
export function embeddingsOutput(
  graph: GraphBuilder,
  value: string,
  name: "image_embeds" | "text_embeds",
  dim: number,
): void {
  graph.node("Identity", [value], [name]);
  graph.output(name, "float32", ["batch_size", dim]);
}
