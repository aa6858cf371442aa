/**
 * Zero-shot image–text retrieval metrics, as CLIP_benchmark's `zeroshot_retrieval.evaluate`
 * (`clip_benchmark/metrics/zeroshot_retrieval.py`, and evalscope's copy of it) defines them.
 *
 * Every caption belongs to one image. With scores = caption · image (dot products of the
 * L2-normalised embeddings):
 *
 * - `image_retrieval_recall@k`: the mean over captions of [the caption's image is among the k
 *   images that score highest against the caption];
 * - `text_retrieval_recall@k`: the mean over images of [at least one of the image's captions is
 *   among the k captions that score highest against the image]. An image without captions counts
 *   as a miss (the reference divides 0 by 0 and `nan > 0` is false).
 *
 * Keys are written in the reference's order: for each k of the list, image retrieval then text
 * retrieval. A k larger than the number of candidates (images for image retrieval, captions for
 * text retrieval) is a {@linkcode UsageError}; the reference fails there too, in `torch.topk`
 * ("selected index k out of range").
 *
 * **Ranks instead of top-k lists.** The reference takes `torch.topk` of every row of the full
 * captions × images score matrix. Here the matrix is never held: it is computed tile by tile
 * (256 captions × 256 images) and each cell is compared, as it is computed, with the one score
 * that matters in its row and in its column. The rank of caption c's image is the number of
 * images that score higher than it against c, plus the equal-scoring images of lower index;
 * the image is in the top k exactly when that rank is below k. An image's captions are in its
 * top k exactly when the first of them in ranking order (highest score, lowest index among
 * equal scores) is, so the image's rank is that caption's rank, counted the same way over the
 * image's column. This is what a running top-k with "lower index wins" ties would give, for
 * every k at once, at the cost of two comparisons per cell.
 *
 * **Ties.** Equal scores rank by index, the lower first. `torch.topk` does not specify its order
 * among equal values, so the reference is only well defined without ties at the top-k boundary.
 *
 * **Precision.** Scores are float64 sums, in order over the dimensions, of products of the
 * float32 embeddings (the reference multiplies in float32 with BLAS); only scores equal to within
 * about 1e-7 can rank differently. The means reproduce the reference's rounding bit for bit:
 * `(recall > 0).float().mean().item()` sums the 0/1 values in float32 (exact below 2²⁴ rows)
 * and divides in float32, and the result is that float32 value as a double —
 * {@linkcode float32Mean}.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** Retrieval metrics by name: `image_retrieval_recall@k` and `text_retrieval_recall@k`. */
export type RetrievalMetrics = Record<string, number>;

/** Rank of the relevant item(s) for every caption and every image. */
export interface RetrievalRanks {
  /** Per caption: how many images rank before the caption's own image (0 = first). */
  readonly captionRanks: Int32Array;
  /**
   * Per image: how many captions rank before the image's best-ranked caption; the number of
   * captions for an image that has none (a miss for every valid k).
   */
  readonly imageRanks: Int32Array;
}

/**
 * `torch.tensor(hits).float().mean().item()` for a tensor of `count` values of which `hits` are
 * 1 and the rest 0: PyTorch sums in float32 (exact for sums below 2²⁴) and divides in float32.
 * Both operands are exact float32 values and a double quotient rounded to float32 equals the
 * float32 quotient (a double has more than 2 · 24 + 2 bits), so this is bit-exact.
 */
export function float32Mean(hits: number, count: number): number {
  return Math.fround(Math.fround(hits) / Math.fround(count));
}

/** Checks a recall@k list: a non-empty list of positive integers. */
export function validateRecallK(recallK: readonly number[]): void {
  if (recallK.length === 0) throw new UsageError("the recall@k list is empty");
  for (const k of recallK) {
    if (!Number.isSafeInteger(k) || k < 1) {
      throw new UsageError(`recall@k needs positive integers k, got ${k}`);
    }
  }
}

