/**
 * The two libjpeg-turbo decoders (src/image/decode/jpeg_decoder.ts) against Pillow 9.4: every
 * JPEG decode vector (tests/data/decode/) and every photograph of the JPEG corpus
 * (tests/data/decode/jpeg_corpus/, tools/vectors/make_jpeg_corpus.py) under each, the choice
 * through the environment, and the fallback. The native library's tests are skipped, with the
 * reason printed, where it is not installed (`apt-get install libturbojpeg0`; CI installs it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ImageDecodeError } from "../../../src/errors.ts";
import { decodeJpeg } from "../../../src/image/decode/jpeg.ts";
import {
  JPEG_DECODER_ENV,
  jpegDecoderChoice,
  type JpegPixelDecoder,
  loadJpegDecoder,
} from "../../../src/image/decode/jpeg_decoder.ts";
import {
  LIBTURBOJPEG_ENV,
  openNativeTurboJpeg,
} from "../../../src/image/decode/turbojpeg_native.ts";
import { toRgb } from "../../../src/image/pil_convert.ts";
import type { RgbImage } from "../../../src/image/rgb_image.ts";
import { compare, DATA, expected, manifest, read } from "./_decode_vectors.ts";

const native = openNativeTurboJpeg();
const nativeMissing = "unavailable" in native ? native.unavailable : undefined;
if ("unavailable" in native) {
  console.log(`skipping the native JPEG decoder's tests: ${native.unavailable}`);
} else {
  native.close();
}

const CORPUS = new URL("jpeg_corpus/", DATA);

interface CorpusImage {
  readonly name: string;
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly pilMode: string;
  readonly rgbSha256: string;
  readonly encoder: string;
}

const corpus: { images: CorpusImage[] } = JSON.parse(
  await Deno.readTextFile(new URL("manifest.json", CORPUS)),
);

async function decodeWith(
  decoder: JpegPixelDecoder,
  bytes: Uint8Array,
  name: string,
): Promise<RgbImage & { mode: string }> {
  const image = await decodeJpeg(bytes, name, decoder);
  return { ...toRgb(image), mode: image.mode };
}

async function refused(decoder: JpegPixelDecoder, bytes: Uint8Array): Promise<ImageDecodeError> {
  try {
    await decodeJpeg(bytes, "x", decoder);
  } catch (error) {
    if (error instanceof ImageDecodeError) return error;
    throw error;
  }
  assert.fail("decoded, expected an ImageDecodeError");
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

for (const kind of ["wasm", "native"] as const) {
  const ignore = kind === "native" && nativeMissing !== undefined;

  Deno.test({
    name: `${kind} JPEG decoder: every JPEG vector decodes to Pillow's pixels`,
    ignore,
    fn: async (t) => {
      const decoder = await loadJpegDecoder(kind);
      assert.equal(decoder.kind, kind);
      const vectors = manifest.images.filter((v) => v.format === "jpeg");
      assert.ok(vectors.length > 40);
      for (const vector of vectors) {
        await t.step(vector.name, async () => {
          const bytes = await read(vector.file);
          if (vector.name === "jpeg_arithmetic_37x29" && kind === "wasm") {
            // The WebAssembly build has no arithmetic decoder; Pillow and the native one do.
            assert.match((await refused(decoder, bytes)).message, /arithmetic/);
            return;
          }
          const image = await decodeWith(decoder, bytes, vector.file);
          assert.equal(image.mode, vector.pilMode);
          assert.deepEqual([image.width, image.height], [vector.width, vector.height]);
          // Where Pillow's SIMD IDCT differs from the C code on corrupt data, the WebAssembly
          // build (C) matches Pillow without SIMD; the native library is Pillow's own.
          const reference = await expected(
            vector,
            kind === "wasm" ? vector.rgbWithoutSimd ?? vector.rgb : vector.rgb,
          );
          const { maxAbs, differing } = compare(image.data, reference);
          assert.equal(differing, 0, `${vector.note}: ${differing} bytes differ, max ${maxAbs}`);
        });
      }
    },
  });

  Deno.test({
    name: `${kind} JPEG decoder: the photographs of the corpus decode to Pillow's pixels`,
    ignore,
    fn: async () => {
      const decoder = await loadJpegDecoder(kind);
      const modes = new Set(corpus.images.map((image) => image.pilMode));
      assert.deepEqual([...modes].sort(), ["CMYK", "L", "RGB"]);
      assert.ok(corpus.images.length >= 40);
      const wrong: string[] = [];
      for (const entry of corpus.images) {
        const bytes = await Deno.readFile(new URL(entry.file, CORPUS));
        if (kind === "wasm" && entry.encoder.includes("-arithmetic")) {
          assert.match((await refused(decoder, bytes)).message, /arithmetic/);
          continue;
        }
        const image = await decodeWith(decoder, bytes, entry.file);
        assert.equal(image.mode, entry.pilMode, entry.name);
        assert.deepEqual([image.width, image.height], [entry.width, entry.height], entry.name);
        if (sha256(image.data) !== entry.rgbSha256) wrong.push(`${entry.name} (${entry.encoder})`);
      }
      assert.deepEqual(wrong, [], "decoded pixels differ from Pillow's");
    },
  });

  Deno.test({
    name: `${kind} JPEG decoder: refuses Pillow's refusals and recovers after libjpeg errors`,
    ignore,
    fn: async () => {
      const decoder = await loadJpegDecoder(kind);
      for (const vector of manifest.errors.filter((v) => v.format === "jpeg")) {
        await refused(decoder, await read(vector.file));
      }
      const good = manifest.images.find((v) => v.name === "jpeg_422_33x65")!;
      const noTables = manifest.errors.find((v) => v.name === "jpeg_err_missing_dqt")!;
      const reference = await expected(good);
      for (let i = 0; i < 3; i++) {
        // A reused decompressor would keep the good file's tables; each image gets a fresh one.
        const error = await refused(decoder, await read(noTables.file));
        assert.match(error.message, /Quantization table 0x00 was not defined/);
        const image = await decodeWith(decoder, await read(good.file), good.file);
        assert.deepEqual(image.data, reference);
      }
    },
  });
}

for (const kind of ["wasm", "native"] as const) {
  Deno.test({
    name: `${kind} JPEG decoder: pixels written into a caller's buffer are the same`,
    ignore: kind === "native" && nativeMissing !== undefined,
    fn: async () => {
      const decoder = await loadJpegDecoder(kind);
      const entry = corpus.images.find((e) => e.name === "photo0_420")!;
      const bytes = await Deno.readFile(new URL(entry.file, CORPUS));
      const fresh = await decodeJpeg(bytes, entry.file, decoder);
      const buffer = new Uint8Array(fresh.data.length + 10).fill(7);
      const reused = await decodeJpeg(bytes, entry.file, decoder, (n) => {
        assert.equal(n, fresh.data.length);
        return buffer;
      });
      assert.equal(reused.data.buffer, buffer.buffer, "a view of the caller's buffer");
      assert.equal(reused.data.length, fresh.data.length);
      assert.deepEqual(reused.data, fresh.data);
      assert.equal(buffer[buffer.length - 1], 7, "nothing written past the image");
    },
  });
}

Deno.test({
  name: "native and WebAssembly JPEG decoders agree on every corpus photograph and vector",
  ignore: nativeMissing !== undefined,
  fn: async () => {
    const fast = await loadJpegDecoder("native");
    const wasm = await loadJpegDecoder("wasm");
    const files = [
      ...corpus.images.filter((e) => !e.encoder.includes("-arithmetic"))
        .map((e) => new URL(e.file, CORPUS)),
      ...manifest.images.filter((v) =>
        v.format === "jpeg" && !v.rgbWithoutSimd &&
        v.name !== "jpeg_arithmetic_37x29"
      ).map((v) => new URL(v.file, DATA)),
    ];
    for (const url of files) {
      const bytes = await Deno.readFile(url);
      const a = await decodeJpeg(bytes, url.pathname, fast);
      const b = await decodeJpeg(bytes, url.pathname, wasm);
      assert.equal(a.mode, b.mode, url.pathname);
      assert.deepEqual(a.data, b.data, url.pathname);
    }
  },
});

/** Runs `body` with environment variables set (or removed, for `undefined`), then restores. */
async function withEnv(
  values: Readonly<Record<string, string | undefined>>,
  body: () => Promise<void> | void,
): Promise<void> {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, Deno.env.get(k)]));
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(entries)) {
      if (value === undefined) Deno.env.delete(key);
      else Deno.env.set(key, value);
    }
  };
  apply(values);
  try {
    await body();
  } finally {
    apply(saved);
  }
}

