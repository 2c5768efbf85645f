#!/usr/bin/env python3
"""Retrain a linear softmax model from scratch on a distilled set, independently of Distill.

Reads only the files a run wrote (distilled-images-idx3-float, distilled-labels-idx2-float
and learned_l2 from metrics.json), minimises the same inner objective with scipy's L-BFGS
in float64, and prints the test accuracy on a dataset folder's test split next to the one
Distill reported:

    python3 tools/retrain.py out [data/mnist]

The objective: (1/m) sum_j [logsumexp(s_j W) - t_j . s_j W] + (l2/2) |W|^2.
"""
import gzip
import json
import os
import sys

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp


def read_idx(path):
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            data = open(candidate, "rb").read()
            break
    else:
        raise SystemExit(f"{path}: no such file")
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    kind, rank = data[2], data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[kind]
    return np.frombuffer(data[4 + 4 * rank:], dtype=dtype).reshape(dims)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "out"
    data = sys.argv[2] if len(sys.argv) > 2 else "data/mnist"
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    S = read_idx(os.path.join(out, "distilled-images-idx3-float")).reshape(-1, metrics["image_height"] * metrics["image_width"]).astype(np.float64)
    T = read_idx(os.path.join(out, "distilled-labels-idx2-float")).astype(np.float64)
    l2 = metrics.get("learned_l2", metrics["l2"])
    m, p = S.shape
    C = T.shape[1]

    def objective(w):
        W = w.reshape(p, C)
        Z = S @ W
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
        value = np.mean(logsumexp(Z, axis=1) - np.sum(T * Z, axis=1)) + 0.5 * l2 * np.sum(W * W)
        grad = S.T @ (P - T) / m + l2 * W
        return value, grad.ravel()

    result = minimize(objective, np.zeros(p * C), jac=True, method="L-BFGS-B",
                      options={"maxiter": 20000, "gtol": 1e-10, "ftol": 1e-15})
    W = result.x.reshape(p, C)
    images = read_idx(os.path.join(data, "t10k-images-idx3-ubyte"))
    X = images.reshape(-1, p).astype(np.float64)
    if images.dtype.kind == "u":   # bytes are pixels in [0, 255], as Distill reads them
        X /= 255.0
    y = read_idx(os.path.join(data, "t10k-labels-idx1-ubyte")).astype(int)
    accuracy = np.mean(np.argmax(X @ W, axis=1) == y)
    gradient_norm = np.linalg.norm(objective(result.x)[1])
    print(f"retrained with scipy L-BFGS: test accuracy {100 * accuracy:.2f}% "
          f"(gradient norm {gradient_norm:.1e}, {result.nit} iterations); "
          f"Distill reported {100 * metrics['test_accuracy']:.2f}%; "
          f"difference {100 * (accuracy - metrics['test_accuracy']):+.2f} points")


if __name__ == "__main__":
    main()
