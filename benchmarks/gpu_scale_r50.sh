#!/usr/bin/env bash
# The r50-256 point of the scale study on one lent GPU, as one prepared script (not part of the test suite):
# trains the four baselines at scale r50-256 (configs/trainer/gpu.yaml + configs/scale/r50-256/, ResNet-50 at
# 256 px, bf16-mixed) TIME-BOXED to MINUTES each, exports each best epoch weights-only in fp16
# (checkpoints/r50-256/<model>.ckpt, cap configs/scale/r50-256/max_mb: these files are not committed to git),
# then runs the scale study's grids (configs/attack/scale*.yaml) on them. Every stage has its own time limit
# and a failing stage does not stop the next one. Results and logs go to $OUT (default gpu_out/); afterwards,
# on the CPU machine: `make scale-study STUDY_EVAL=0 STUDY_EXTRA="r50-256=<those results roots, comma-joined>"`.
#
#   bash benchmarks/gpu_scale_r50.sh [MINUTES] [MODELS...]     # e.g. 2 (4 x 2 min + ~3 min of attacks)
#
# Budget: with MINUTES=2 the four fits take ~10 min with start-up and validation; the grids ~3 min on an
# H200. Needs a CUDA machine with torch, pytorch-lightning, torchmetrics, opencv, jsonargparse[signatures]
# (W&B off: --run.wandb false).
set -uo pipefail
MINUTES=${1:-2}
shift || true
MODELS=${*:-regression volumetric heatmap_depth triangulation}
OUT=${OUT:-gpu_out}
GRIDS=${GRIDS:-scale scale_corruptions scale_targeted scale_strong}
mkdir -p "$OUT" checkpoints/r50-256
export PYTHONUNBUFFERED=1 PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD
PY=${PY:-python3}
MAX_MB=$(cat configs/scale/r50-256/max_mb)
MAX_TIME=$(printf '00:%02d:%02d:00' $(( MINUTES / 60 )) $(( MINUTES % 60 )))
stage() { echo; echo "=== $1 ($(date +%T))"; }
cfg() {  # the composition of `make train|attack-eval MODEL=$1 SCALE=r50-256` (configs/scale/README.md)
  echo --config "configs/model/$1.yaml" --config configs/data/synthetic.yaml --config configs/trainer/gpu.yaml
  [ -f "configs/trainer/gpu/$1.yaml" ] && echo --config "configs/trainer/gpu/$1.yaml"
  echo --config configs/scale/r50-256/trainer.yaml
  [ -f "configs/scale/r50-256/$1.yaml" ] && echo --config "configs/scale/r50-256/$1.yaml"
  echo --run.wandb false --data.num_workers "$(( $(nproc) - 2 ))" --trainer.enable_progress_bar false
}

stage env
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch, pytorch_lightning as pl; print('torch', torch.__version__, 'lightning', pl.__version__)"

for m in $MODELS; do
  stage "fit $m at r50-256, ${MINUTES} min"
  # shellcheck disable=SC2046
  timeout $(( MINUTES * 60 + 90 )) $PY -m poselab.cli fit $(cfg "$m") --trainer.max_time "$MAX_TIME" \
    2>&1 | tail -n 20 | tee "$OUT/fit_$m.log"
  cp "runs/csv/$m-r50-256/version_0/metrics.csv" "$OUT/fit_metrics_$m.csv" 2>/dev/null
  $PY -m poselab.models.export "runs/r50-256/checkpoints/$m.ckpt" "checkpoints/r50-256/$m.ckpt" --max-mb "$MAX_MB"
done

for g in $GRIDS; do
  for m in $MODELS; do
    stage "attack grid $g on $m"
    # shellcheck disable=SC2046
    timeout 240 $PY -m poselab.cli test $(cfg "$m") --config "configs/attack/$g.yaml" \
      --ckpt_path "checkpoints/r50-256/$m.ckpt" --attack_evaluation.init_args.out_dir "results/attack-$g-r50-256" \
      --attack_evaluation.init_args.max_batch auto 2>&1 | tail -n 5
  done
  mkdir -p "$OUT/results"
  cp -r "results/attack-$g-r50-256" "$OUT/results/" 2>/dev/null
done
stage done
