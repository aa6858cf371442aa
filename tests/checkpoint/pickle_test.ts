import assert from "node:assert/strict";
import { CheckpointError } from "../../src/checkpoint/checkpoint.ts";
import {
  PickleGlobal,
  type PickleValue,
  type StorageRef,
  type TensorRef,
  unpickleTorch,
} from "../../src/checkpoint/pickle.ts";
import { VECTORS } from "./_vectors.ts";

/** A pickle value as the JSON shape `pickles/plain.json` uses (int keys spelled "7 (int key)"). */
function toJson(value: PickleValue): unknown {
  if (value instanceof Map) {
    return Object.fromEntries(
      [...value].map(([k, v]) => [typeof k === "number" ? `${k} (int key)` : k, toJson(v)]),
    );
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Uint8Array) return [...value];
  if (Object.is(value, -0)) return "-0";
  return value;
}

const encoder = new TextEncoder();

/** Concatenates opcode bytes and strings (latin1 for GLOBAL lines). */
function pickleBytes(...parts: (number[] | string)[]): Uint8Array {
  return Uint8Array.from(
    parts.flatMap((p) => (typeof p === "string" ? [...encoder.encode(p)] : p)),
  );
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => unpickleTorch(bytes, "/m/data.pkl"), (error: unknown) => {
    assert.ok(error instanceof CheckpointError, String(error));
    assert.ok(error.message.startsWith("/m/data.pkl: pickle byte "), error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

for (const protocol of [2, 4]) {
  Deno.test(`plain data pickled by Python with protocol ${protocol}`, async () => {
    const bytes = await Deno.readFile(`${VECTORS}pickles/plain_p${protocol}.pkl`);
    const expected = JSON.parse(await Deno.readTextFile(`${VECTORS}pickles/plain.json`));
    assert.deepEqual(toJson(unpickleTorch(bytes, "plain.pkl")), expected);
  });
}

Deno.test("tensor rebuild calls become strided views of persistent storages", () => {
  const bytes = pickleBytes(
    [0x80, 0x02, 0x7d, 0x28], // PROTO 2, EMPTY_DICT, MARK
    [0x58, 1, 0, 0, 0],
    "w", // BINUNICODE 'w'
    [0x63],
    "torch._utils\n_rebuild_tensor_v2\n",
    [0x28, 0x28], // MARK MARK
    [0x58, 7, 0, 0, 0],
    "storage",
    [0x63],
    "torch\nHalfStorage\n",
    [0x58, 1, 0, 0, 0],
    "3",
    [0x58, 3, 0, 0, 0],
    "cpu",
    [0x4b, 12, 0x74, 0x51], // BININT1 12, TUPLE, BINPERSID
    [0x4b, 2, 0x4b, 2, 0x4b, 3, 0x86, 0x4b, 1, 0x4b, 2, 0x86], // offset 2, (2,3), (1,2)
    [0x89, 0x63],
    "collections\nOrderedDict\n",
    [0x29, 0x52, 0x74, 0x52], // EMPTY_TUPLE REDUCE (hooks), TUPLE, REDUCE
    [0x75, 0x2e], // SETITEMS STOP
  );
  const root = unpickleTorch(bytes, "t.pkl") as Map<PickleValue, PickleValue>;
  const tensor = root.get("w") as TensorRef;
  assert.equal(tensor.kind, "tensor");
  assert.deepEqual(tensor.shape, [2, 3]);
  assert.deepEqual(tensor.stride, [1, 2]);
  assert.equal(tensor.offset, 2);
  const storage: StorageRef = tensor.storage;
  assert.deepEqual(storage, {
    kind: "storage",
    dtype: "F16",
    key: "3",
    location: "cpu",
    numel: 12,
  });
});

Deno.test("GLOBAL outside the allowlist is refused naming it, before any call", () => {
  rejects(
    pickleBytes([0x80, 0x02, 0x63], "posix\nsystem\n", [0x58, 2, 0, 0, 0], "id", [
      0x85,
      0x52,
      0x2e,
    ]),
    /pickle byte 2: refused global "posix\.system" .*nothing was executed/,
  );
  rejects(
    pickleBytes([0x80, 0x02, 0x63], "torch\nload\n", [0x2e]),
    /refused global "torch\.load"/,
  );
  rejects(
    pickleBytes([0x80, 0x02, 0x63], "torch.storage\n_load_from_bytes\n", [0x2e]),
    /refused global "torch\.storage\._load_from_bytes"/,
  );
});

Deno.test("STACK_GLOBAL outside the allowlist is refused naming it", () => {
  rejects(
    pickleBytes([0x80, 0x04, 0x8c, 8], "builtins", [0x8c, 4], "eval", [0x93, 0x2e]),
    /refused global "builtins\.eval"/,
  );
});

Deno.test("allowed but non-callable globals cannot be called", () => {
  rejects(
    pickleBytes([0x80, 0x02, 0x63], "torch\nFloatStorage\n", [0x29, 0x52, 0x2e]),
    /REDUCE calls global torch\.FloatStorage, which is not callable here/,
  );
});

Deno.test("malformed pickles: unsupported opcodes, truncation, bad persistent ids", () => {
  rejects(pickleBytes([0x80, 0x02, 0x81, 0x2e]), /pickle byte 2: unsupported pickle opcode NEWOBJ/);
  rejects(pickleBytes([0x80, 0x02, 0x58, 9, 0, 0, 0], "ab"), /truncated pickle/);
  rejects(pickleBytes([0x80, 0x02, 0x7d]), /truncated pickle/);
  rejects(pickleBytes([0x80, 0x02, 0x68, 5, 0x2e]), /memo 5 is not set/);
  rejects(
    pickleBytes([0x80, 0x02, 0x58, 3, 0, 0, 0], "abc", [0x51, 0x2e]),
    /persistent id string "abc" is not \('storage'/,
  );
  rejects(pickleBytes([0x80, 0x02, 0x4b, 1, 0x4b, 2, 0x2e]), /STOP with 2 items/);
});

Deno.test("PickleGlobal names itself", () => {
  assert.equal(
    new PickleGlobal("torch._utils", "_rebuild_tensor_v2").qualifiedName,
    "torch._utils._rebuild_tensor_v2",
  );
});
