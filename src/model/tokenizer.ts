/**
 * Text tokenisation for CLIP-family text towers, from a model folder's `tokenizer.json`.
 *
 * The pipeline of `tokenizer.json` (normaliser, pre-tokeniser, BPE/WordPiece model, post-processor)
 * runs through `@huggingface/tokenizers`. On top of it this module applies the fixed-context
 * convention that open_clip, Hugging Face's `CLIPTokenizer(truncation=True, padding="max_length")`
 * and Chinese-CLIP share:
 *
 * - the post-processor's special tokens are kept (`<|startoftext|>` … `<|endoftext|>` for CLIP,
 *   `[CLS]` … `[SEP]` for BERT);
 * - a text longer than the context keeps its first `context - prefix - suffix` content tokens and
 *   still ends with the suffix (open_clip: cut to 77, last id forced to `<|endoftext|>`);
 * - the row is padded with the pad id (the `pad_token` of `tokenizer_config.json`, else
 *   `tokenizer.json`'s `padding.pad_id`, else 0) and an attention mask of 1s then 0s: to the full
 *   context (`padding: "max_length"`, the default: open_clip, SigLIP, fixed-length graphs) or to
 *   the longest row of the batch (`"longest"`: Hugging Face's `padding=True`, for towers that take
 *   an attention mask).
 *
 * Text cleaning: open_clip's `SimpleTokenizer` HTML-unescapes every text twice (Python's
 * `html.unescape`) before BPE; with `textCleaning: "open_clip"` this module does the same, so ids
 * equal open_clip's; with `"none"` the text goes to the pipeline as is, as Hugging Face's
 * `CLIPTokenizerFast` does. Known remaining differences from open_clip: it also runs
 * `ftfy.fix_text` (control characters, mojibake, curly quotes, ligatures, full-width forms), and
 * it tokenises a literal `<|startoftext|>` in the text as ordinary characters where a
 * `tokenizer.json` pipeline matches it as the special token.
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { ModelError } from "../errors.ts";
import { readJsonObject } from "./json_file.ts";
import { htmlUnescape } from "./text/html_unescape.ts";
import { tokenizerJsonFromSlowFiles } from "./text/slow/mod.ts";

/** Token ids and attention masks for a batch of texts, row-major `[count, contextLength]`. */
export interface TokenizedBatch {
  /** Number of texts. */
  readonly count: number;
  /** Tokens per row. */
  readonly contextLength: number;
  /** Token ids, padded. */
  readonly ids: Int32Array;
  /** 1 for a real token, 0 for padding. */
  readonly attentionMask: Int32Array;
}

/** Settings that `tokenizer.json` does not carry. */
export interface TextTokenizerOptions {
  /**
   * Most tokens per row, special tokens included (77 for CLIP, 52 for Chinese-CLIP, 64 for
   * SigLIP): longer texts are truncated to it, and `"max_length"` rows are padded to it.
   */
  readonly contextLength: number;
  /** Id written into padding positions. */
  readonly padId: number;
  /** Clean-up before the pipeline: `"open_clip"` HTML-unescapes twice; `"none"` (default) nothing. */
  readonly textCleaning?: TextCleaning;
  /** Row length of a batch: the context (`"max_length"`, default) or its longest row. */
  readonly padding?: TextPadding;
}

/** Text clean-up applied before `tokenizer.json`'s pipeline. */
export type TextCleaning = "open_clip" | "none";

/**
 * How the rows of a batch are padded: to the full context length (`"max_length"`) or to the
 * longest row of the batch (`"longest"`, Hugging Face's `padding=True`).
 */
export type TextPadding = "max_length" | "longest";

/**
 * Reads `tokenizer.json` and `tokenizer_config.json` (optional) from a model folder. Without
 * `tokenizer.json`, it is built from the folder's slow tokenizer files (`vocab.json` +
 * `merges.txt`, `vocab.txt`, `spiece.model`) as transformers' converters build it.
 */
export async function loadTokenizerFiles(
  modelDir: string,
): Promise<{ tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> }> {
  const tokenizerPath = `${modelDir}/tokenizer.json`;
  const configPath = `${modelDir}/tokenizer_config.json`;
  const tokenizerConfig = await readJsonObject(configPath, { optional: true }) ?? {};
  const tokenizerJson = await readJsonObject(tokenizerPath, { optional: true }) ??
    await tokenizerJsonFromSlowFiles(modelDir) ?? await readJsonObject(tokenizerPath);
  return { tokenizerJson, tokenizerConfig };
}

/** The content of a special-token entry of `tokenizer_config.json` (a string or an AddedToken object). */
function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (
    entry && typeof entry === "object" &&
    typeof (entry as { content?: unknown }).content === "string"
  ) {
    return (entry as { content: string }).content;
  }
  return undefined;
}

/** `tokenizer.json`'s own pad id (`"padding": {"pad_id": n, …}`), when it sets one. */
function pipelinePadId(tokenizerJson: Record<string, unknown>): number | undefined {
  const padding = tokenizerJson.padding;
  if (padding && typeof padding === "object") {
    const id = (padding as { pad_id?: unknown }).pad_id;
    if (typeof id === "number" && Number.isInteger(id) && id >= 0) return id;
  }
  return undefined;
}

/** Tokeniser that produces padded rows for a CLIP-family text tower. */
export class TextTokenizer {
  /** Most tokens per row (the truncation length; the row length with `"max_length"` padding). */
  readonly contextLength: number;
  /** Id used for padding. */
  readonly padId: number;
  /** Clean-up applied to each text before tokenising. */
  readonly textCleaning: TextCleaning;
  /** How the rows of a batch are padded. */
  readonly padding: TextPadding;
  readonly #tokenizer: Tokenizer;
  readonly #prefix: number[];
  readonly #suffix: number[];

