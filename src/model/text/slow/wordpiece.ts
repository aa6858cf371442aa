/**
 * BERT's WordPiece tokenizer (Chinese-CLIP's text tower) as `tokenizer.json`, built from the slow
 * `BertTokenizer` files (`vocab.txt`, optional `tokenizer_config.json`) the way transformers'
 * `BertConverter` builds it:
 *
 * - model: WordPiece over `vocab.txt` (id = 0-based line number; a repeated line keeps its last
 *   id, as `load_vocab`'s dict does), prefix `##`, at most 100 characters per word;
 * - normaliser: `BertNormalizer` with `clean_text`, and `handle_chinese_chars`, `strip_accents`,
 *   `lowercase` from `tokenize_chinese_chars`, `strip_accents`, `do_lower_case` (defaults true,
 *   null, true; all off when `do_basic_tokenize` is false, as the converter does);
 * - pre-tokeniser: `BertPreTokenizer`;
 * - post-processor: `[CLS] $A [SEP]` (pair `[CLS] $A [SEP] $B:1 [SEP]:1`);
 * - decoder: WordPiece.
 *
 * @module
 */

import { ModelError } from "../../../errors.ts";
import {
  type AddedTokenEntry,
  addedTokensDecoder,
  checkTokenizerClass,
  configToken,
} from "./special_tokens.ts";

/** Tokenizer classes whose slow→fast converter is `BertConverter`. */
const BERT_CLASSES = [
  "BertTokenizer",
  "BertTokenizerFast",
  "DistilBertTokenizer",
  "DistilBertTokenizerFast",
  "ElectraTokenizer",
  "ElectraTokenizerFast",
];

/**
 * Parses `vocab.txt` (`text`, read from `path`) as transformers' `load_vocab`: lines split at
 * `\n`, `\r\n` or `\r` (Python's universal newlines), each kept as is otherwise.
 */
export function parseWordPieceVocab(text: string, path: string): Map<string, number> {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) throw new ModelError(`${path} is empty`, { path });
  const vocab = new Map<string, number>();
  lines.forEach((token, id) => vocab.set(token, id));
  return vocab;
}

function booleanOption(
  config: Record<string, unknown>,
  key: string,
  fallback: boolean,
  source: string,
): boolean {
  const value = config[key];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new ModelError(`${source}: ${key} must be true or false, got ${JSON.stringify(value)}`, {
      path: source,
    });
  }
  return value;
}

/** Inputs of {@linkcode bertTokenizerJson}. */
export interface BertSlowFiles {
  /** Content of `vocab.txt`. */
  readonly vocabText: string;
  /** Path of `vocab.txt` (for messages). */
  readonly vocabPath: string;
  /** Parsed `tokenizer_config.json` (`{}` when absent). */
  readonly config: Record<string, unknown>;
  /** Path of `tokenizer_config.json` (for messages). */
  readonly configPath: string;
}

/** Builds BERT's WordPiece `tokenizer.json` object from the slow `BertTokenizer` files. */
export function bertTokenizerJson(files: BertSlowFiles): Record<string, unknown> {
  const { config, configPath, vocabPath } = files;
  checkTokenizerClass(config, BERT_CLASSES, configPath, "vocab.txt");
  const vocab = parseWordPieceVocab(files.vocabText, vocabPath);

  const basic = booleanOption(config, "do_basic_tokenize", true, configPath);
  const lowercase = basic && booleanOption(config, "do_lower_case", true, configPath);
  const chineseChars = basic && booleanOption(config, "tokenize_chinese_chars", true, configPath);
  let stripAccents: boolean | null = null;
  const stripValue = config.strip_accents;
  if (!basic) stripAccents = false;
  else if (typeof stripValue === "boolean") stripAccents = stripValue;
  else if (stripValue !== undefined && stripValue !== null) {
    throw new ModelError(
      `${configPath}: strip_accents must be true, false or null, got ${JSON.stringify(stripValue)}`,
      { path: configPath },
    );
  }
  const neverSplit = config.never_split;
  if (
    neverSplit !== undefined && neverSplit !== null &&
    !(Array.isArray(neverSplit) && neverSplit.length === 0)
  ) {
    throw new ModelError(
      `${configPath}: never_split ${JSON.stringify(neverSplit)} is not supported ` +
        `(the fast BERT pipeline has no equivalent)`,
      { path: configPath },
    );
  }

  const required = (key: string, fallback: string) => {
    const token = configToken(config, key, fallback, configPath);
    if (token === undefined) {
      throw new ModelError(`${configPath}: ${key} must not be null`, { path: configPath });
    }
    const id = vocab.get(token.content);
    if (id === undefined) {
      throw new ModelError(`${vocabPath} has no ${key} ${JSON.stringify(token.content)}`, {
        path: vocabPath,
      });
    }
    return { content: token.content, id };
  };
  const unk = required("unk_token", "[UNK]");
  const cls = required("cls_token", "[CLS]");
  const sep = required("sep_token", "[SEP]");

  let addedTokens = addedTokensDecoder(config, configPath);
  if (addedTokens === undefined) {
    const entries = new Map<string, AddedTokenEntry>();
    const add = (content: string) => {
      const id = vocab.get(content);
      if (id === undefined || entries.has(content)) return;
      entries.set(content, {
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      });
    };
    for (const [key, fallback] of [["pad_token", "[PAD]"], ["mask_token", "[MASK]"]]) {
      const token = configToken(config, key, fallback, configPath);
      if (token !== undefined) add(token.content);
    }
    for (const token of [unk, cls, sep]) add(token.content);
    const extra = config.additional_special_tokens;
    if (Array.isArray(extra)) {
      extra.forEach((_, index) => {
        const token = configToken({ t: extra[index] }, "t", undefined, configPath);
        if (token !== undefined) add(token.content);
      });
    }
    addedTokens = [...entries.values()].sort((a, b) => a.id - b.id);
  }

  const special = (token: { content: string; id: number }) => ({
    id: token.content,
    ids: [token.id],
    tokens: [token.content],
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: chineseChars,
      strip_accents: stripAccents,
      lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: cls.content, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep.content, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls.content, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep.content, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: sep.content, type_id: 1 } },
      ],
      special_tokens: Object.fromEntries([[cls.content, special(cls)], [
        sep.content,
        special(sep),
      ]]),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: unk.content,
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}
