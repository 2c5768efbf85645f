#!/usr/bin/env python3
"""Writes the seed corpus of the IDX fuzzer (tools/fuzz.sh) into Tests/Fuzz/corpus:
valid files of every type code and ranks 1-4, raw and gzip, and broken ones
(truncated, trailing bytes, bad magic, unknown type, rank 0, zero and huge
dimensions, bad gzip CRC, cut-short gzip). Each file is under 4 KB."""
import gzip, os, struct, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fuzz", "corpus")
os.makedirs(root, exist_ok=True)
TYPES = {0x08: ("ubyte", "B"), 0x09: ("byte", "b"), 0x0B: ("int16", "h"),
         0x0C: ("int32", "i"), 0x0D: ("float32", "f"), 0x0E: ("float64", "d")}

def header(code, shape):
    return bytes([0, 0, code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape)

def idx(code, shape, values=None):
    n = 1
    for d in shape: n *= d
    fmt = TYPES[code][1]
    if values is None:
        values = [(i * 7) % 100 - (50 if fmt in "bhifd" else 0) for i in range(n)]
        if fmt in "fd": values = [v / 3 for v in values]
    return header(code, shape) + struct.pack(">%d%s" % (n, fmt), *values)

def gz(data):
    return gzip.compress(data, mtime=0)

def put(name, data):
    assert len(data) < 4096, name
    with open(os.path.join(root, name), "wb") as f: f.write(data)

shapes = {1: [5], 2: [3, 4], 3: [2, 3, 3], 4: [2, 1, 2, 3]}
for code, (name, _) in TYPES.items():
    for rank, shape in shapes.items():
        put(f"valid-{name}-rank{rank}", idx(code, shape))
    put(f"valid-{name}-rank3.gz", gz(idx(code, shapes[3])))
put("valid-mnist-like-labels", idx(0x08, [10], list(range(10))))
put("valid-mnist-like-images.gz", gz(idx(0x08, [2, 28, 28])))
put("valid-float32-nan-inf", idx(0x0D, [4], [float("nan"), float("inf"), -float("inf"), -0.0]))
put("valid-two-gzip-members.gz", gz(idx(0x08, [3, 2])[:7]) + gz(idx(0x08, [3, 2])[7:]))

good = idx(0x0B, [2, 3, 3])
put("truncated-data", good[:-3])
put("truncated-header", good[:9])
put("truncated-magic", good[:3])
put("trailing-bytes", good + b"\x01\x02")
put("bad-magic", b"\x50\x4b\x03\x04" + good[4:])
put("unknown-type", bytes([0, 0, 0x0A, 1, 0, 0, 0, 2, 1, 2]))
put("rank-zero", bytes([0, 0, 0x08, 0]))
put("zero-dimension", header(0x08, [3, 0, 2]))
put("huge-dimensions", header(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF]) + b"\x00" * 8)
put("huge-not-overflowing", header(0x0E, [65536, 65536, 256]) + b"\x00" * 16)
put("rank-255", bytes([0, 0, 0x08, 255]) + struct.pack(">I", 1) * 255 + b"\x07")
put("empty", b"")
put("one-zero-byte", b"\x00")
put("gzip-huge-claim.gz", gz(header(0x08, [65536, 65536, 65536]) + b"\x00" * 64))
put("gzip-trailing.gz", gz(good + b"\x05"))
put("gzip-truncated-data.gz", gz(good[:-1]))
bad_crc = bytearray(gz(good)); bad_crc[-8] ^= 0xFF
put("gzip-bad-crc.gz", bytes(bad_crc))
bad_length = bytearray(gz(good)); bad_length[-1] ^= 0x01
put("gzip-bad-length.gz", bytes(bad_length))
put("gzip-cut-short.gz", gz(good)[:-6])
put("gzip-header-only.gz", gz(good)[:10])
put("gzip-garbage-after.gz", gz(good) + b"garbage")
put("gzip-magic-only", b"\x1f\x8b")
print(len(os.listdir(root)), "files in", os.path.normpath(root))
