/**
 * A reader for SentencePiece's model file (`spiece.model`, `tokenizer.model`): the protobuf
 * message `sentencepiece.ModelProto` of `sentencepiece_model.proto`, decoded from its wire format
 * without a protobuf library. It reads the pieces (text, score, type), the trainer settings that
 * change how text is segmented and the normaliser settings; other fields are skipped. Repeated
 * occurrences of a sub-message merge, and a later scalar wins, as protobuf parsers do (that is
 * how transformers' `SiglipTokenizer` switches `add_dummy_prefix` off).
 *
 * @module
 */

import { ModelError } from "../../../errors.ts";

/** `ModelProto.SentencePiece.Type`. */
export enum PieceType {
  /** An ordinary piece. */
  Normal = 1,
  /** The unknown piece (`<unk>`). */
  Unknown = 2,
  /** A control symbol (`</s>`, `<pad>`): never produced from text. */
  Control = 3,
  /** A user-defined symbol: always one piece when it occurs in text. */
  UserDefined = 4,
  /** A piece that is not used. */
  Unused = 5,
  /** A byte-fallback piece (`<0x41>`). */
  Byte = 6,
}

/** One vocabulary entry. */
export interface SentencePiece {
  /** The piece's text (U+2581 stands for a space). */
  readonly piece: string;
  /** Its log-probability (unigram) or rank score (BPE). */
  readonly score: number;
  /** Its type. */
  readonly type: PieceType;
}

/** `TrainerSpec.ModelType`. */
export enum SentencePieceModelType {
  /** Unigram language model. */
  Unigram = 1,
  /** Byte-pair encoding. */
  Bpe = 2,
  /** Whitespace-delimited words. */
  Word = 3,
  /** Characters. */
  Char = 4,
}

/** The fields of `TrainerSpec` that change segmentation. */
export interface TrainerSpec {
  /** The segmentation algorithm. */
  readonly modelType: SentencePieceModelType;
  /** Id of the unknown piece. */
  readonly unkId: number;
  /** Id of `<s>`, or −1. */
  readonly bosId: number;
  /** Id of `</s>`, or −1. */
  readonly eosId: number;
  /** Id of `<pad>`, or −1. */
  readonly padId: number;
  /** Text of the unknown piece. */
  readonly unkPiece: string;
  /** Whether unknown characters become byte pieces. */
  readonly byteFallback: boolean;
  /** Whether U+2581 ends pieces instead of starting them. */
  readonly treatWhitespaceAsSuffix: boolean;
  /** Whether pieces may not contain U+2581 after their first character. */
  readonly splitByWhitespace: boolean;
}

/** `NormalizerSpec`. */
export interface NormalizerSpec {
  /** Rule name (`nmt_nfkc`, `nfkc`, `identity`, …), `""` when absent. */
  readonly name: string;
  /** The compiled character map (empty for no mapping). */
  readonly precompiledCharsmap: Uint8Array;
  /** Whether a space is prepended to the text. */
  readonly addDummyPrefix: boolean;
  /** Whether leading, trailing and repeated spaces are removed. */
  readonly removeExtraWhitespaces: boolean;
  /** Whether spaces become U+2581. */
  readonly escapeWhitespaces: boolean;
}

/** A decoded `ModelProto`. */
export interface SentencePieceModel {
  /** Vocabulary in id order. */
  readonly pieces: readonly SentencePiece[];
  /** Trainer settings. */
  readonly trainerSpec: TrainerSpec;
  /** Normaliser settings. */
  readonly normalizerSpec: NormalizerSpec;
}

class WireError extends Error {}