/**
 * The metrics for each k of `recallK`, from the ranks: for each k, `image_retrieval_recall@k`
 * then `text_retrieval_recall@k`.
 *
 * @throws {UsageError} when a k is not a positive integer, or exceeds the number of images or of
 * captions.
 */
export function retrievalMetrics(
  ranks: RetrievalRanks,
  recallK: readonly number[],
): RetrievalMetrics {
  validateRecallK(recallK);
  const { captionRanks, imageRanks } = ranks;
  for (const k of recallK) {
    if (k > imageRanks.length) {
      throw new UsageError(
        `image retrieval recall@${k} ranks ${k} images, but there are only ${imageRanks.length} ` +
          `images (k must not exceed the number of images)`,
      );
    }
    if (k > captionRanks.length) {
      throw new UsageError(
        `text retrieval recall@${k} ranks ${k} captions, but there are only ` +
          `${captionRanks.length} captions (k must not exceed the number of captions)`,
      );
    }
  }
  const metrics: RetrievalMetrics = {};
  for (const k of recallK) {
    metrics[`image_retrieval_recall@${k}`] = float32Mean(
      countBelow(captionRanks, k),
      captionRanks.length,
    );
    metrics[`text_retrieval_recall@${k}`] = float32Mean(
      countBelow(imageRanks, k),
      imageRanks.length,
    );
  }
  return metrics;
}

function countBelow(ranks: Int32Array, k: number): number {
  let hits = 0;
  for (let i = 0; i < ranks.length; i++) if (ranks[i] < k) hits++;
  return hits;
}

/** Captions (rows) and images (columns) per score tile. */
const TILE = 256;

/**
 * Ranks every caption's image among the images and every image's captions among the captions
 * (see the module documentation), without materialising the score matrix.
 *
 * @param images `imageCount × dim` embeddings, row-major.
 * @param captions `captionImages.length × dim` embeddings, row-major.
 * @param captionImages The image index of each caption, each in `[0, imageCount)`.
 * @param dim Embedding dimension.
 */
export function retrievalRanks(
  images: Float32Array,
  captions: Float32Array,
  captionImages: Int32Array,
  dim: number,
): RetrievalRanks {
  if (!Number.isInteger(dim) || dim < 1) {
    throw new RangeError(`embedding dimension must be a positive integer, got ${dim}`);
  }
  const imageCount = Math.floor(images.length / dim);
  const captionCount = captionImages.length;
  if (images.length !== imageCount * dim) {
    throw new RangeError(`${images.length} image values are not a whole number of ${dim}-d rows`);
  }
  if (captions.length < captionCount * dim) {
    throw new RangeError(
      `${captions.length} caption values hold fewer than ${captionCount} rows of ${dim}`,
    );
  }
  // The score of each caption with its own image, and for each image the caption of its own
  // that ranks first (highest score; the lowest index among equal scores).
  const ownScore = new Float64Array(captionCount);
  const bestScore = new Float64Array(imageCount).fill(-Infinity);
  const bestCaption = new Int32Array(imageCount).fill(-1);
  for (let c = 0; c < captionCount; c++) {
    const image = captionImages[c];
    if (image < 0 || image >= imageCount) {
      throw new RangeError(`caption ${c} belongs to image ${image}, outside [0, ${imageCount})`);
    }
    const score = dot(captions, c * dim, images, image * dim, dim);
    ownScore[c] = score;
    if (score > bestScore[image]) {
      bestScore[image] = score;
      bestCaption[image] = c;
    }
  }
  const captionRanks = new Int32Array(captionCount);
  // An image without captions keeps bestScore -Infinity: every caption ranks before it.
  const imageRanks = new Int32Array(imageCount);
  const tile = new Float64Array(TILE * TILE);
  for (let row0 = 0; row0 < captionCount; row0 += TILE) {
    const rows = Math.min(TILE, captionCount - row0);
    for (let col0 = 0; col0 < imageCount; col0 += TILE) {
      const cols = Math.min(TILE, imageCount - col0);
      scoreTile(captions, row0, rows, images, col0, cols, dim, tile);
      for (let r = 0; r < rows; r++) {
        const caption = row0 + r;
        const own = ownScore[caption];
        const ownImage = captionImages[caption];
        let before = 0;
        const offset = r * cols;
        for (let j = 0; j < cols; j++) {
          const image = col0 + j;
          const score = tile[offset + j];
          if (score > own || (score === own && image < ownImage)) before++;
          const best = bestScore[image];
          if (score > best || (score === best && caption < bestCaption[image])) {
            imageRanks[image]++;
          }
        }
        captionRanks[caption] += before;
      }
    }
  }
  return { captionRanks, imageRanks };
}

