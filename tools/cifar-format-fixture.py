#!/usr/bin/env python3
"""Writes CIFAR-10-format binary batches of synthetic colour images, the fixture of
Tests/DistillCLITests/OwnDataTests.swift (`writeCIFAR10`, same generator), for runs
by hand:

    tools/cifar-format-fixture.py OUT [PER_BATCH]     # default 20 records per batch

OUT/data_batch_1.bin ... data_batch_5.bin and test_batch.bin (PER_BATCH records each,
classes cycling 0..9; each class its own colour plus seeded noise) and batches.meta.txt.
"""
import os, sys

M = (1 << 64) - 1

def colour_image(c, classes, seed):
    state = (seed * 7919 + c * 104729 + 1) & M
    out = bytearray()
    for p in range(32 * 32):
        state = (state * 6364136223846793005 + 1442695040888963407) & M
        noise = state >> 59
        base = [40 + 180 * c // max(1, classes - 1), 200 - 150 * c // max(1, classes - 1), 60 if p % 32 < 16 else 160]
        out += bytes(min(255, b + noise) for b in base)
    return bytes(out)

def record(label, image):
    planes = b"".join(bytes(image[3 * p + k] for p in range(1024)) for k in range(3))
    return bytes([label]) + planes

out = sys.argv[1]
per_batch = int(sys.argv[2]) if len(sys.argv) > 2 else 20
os.makedirs(out, exist_ok=True)
for batch in range(1, 7):
    data = b"".join(record(r % 10, colour_image(r % 10, 10, batch * 1000 + r)) for r in range(per_batch))
    name = f"data_batch_{batch}.bin" if batch <= 5 else "test_batch.bin"
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
with open(os.path.join(out, "batches.meta.txt"), "w") as f:
    f.write("\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]) + "\n\n")
print(f"wrote {out}: 5 x {per_batch} training and {per_batch} test records")