/** Sequential reader of protobuf wire format. */
class WireReader {
  #pos: number;
  readonly #end: number;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  get position(): number {
    return this.#pos;
  }

  /** An unsigned varint as a bigint (up to 64 bits). */
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new WireError("truncated varint");
      const byte = this.#bytes[this.#pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new WireError("varint longer than 10 bytes");
  }

  /** A varint read as an `int32` field (negative values are sign-extended to 64 bits). */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }

  bool(): boolean {
    return this.varint() !== 0n;
  }

  /** The bounds of a length-delimited field's payload, advancing past it. */
  lengthDelimited(): [number, number] {
    const length = this.varint();
    const start = this.#pos;
    if (length > BigInt(this.#end - start)) throw new WireError("length runs past the end");
    this.#pos = start + Number(length);
    return [start, this.#pos];
  }

  float32(): number {
    if (this.#pos + 4 > this.#end) throw new WireError("truncated float");
    const view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + this.#pos, 4);
    this.#pos += 4;
    return view.getFloat32(0, true);
  }

  /** Skips a field of wire type `wireType`. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        this.#advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }

  /** The next field's number and wire type. */
  tag(): [number, number] {
    const key = this.varint();
    const field = Number(key >> 3n);
    if (field === 0) throw new WireError("field number 0");
    return [field, Number(key & 7n)];
  }

  #advance(count: number): void {
    if (this.#pos + count > this.#end) throw new WireError("truncated fixed-width field");
    this.#pos += count;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function text(bytes: Uint8Array, [start, end]: [number, number]): string {
  return utf8.decode(bytes.subarray(start, end));
}

function expectWire(actual: number, expected: number, what: string): void {
  if (actual !== expected) {
    throw new WireError(`${what} has wire type ${actual}, expected ${expected}`);
  }
}

function readPiece(bytes: Uint8Array, bounds: [number, number]): SentencePiece {
  const reader = new WireReader(bytes, ...bounds);
  let piece: string | undefined;
  let score = 0;
  let type = PieceType.Normal;
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      expectWire(wire, 2, "SentencePiece.piece");
      piece = text(bytes, reader.lengthDelimited());
    } else if (field === 2) {
      expectWire(wire, 5, "SentencePiece.score");
      score = reader.float32();
    } else if (field === 3) {
      expectWire(wire, 0, "SentencePiece.type");
      type = reader.int32();
      if (!(type in PieceType)) throw new WireError(`unknown piece type ${type}`);
    } else reader.skip(wire);
  }
  if (piece === undefined || piece === "") throw new WireError("a piece without text");
  return { piece, score, type };
}

type MutableTrainerSpec = { -readonly [K in keyof TrainerSpec]: TrainerSpec[K] };

type MutableNormalizerSpec = { -readonly [K in keyof NormalizerSpec]: NormalizerSpec[K] };

function mergeTrainerSpec(
  bytes: Uint8Array,
  bounds: [number, number],
  spec: MutableTrainerSpec,
): void {
  const reader = new WireReader(bytes, ...bounds);
  while (!reader.done) {
    const [field, wire] = reader.tag();
    const varint = (name: string) => {
      expectWire(wire, 0, `TrainerSpec.${name}`);
      return reader.int32();
    };
    switch (field) {
      case 3:
        spec.modelType = varint("model_type");
        break;
      case 22:
        spec.splitByWhitespace = varint("split_by_whitespace") !== 0;
        break;
      case 24:
        spec.treatWhitespaceAsSuffix = varint("treat_whitespace_as_suffix") !== 0;
        break;
      case 35:
        spec.byteFallback = varint("byte_fallback") !== 0;
        break;
      case 40:
        spec.unkId = varint("unk_id");
        break;
      case 41:
        spec.bosId = varint("bos_id");
        break;
      case 42:
        spec.eosId = varint("eos_id");
        break;
      case 43:
        spec.padId = varint("pad_id");
        break;
      case 45:
        expectWire(wire, 2, "TrainerSpec.unk_piece");
        spec.unkPiece = text(bytes, reader.lengthDelimited());
        break;
      default:
        reader.skip(wire);
    }
  }
}

function mergeNormalizerSpec(
  bytes: Uint8Array,
  bounds: [number, number],
  spec: MutableNormalizerSpec,
): void {
  const reader = new WireReader(bytes, ...bounds);
  while (!reader.done) {
    const [field, wire] = reader.tag();
    const flag = (name: string) => {
      expectWire(wire, 0, `NormalizerSpec.${name}`);
      return reader.bool();
    };
    switch (field) {
      case 1:
        expectWire(wire, 2, "NormalizerSpec.name");
        spec.name = text(bytes, reader.lengthDelimited());
        break;
      case 2: {
        expectWire(wire, 2, "NormalizerSpec.precompiled_charsmap");
        const [start, end] = reader.lengthDelimited();
        spec.precompiledCharsmap = bytes.slice(start, end);
        break;
      }
      case 3:
        spec.addDummyPrefix = flag("add_dummy_prefix");
        break;
      case 4:
        spec.removeExtraWhitespaces = flag("remove_extra_whitespaces");
        break;
      case 5:
        spec.escapeWhitespaces = flag("escape_whitespaces");
        break;
      default:
        reader.skip(wire);
    }
  }
}

/**
 * Decodes a SentencePiece model file's bytes (`path` names it in errors). Throws a
 * {@linkcode ModelError} naming the file when the bytes are not a `ModelProto` with pieces.
 */
export function parseSentencePieceModel(bytes: Uint8Array, path: string): SentencePieceModel {
  const pieces: SentencePiece[] = [];
  const trainerSpec: MutableTrainerSpec = {
    modelType: SentencePieceModelType.Unigram,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: "<unk>",
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    splitByWhitespace: true,
  };
  const normalizerSpec: MutableNormalizerSpec = {
    name: "",
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const reader = new WireReader(bytes);
  try {
    while (!reader.done) {
      const [field, wire] = reader.tag();
      if (field === 1) {
        expectWire(wire, 2, "ModelProto.pieces");
        pieces.push(readPiece(bytes, reader.lengthDelimited()));
      } else if (field === 2) {
        expectWire(wire, 2, "ModelProto.trainer_spec");
        mergeTrainerSpec(bytes, reader.lengthDelimited(), trainerSpec);
      } else if (field === 3) {
        expectWire(wire, 2, "ModelProto.normalizer_spec");
        mergeNormalizerSpec(bytes, reader.lengthDelimited(), normalizerSpec);
      } else reader.skip(wire);
    }
  } catch (error) {
    if (error instanceof WireError || error instanceof TypeError) {
      throw new ModelError(
        `${path} is not a valid SentencePiece model (protobuf ModelProto): ${error.message} ` +
          `near byte ${reader.position}`,
        { path, cause: error },
      );
    }
    throw error;
  }
  if (pieces.length === 0) {
    throw new ModelError(`${path} is not a valid SentencePiece model: it holds no pieces`, {
      path,
    });
  }
  return { pieces, trainerSpec, normalizerSpec };
}
