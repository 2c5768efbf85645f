"""JAX reference timing for Distill's NTK outer step (run through ntk-jax-reference.sh).

Computes, on the whole MNIST training set, the KIP loss of kernel ridge
regression with the NTK of a fully connected ReLU network on a synthetic set S
(k real images per class), and its gradient with respect to S and the targets T
(through the linear solve, as Distill's hypergradient), in Float32 on the CPU:

    U = (S - mean)/std,  K = Θ(U, U),  α = (K + l2 tr(K)/m I)⁻¹ T,
    L = (1/2n) Σ_i ‖Θ(x̃_i, U) α - y_i‖²,   y_i, T: one-hot minus 1/C.

Θ is the closed-form arc-cosine recursion Distill uses (depth, weight and bias
variances as `distill run --model ntk`). Prints the median wall time of the jitted
value-and-gradient per size, in one JSON line per size.
"""
import argparse
import gzip
import json
import os
import statistics
import time
import signal

# A reader that stops early (| head) ends the script quietly, without a BrokenPipeError.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

import numpy as np
import jax
import jax.numpy as jnp


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise SystemExit(f"{folder}: expected {stem}[.gz]")


def ntk(x, y, qx, qy, depth, w, b):
    """Θ(x, y) for rows of x (n x p) and y (m x p), standardised; qx, qy: Σ_1 diagonals."""
    p = x.shape[1]
    sigma = w * (x @ y.T) / p + b
    theta = sigma
    qx, qy = qx[:, None], qy[None, :]
    for _ in range(depth):
        norm = jnp.sqrt(qx * qy)
        c = jnp.clip(sigma / norm, -1 + 1e-6, 1 - 1e-6)
        t = jnp.arccos(c)
        k = norm * (jnp.sqrt(1 - c * c) + (jnp.pi - t) * c) / (2 * jnp.pi)
        kd = (jnp.pi - t) / (2 * jnp.pi)
        sigma = w * k + b
        theta = sigma + w * kd * theta
        qx, qy = w * qx / 2 + b, w * qy / 2 + b
    return theta


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--images-per-class", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--weight-variance", type=float, default=2.0)
    parser.add_argument("--bias-variance", type=float, default=0.01)
    parser.add_argument("--l2", type=float, default=0.1)
    a = parser.parse_args()

    images = read_idx(find(a.data, "train-images-idx3-ubyte"))
    labels = read_idx(find(a.data, "train-labels-idx1-ubyte")).astype(np.int64)
    n, p = images.shape[0], images.shape[1] * images.shape[2]
    x = images.reshape(n, p).astype(np.float32) / 255
    mean, std = float(x.mean()), float(x.std())
    classes = int(labels.max()) + 1
    xs = jnp.asarray((x - mean) / std)
    y = jnp.asarray(np.eye(classes, dtype=np.float32)[labels] - 1 / classes)
    w, b, depth = a.weight_variance, a.bias_variance, a.depth
    qx = w * jnp.sum(xs * xs, axis=1) / p + b

    def loss(s, t):
        u = (s - mean) / std
        qu = w * jnp.sum(u * u, axis=1) / p + b
        k = ntk(u, u, qu, qu, depth, w, b)
        m = s.shape[0]
        alpha = jnp.linalg.solve(k + a.l2 * jnp.trace(k) / m * jnp.eye(m), t)
        f = ntk(xs, u, qx, qu, depth, w, b) @ alpha
        return 0.5 * jnp.sum((f - y) ** 2) / n

    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    for k in a.images_per_class:
        rows = np.concatenate([np.flatnonzero(labels == c)[:k] for c in range(classes)])
        s = jnp.asarray(x[rows])
        t = jnp.asarray(np.eye(classes, dtype=np.float32)[labels[rows]] - 1 / classes)
        value, grads = step(s, t)
        jax.block_until_ready(grads)
        times = []
        for _ in range(a.repetitions):
            start = time.perf_counter()
            value, grads = step(s, t)
            jax.block_until_ready(grads)
            times.append(time.perf_counter() - start)
        print(json.dumps({"images_per_class": k, "support_images": int(s.shape[0]), "train_images": n,
                          "depth": depth, "loss": float(value), "median_ms": 1000 * statistics.median(times),
                          "repetitions": a.repetitions, "jax": jax.__version__,
                          "devices": [str(d) for d in jax.devices()]}), flush=True)


if __name__ == "__main__":
    main()