/** Σ a[i]·b[i] over one row of each, in float64, in index order. */
function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number) {
  let sum = 0;
  for (let k = 0; k < dim; k++) sum += a[aOffset + k] * b[bOffset + k];
  return sum;
}

/**
 * `out[r · cols + j]` = score of caption `row0 + r` with image `col0 + j`. Four captions × two
 * images at a time, each sum still accumulated in index order, so every score is bit-identical
 * to {@linkcode dot}'s.
 */
function scoreTile(
  captions: Float32Array,
  row0: number,
  rows: number,
  images: Float32Array,
  col0: number,
  cols: number,
  dim: number,
  out: Float64Array,
): void {
  const rowsBy4 = rows - (rows % 4);
  const colsBy2 = cols - (cols % 2);
  for (let r = 0; r < rowsBy4; r += 4) {
    const a0 = (row0 + r) * dim;
    const a1 = a0 + dim;
    const a2 = a1 + dim;
    const a3 = a2 + dim;
    for (let j = 0; j < colsBy2; j += 2) {
      const b0 = (col0 + j) * dim;
      const b1 = b0 + dim;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let k = 0; k < dim; k++) {
        const y0 = images[b0 + k];
        const y1 = images[b1 + k];
        let x = captions[a0 + k];
        s00 += x * y0;
        s01 += x * y1;
        x = captions[a1 + k];
        s10 += x * y0;
        s11 += x * y1;
        x = captions[a2 + k];
        s20 += x * y0;
        s21 += x * y1;
        x = captions[a3 + k];
        s30 += x * y0;
        s31 += x * y1;
      }
      const o = r * cols + j;
      out[o] = s00;
      out[o + 1] = s01;
      out[o + cols] = s10;
      out[o + cols + 1] = s11;
      out[o + 2 * cols] = s20;
      out[o + 2 * cols + 1] = s21;
      out[o + 3 * cols] = s30;
      out[o + 3 * cols + 1] = s31;
    }
    for (let j = colsBy2; j < cols; j++) {
      const b = (col0 + j) * dim;
      for (let i = 0; i < 4; i++) {
        out[(r + i) * cols + j] = dot(captions, a0 + i * dim, images, b, dim);
      }
    }
  }
  for (let r = rowsBy4; r < rows; r++) {
    const a = (row0 + r) * dim;
    for (let j = 0; j < cols; j++) {
      out[r * cols + j] = dot(captions, a, images, (col0 + j) * dim, dim);
    }
  }
}

/**
 * Collects image and caption embeddings batch by batch and computes the retrieval metrics at the
 * end. Only the embeddings are kept — two float32 buffers that grow by doubling, plus one image
 * index per caption: O((images + captions) · dim) memory.
 */
export class RetrievalAccumulator {
  /** Embedding dimension. */
  readonly dim: number;
  #images: Float32Array;
  #imageCount = 0;
  #captions: Float32Array;
  #captionImages: Int32Array;
  #captionCount = 0;
  #ranks: RetrievalRanks | undefined;

