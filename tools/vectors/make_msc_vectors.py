#!/usr/bin/python3
"""Reference vectors for src/hub/pickle_index.ts: ModelScope's cache index ``.msc``.

The ModelScope SDK keeps, in each cached repository folder, a file ``.msc``: the
``pickle.dump`` of a list of ``{"Path": ..., "Revision": ...}`` dicts, one per cached file
(``modelscope/hub/utils/caching.py``). clipbench reads the index the SDK writes and adds the
files it downloads itself, so that either tool reuses the other's downloads.

What it produces (in tests/data/hub/):
  * ``msc_protocol{2,4,5}.pickle``: ``pickle.dumps(INDEX, protocol=N)`` of the list below, as
    Python writes it (memo puts and gets, frames, short and long strings, a ``None`` value,
    more than 256 memoised objects so that the long memo opcodes appear);
  * ``msc_expected.json``: that list as JSON, what the reader must return;
  * ``msc_clipbench.pickle``: the protocol-2 bytes clipbench's writer must produce for
    ``WRITTEN`` (no memo: EMPTY_LIST, MARK, per entry EMPTY_DICT MARK BINUNICODE... SETITEMS,
    APPENDS, STOP), built opcode by opcode here and checked with ``pickle.loads`` to load as
    ``WRITTEN``, so the writer's output is known to be readable by Python;
  * ``msc_written.json``: ``WRITTEN`` as JSON.

Requirements: Debian's /usr/bin/python3 (3.11; any Python 3 writes the same protocol 2 and 4
bytes for this data).

Rerun from the repository root:
  /usr/bin/python3 tools/vectors/make_msc_vectors.py
"""

import json
import pickle
import struct
from pathlib import Path

OUT = Path("tests/data/hub")

INDEX = [
    {"Path": f"onnx/model_{i:03d}.onnx", "Revision": f"{i:040x}"} for i in range(130)
] + [
    {"Path": "config.json", "Revision": None},
    {"Path": "中文/词表.txt", "Revision": "master"},
    {"Path": "x" * 300, "Revision": "a" * 40},
]

WRITTEN = [
    {"Path": "config.json", "Revision": "0123456789abcdef0123456789abcdef01234567"},
    {"Path": "onnx/model.onnx", "Revision": None},
    {"Path": "中文.txt", "Revision": "master"},
]


def binunicode(text):
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def clipbench_bytes(entries):
    out = b"\x80\x02]"
    if entries:
        out += b"("
        for entry in entries:
            out += b"}"
            if entry:
                out += b"("
                for key, value in entry.items():
                    out += binunicode(key)
                    out += b"N" if value is None else binunicode(value)
                out += b"u"
        out += b"e"
    return out + b"."


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for protocol in (2, 4, 5):
        data = pickle.dumps(INDEX, protocol=protocol)
        assert pickle.loads(data) == INDEX
        (OUT / f"msc_protocol{protocol}.pickle").write_bytes(data)
    (OUT / "msc_expected.json").write_text(json.dumps(INDEX, ensure_ascii=False) + "\n")
    written = clipbench_bytes(WRITTEN)
    assert pickle.loads(written) == WRITTEN, "the writer's format does not load in Python"
    assert pickle.loads(clipbench_bytes([])) == []
    (OUT / "msc_clipbench.pickle").write_bytes(written)
    (OUT / "msc_written.json").write_text(json.dumps(WRITTEN, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
