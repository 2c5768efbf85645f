#!/usr/bin/env python3
"""Kernel ridge regression with Distill's NTK / NNGP on many REAL training images.

A reference script (not used by distill): it answers how much accuracy the exact
kernel of `distill run --model ntk` reaches when kernel ridge regression is fitted
on N real training images instead of a distilled set. numpy + scipy only, float64.

What it computes (the same as Distill's `NeuralKernelCeiling` at N = 10000):
- standardisation `(pixel/255 - mean) / std` with the global pixel mean and
  (population) standard deviation of the WHOLE training file of FOLDER
  (`PixelStandardisation.measured(on: train)`: the images the run trains on);
- the support set: the first N/C images of every class of the training file, in
  file order (`NeuralKernelCeiling.subset`);
- the kernel (`NeuralKernel`): `--depth` hidden ReLU layers, sigma_w^2, sigma_b^2,
  the arc-cosine recursion off the diagonal (cosine clamped to [-1, 1]) and its
  closed form on the diagonal of K(S, S);
- targets one-hot minus 1/C, ridge `r = l2 * trace(K_SS) / N`,
  `alpha = (K_SS + r I)^-1 Y` by Cholesky (scipy, in place), predictions
  `K(x, S) alpha`, accuracy of the arg-max on every image of the evaluation file
  (FOLDER's t10k file).
K(S, S) is computed in row blocks straight into one N x N float64 array (only its
lower triangle, then mirrored), factorised in place; for further l2 values its
other triangle, which the factorisation leaves alone, restores it. Memory: 8 N^2
bytes plus blocks of `--block` rows (12.8 GB at N = 40000).

Usage:
    nice -n 10 python3 tools/ntk-subset-curve.py check REFERENCE_FOLDER
        # against the neural-tangents fixtures (../shared/data/reference/ntk)
    nice -n 10 python3 tools/ntk-subset-curve.py fit FOLDER --sizes 10000,20000 --l2 1e-4,1e-3 [--kernel ntk]
        [--depth 2] [--weight-variance 2] [--bias-variance 0.01] [--block 500] [--panel 0] [--json OUT.jsonl]
FOLDER holds MNIST-style IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz): data/mnist for
the test split, /tmp/mnist-holdout (tools/make-holdout-split.py) for the held-out one.
Prints each step's wall time and the peak RSS, and one result line per (N, l2).

Known limit: at N = 40000 the process died with SIGSEGV in the factorisation (one
potrf call on the whole matrix, 2 OpenBLAS threads; 30000 worked), as OpenBLAS
issue #2562 reports for dpotrf at 32768 with 2 threads. Workarounds:
OPENBLAS_NUM_THREADS=1, or `--panel 5000` (a blocked factorisation: potrf only on
5000 x 5000 blocks; equal to the single call to 1.5e-15 relative, measured at 2300).
"""
import argparse
import gzip
import json
import math
import os
import resource
import sys
import time
import signal

# A reader that stops early (| head) ends the script quietly, without a BrokenPipeError.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

import numpy as np
import scipy.linalg


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6   # kB on Linux


def log(step, start, **fields):
    extra = " ".join(f"{k}={v}" for k, v in fields.items())
    print(f"[{time.strftime('%H:%M:%S')}] {step}: {time.time() - start:.1f} s, peak RSS {peak_rss_gb():.2f} GB {extra}".rstrip(),
          flush=True)


def read_idx(path):
    """An IDX file (optionally gzipped) as a numpy array; exits with one line on bad input."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    types = {0x08: np.dtype(np.uint8), 0x0E: np.dtype(">f8")}
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in types:
        sys.exit(f"{path}: expected an IDX file of unsigned bytes or float64, found header {data[:4].hex()}")
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    dtype = types[data[2]]
    expected = 4 + 4 * dims + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        sys.exit(f"{path}: expected {expected} bytes for shape {shape}, found {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * dims).reshape(shape)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    sys.exit(f"{folder}: expected {stem} or {stem}.gz")


def load(folder, split):
    images = read_idx(find(folder, f"{split}-images-idx3-ubyte"))
    labels = read_idx(find(folder, f"{split}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        sys.exit(f"{folder}: expected {split} images (n x rows x columns) and n labels, found {images.shape} and {labels.shape}")
    return images.reshape(images.shape[0], -1), labels.astype(np.int64)


def standardisation(train_bytes):
    """Distill's `PixelStandardisation.measured`: exact integer sums, population std."""
    count = train_bytes.size
    total = int(train_bytes.sum(dtype=np.uint64))
    squares = int((train_bytes.astype(np.uint64) ** 2).sum(dtype=np.uint64))
    mean = total / count
    variance = max(0.0, squares / count - mean * mean)
    return mean / 255, math.sqrt(variance) / 255


