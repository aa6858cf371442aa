#!/usr/bin/python3
"""Reference tar archives and WebDataset folders for the tar / WebDataset reader tests.

Produces, under tests/data/tar/:

  ustar.tar        POSIX ustar (tarfile.USTAR_FORMAT): prefix+name paths, sizes 0, 1, 3, 100,
                   511, 512, 70000 (bigger than one 64 KiB read), a directory, a symlink, a hard
                   link and a FIFO mixed in, keys with several dots and an upper-case extension.
  gnu.tar          GNU format (tarfile.GNU_FORMAT): names > 100 bytes (``L`` records), link targets
                   > 100 bytes (``K`` records), raw UTF-8 names, a long-named directory.
  pax.tar          pax format (tarfile.PAX_FORMAT) with a global ``g`` header (a comment), paths
                   > 255 bytes, non-ASCII paths, a long symlink target, and a member whose pax
                   ``size`` record overrides a wrong ustar size field (patched after writing).
  pax_global.tar   hand-assembled: a global ``g`` header setting ``path`` (applies to every later
                   member), then a member whose per-file ``x`` header overrides it.
  v7.tar           hand-assembled old V7 headers (no magic): a directory written as a regular
                   file with a trailing slash, size fields terminated by a space or padded with
                   spaces, checksum fields in the old ``%6o\\0 `` style, one header whose checksum
                   is the *signed* byte sum (Sun/NeXT tar), and no end-of-archive blocks (the file
                   ends cleanly at a header boundary).
  patched.tar      GNU format, then patched: a base-256 (binary) size field, a contiguous-file
                   (type ``7``) member, an unknown type ``Z`` with data blocks, and a directory whose
                   size field is non-zero (POSIX: no data blocks follow a directory).
  manifest.json    what Python's tarfile reads from each archive above: for every member its
                   name, type, size, offset (TarInfo.offset), offset_data and, for regular files,
                   the sha256 of the data; plus the archive's length.

  wds_classification/   a two-shard CLIP_benchmark-style classification dataset
                        (test/nshards.txt, test/0.tar, test/1.tar, classnames.txt,
                        zeroshot_classification_templates.txt); sample i has key s%07d, a
                        ``cls`` member (str(i % 3)) and a ``png`` member of sample_bytes(i).
  wds_retrieval/        a one-shard retrieval dataset (dataset_type.txt "retrieval\\n"), samples
                        with ``png`` + ``txt`` members.

Member contents are member_bytes(seed, size) / sample_bytes(i), integer formulas that the
TypeScript tests recompute. Everything is deterministic (fixed mtime, owner, mode).

Rerun from the repository root with Debian's Python (any Python 3.8+ works):

    /usr/bin/python3 tools/vectors/make_tar_vectors.py
"""

import hashlib
import io
import json
import os
import tarfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "tar")
MTIME = 1591315200  # 2020-06-05 00:00:00 UTC
BLOCK = 512


def member_bytes(seed, size):
    """Byte j of a tar-vector member: (seed * 7 + j * 31 + (j >> 9)) mod 256."""
    return bytes((seed * 7 + j * 31 + (j >> 9)) & 0xFF for j in range(size))


def sample_bytes(index):
    """The image member of WebDataset test sample `index`: 40 + index bytes, (index * 13 + j * 5) mod 256."""
    return bytes((index * 13 + j * 5) & 0xFF for j in range(40 + index))


def info(name, size=0, kind=tarfile.REGTYPE, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = kind
    ti.linkname = linkname
    ti.mtime = MTIME
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "clip"
    return ti


def write_archive(path, fmt, members, pax_headers=None):
    """members: list of (TarInfo, data or None)."""
    with tarfile.open(path, "w", format=fmt, pax_headers=pax_headers or {}) as tar:
        for ti, data in members:
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)


def checksum_field(header, signed=False):
    """The header's checksum (chksum field counted as 8 spaces) in the classic '%06o\\0 ' form."""
    total = 256
    for i, b in enumerate(header):
        if 148 <= i < 156:
            continue
        total += (b - 256 if signed and b >= 128 else b)
    return b"%06o\0 " % total


def patch_header(buf, offset, changes, signed=False):
    """Overwrite fields of the header at `offset` ({field_offset: bytes}) and fix its checksum."""
    header = bytearray(buf[offset:offset + BLOCK])
    for field_offset, value in changes.items():
        header[field_offset:field_offset + len(value)] = value
    header[148:156] = checksum_field(header, signed)
    buf[offset:offset + BLOCK] = header


