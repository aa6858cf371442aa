/**
 * Grouping tar members into WebDataset samples, as webdataset's `tar_file_iterator` and
 * `group_by_keys` (with `base_plus_ext`) do, plus the field accessors the tasks need.
 *
 * Rules (webdataset/tariterators.py):
 *
 * - A member whose path matches webdataset's meta pattern (`__…__` at the top level, or a
 *   `__…__/` directory at the start of the path) is skipped.
 * - The key is the path up to the first `.` of its basename, directory part included; the
 *   extension is everything after that dot, lower-cased (`a.b.c.PNG` → key `a`, extension
 *   `b.c.png`; `dir/x.JPG` → `dir/x`, `jpg`). This is webdataset's own regular expression
 *   (see {@linkcode splitSampleKey}), so a path with no dot in its basename is skipped, and so
 *   is a top-level name starting with a dot (`.x.png`).
 * - Consecutive members with the same key form one sample; a key that comes back after another
 *   key starts a new sample (webdataset does the same). Samples never span shards (recent
 *   webdataset ends the current sample at each shard's end).
 * - A second member with the same extension in one sample is an error naming the key and the
 *   extension, as in webdataset (which raises `ValueError`). Like webdataset, the extensions
 *   `__key__` and `__url__` collide with its own bookkeeping fields and are also errors.
 * - Not in webdataset: a sample holds at most {@linkcode MAX_MEMBERS_PER_SAMPLE} members (each
 *   at most the tar reader's member size limit), so that one sample cannot hold a shard's worth of
 *   memory; one more is a {@linkcode DatasetError} naming the key and the member's offset, like a
 *   repeated extension (a shard built that way is malformed, not a sample with bad content).
 *
 * @module
 */

import { DatasetError, SampleError } from "../errors.ts";
import type { TarEntry } from "./tar_stream.ts";

/** One WebDataset sample: the members of a shard that share a key. */
export interface Sample {
  /** The sample key (member path up to the first dot of its basename). */
  readonly key: string;
  /** The shard path or URL the sample was read from (webdataset's `__url__`). */
  readonly source: string;
  /** Member bytes by lower-cased extension, in archive order. */
  readonly fields: Map<string, Uint8Array>;
}

/** A member path split webdataset's way (`base_plus_ext`). */
export interface SampleKeyParts {
  /** The key: the path up to the first `.` of the basename. */
  readonly key: string;
  /** Everything after that dot, not yet lower-cased. */
  readonly extension: string;
}

/** Options of a {@linkcode SampleStream}. */
export interface SampleStreamOptions {
  /** The shard path or URL, stored in every sample and used in error messages. */
  readonly source: string;
  /** Most members one sample may hold (default {@linkcode MAX_MEMBERS_PER_SAMPLE}). */
  readonly maxMembers?: number;
}

/**
 * Default {@linkcode SampleStreamOptions.maxMembers}: 64 members a sample. CLIP_benchmark's
 * samples have two to four (image, `cls` or `txt`, sometimes `json`, `__key__`-style extras).
 */
export const MAX_MEMBERS_PER_SAMPLE = 64;

/** An image member of a sample: its extension and its encoded bytes. */
export interface ImageField {
  /** `webp`, `png`, `jpg` or `jpeg`. */
  readonly ext: string;
  /** The encoded image. */
  readonly bytes: Uint8Array;
}

/** Image extensions in the order CLIP_benchmark asks webdataset for them (`to_tuple`). */
export const IMAGE_EXTENSIONS: readonly string[] = ["webp", "png", "jpg", "jpeg"];

// webdataset's base_plus_ext regex r"^((?:.*/|)[^.]+)[.]([^/]*)$", with `.` spelled `[^\n]` because in Python it matches a
// carriage return and U+2028/U+2029, which JavaScript's `.` does not.
const KEY_PATTERN = /^((?:[^\n]*\/|)[^.]+)[.]([^/]*)$/;
// webdataset's default skip_meta pattern, r"__[^/]*__($|/)" used with re.match.
const META_PATTERN = /^__[^/]*__(?:$|\/)/;