  /**
   * Creates an instance.
   *
   * @param dim Embedding dimension (the same for images and captions).
   */
  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new RangeError(`embedding dimension must be a positive integer, got ${dim}`);
    }
    this.dim = dim;
    this.#images = new Float32Array(64 * dim);
    this.#captions = new Float32Array(64 * dim);
    this.#captionImages = new Int32Array(64);
  }

  /** Images added so far. */
  get imageCount(): number {
    return this.#imageCount;
  }

  /** Captions added so far. */
  get captionCount(): number {
    return this.#captionCount;
  }

  /**
   * Appends `count` image embeddings (L2-normalised rows, `count × dim`, row-major).
   *
   * @returns the index of the first one; images are numbered in the order they are added.
   */
  addImages(embeddings: Float32Array, count: number): number {
    checkRows(embeddings, count, this.dim, "image");
    const first = this.#imageCount;
    this.#images = ensureCapacity(this.#images, (first + count) * this.dim);
    this.#images.set(embeddings.subarray(0, count * this.dim), first * this.dim);
    this.#imageCount += count;
    this.#ranks = undefined;
    return first;
  }

  /**
   * Appends caption embeddings (L2-normalised rows, `imageIndices.length × dim`, row-major) and
   * the image each belongs to, an index returned by {@linkcode addImages}.
   */
  addCaptions(embeddings: Float32Array, imageIndices: ArrayLike<number>): void {
    const count = imageIndices.length;
    checkRows(embeddings, count, this.dim, "caption");
    for (let i = 0; i < count; i++) {
      const image = imageIndices[i];
      if (!Number.isInteger(image) || image < 0 || image >= this.#imageCount) {
        throw new RangeError(`caption image index ${image} is outside [0, ${this.#imageCount})`);
      }
    }
    const first = this.#captionCount;
    this.#captions = ensureCapacity(this.#captions, (first + count) * this.dim);
    this.#captions.set(embeddings.subarray(0, count * this.dim), first * this.dim);
    this.#captionImages = ensureCapacity(this.#captionImages, first + count);
    this.#captionImages.set(imageIndices, first);
    this.#captionCount += count;
    this.#ranks = undefined;
  }

  /** Copies of the image embeddings added so far (`imageCount × dim`, row-major, in order). */
  imageEmbeddings(): Float32Array {
    return this.#images.slice(0, this.#imageCount * this.dim);
  }

  /** Copies of the caption embeddings added so far (`captionCount × dim`, row-major, in order). */
  captionEmbeddings(): Float32Array {
    return this.#captions.slice(0, this.#captionCount * this.dim);
  }

  /** A copy of the image index of each caption added so far. */
  captionImageIndices(): Int32Array {
    return this.#captionImages.slice(0, this.#captionCount);
  }

  /** The ranks of everything added so far (computed once, until more is added). */
  ranks(): RetrievalRanks {
    this.#ranks ??= retrievalRanks(
      this.#images.subarray(0, this.#imageCount * this.dim),
      this.#captions.subarray(0, this.#captionCount * this.dim),
      this.#captionImages.subarray(0, this.#captionCount),
      this.dim,
    );
    return this.#ranks;
  }

  /**
   * The metrics for each k of `recallK` ({@linkcode retrievalMetrics}).
   *
   * @throws {UsageError} when a k is not a positive integer or exceeds the number of images or
   * captions.
   */
  result(recallK: readonly number[]): RetrievalMetrics {
    return retrievalMetrics(this.ranks(), recallK);
  }
}

function checkRows(embeddings: Float32Array, count: number, dim: number, what: string): void {
  if (!Number.isInteger(count) || count < 0 || embeddings.length < count * dim) {
    throw new RangeError(
      `${embeddings.length} ${what} embedding values, ${count} rows of ${dim} expected`,
    );
  }
}

function ensureCapacity<T extends Float32Array | Int32Array>(buffer: T, needed: number): T {
  if (needed <= buffer.length) return buffer;
  let length = buffer.length;
  while (length < needed) length *= 2;
  const grown = new (buffer.constructor as { new (length: number): T })(length);
  grown.set(buffer);
  return grown;
}