def offsets_by_name(path):
    with tarfile.open(path, "r:") as tar:
        return {m.name: m for m in tar.getmembers()}


def pad(data):
    return data + b"\0" * (-len(data) % BLOCK)


def make_ustar(path):
    long_dir = "p" * 60 + "/" + "q" * 50
    members = [
        (info("data", kind=tarfile.DIRTYPE), None),
        (info("data/s0001.cls", 1), b"7"),
        (info("data/s0001.png", 70000), member_bytes(1, 70000)),
        (info("data/s0002.empty", 0), b""),
        (info("data/s0002.bin", 512), member_bytes(2, 512)),
        (info("data/link.png", kind=tarfile.SYMTYPE, linkname="s0001.png"), None),
        (info("data/hard.png", kind=tarfile.LNKTYPE, linkname="data/s0001.png"), None),
        (info("data/fifo", kind=tarfile.FIFOTYPE), None),
        (info(long_dir + "/s0003.txt", 511), member_bytes(3, 511)),
        (info("dir/x.JPG", 100), member_bytes(4, 100)),
        (info("a.b.c.png", 3), member_bytes(5, 3)),
    ]
    write_archive(path, tarfile.USTAR_FORMAT, members)


def make_gnu(path):
    long_name = "gnu/" + "n" * 140 + ".txt"
    members = [
        (info(long_name, 33), member_bytes(10, 33)),
        (info("gnu/l", kind=tarfile.SYMTYPE, linkname="t" * 130), None),
        (info("gnu/" + "h" * 110, kind=tarfile.LNKTYPE, linkname=long_name), None),
        (info("gnu/ünïcode.png", 513), member_bytes(11, 513)),
        (info("gnu/" + "d" * 120, kind=tarfile.DIRTYPE), None),
        (info("gnu/" + "z" * 120 + ".empty", 0), b""),
        (info("gnu/after.txt", 12), member_bytes(12, 12)),
    ]
    write_archive(path, tarfile.GNU_FORMAT, members)


def make_pax(path):
    long_path = "pax/" + "d" * 120 + "/" + "e" * 140 + "/s0001.txt"
    override = info("pax/override.bin", 600)
    override.pax_headers = {"size": "600"}
    members = [
        (info(long_path, 20), member_bytes(20, 20)),
        (info("pax/日本語/画像.png", 300), member_bytes(21, 300)),
        (info("pax/café/ñandú.JPG", 0), b""),
        (info("pax/link", kind=tarfile.SYMTYPE, linkname="x" * 150), None),
        (info("pax/dir", kind=tarfile.DIRTYPE), None),
        (override, member_bytes(22, 600)),
        (info("pax/after.txt", 7), member_bytes(23, 7)),
    ]
    write_archive(path, tarfile.PAX_FORMAT, members, pax_headers={"comment": "clipbench"})
    buf = bytearray(open(path, "rb").read())
    # The ustar size field of override.bin's own header (right after its x header) says 1
    # byte; only the pax "size" record gives the real 600. Python's tarfile reads 600.
    member = offsets_by_name(path)["pax/override.bin"]
    own_header = member.offset_data - BLOCK
    patch_header(buf, own_header, {124: b"%011o\0" % 1})
    open(path, "wb").write(bytes(buf))


def make_pax_global(path):
    out = b""
    out += tarfile.TarInfo._create_pax_generic_header(
        {"path": "global/named.txt", "comment": "g"}, tarfile.XGLTYPE, "utf-8")
    first = info("plain/one.txt", 9)
    out += first.tobuf(tarfile.USTAR_FORMAT) + pad(member_bytes(30, 9))
    out += tarfile.TarInfo._create_pax_generic_header(
        {"path": "local/override.txt"}, tarfile.XHDTYPE, "utf-8")
    second = info("plain/two.txt", 700)
    out += second.tobuf(tarfile.USTAR_FORMAT) + pad(member_bytes(31, 700))
    third = info("plain/three.txt", 2)
    out += third.tobuf(tarfile.USTAR_FORMAT) + pad(member_bytes(32, 2))
    out += b"\0" * (2 * BLOCK)
    open(path, "wb").write(out)