/**
 * Splits a member path into key and extension with webdataset's `base_plus_ext`; `undefined`
 * where webdataset returns `(None, None)` and skips the member. Its quirks are kept: the
 * extension may be empty (`x.` → `x`, `""`) and a dot-file in a directory gets the directory
 * as key (`dir/.x.png` → `dir/`, `x.png`).
 */
export function splitSampleKey(path: string): SampleKeyParts | undefined {
  const match = KEY_PATTERN.exec(path);
  return match === null ? undefined : { key: match[1], extension: match[2] };
}

/** Whether webdataset's `tar_file_iterator` skips `path` as a metadata file (`__…__`). */
export function isMetaMember(path: string): boolean {
  if (!path.includes("/") && path.startsWith("__") && path.endsWith("__")) return true;
  return META_PATTERN.test(path);
}

/**
 * Groups consecutive tar members into samples. Members that webdataset ignores (meta files,
 * paths without an extension) are dropped; a repeated extension within a sample errors the
 * stream with a {@linkcode DatasetError} naming the key, the extension and the member's offset.
 */
export class SampleStream extends TransformStream<TarEntry, Sample> {
  /** @param options The shard path or URL. */
  constructor(options: SampleStreamOptions) {
    const source = options.source;
    const maxMembers = options.maxMembers ?? MAX_MEMBERS_PER_SAMPLE;
    let current: Sample | undefined;
    super({
      transform(entry, controller) {
        if (isMetaMember(entry.path)) return;
        const parts = splitSampleKey(entry.path);
        if (parts === undefined) return;
        const extension = parts.extension.toLowerCase();
        if (current === undefined || current.key !== parts.key) {
          if (current !== undefined) controller.enqueue(current);
          current = { key: parts.key, source, fields: new Map() };
        }
        if (current.fields.has(extension) || extension === "__key__" || extension === "__url__") {
          throw new DatasetError(
            `${source}: sample "${parts.key}" has a second member with extension ` +
              `"${extension}" ("${entry.path}", header at byte ${entry.offset})`,
            { path: source, offset: entry.offset },
          );
        }
        if (current.fields.size >= maxMembers) {
          throw new DatasetError(
            `${source}: sample "${parts.key}" has more than ${maxMembers} members ` +
              `(member "${entry.path}", header at byte ${entry.offset})`,
            { path: source, offset: entry.offset },
          );
        }
        current.fields.set(extension, entry.data);
      },
      flush(controller) {
        if (current !== undefined) controller.enqueue(current);
        current = undefined;
      },
    });
  }
}

/**
 * The sample's image: the first of `webp`, `png`, `jpg`, `jpeg` it has (CLIP_benchmark's
 * order), or `undefined` when it has none.
 */
export function imageField(sample: Sample): ImageField | undefined {
  for (const ext of IMAGE_EXTENSIONS) {
    const bytes = sample.fields.get(ext);
    if (bytes !== undefined) return { ext, bytes };
  }
  return undefined;
}

const utf8 = new TextDecoder("utf-8");

/**
 * The sample's `cls` field as an integer, or `undefined` when it has none. The bytes are read
 * like Python's `int(bytes)`: ASCII decimal digits with an optional sign and `_` separators,
 * surrounding ASCII whitespace ignored. Anything else throws a {@linkcode SampleError} (where
 * webdataset's decoder would silently give `None`).
 */
export function labelField(sample: Sample): number | undefined {
  const bytes = sample.fields.get("cls");
  if (bytes === undefined) return undefined;
  const text = utf8.decode(bytes);
  const trimmed = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, "");
  const value = /^[+-]?[0-9](?:_?[0-9])*$/.test(trimmed)
    ? Number(trimmed.replaceAll("_", ""))
    : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new SampleError(
      sample.key,
      `cls field ${JSON.stringify(text)} in ${sample.source} is not a decimal integer`,
    );
  }
  return value === 0 ? 0 : value; // "-0" is 0, as in Python
}
