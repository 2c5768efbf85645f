#!/usr/bin/env python3
"""Retrain the run's inner model from scratch on a distilled set, independently of Distill.

Reads only the files a run wrote (distilled-images-idx3-float, distilled-labels-idx2-float,
and the model, its settings and learned_l2 from metrics.json), trains the same inner
model in float64 with numpy/scipy, and prints which model it trained and its test
accuracy on a dataset folder's test split next to the one Distill reported:

    python3 tools/retrain.py out [DATA]

DATA is an IDX dataset folder with MNIST's file names (t10k-images-idx3-ubyte...);
by default the dataset the run's metrics.json records. Other formats can be
converted first: distill convert --data DATA --out DATA-idx (with the run's
--test-fraction and --split-seed for a single class tree).

The models (metrics.json "model"):
  logistic           (1/m) sum_j [logsumexp(s_j W) - t_j . s_j W] + (l2/2) |W|^2, by L-BFGS
  logistic-unrolled  N gradient-descent steps on that objective from W = 0, step 1/(l2 + |S|_F^2/(2m))
  ridge              W = S^T (S S^T + l2 m I)^-1 T
  kernel-ridge       alpha = (K + l2 m I)^-1 T, K = exp(-gamma |s - s'|^2), predictions K(X, S) alpha
Other models are refused with a message.

Every bad input (a missing folder or file, a malformed metrics.json or IDX file,
images of another size than the dataset's) ends the script with one line
"error: <file>: <what was expected, what was found>" on standard error and status 1.
"""
import gzip
import json
import math
import os
import sys
import zlib
import signal

# A reader that stops early (| head) ends the script quietly, without a BrokenPipeError.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_SIZES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def fail(message):
    """Ends the script with one line on standard error and status 1."""
    raise SystemExit(f"error: {message}")


