#!/usr/bin/env python3
"""An independent PyTorch implementation of DistillNetworks' ConvNet-3 evaluation.

Same network (DC's ConvNet: three blocks of 3x3 conv with 128 channels, GroupNorm(128, 128)
= instance norm with affine parameters, ReLU, 2x2 average pooling; the first convolution pads
one-channel images by 3; a linear classifier on 2048 features) and the same protocol (DC's
`evaluate_synset`: SGD lr 0.01, momentum 0.9, weight decay 5e-4, batch 256 shuffled, `epochs`
epochs with the rate divided by 10 (new optimiser) from epoch epochs/2, cross-entropy; MNIST
normalised with mean 0.1307, std 0.3081). Random real images are drawn per seed with numpy.

Prints one JSON line: seeds, test accuracies, their mean and population std, and seconds per
evaluation (training + testing on the test images), timed on `--threads` CPU threads.
Run through tools/pytorch-reference.sh, which makes the virtual environment.
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
import torch
import torch.nn as nn


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def convnet(channels, classes, width=128, depth=3):
    layers, c, size = [], channels, 32
    for d in range(depth):
        layers += [nn.Conv2d(c, width, 3, padding=3 if channels == 1 and d == 0 else 1),
                   nn.GroupNorm(width, width, affine=True), nn.ReLU(inplace=True), nn.AvgPool2d(2, 2)]
        c, size = width, size // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(width * size * size, classes))


def evaluate(x_train, y_train, x_test, y_test, epochs, seed):
    torch.manual_seed(seed)
    net = convnet(1, 10)
    lr = 0.01
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    n = x_train.shape[0]
    start = time.perf_counter()
    net.train()
    for epoch in range(epochs):
        if epoch == epochs // 2 and epoch > 0:
            lr *= 0.1
            opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
        order = torch.randperm(n)
        for b in range(0, n, 256):
            idx = order[b:b + 256]
            opt.zero_grad()
            loss_fn(net(x_train[idx]), y_train[idx]).backward()
            opt.step()
    net.eval()
    right = 0
    with torch.no_grad():
        for b in range(0, x_test.shape[0], 256):
            right += (net(x_test[b:b + 256]).argmax(1) == y_test[b:b + 256]).sum().item()
    return right / x_test.shape[0], time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--images-per-class", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--test-count", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--indices", help="JSON from distill-network-bench: train on its train_indices (same images)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    def tensor(images):
        return torch.tensor((images.astype(np.float32) / 255 - 0.1307) / 0.3081).unsqueeze(1)

    train_x = load_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    train_y = load_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    test_x = tensor(load_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))[:args.test_count])
    test_y = torch.tensor(load_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))[:args.test_count].astype(np.int64))
    accuracies, seconds = [], []
    given = json.load(open(args.indices))["train_indices"] if args.indices else None
    for seed in range(1, args.seeds + 1):
        rng = np.random.default_rng(seed)
        picked = np.array(given[seed - 1]) if given else np.concatenate(
            [rng.choice(np.flatnonzero(train_y == c), args.images_per_class, replace=False) for c in range(10)])
        acc, sec = evaluate(tensor(train_x[picked]), torch.tensor(train_y[picked].astype(np.int64)),
                            test_x, test_y, args.epochs, seed)
        accuracies.append(acc)
        seconds.append(sec)
    print(json.dumps({"implementation": f"pytorch {torch.__version__}", "threads": args.threads,
                      "images": "distill-network-bench's train_indices" if given else "numpy default_rng(seed) per class",
                      "images_per_class": args.images_per_class, "epochs": args.epochs,
                      "test_images": int(test_x.shape[0]), "seeds": list(range(1, args.seeds + 1)),
                      "test_accuracies": accuracies, "test_accuracy_mean": float(np.mean(accuracies)),
                      "test_accuracy_std": float(np.std(accuracies)), "seconds": seconds}))


if __name__ == "__main__":
    main()