def v7_header(name, size_field, typeflag, signed=False):
    header = bytearray(BLOCK)
    raw = name.encode("utf-8")
    header[0:len(raw)] = raw
    header[100:108] = b"000644 \0"
    header[108:116] = b"     0 \0"
    header[116:124] = b"     0 \0"
    header[124:136] = size_field
    header[136:148] = b"%11o " % MTIME
    header[156:157] = typeflag
    header[148:156] = checksum_field(header, signed)
    return bytes(header)


def make_v7(path):
    out = b""
    out += v7_header("v7/", b"%11o " % 0, b"\0")
    out += v7_header("v7/s0001.txt", b"%11o " % 5, b"\0") + pad(member_bytes(40, 5))
    out += v7_header("v7/café.txt", b"%11o " % 17, b"0", signed=True) + pad(member_bytes(41, 17))
    out += v7_header("v7/s0002.bin", b"    2000\0   ", b"0") + pad(member_bytes(42, 1024))
    open(path, "wb").write(out)  # no end-of-archive blocks


def make_patched(path):
    members = [
        (info("big/s0001.bin", 1000), member_bytes(50, 1000)),
        (info("cont/s0002.txt", 64), member_bytes(51, 64)),
        (info("odd/unknown.dat", 700), member_bytes(52, 700)),
        (info("dir-with-size", kind=tarfile.DIRTYPE), None),
        (info("after/s0003.txt", 10), member_bytes(53, 10)),
    ]
    write_archive(path, tarfile.GNU_FORMAT, members)
    buf = bytearray(open(path, "rb").read())
    by_name = offsets_by_name(path)
    patch_header(buf, by_name["big/s0001.bin"].offset, {124: b"\x80" + (1000).to_bytes(11, "big")})
    patch_header(buf, by_name["cont/s0002.txt"].offset, {156: b"7"})
    patch_header(buf, by_name["odd/unknown.dat"].offset, {156: b"Z"})
    patch_header(buf, by_name["dir-with-size"].offset, {124: b"%011o\0" % 1024})
    open(path, "wb").write(bytes(buf))


def describe(path):
    data = open(path, "rb").read()
    members = []
    with tarfile.open(path, "r:") as tar:
        for m in tar:
            entry = {
                "name": m.name,
                "type": m.type.decode("latin-1"),
                "size": m.size,
                "offset": m.offset,
                "offset_data": m.offset_data,
                "isreg": m.isreg(),
            }
            if m.isreg():
                entry["sha256"] = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
            members.append(entry)
    return {"length": len(data), "members": members}


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def make_dataset(root, shards, with_txt, dataset_type=None):
    os.makedirs(os.path.join(root, "test"), exist_ok=True)
    write_text(os.path.join(root, "test", "nshards.txt"), "%d\n" % len(shards))
    for shard_index, indices in enumerate(shards):
        members = []
        for i in indices:
            key = "s%07d" % i
            if not with_txt:
                members.append((info(key + ".cls", len(str(i % 3))), str(i % 3).encode()))
            members.append((info(key + ".png", len(sample_bytes(i))), sample_bytes(i)))
            if with_txt:
                caption = ("caption %d a\ncaption %d b" % (i, i)).encode()
                members.append((info(key + ".txt", len(caption)), caption))
        write_archive(os.path.join(root, "test", "%d.tar" % shard_index), tarfile.USTAR_FORMAT,
                      members)
    if dataset_type is not None:
        write_text(os.path.join(root, "dataset_type.txt"), dataset_type + "\n")
    else:
        write_text(os.path.join(root, "classnames.txt"), "cat\ndog\nT-shirt/top\n")
        write_text(os.path.join(root, "zeroshot_classification_templates.txt"),
                   "a photo of a {c}.\na {c}.\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    makers = {
        "ustar.tar": make_ustar,
        "gnu.tar": make_gnu,
        "pax.tar": make_pax,
        "pax_global.tar": make_pax_global,
        "v7.tar": make_v7,
        "patched.tar": make_patched,
    }
    manifest = {}
    for name, maker in makers.items():
        path = os.path.join(OUT, name)
        maker(path)
        manifest[name] = describe(path)
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    make_dataset(os.path.join(OUT, "wds_classification"), [[0, 1, 2], [3, 4]], with_txt=False)
    make_dataset(os.path.join(OUT, "wds_retrieval"), [[0, 1]], with_txt=True,
                 dataset_type="retrieval")


if __name__ == "__main__":
    main()
