#!/usr/bin/env python3
"""Numpy reference timings for the outer pass over MNIST (loss, correct, gradient).

Loads data/mnist/train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (numpy
only: gzip + np.frombuffer), draws weights W (784 x 10, normal * 0.01, fixed seed)
and times, in float32,

  - the two-GEMM pass: Z = X @ W, softmax, loss, correct, G = X.T @ (P - Y) / n
    (X, 60,000 x 784, read twice);
  - a one-pass variant over blocks of rows (each block's logits and its
    gradient update while the block is in cache).

Prints "numpy two-GEMM outer pass: median X.X ms" (and the block variant), or with
--json {"numpy_outer_pass_ms": ..., "numpy_blocked_outer_pass_ms": ...}.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set in this environment and slow
OpenBLAS down; for benchmarking run it as

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 tools/bench-reference.py
"""

import argparse
import gzip
import json
import os
import time
import signal

# A reader that stops early (| head) ends the script quietly, without a BrokenPipeError.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_idx(name, header):
    with gzip.open(os.path.join(ROOT, "data", "mnist", name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def outer_pass(x, y_onehot, labels, w):
    """Two GEMMs: X is read once for the logits and once for the gradient."""
    z = x @ w
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(s[:, 0]) + zmax[:, 0] - z[np.arange(len(labels)), labels]))
    correct = int(np.count_nonzero(z.argmax(axis=1) == labels))
    g = x.T @ (e / s - y_onehot) / x.shape[0]
    return loss, correct, g


def blocked_outer_pass(x, y_onehot, labels, w, block=4096):
    """One pass over row blocks: logits and gradient update per block."""
    n = x.shape[0]
    g = np.zeros(w.shape, dtype=np.float64)
    loss, correct = 0.0, 0
    for b in range(0, n, block):
        xb, lb = x[b:b + block], labels[b:b + block]
        z = xb @ w
        zmax = z.max(axis=1, keepdims=True)
        e = np.exp(z - zmax)
        s = e.sum(axis=1, keepdims=True)
        loss += float(np.sum(np.log(s[:, 0]) + zmax[:, 0] - z[np.arange(len(lb)), lb]))
        correct += int(np.count_nonzero(z.argmax(axis=1) == lb))
        g += xb.T @ (e / s - y_onehot[b:b + block])
    return loss / n, correct, g / n


def median_ms(fn, repetitions, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    parser.add_argument("--repetitions", type=int, default=30)
    args = parser.parse_args()

    x = (load_idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / np.float32(255))
    labels = load_idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    y = np.eye(10, dtype=np.float32)[labels]
    w = (np.random.default_rng(0).standard_normal((784, 10)) * 0.01).astype(np.float32)

    l1, c1, g1 = outer_pass(x, y, labels, w)
    l2, c2, g2 = blocked_outer_pass(x, y, labels, w)
    assert c1 == c2 and abs(l1 - l2) < 1e-4 * abs(l1) and np.allclose(g1, g2, rtol=1e-3, atol=1e-6)

    two_gemm = median_ms(lambda: outer_pass(x, y, labels, w), args.repetitions)
    blocked = median_ms(lambda: blocked_outer_pass(x, y, labels, w), args.repetitions)
    if args.json:
        print(json.dumps({"numpy_outer_pass_ms": round(two_gemm, 3), "numpy_blocked_outer_pass_ms": round(blocked, 3)}))
    else:
        print(f"numpy two-GEMM outer pass: median {two_gemm:.1f} ms")
        print(f"numpy one-pass (row blocks of 4096) outer pass: median {blocked:.1f} ms")
        print(f"(loss {l1:.6f}, correct {c1}, {x.shape[0]} x {x.shape[1]} float32, numpy {np.__version__})")


if __name__ == "__main__":
    main()
