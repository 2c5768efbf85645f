#!/usr/bin/env python3
"""Writes a held-out split of MNIST's TRAINING set for choosing settings.

The first 50,000 training images become the training files and the last 10,000
training images become the "t10k" files, so that `distill run --data OUT` reports
accuracy on held-out training images and never touches the test split.

Usage: python3 tools/make-holdout-split.py [data/mnist] [/tmp/mnist-holdout]
Standard library only (gzip, struct).
"""
import gzip
import os
import struct
import sys
import signal

# A reader that stops early (| head) ends the script quietly, without a BrokenPipeError.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

TRAIN = 50_000


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit(f"{path}: expected an unsigned-byte IDX file, found header {data[:4].hex()}")
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    body = data[4 + 4 * dims:]
    item = 1
    for s in shape[1:]:
        item *= s
    if len(body) != shape[0] * item:
        sys.exit(f"{path}: expected {shape[0] * item} data bytes for shape {shape}, found {len(body)}")
    return shape, item, body


def write_idx(path, shape, body):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, len(shape)]))
        f.write(struct.pack(">" + "I" * len(shape), *shape))
        f.write(body)


def find(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{folder}: expected {name} or {name}.gz, found neither")


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "data/mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else "/tmp/mnist-holdout"
    os.makedirs(out, exist_ok=True)
    for kind, target_train, target_test in (("images-idx3", "train-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
                                           ("labels-idx1", "train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte")):
        shape, item, body = read_idx(find(source, f"train-{kind}-ubyte"))
        n = shape[0]
        if n <= TRAIN:
            sys.exit(f"{source}: expected more than {TRAIN} training items, found {n}")
        write_idx(os.path.join(out, target_train), (TRAIN,) + tuple(shape[1:]), body[:TRAIN * item])
        write_idx(os.path.join(out, target_test), (n - TRAIN,) + tuple(shape[1:]), body[TRAIN * item:])
    print(f"wrote {out}: {TRAIN} training images as train-*, the other training images as t10k-* (no test-split data)")


if __name__ == "__main__":
    main()
