#!/usr/bin/env bash
# The main job: set up, train the paper's MNIST GAN for a few minutes with an exponential
# moving average of G (the recipe that gives the best picture in that budget), score it with
# the paper's Parzen-window protocol, draw Figure 2's nearest-neighbour check, and print a
# summary a person reads.
#   bash scripts/quickstart.sh                          # 10 epochs, a few minutes on 2 cores
#   bash scripts/quickstart.sh --set train.epochs=300   # the paper's full schedule
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if [ -z "${GANNET_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
  export GANNET_DATA="$(cd ../shared/data && pwd)"
fi
start=$(date +%s)
out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
gannet train configs/mnist-paper.toml --out "$out" \
  --set train.ema=0.999 --set train.epochs=10 "$@"
gannet eval parzen "$out"
gannet figure samples "$out" --out "$out/nearest.png"
python - "$out" "$start" <<'EOF'
import json, sys, time
from pathlib import Path

run, start = Path(sys.argv[1]), int(sys.argv[2])
score = json.loads((run / "eval" / "parzen.json").read_text())
epochs = sorted((run / "samples").glob("epoch-*.png"))
minutes = (time.time() - start) / 60
print(f"""
gannet quickstart: the paper's MNIST GAN after {len(epochs)} epoch(s), EMA of G ({minutes:.1f} min)

  Parzen log-likelihood on MNIST's test set (nats; higher is better)
    this run          {score["test_ll"]:7.1f} ± {score["test_se"]:.1f}
    the paper         225.0 ± 2.0   (Table 1, the full schedule: about 300 epochs)
    real images       241.2 ± 2.1   (10,000 training images as the samples)

  samples             {epochs[-1] if epochs else run / "samples"}
  nearest neighbours  {run / "nearest.png"}   (Figure 2: each sample beside its nearest
                      training image; a copy would look identical)
  curves              {run / "curves.png"}

  go on (after `. .venv/bin/activate`):
    the paper's full schedule   gannet train --resume {run} --set train.epochs=300
    what the run holds          gannet info {run}
    the theory, made visible    gannet playground
    every command               README.md's tour and docs/
""")
EOF
