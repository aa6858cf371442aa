#!/usr/bin/python3
"""Test vectors for src/checkpoint/ (safetensors, torch zip checkpoints, the restricted unpickler).

What it produces (in tests/data/checkpoint/):
  * ``dtypes/model.safetensors`` and ``dtypes/pytorch_model.bin``: the same small tensors in
    float32, float16, bfloat16 (special values included: zeros of both signs, subnormals,
    infinities, the largest finite values), float64, int64/32/16/8, uint8 and bool; the .bin also
    holds ``view.transposed`` (a transposed view saved as is), ``view.sliced`` (a view with a
    storage offset and a row stride) and ``view.shared`` (sharing a storage with ``f32``);
    ``dtypes/expected.safetensors`` holds torch's ``.float().contiguous()`` of each tensor, the
    values the reader must give bit for bit.
  * ``sharded_safetensors/`` and ``sharded_bin/``: one state dict split into two shards with a
    transformers ``*.index.json`` (``weight_map``), and ``expected.safetensors``.
  * ``state_dict_pt/epoch_2.pt``: an open_clip training checkpoint ``{"epoch", "name",
    "state_dict", "optimizer"}`` whose names carry ``module.``; ``module_safetensors/
    open_clip_model.safetensors``: names with ``module.``.
  * ``zip64/pytorch_model.bin``: ``dtypes/pytorch_model.bin``'s entries rewritten with ZIP64
    records (central-directory extra fields, ZIP64 end record and locator).
  * bad inputs: ``bad/malicious_posix_system.bin`` (a torch zip whose data.pkl calls
    ``posix.system``), ``bad/malicious_builtins_eval.bin`` (``builtins.eval`` via STACK_GLOBAL),
    ``bad/legacy.bin`` (torch's pre-1.6 non-zip format), ``bad/deflated.bin`` (a torch zip whose
    entries are compressed), ``bad/missing_storage.bin`` (a data/ entry removed),
    ``bad/huge_view.bin`` (one element viewed as 65536 x 65536 through zero strides).
  * ``pickles/plain_p2.pkl`` / ``plain_p4.pkl``: plain data pickled with protocols 2 and 4, and
    ``pickles/plain.json`` describing what they hold.

Everything is seeded and written with fixed zip timestamps, so reruns give the same bytes.

Requirements: Debian's /usr/bin/python3 with python3-torch (1.13).
Rerun from the repository root:
  /usr/bin/python3 tools/vectors/make_checkpoint_vectors.py
The output directory is emptied and rewritten.
"""

import collections
import io
import json
import os
import pickle
import pickletools
import shutil
import struct
import zipfile

import torch

