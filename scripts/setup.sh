#!/usr/bin/env bash
# Set up gannet in ./.venv: PyTorch (the CPU build unless an NVIDIA GPU is present),
# gannet itself in editable mode, and the test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  python -c "import torch" 2>/dev/null || pip install -q torch
else
  # An unpinned torch pulls a multi-GB CUDA build; 2.13.0 resolves to the local CPU build.
  python -c "import torch, sys; sys.exit(torch.__version__ != '2.13.0+cpu')" 2>/dev/null \
    || pip install -q "torch==2.13.0"
fi
pip install -q -e ".[dev,onnx,tensorboard,video]"   # the optional extras, so their tests run
echo "gannet is set up in .venv (activate with: . .venv/bin/activate)"
