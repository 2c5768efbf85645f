#!/bin/sh
# Times JAX (CPU) computing the full-data KIP loss and its gradient for the NTK
# model, as Distill's outer step computes them. Creates its own virtual
# environment outside the repository (~/.cache/distill/jax-venv) on first use.
#
#   tools/ntk-jax-reference.sh [--data data/mnist] [--images-per-class 1 10] [--repetitions 10]
set -eu
VENV="${DISTILL_JAX_VENV:-$HOME/.cache/distill/jax-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "jax[cpu]" numpy
fi
exec "$VENV/bin/python" "$(dirname "$0")/ntk-jax-reference.py" "$@"
