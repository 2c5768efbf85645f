#!/usr/bin/env python3
"""Writes MNIST (data/mnist) as a class-per-folder PNG tree and as IDX files in the
tree's order, independently of Distill's own writers (numpy + zlib only).

    tools/mnist-png-tree.py OUT

OUT/tree/train/<digit>/<index>.png and OUT/tree/test/<digit>/<index>.png (8-bit grey,
index zero-padded to 5 digits: 60,000 + 10,000 files), and OUT/idx/ holding the same
images as MNIST-named IDX files reordered class by class (stable: by label, then by
index), which is the order Distill reads the tree in. `distill run` on the two gives
the same bytes; on data/mnist itself (MNIST's order) the sums run in another order.
"""
import gzip, os, struct, sys, zlib
import numpy as np

def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    shape = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)

def png(image):
    h, w = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))

def write_idx(path, array):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes())

out = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist")
os.makedirs(os.path.join(out, "idx"), exist_ok=True)
for split, prefix in [("train", "train"), ("test", "t10k")]:
    images = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))
    for digit in range(10):
        os.makedirs(os.path.join(out, "tree", split, str(digit)), exist_ok=True)
    for i in range(len(labels)):
        with open(os.path.join(out, "tree", split, str(labels[i]), f"{i:05d}.png"), "wb") as f:
            f.write(png(images[i]))
    order = np.argsort(labels, kind="stable")
    write_idx(os.path.join(out, "idx", f"{prefix}-images-idx3-ubyte"), images[order])
    write_idx(os.path.join(out, "idx", f"{prefix}-labels-idx1-ubyte"), labels[order])
print(f"wrote {out}/tree (70,000 PNG files) and {out}/idx (the same images in the tree's order)")