def balanced_subset(labels, count, classes):
    """`NeuralKernelCeiling.subsetIndices`: the first count/C of each class in file order."""
    if len(labels) <= count:
        return np.arange(len(labels))
    per_class = max(1, count // classes)
    taken = np.zeros(classes, dtype=np.int64)
    indices = []
    for i, c in enumerate(labels):
        if taken[c] < per_class:
            taken[c] += 1
            indices.append(i)
    return np.array(indices)


class Kernel:
    """Distill's `NeuralKernel` on standardised rows (float64)."""

    def __init__(self, kind, depth, w, b):
        self.kind, self.depth, self.w, self.b = kind, depth, w, b

    def layer_variances(self, u):
        """q_l(x) for l = 1..depth, depth x rows."""
        q = np.empty((self.depth, u.shape[0]))
        q[0] = self.w * np.einsum("ij,ij->i", u, u) / u.shape[1] + self.b
        for l in range(1, self.depth):
            q[l] = self.w * q[l - 1] / 2 + self.b
        return q

    def diagonal(self, q1):
        q, theta = q1.copy(), q1.copy()
        for _ in range(self.depth):
            q = self.w * q / 2 + self.b
            theta = q + self.w * theta / 2
        return theta if self.kind == "ntk" else q

    def block(self, x, qx, y, qy, out=None):
        """K(x, y) by the off-diagonal recursion (cosine clamped to [-1, 1]) into `out`."""
        w, b, two_pi = self.w, self.b, 2 * math.pi
        sigma = np.matmul(x, y.T, out=out)
        sigma *= w / x.shape[1]
        sigma += b
        theta = sigma.copy() if self.kind == "ntk" else None
        c = np.empty_like(sigma)
        tmp = np.empty_like(sigma)
        for l in range(self.depth):
            norm = np.sqrt(np.multiply.outer(qx[l], qy[l]))
            np.divide(sigma, norm, out=c)
            np.clip(c, -1, 1, out=c)
            # sine = sqrt(max(0, (1 - c)(1 + c)))
            np.subtract(1, c, out=tmp)
            tmp *= 1 + c
            np.maximum(tmp, 0, out=tmp)
            np.sqrt(tmp, out=tmp)
            t = np.arccos(c)                                  # t
            np.subtract(math.pi, t, out=t)                    # pi - t
            # K_l = norm (sine + (pi - t) c) / 2 pi;  Sigma_{l+1} = w K_l + b
            np.multiply(t, c, out=sigma)
            sigma += tmp
            sigma *= norm
            sigma *= w / two_pi
            sigma += b
            if theta is not None:
                # Theta_{l+1} = Sigma_{l+1} + w Kdot_l Theta_l, Kdot_l = (pi - t) / 2 pi
                t *= w / two_pi
                theta *= t
                theta += sigma
            del t, norm
        if theta is None:
            return sigma
        sigma[...] = theta
        return sigma


def gram_lower(kernel, u, q, block):
    """K(U, U) with its lower triangle (and diagonal blocks) computed, upper mirrored; the diagonal by its closed form."""
    n = u.shape[0]
    a = np.empty((n, n))
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        a[i0:i1, :i1] = kernel.block(u[i0:i1], q[:, i0:i1], u[:i1], q[:, :i1])
    mirror_lower_to_upper(a, block)
    diag = kernel.diagonal(q[0])
    a[np.diag_indices(n)] = diag
    return a, diag


def mirror_lower_to_upper(a, block):
    n = a.shape[0]
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        a[i0:i1, i1:] = a[i1:, i0:i1].T
        d = a[i0:i1, i0:i1]
        d[np.triu_indices(i1 - i0, 1)] = d.T[np.triu_indices(i1 - i0, 1)]


def factor_in_place(a, ridge_diag, panel=0):
    """Cholesky of `a` with the diagonal `ridge_diag`, in place: the factor in a's upper
    triangle (as the lower triangle of the Fortran-order view a.T); the strict lower
    triangle of `a` is left as it was. Returns (factor, lower) for cho_solve or None.
    With `panel` > 0, a right-looking blocked factorisation with `panel`-wide blocks
    (LAPACK's potrf on each diagonal block's copy, then triangular solves and matrix
    products) instead of one potrf call on the whole matrix."""
    a[np.diag_indices(a.shape[0])] = ridge_diag
    view = a.T                                                   # Fortran order: no copy
    if panel > 0:
        return blocked_cholesky(view, panel)
    try:
        c, lower = scipy.linalg.cho_factor(view, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    if not np.shares_memory(c, a):
        sys.exit("cho_factor copied the matrix (expected in place); the restore would be wrong")
    return c, lower


def blocked_cholesky(l, b):
    """The lower Cholesky factor of the symmetric matrix whose lower triangle is `l`'s,
    into that triangle (the strict upper triangle is not written), by blocks of b."""
    n = l.shape[0]
    for k0 in range(0, n, b):
        k1 = min(n, k0 + b)
        try:
            lkk = scipy.linalg.cholesky(np.tril(l[k0:k1, k0:k1]), lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        d = l[k0:k1, k0:k1]
        mask = np.tril(np.ones((k1 - k0, k1 - k0), dtype=bool))
        d[mask] = lkk[mask]
        if k1 == n:
            break
        # Panel: P = A[k1:, k0:k1] Lkk^-T.
        p = scipy.linalg.solve_triangular(lkk, np.ascontiguousarray(l[k1:, k0:k1].T), lower=True,
                                          check_finite=False).T
        l[k1:, k0:k1] = p
        # Trailing lower triangle: A[k1:, k1:] -= P P^T, block row by block row.
        for j0 in range(k1, n, b):
            j1 = min(n, j0 + b)
            update = p[j0 - k1:j1 - k1] @ p[:j1 - k1].T
            l[j0:j1, k1:j0] -= update[:, :j0 - k1]
            l[j0:j1, j0:j1] -= np.tril(update[:, j0 - k1:])
    return l, True


def check(reference):
    """Against neural-tangents' kernels and predictions (float64). neural-tangents
    evaluates the NTK's diagonal with the generic formula at a rounded cosine
    1 - O(1e-16), where arccos is O(1e-8): its NTK diagonal differs from the exact
    closed form (Distill's and this script's) by about 1e-8 relative per layer, so,
    as in Distill's NeuralKernelReferenceTests, the off-diagonal entries are held to
    1e-12, the NTK diagonal to 1e-7 and the NTK predictions to 1e-6 (NNGP: 1e-12 and
    1e-8)."""
    info = json.load(open(os.path.join(reference, "reference.json")))
    s = read_idx(os.path.join(reference, "support-images-idx3-double")).reshape(20, -1).astype(np.float64)
    t = read_idx(os.path.join(reference, "target-images-idx3-double")).reshape(50, -1).astype(np.float64)
    ys = read_idx(os.path.join(reference, "support-targets-idx2-double")).astype(np.float64)
    failures = []
    off = ~np.eye(20, dtype=bool)
    for kind in ("nngp", "ntk"):
        for depth in (1, 3):
            k = Kernel(kind, depth, 2.0, 0.01)
            qs, qt = k.layer_variances(s), k.layer_variances(t)
            kss, diag = gram_lower(k, s, qs, 7)
            kts = k.block(t, qt, s, qs)
            ridge = 1e-6 * np.trace(kss) / 20
            pred = kts @ np.linalg.solve(kss + ridge * np.eye(20), ys)
            name = f"{kind}-depth{depth}"
            ref_ss = read_idx(os.path.join(reference, f"{name}-kernel-support-support-idx2-double")).astype(np.float64)
            ref_ts = read_idx(os.path.join(reference, f"{name}-kernel-target-support-idx2-double")).astype(np.float64)
            ref_p = read_idx(os.path.join(reference, f"{name}-prediction-idx2-double")).astype(np.float64)
            rel = lambda mine, ref: float(np.max(np.abs(mine - ref)) / np.max(np.abs(ref)))
            rows = [("K_ss off the diagonal", rel(kss[off], ref_ss[off]), 1e-12),
                    ("K_ss diagonal (closed form)", rel(np.diag(kss), np.diag(ref_ss)), 1e-7 if kind == "ntk" else 1e-12),
                    ("K_ts", rel(kts, ref_ts), 1e-12),
                    ("predictions", rel(pred, ref_p), 1e-6 if kind == "ntk" else 1e-8)]
            print(f"{name}: max |ours - neural-tangents| / max |neural-tangents|: "
                  + ", ".join(f"{w} {e:.1e}" for w, e, _ in rows))
            failures += [f"{name} {w} {e:.1e} > {bound:.0e}" for w, e, bound in rows if not e <= bound]
    print(f"reference: {info.get('source', '?')}")
    if failures:
        sys.exit(f"{reference}: expected agreement within the bounds, found " + "; ".join(failures))
    print("all within bounds")


def fit(args):
    start = time.time()
    train_bytes, train_labels = load(args.folder, "train")
    eval_bytes, eval_labels = load(args.folder, "t10k")
    classes = int(train_labels.max()) + 1
    mean, std = standardisation(train_bytes)
    log("load", start, train=len(train_labels), eval=len(eval_labels), mean=f"{mean:.9f}", std=f"{std:.9f}")
    kernel = Kernel(args.kernel, args.depth, args.weight_variance, args.bias_variance)
    eval_u = (eval_bytes.astype(np.float64) / 255 - mean) / std
    eval_q = kernel.layer_variances(eval_u)
    l2s = [float(v) for v in args.l2.split(",")]
    out = open(args.json, "a") if args.json else None
    for n in [int(v) for v in args.sizes.split(",")]:
        t0 = time.time()
        indices = balanced_subset(train_labels, n, classes)
        counts = np.bincount(train_labels[indices], minlength=classes)
        if len(indices) != n:
            print(f"note: the subset holds {len(indices)} images (per class {counts.tolist()}), not {n}")
        u = (train_bytes[indices].astype(np.float64) / 255 - mean) / std
        q = kernel.layer_variances(u)
        y = np.full((len(indices), classes), -1 / classes)
        y[np.arange(len(indices)), train_labels[indices]] += 1
        a, diag = gram_lower(kernel, u, q, args.block)
        kernel_seconds = time.time() - t0
        log(f"N={len(indices)} K(S,S)", t0)
        trace_mean = float(np.sum(diag)) / len(indices)
        alphas, factor_seconds, ok = [], [], []
        for index, l2 in enumerate(l2s):
            t1 = time.time()
            if index > 0:
                mirror_lower_to_upper(a, args.block)              # K back from the untouched triangle
            factor = factor_in_place(a, diag + l2 * trace_mean, args.panel)
            if factor is None:
                alphas.append(np.zeros_like(y))
                ok.append(False)
            else:
                alphas.append(scipy.linalg.cho_solve(factor, y, check_finite=False))
                ok.append(True)
            factor_seconds.append(time.time() - t1)
            log(f"N={len(indices)} l2={l2} Cholesky + solve", t1, factorised=ok[-1])
        del a, factor                                              # the factor is a view of a: free both
        t2 = time.time()
        coefficients = np.concatenate(alphas, axis=1)
        predictions = np.empty((len(eval_labels), coefficients.shape[1]))
        for i0 in range(0, len(eval_labels), args.block):
            i1 = min(len(eval_labels), i0 + args.block)
            predictions[i0:i1] = kernel.block(eval_u[i0:i1], eval_q[:, i0:i1], u, q) @ coefficients
        predict_seconds = time.time() - t2
        log(f"N={len(indices)} K(eval,S) alpha", t2)
        for index, l2 in enumerate(l2s):
            p = predictions[:, index * classes:(index + 1) * classes]
            correct = int(np.sum(np.argmax(p, axis=1) == eval_labels))
            result = {"folder": args.folder, "kernel": args.kernel, "depth": args.depth,
                      "weight_variance": args.weight_variance, "bias_variance": args.bias_variance,
                      "n": len(indices), "l2": l2, "factorised": ok[index], "correct": correct,
                      "evaluated": len(eval_labels), "accuracy": correct / len(eval_labels),
                      "ridge": l2 * trace_mean, "seconds_kernel": round(kernel_seconds, 1),
                      "seconds_cholesky_solve": round(factor_seconds[index], 1),
                      "seconds_predict_all_l2": round(predict_seconds, 1),
                      "peak_rss_gb": round(peak_rss_gb(), 2)}
            print(f"RESULT N={len(indices)} l2={l2}: {correct}/{len(eval_labels)} = {100 * correct / len(eval_labels):.2f}%",
                  flush=True)
            if out:
                out.write(json.dumps(result) + "\n")
                out.flush()
    log("total", start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="compare with the neural-tangents fixtures")
    c.add_argument("reference")
    f = sub.add_parser("fit", help="kernel ridge regression on balanced subsets of FOLDER's training file")
    f.add_argument("folder")
    f.add_argument("--sizes", default="10000")
    f.add_argument("--l2", default="1e-4")
    f.add_argument("--kernel", choices=["ntk", "nngp"], default="ntk")
    f.add_argument("--depth", type=int, default=2)
    f.add_argument("--weight-variance", type=float, default=2.0)
    f.add_argument("--bias-variance", type=float, default=0.01)
    f.add_argument("--block", type=int, default=500)
    f.add_argument("--panel", type=int, default=0,
                   help="factorise by blocks of this width (0: one LAPACK potrf call on the whole matrix)")
    f.add_argument("--json")
    args = parser.parse_args()
    if args.command == "check":
        check(args.reference)
    else:
        if args.depth < 1 or args.block < 1:
            sys.exit(f"--depth and --block: expected at least 1, found {args.depth} and {args.block}")
        fit(args)


if __name__ == "__main__":
    main()