Deno.test("the JPEG decoder choice comes from the environment and is checked", async () => {
  await withEnv({ [JPEG_DECODER_ENV]: undefined }, () => assert.equal(jpegDecoderChoice(), "auto"));
  await withEnv({ [JPEG_DECODER_ENV]: "wasm" }, () => assert.equal(jpegDecoderChoice(), "wasm"));
  await withEnv({ [JPEG_DECODER_ENV]: "sharp" }, () => {
    assert.throws(() => jpegDecoderChoice(), /CLIPBENCH_JPEG_DECODER=sharp: expected one of auto/);
  });
});

Deno.test("without the native library, auto falls back to WebAssembly and native fails", async () => {
  const missing = "/nonexistent/libturbojpeg.so.0";
  await withEnv({ [LIBTURBOJPEG_ENV]: missing }, async () => {
    const fallback = await loadJpegDecoder("auto");
    assert.equal(fallback.kind, "wasm");
    assert.match(fallback.description, /^WebAssembly libjpeg-turbo 2\.0 \(no TurboJPEG library/);
    assert.match(fallback.description, /nonexistent/);
    await assert.rejects(loadJpegDecoder("native"), /CLIPBENCH_JPEG_DECODER=native: no TurboJPEG/);
  });
  const chosen = await loadJpegDecoder("wasm");
  assert.equal(chosen.description, "WebAssembly libjpeg-turbo 2.0 (chosen)");
  if (nativeMissing === undefined) {
    const auto = await loadJpegDecoder("auto");
    assert.equal(auto.kind, "native");
    assert.match(auto.description, /^native libjpeg-turbo \(libturbojpeg/);
  }
});
