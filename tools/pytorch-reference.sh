#!/usr/bin/env bash
# Runs tools/pytorch-reference.py (PyTorch's ConvNet-3 under DC's protocol on random
# real MNIST images) in its own virtual environment, made on first use outside the
# repository with the CPU wheel of torch. Never a dependency of Distill.
#
# Usage: tools/pytorch-reference.sh [--images-per-class K] [--seeds N] [--epochs E]
#                                   [--test-count T] [--threads T]
# Environment: DISTILL_TORCH_VENV (default ~/.cache/distill/torch-venv), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${DISTILL_TORCH_VENV:-$HOME/.cache/distill/torch-venv}"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet numpy
    "$venv/bin/pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu \
        || "$venv/bin/pip" install --quiet torch
fi
exec "$venv/bin/python" tools/pytorch-reference.py "$@"
