#!/usr/bin/env bash
# GPU readiness, in at most ~5 minutes so it can be rerun within a short GPU slot:
#   1. the policy step benchmark (ACT) with CUDA and bf16 autocast: ours vs bare PyTorch (and vs LeRobot's own step
#      when a LeRobot virtualenv is there: scripts/lerobot_check);
#   2. a two-trial GPU sweep of the demo task (ACT on MetaWorld button-press, 300 steps) with asynchronous evaluation,
#      the evaluators sharing the GPU (resources.gpus_per_eval_actor=0.25);
#   3. GPU utilisation sampled by nvidia-smi every 0.5 s, summarised per phase.
# Results land in ${OUT:-outputs/gpu_check}; paste the summary lines into benchmarks/README.md.
# On a machine without an NVIDIA GPU it says so in one line and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
SMI=${NVIDIA_SMI:-nvidia-smi}  # (a test points it elsewhere to see the refusal on any machine)
if ! command -v "$SMI" >/dev/null 2>&1 || ! "$SMI" -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi finds none): nothing to check" >&2
  exit 2
fi
OUT=${OUT:-outputs/gpu_check}
mkdir -p "$OUT"
[ -x .venv/bin/python ] || bash scripts/setup.sh
PY=.venv/bin/python
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: this .venv's torch ($("$PY" -c 'import torch; print(torch.__version__)')) cannot use the GPU:" \
       "install a CUDA build of the same version (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128)" >&2
  exit 2
fi
export RAY_USAGE_STATS_ENABLED=0 WANDB_MODE=offline
"$SMI" --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 \
  > "$OUT/gpu_util.csv" &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT
mark() { echo "$1 $(date +%s.%N)" >> "$OUT/phases.txt"; }
: > "$OUT/phases.txt"

mark bench_start
LEROBOT=()
[ -x scripts/lerobot_check/.venv/bin/python ] && LEROBOT=(--lerobot-python scripts/lerobot_check/.venv/bin/python) \
  || LEROBOT=(--no-lerobot)
timeout 150 "$PY" benchmarks/bench_policies.py --device cuda --amp --policies act --repeats 3 --no-memory \
  "${LEROBOT[@]}" 2>&1 | tee "$OUT/bench_policies.txt" | grep -E "RATIO|s/step" || true
mark bench_end

mark sweep_start
rm -rf "$OUT/sweeps/gpu_check"
timeout 240 "$PY" -m orchestrator sweep search_spaces/act_metaworld.py --resources.use_gpu=true \
  --resources.gpus_per_eval_actor=0.25 --tune.num_samples=2 --tune.max_concurrent_trials=2 --steps=300 \
  --eval_freq=100 --save_freq=100 --tune.baseline=false --tune.confirm_top_k=1 --tune.confirm_episodes=10 \
  --tune.storage_path="$OUT/sweeps" --tune.experiment_name=gpu_check > "$OUT/sweep.log" 2>&1 \
  && echo "gpu_check: sweep finished: $OUT/sweeps/gpu_check/summary.json" \
  || echo "gpu_check: sweep FAILED (exit $?): see $OUT/sweep.log"
mark sweep_end
kill $SAMPLER 2>/dev/null || true

"$PY" - "$OUT" <<'PY'
import sys, datetime
from pathlib import Path
out = Path(sys.argv[1])
marks = dict(line.split() for line in (out / "phases.txt").read_text().splitlines())
samples = []
for line in (out / "gpu_util.csv").read_text().splitlines():
    try:
        stamp, util, mem = [x.strip() for x in line.split(",")]
        t = datetime.datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f").timestamp()
        samples.append((t, float(util), float(mem)))
    except ValueError:
        continue
for phase in ("bench", "sweep"):
    start, end = float(marks[f"{phase}_start"]), float(marks[f"{phase}_end"])
    inside = [(u, m) for t, u, m in samples if start <= t <= end]
    if inside:
        print(f"gpu_check: {phase}: {end - start:.0f} s, GPU utilisation mean {sum(u for u, _ in inside) / len(inside):.0f} %"
              f", max {max(u for u, _ in inside):.0f} %, memory max {max(m for _, m in inside):.0f} MiB ({len(inside)} samples)")
    else:
        print(f"gpu_check: {phase}: {end - start:.0f} s, no utilisation samples (nvidia-smi's clock vs ours?)")
PY