  /**
   * Creates an instance.
   *
   * @param tokenizerJson The parsed `tokenizer.json`.
   * @param tokenizerConfig The parsed `tokenizer_config.json` (`{}` when absent).
   * @param options Context length and pad id.
   */
  constructor(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
    options: TextTokenizerOptions,
  ) {
    this.#tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    this.contextLength = options.contextLength;
    this.padId = options.padId;
    this.textCleaning = options.textCleaning ?? "none";
    this.padding = options.padding ?? "max_length";
    if (this.padding !== "max_length" && this.padding !== "longest") {
      throw new RangeError(
        `padding must be "max_length" or "longest", got ${String(this.padding)}`,
      );
    }
    [this.#prefix, this.#suffix] = this.#specialTokenFrame();
    if (this.#prefix.length + this.#suffix.length >= this.contextLength) {
      throw new ModelError(
        `context length ${this.contextLength} leaves no room for text between the special tokens`,
      );
    }
  }

  /**
   * Builds a tokenizer from the files of a model folder.
   *
   * Context length: `options.contextLength`, else `model_max_length` of `tokenizer_config.json`
   * when it is a real limit (transformers writes 1e30 for "none"), else `fallbackContextLength`.
   * Pad id: `options.padId`, else the id of `tokenizer_config.json`'s `pad_token`, else
   * `tokenizer.json`'s `padding.pad_id`, else 0.
   */
  static fromFiles(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
    options: Partial<TextTokenizerOptions> & { fallbackContextLength?: number; source?: string } =
      {},
  ): TextTokenizer {
    const source = options.source ?? "tokenizer_config.json";
    let contextLength = options.contextLength;
    if (contextLength === undefined) {
      const max = tokenizerConfig.model_max_length;
      if (typeof max === "number" && Number.isInteger(max) && max > 0 && max < 1e6) {
        contextLength = max;
      } else {
        contextLength = options.fallbackContextLength;
      }
    }
    if (contextLength === undefined || !Number.isInteger(contextLength) || contextLength < 2) {
      throw new ModelError(
        `${source}: no usable model_max_length (found ${
          JSON.stringify(tokenizerConfig.model_max_length)
        }) and no context length from the model`,
      );
    }
    const probe = new Tokenizer(tokenizerJson, tokenizerConfig);
    let padId = options.padId;
    if (padId === undefined) {
      const padToken = tokenContent(tokenizerConfig.pad_token);
      if (padToken !== undefined) {
        padId = probe.token_to_id(padToken);
        if (padId === undefined) {
          throw new ModelError(
            `${source}: pad_token ${JSON.stringify(padToken)} is not in the vocabulary`,
          );
        }
      } else {
        padId = pipelinePadId(tokenizerJson) ?? 0;
      }
    }
    return new TextTokenizer(tokenizerJson, tokenizerConfig, {
      contextLength,
      padId,
      textCleaning: options.textCleaning,
      padding: options.padding,
    });
  }

  /**
   * Finds the ids the post-processor puts before and after a single text, by comparing the
   * encodings of a probe text with and without special tokens.
   */
  #specialTokenFrame(): [number[], number[]] {
    const probe = "a";
    const full = this.#tokenizer.encode(probe).ids;
    const inner = this.#tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const extra = full.length - inner.length;
    for (let start = 0; start <= extra; start++) {
      if (inner.every((id, i) => full[start + i] === id)) {
        return [full.slice(0, start), full.slice(start + inner.length)];
      }
    }
    throw new ModelError(
      "tokenizer.json: cannot locate the text between the post-processor's special tokens",
    );
  }

  /** The ids of one text, special tokens included, truncated to the context but not padded. */
  encodeUnpadded(text: string): number[] {
    if (this.textCleaning === "open_clip") text = htmlUnescape(htmlUnescape(text));
    const inner = this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
    const room = this.contextLength - this.#prefix.length - this.#suffix.length;
    const kept = inner.length > room ? inner.slice(0, room) : inner;
    return [...this.#prefix, ...kept, ...this.#suffix];
  }

  /**
   * Tokenises a batch of texts into padded rows of the context length, or of the longest row
   * with `padding: "longest"`.
   */
  encodeBatch(texts: readonly string[]): TokenizedBatch {
    return this.padRows(texts.map((text) => this.encodeUnpadded(text)));
  }

  /**
   * Pads rows of ids from {@linkcode encodeUnpadded} into a batch, as
   * {@linkcode encodeBatch} does: to the context length, or to the longest row with
   * `padding: "longest"`.
   *
   * @throws {RangeError} for a row longer than the context.
   */
  padRows(rows: readonly (readonly number[])[]): TokenizedBatch {
    const tooLong = rows.findIndex((row) => row.length > this.contextLength);
    if (tooLong >= 0) {
      throw new RangeError(
        `row ${tooLong} holds ${
          rows[tooLong].length
        } ids, more than the context of ${this.contextLength}`,
      );
    }
    const ctx = this.padding === "longest"
      ? rows.reduce((longest, row) => Math.max(longest, row.length), 0)
      : this.contextLength;
    const ids = new Int32Array(rows.length * ctx).fill(this.padId);
    const attentionMask = new Int32Array(rows.length * ctx);
    rows.forEach((rowIds, row) => {
      ids.set(rowIds, row * ctx);
      attentionMask.fill(1, row * ctx, row * ctx + rowIds.length);
    });
    return { count: rows.length, contextLength: ctx, ids, attentionMask };
  }
}