OUT = os.path.join("tests", "data", "checkpoint")
DTYPE_NAMES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def raw_bytes(t):
    """Little-endian bytes of a tensor's elements in row-major order."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Writes ``tensors`` (name -> tensor) in the safetensors layout, bytes in insertion order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, t in tensors.items():
        data = raw_bytes(t)
        header[name] = {
            "dtype": DTYPE_NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def expected_of(tensors):
    return {name: t.float().contiguous() for name, t in tensors.items()}


def write_zip(path, items, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zout:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            zout.writestr(info, data)


def zip_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(info.filename, z.read(info.filename)) for info in z.infolist()]


def write_zip64(path, items):
    """A stored ZIP whose central directory uses ZIP64 extra fields and a ZIP64 end record."""
    out = bytearray()
    central = bytearray()
    for name, data in items:
        encoded = name.encode()
        crc = zipfile.crc32(data) & 0xFFFFFFFF
        local_offset = len(out)
        # Local header with a ZIP64 extra field (sizes), padded so data is 64-byte aligned.
        extra = struct.pack("<HHQQ", 0x0001, 16, len(data), len(data))
        pad = (-(len(out) + 30 + len(encoded) + len(extra) + 4)) % 64
        extra += struct.pack("<HH", 0x1234, pad) + b"\0" * pad
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
            len(encoded), len(extra),
        )
        out += encoded + extra + data
        cextra = struct.pack("<HHQQQ", 0x0001, 24, len(data), len(data), local_offset)
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
            0xFFFFFFFF, len(encoded), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF,
        )
        central += encoded + cextra
    cd_offset = len(out)
    out += central
    zip64_eocd = len(out)
    out += struct.pack(
        "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(items), len(items), len(central),
        cd_offset,
    )
    out += struct.pack("<IIQI", 0x07064B50, 0, zip64_eocd, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)


def write_legacy(obj, path):
    """torch's pre-1.6 format, with its storage keys (memory addresses) made fixed."""
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    data = buffer.getvalue()
    reader = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, system info
        pickle.load(reader)
    for _ in pickletools.genops(reader):  # the object itself, skipped without unpickling
        pass
    for number, key in enumerate(pickle.load(reader)):
        data = data.replace(key.encode(), str(number).rjust(len(key), "0").encode())
    with open(path, "wb") as f:
        f.write(data)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    g = torch.Generator().manual_seed(11)

    # --- element types --------------------------------------------------------------------
    specials16 = [0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, 6.1035e-05, 5.96e-08, 3.0e-06,
                  float("inf"), float("-inf"), 0.333]
    half = torch.tensor(specials16, dtype=torch.float32).to(torch.float16)
    half = torch.cat([half, torch.randn(4, 5, generator=g).to(torch.float16).flatten()])
    bf = torch.tensor([0.0, -0.0, 1.0, -3.75, 3.0e38, -3.0e38, 1.0e-39, 9.2e-41,
                       float("inf"), float("-inf")], dtype=torch.float32).to(torch.bfloat16)
    bf = torch.cat([bf, torch.randn(10, generator=g).to(torch.bfloat16)])
    f32 = torch.randn(3, 4, generator=g)
    base = torch.randn(5, 6, generator=g)
    dtypes = collections.OrderedDict()
    dtypes["f32"] = f32
    dtypes["f16"] = half.reshape(4, 8)
    dtypes["bf16"] = bf.reshape(2, 10)
    dtypes["f64"] = torch.tensor([1.0 / 3.0, -1e-300, 1e300, 2.0 ** -140, 123456789.123],
                                 dtype=torch.float64)
    dtypes["i64"] = torch.tensor([0, -1, 2 ** 40 + 3, -(2 ** 53), 2 ** 53 + 1], dtype=torch.int64)
    dtypes["i32"] = torch.tensor([[0, -7], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32)
    dtypes["i16"] = torch.tensor([-32768, 32767, 5], dtype=torch.int16)
    dtypes["i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    dtypes["u8"] = torch.tensor([0, 255, 17], dtype=torch.uint8)
    dtypes["bool"] = torch.tensor([True, False, True])
    dtypes["scalar"] = torch.tensor(2.5)
    dtypes["empty"] = torch.zeros(0, 3)
    os.makedirs(os.path.join(OUT, "dtypes"))
    write_safetensors(os.path.join(OUT, "dtypes", "model.safetensors"), dtypes,
                      metadata={"format": "pt"})
    with_views = collections.OrderedDict(dtypes)
    with_views["view.transposed"] = base.t()
    with_views["view.sliced"] = base[1:4, 2:5]
    with_views["view.shared"] = f32[1]
    with_views["view.half_transposed"] = half[:20].reshape(4, 5).t()
    assert not with_views["view.transposed"].is_contiguous()
    assert with_views["view.sliced"].storage_offset() > 0
    torch.save(with_views, os.path.join(OUT, "dtypes", "pytorch_model.bin"))
    write_safetensors(os.path.join(OUT, "dtypes", "expected.safetensors"), expected_of(with_views))

    # --- sharded --------------------------------------------------------------------------
    model = collections.OrderedDict(
        (f"layers.{i}.{kind}", torch.randn(3, 2, generator=g) if kind == "weight" else torch.randn(3, generator=g))
        for i in range(3) for kind in ("weight", "bias")
    )
    shards = [list(model.keys())[:3], list(model.keys())[3:]]
    for folder, ext, index_name in (("sharded_safetensors", "safetensors", "model.safetensors.index.json"),
                                    ("sharded_bin", "bin", "pytorch_model.bin.index.json")):
        os.makedirs(os.path.join(OUT, folder))
        prefix = "model" if ext == "safetensors" else "pytorch_model"
        weight_map = {}
        for number, names in enumerate(shards, start=1):
            file = f"{prefix}-{number:05d}-of-{len(shards):05d}.{ext}"
            part = collections.OrderedDict((n, model[n]) for n in names)
            if ext == "safetensors":
                write_safetensors(os.path.join(OUT, folder, file), part, metadata={"format": "pt"})
            else:
                torch.save(part, os.path.join(OUT, folder, file))
            weight_map.update({n: file for n in names})
        with open(os.path.join(OUT, folder, index_name), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
        write_safetensors(os.path.join(OUT, folder, "expected.safetensors"), expected_of(model))

    # --- open_clip layouts ------------------------------------------------------------------
    os.makedirs(os.path.join(OUT, "state_dict_pt"))
    weights = collections.OrderedDict(
        [("module.logit_scale", torch.tensor(4.6)),
         ("module.visual.proj", torch.randn(4, 2, generator=g)),
         ("module.text_projection", torch.randn(4, 2, generator=g).half())]
    )
    checkpoint = {
        "epoch": 2,
        "name": "run-1",
        "state_dict": weights,
        "optimizer": {"state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros(4, 2)}},
                      "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.98), "eps": 1e-6,
                                        "params": [0, 1, 2], "amsgrad": False}]},
    }
    torch.save(checkpoint, os.path.join(OUT, "state_dict_pt", "epoch_2.pt"))
    write_safetensors(os.path.join(OUT, "state_dict_pt", "expected.safetensors"),
                      {k[len("module."):]: v.float().contiguous() for k, v in weights.items()})
    os.makedirs(os.path.join(OUT, "module_safetensors"))
    write_safetensors(os.path.join(OUT, "module_safetensors", "open_clip_model.safetensors"),
                      weights)

    # --- zip64 ----------------------------------------------------------------------------
    os.makedirs(os.path.join(OUT, "zip64"))
    write_zip64(os.path.join(OUT, "zip64", "pytorch_model.bin"),
                zip_entries(os.path.join(OUT, "dtypes", "pytorch_model.bin")))
    with zipfile.ZipFile(os.path.join(OUT, "zip64", "pytorch_model.bin")) as z:
        assert z.testzip() is None

    # --- bad inputs ---------------------------------------------------------------------------
    os.makedirs(os.path.join(OUT, "bad"))
    small = collections.OrderedDict([("w", torch.randn(2, 2, generator=g))])
    good = os.path.join(OUT, "bad", "_good.bin")
    torch.save(small, good)
    entries = zip_entries(good)
    os.remove(good)
    archive = entries[0][0].split("/")[0]
    # posix.system through GLOBAL + REDUCE: would run a shell command if unpickled naively.
    posix = b"\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
    # builtins.eval through protocol-4 STACK_GLOBAL.
    evil = (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94"
            b"\x93\x94\x8c\x0c__import__()\x94\x85\x94R\x94.")
    for name, payload in (("malicious_posix_system.bin", posix),
                          ("malicious_builtins_eval.bin", evil)):
        items = [(n, payload if n.endswith("/data.pkl") else d) for n, d in entries]
        write_zip(os.path.join(OUT, "bad", name), items)
    write_zip(os.path.join(OUT, "bad", "deflated.bin"), entries, zipfile.ZIP_DEFLATED)
    write_zip(os.path.join(OUT, "bad", "missing_storage.bin"),
              [(n, d) for n, d in entries if "/data/" not in n])
    write_legacy(small, os.path.join(OUT, "bad", "legacy.bin"))
    # A one-element storage viewed as 65536 x 65536 (stride 0, as expand() makes): 2^32 elements
    # that a reader must refuse rather than allocate.
    huge = os.path.join(OUT, "bad", "_huge.bin")
    torch.save(collections.OrderedDict([("w", torch.zeros(1).expand(65536, 65536))]), huge)
    write_zip(os.path.join(OUT, "bad", "huge_view.bin"), zip_entries(huge))
    os.remove(huge)

    # --- plain pickles --------------------------------------------------------------------------
    os.makedirs(os.path.join(OUT, "pickles"))
    plain = {
        "int": [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1, 2 ** 40, -(2 ** 52)],
        "float": [1.5, -0.0, 1e-300],
        "text": ["", "ascii", "ünïcödé ✓"],
        "tuple": ("a", None, True, False),
        "nested": {"k": [[1], [2, 3]], 7: "int key"},
        "ordered": collections.OrderedDict([("x", 1), ("y", 2)]),
    }
    for protocol in (2, 4):
        with open(os.path.join(OUT, "pickles", f"plain_p{protocol}.pkl"), "wb") as f:
            f.write(pickle.dumps(plain, protocol=protocol))
    described = {
        "int": plain["int"], "float": [1.5, "-0", 1e-300], "text": plain["text"],
        "tuple": ["a", None, True, False], "nested": {"k": [[1], [2, 3]], "7 (int key)": "int key"},
        "ordered": {"x": 1, "y": 2},
    }
    with open(os.path.join(OUT, "pickles", "plain.json"), "w") as f:
        json.dump(described, f, indent=2, ensure_ascii=False)

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {total} bytes")


if __name__ == "__main__":
    main()
