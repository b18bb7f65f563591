#!/usr/bin/env bash
# CUDA throughput of fit() (live instrumentation, bf16 autocast) vs a bare loop, in one go.
# Run on a machine with a GPU, from the repository root:  bash bench/gpu_training.sh
# Prints the same human and `BENCH name value unit` lines as the CPU figures (names end in _cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
"$PY" - <<'PYEOF'
import torch
assert torch.cuda.is_available(), "no CUDA device visible"
print("GPU:", torch.cuda.get_device_name(0), "| bf16:", torch.cuda.is_bf16_supported())
PYEOF
EXPLORER_DEVICE=cuda "$PY" bench/bench_training.py --device cuda --repeats 5 --skip-datasets
# Jobs on the GPU slot: steps/s watched vs not, and four runs queued at once (names end in _cuda).
EXPLORER_DEVICE=cuda "$PY" bench/bench_jobs.py --device cuda