def read_idx(path, what):
    """The IDX array in `path` (or `path`.gz) as a numpy array; `what` says what the file should hold."""
    import numpy as np
    for candidate in (path, path + ".gz"):
        if os.path.isfile(candidate):
            break
    else:
        fail(f"{path}: no such file; expected {what}")
    try:
        with open(candidate, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        fail(f"{candidate}: cannot be read ({e}); expected {what}")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        fail(f"{candidate}: not an IDX file (its first bytes are {data[:4].hex() or 'missing'}); expected {what}")
    kind, rank = data[2], data[3]
    if len(data) < 4 + 4 * rank:
        fail(f"{candidate}: its header names {rank} dimensions but the file ends after {len(data)} bytes")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    count = math.prod(dims)
    body = len(data) - 4 - 4 * rank
    if body != count * IDX_SIZES[kind]:
        fail(f"{candidate}: shape {dims} needs {count * IDX_SIZES[kind]} bytes of values, found {body}")
    return np.frombuffer(data[4 + 4 * rank:], dtype=IDX_TYPES[kind]).reshape(dims)


def read_metrics(out):
    """The run's metrics.json as a dict (with the reported test accuracy), and its L2 strength (learned_l2, else l2)."""
    if not os.path.exists(out):
        fail(f"{out}: no such folder; expected the output folder of a distill run "
             "(metrics.json, distilled-images-idx3-float, distilled-labels-idx2-float)")
    if not os.path.isdir(out):
        fail(f"{out}: not a folder; expected the output folder of a distill run")
    path = os.path.join(out, "metrics.json")
    if not os.path.isfile(path):
        fail(f"{path}: not found; expected the metrics.json of a distill run (is {out} a run's --out folder?)")
    try:
        with open(path, "rb") as f:
            metrics = json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{path}: cannot be read ({e})")
    except json.JSONDecodeError as e:
        fail(f"{path}: expected JSON, found an error at line {e.lineno}, column {e.colno} ({e.msg})")
    if not isinstance(metrics, dict):
        fail(f"{path}: expected a JSON object, found a {type(metrics).__name__}")

    def number(key, positive):
        value = metrics.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or (positive and value <= 0):
            fail(f"{path}: expected a {'positive ' if positive else ''}number under {key}, found {json.dumps(value)}")
        return float(value)

    l2 = number("learned_l2" if "learned_l2" in metrics else "l2", True)
    number("test_accuracy", False)
    if not isinstance(metrics.get("model", "logistic"), str):
        fail(f"{path}: expected a model name under model, found {json.dumps(metrics['model'])}")
    configuration = metrics.get("configuration", {})
    if not isinstance(configuration, dict):
        fail(f"{path}: expected an object under configuration, found {json.dumps(configuration)}")
    gamma = configuration.get("kernelBandwidth")
    if gamma is not None and not (isinstance(gamma, (int, float)) and not isinstance(gamma, bool) and gamma > 0 and math.isfinite(gamma)):
        fail(f"{path}: expected a positive number under configuration.kernelBandwidth, found {json.dumps(gamma)}")
    return metrics, l2


def main():
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__.strip())
        return
    if len(sys.argv) > 3:
        fail(f"expected at most 2 arguments (the run's folder, then a dataset folder), found {len(sys.argv) - 1}: "
             + " ".join(sys.argv[1:]))
    out = sys.argv[1] if len(sys.argv) > 1 else "out"
    metrics, l2 = read_metrics(out)
    recorded = metrics.get("dataset")
    data = sys.argv[2] if len(sys.argv) > 2 else (recorded if isinstance(recorded, str) else "data/mnist")
    if not os.path.isdir(data):
        fail(f"{data}: no such dataset folder; expected an IDX dataset folder (MNIST's file names)"
             + ("" if len(sys.argv) > 2 else f", the one {os.path.join(out, 'metrics.json')} records unless given"))
    try:
        import numpy as np
        from scipy.optimize import minimize
        from scipy.special import logsumexp
    except ImportError as e:
        fail(f"retrain.py needs numpy and scipy ({e}); install them: pip install numpy scipy")

    images_path = os.path.join(out, "distilled-images-idx3-float")
    labels_path = os.path.join(out, "distilled-labels-idx2-float")
    S = read_idx(images_path, "the distilled images (m x H x W, or m x H x W x C)")
    if S.ndim < 2:
        fail(f"{images_path}: expected images of shape m x H x W, found shape {list(S.shape)}")
    S = S.reshape(S.shape[0], -1).astype(np.float64)
    T = read_idx(labels_path, "the distilled images' labels (m x C)").astype(np.float64)
    if T.ndim != 2 or T.shape[0] != S.shape[0]:
        fail(f"{labels_path}: expected shape [{S.shape[0]}, C] (one row of labels per image), found {list(T.shape)}")
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
        path = os.path.join(data, f"{prefix}-images-idx3-ubyte")
        images = read_idx(path, f"the dataset's {'test' if prefix == 't10k' else 'training'} images (an IDX dataset folder with MNIST's file names; convert another format with: distill convert --data DATA --out DATA-idx)")
        X = images.reshape(images.shape[0], -1).astype(np.float64)
        if X.shape[1] != p:
            fail(f"{path}: images of {X.shape[1]} values each, expected {p} as the distilled images have; "
                 "give the dataset the run was made from")
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
        steps = configuration.get("unrollSteps")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            fail(f"{os.path.join(out, 'metrics.json')}: expected a positive whole number under configuration.unrollSteps, found {json.dumps(steps)}")
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
        fail(f"{os.path.join(out, 'metrics.json')}: model {model!r}: this script retrains "
             "logistic, logistic-unrolled, ridge and kernel-ridge only")
    X = load_images("t10k")
    y = read_idx(os.path.join(data, "t10k-labels-idx1-ubyte"), "the dataset's test labels").astype(int)
    if y.shape != (X.shape[0],):
        fail(f"{os.path.join(data, 't10k-labels-idx1-ubyte')}: expected {X.shape[0]} labels, one per test image, found shape {list(y.shape)}")
    # The files' label values (e.g. 1, 3, 7) are the classes' values, not their indices.
    values = metrics.get("class_values")
    if values is not None and not (isinstance(values, list) and len(values) == C
                                   and all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
        fail(f"{os.path.join(out, 'metrics.json')}: expected {C} whole numbers under class_values, found {json.dumps(values)}")
    if values is not None:
        position = {v: k for k, v in enumerate(values)}
        y = np.array([position.get(v, -1) for v in y])
    accuracy = np.mean(np.argmax(predict(X), axis=1) == y)
    print(f"retrained the {model} model ({detail}): test accuracy {100 * accuracy:.2f}%; "
          f"Distill reported {100 * metrics['test_accuracy']:.2f}%; "
          f"difference {100 * (accuracy - metrics['test_accuracy']):+.2f} points")


if __name__ == "__main__":
    main()
