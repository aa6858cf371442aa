import assert from "node:assert/strict";
import { ModelError } from "../../../../src/errors.ts";
import {
  parseSentencePieceModel,
  PieceType,
  SentencePieceModelType,
} from "../../../../src/model/text/slow/sentencepiece_model.ts";
import { TOKENIZER_DATA } from "./_slow_fixtures.ts";

const BYTES = await Deno.readFile(new URL("spiece.model", TOKENIZER_DATA));

Deno.test("sentencepiece_model: reads the pieces and specs of the committed model", () => {
  const model = parseSentencePieceModel(BYTES, "spiece.model");
  assert.equal(model.pieces.length, 400);
  assert.deepEqual(model.pieces.slice(0, 3).map((p) => [p.piece, p.type]), [
    ["<pad>", PieceType.Control],
    ["</s>", PieceType.Control],
    ["<unk>", PieceType.Unknown],
  ]);
  assert.equal(model.pieces[3].piece, "\u2581");
  assert.equal(model.pieces[3].type, PieceType.Normal);
  assert.ok(model.pieces[3].score < 0);
  assert.equal(model.trainerSpec.modelType, SentencePieceModelType.Unigram);
  assert.deepEqual(
    [model.trainerSpec.padId, model.trainerSpec.eosId, model.trainerSpec.unkId],
    [0, 1, 2],
  );
  assert.equal(model.trainerSpec.bosId, -1); // a negative int32 is a 10-byte varint
  assert.equal(model.trainerSpec.byteFallback, false);
  assert.equal(model.normalizerSpec.name, "nmt_nfkc");
  assert.ok(model.normalizerSpec.precompiledCharsmap.length > 100_000);
  assert.equal(model.normalizerSpec.addDummyPrefix, true);
});

Deno.test("sentencepiece_model: a later sub-message merges into the earlier one", () => {
  // ModelProto field 3 (normalizer_spec) { field 3 (add_dummy_prefix) = 0 }, as SiglipTokenizer merges.
  const merged = new Uint8Array([...BYTES, 0x1a, 0x02, 0x18, 0x00]);
  const model = parseSentencePieceModel(merged, "spiece.model");
  assert.equal(model.normalizerSpec.addDummyPrefix, false);
  assert.equal(model.normalizerSpec.name, "nmt_nfkc");
  assert.equal(model.pieces.length, 400);
});

Deno.test("sentencepiece_model: corrupt or truncated bytes name the file", () => {
  const corrupt: Uint8Array[] = [
    BYTES.subarray(0, 1000), // cut inside a field
    new TextEncoder().encode("this is not a protobuf"),
    new Uint8Array([0x0f]), // wire type 7
    new Uint8Array(0),
    new Uint8Array([0x0a, 0x02, 0x10, 0x01]), // a piece without text
  ];
  for (const bytes of corrupt) {
    assert.throws(
      () => parseSentencePieceModel(bytes, "/ckpt/spiece.model"),
      (e: unknown) =>
        e instanceof ModelError &&
        e.message.startsWith("/ckpt/spiece.model is not a valid SentencePiece model") &&
        e.path === "/ckpt/spiece.model",
    );
  }
});
