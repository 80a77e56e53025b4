#!/usr/bin/env bash
# The GPU check (issue 26): what a session with a CUDA GPU runs once, in under 8 minutes, to
# see gannet's device paths work and how fast they are. Results go under $OUT when it is
# set, else gpu-check-results/ (one log per part, plus summary.txt). On a machine without
# CUDA it says so in one line and exits 0. Documented in docs/scaling.md ("The GPU check").
#
#   bash scripts/gpu-check.sh            # after scripts/setup.sh (torch with CUDA)
#
# Parts (each with its own time limit; a part that fails is recorded and the next one runs):
#   1. the device-agnostic tests on cuda   (pytest -m device --device cuda)
#   2. benchmarks/throughput.py, ~30 s each: fp32, bf16, fp16, and fp32 with train.compile
#   3. benchmarks/inference.py --quick
#   4. a 1-minute DCGAN run on a CIFAR-like image folder (data.name = "folder") in bf16,
#      stopped at 30 s and resumed to 60 s (train.max_minutes)
#   5. a run through --nproc 1, and a 1-rank nccl process group's all_reduce
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
PY=${PYTHON:-python}
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu-check: no CUDA GPU here (torch.cuda.is_available() is False); nothing to check"
  exit 0
fi
RES=${OUT:-gpu-check-results}
mkdir -p "$RES"
RES=$(cd "$RES" && pwd)
SUMMARY="$RES/summary.txt"
: >"$SUMMARY"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gannet-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export GANNET_DATA=${GANNET_DATA:-$WORK/data}

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'bf16', torch.cuda.is_bf16_supported())"
} | tee -a "$SUMMARY"

part() {  # part NAME SECONDS COMMAND...: run with a time limit, log, record the outcome
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$RES/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - start)) s (log: $name.log)" | tee -a "$SUMMARY"
}

# 1. Device-agnostic tests on the GPU.
part tests 150 "$PY" -m pytest -q -m device --device cuda -p no:cacheprovider tests

# 2. Throughput, about 30 s per precision (each writes its JSON under $RES).
for prec in fp32 bf16 fp16; do
  part "throughput-$prec" 90 "$PY" benchmarks/throughput.py --precisions "$prec" \
    --iters 50 --repeats 5 --out "$RES/throughput-$prec.json"
done
part throughput-compile 150 "$PY" benchmarks/throughput.py --precisions fp32 \
  --iters 50 --repeats 5 --set train.compile=true --out "$RES/throughput-compile.json"

# 3. Inference.
part inference 60 "$PY" benchmarks/inference.py --quick --out "$RES/inference.json"

# 4. DCGAN on a CIFAR-like folder (2,000 random 32x32 PNGs in 10 class folders), bf16,
#    30 s, then resumed to 60 s.
"$PY" - "$WORK/folder" <<'EOF'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

root, rng = Path(sys.argv[1]), np.random.default_rng(0)
for c in range(10):
    (root / f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(200):
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"class{c}" / f"{i:04d}.png")
EOF
DCGAN=(configs/cifar10-dcgan.toml --data-dir "$WORK/folder" --set 'data.name="folder"'
  --set data.image_size=32 --set data.validation_size=0 --set 'train.precision="bf16"'
  --set 'train.progress="lines"' --set train.device='"cuda"')
part dcgan-bf16 120 gannet train "${DCGAN[@]}" --set train.max_minutes=0.5 --out "$WORK/dcgan"
part dcgan-bf16-resume 120 gannet train --resume "$WORK/dcgan" --set train.max_minutes=1
cp "$WORK/dcgan/metrics.jsonl" "$WORK/dcgan/run.json" "$RES/" 2>/dev/null

# 5. --nproc 1 (gannet then runs in one process, without a process group), and nccl itself:
#    a 1-rank process group on the GPU with the gradient all_reduce gannet's World uses.
part nproc1 120 gannet train "${DCGAN[@]}" --nproc 1 --set train.max_steps=50 \
  --out "$WORK/nproc1"
part nccl-1rank 60 "$PY" -c "
import torch, torch.distributed as dist
dist.init_process_group('nccl', init_method='tcp://127.0.0.1:29531', rank=0, world_size=1)
t = torch.ones(1 << 20, device='cuda'); dist.all_reduce(t)
assert float(t.sum()) == (1 << 20), 'nccl all_reduce gave a wrong sum'
dist.destroy_process_group(); print('nccl 1-rank all_reduce ok')"

echo "gpu-check: done; results in $RES" | tee -a "$SUMMARY"
