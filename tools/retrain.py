#!/usr/bin/env python3
"""Retrain the run's inner model from scratch on a distilled set, independently of Distill.

Reads only the files a run wrote (distilled-images-idx3-float, distilled-labels-idx2-float,
and the model, its settings and learned_l2 from metrics.json), trains the same inner
model in float64 with numpy/scipy, and prints which model it trained and its test
accuracy on a dataset folder's test split next to the one Distill reported:

    python3 tools/retrain.py out [data/mnist]

The models (metrics.json "model"):
  logistic           (1/m) sum_j [logsumexp(s_j W) - t_j . s_j W] + (l2/2) |W|^2, by L-BFGS
  logistic-unrolled  N gradient-descent steps on that objective from W = 0, step 1/(l2 + |S|_F^2/(2m))
  ridge              W = S^T (S S^T + l2 m I)^-1 T
  kernel-ridge       alpha = (K + l2 m I)^-1 T, K = exp(-gamma |s - s'|^2), predictions K(X, S) alpha
Other models are refused with a message.
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
    S = read_idx(os.path.join(out, "distilled-images-idx3-float"))
    S = S.reshape(S.shape[0], -1).astype(np.float64)
    T = read_idx(os.path.join(out, "distilled-labels-idx2-float")).astype(np.float64)
    l2 = metrics.get("learned_l2", metrics["l2"])
    m, p = S.shape
    C = T.shape[1]
    model = metrics.get("model", "logistic")
    configuration = metrics.get("configuration", {})

    def objective(w):
        W = w.reshape(p, C)
        Z = S @ W
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
        value = np.mean(logsumexp(Z, axis=1) - np.sum(T * Z, axis=1)) + 0.5 * l2 * np.sum(W * W)
        grad = S.T @ (P - T) / m + l2 * W
        return value, grad.ravel()

    def load_images(prefix):
        images = read_idx(os.path.join(data, f"{prefix}-images-idx3-ubyte"))
        X = images.reshape(images.shape[0], -1).astype(np.float64)
        if images.dtype.kind == "u":   # bytes are pixels in [0, 255], as Distill reads them
            X /= 255.0
        return X

    detail = ""
    if model == "logistic":
        result = minimize(objective, np.zeros(p * C), jac=True, method="L-BFGS-B",
                          options={"maxiter": 20000, "gtol": 1e-10, "ftol": 1e-15})
        W = result.x.reshape(p, C)
        detail = f"scipy L-BFGS, gradient norm {np.linalg.norm(objective(result.x)[1]):.1e}, {result.nit} iterations"
        predict = lambda X: X @ W
    elif model == "logistic-unrolled":
        steps = configuration["unrollSteps"]
        eta = 1.0 / (l2 + np.sum(S * S) / (2 * m))
        w = np.zeros(p * C)
        for _ in range(steps):
            w = w - eta * objective(w)[1]
        W = w.reshape(p, C)
        detail = f"{steps} gradient-descent steps from zero"
        predict = lambda X: X @ W
    elif model == "ridge":
        W = S.T @ np.linalg.solve(S @ S.T + l2 * m * np.eye(m), T)
        detail = "closed form"
        predict = lambda X: X @ W
    elif model == "kernel-ridge":
        gamma = configuration.get("kernelBandwidth")
        if gamma is None:   # the median heuristic on the training set, as Distill computes it
            Xtrain = load_images("train")
            spread = np.mean(np.sum(Xtrain * Xtrain, axis=1)) - np.sum(np.mean(Xtrain, axis=0) ** 2)
            gamma = 1.0 / (2 * spread) if spread > 0 else 1.0
        def kernel(A, B):
            d2 = np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :] - 2 * A @ B.T
            return np.exp(-gamma * np.maximum(d2, 0))
        alpha = np.linalg.solve(kernel(S, S) + l2 * m * np.eye(m), T)
        detail = f"closed form, RBF gamma {gamma:.4g}"
        predict = lambda X: kernel(X, S) @ alpha
    else:
        raise SystemExit(f"{os.path.join(out, 'metrics.json')}: model {model!r}: this script retrains "
                         "logistic, logistic-unrolled, ridge and kernel-ridge only")
    X = load_images("t10k")
    y = read_idx(os.path.join(data, "t10k-labels-idx1-ubyte")).astype(int)
    # The files' label values (e.g. 1, 3, 7) are the classes' values, not their indices.
    values = metrics.get("class_values")
    if values is not None:
        position = {v: k for k, v in enumerate(values)}
        y = np.array([position.get(v, -1) for v in y])
    accuracy = np.mean(np.argmax(predict(X), axis=1) == y)
    print(f"retrained the {model} model ({detail}): test accuracy {100 * accuracy:.2f}%; "
          f"Distill reported {100 * metrics['test_accuracy']:.2f}%; "
          f"difference {100 * (accuracy - metrics['test_accuracy']):+.2f} points")


if __name__ == "__main__":
    main()
