#!/usr/bin/env bash
# The main job: set up, train the paper's MNIST GAN (5 epochs by default), write its samples
# and curves, and score it with the paper's Parzen-window protocol.
#   bash scripts/quickstart.sh                          # short budget
#   bash scripts/quickstart.sh --set train.epochs=300   # the full schedule
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if [ -z "${GANNET_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
  export GANNET_DATA="$(cd ../shared/data && pwd)"
fi
out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
gannet train configs/mnist-paper.toml --out "$out" "$@"
gannet eval parzen "$out"
echo "samples: $out/samples/   curves: $out/curves.png   score: $out/eval/parzen.json"
