#!/usr/bin/env bash
# One-shot GPU check (not part of the test suite): training throughput fp32 vs bf16-mixed+channels_last,
# the attack benchmarks on the GPU, a time-boxed 256 px ResNet-50 training run with the GPU config, its
# clean test error and a quick attack sweep on it. Every stage has its own time limit and a failing stage
# does not stop the next one. Logs go to $OUT (default gpu_out/).
#
#   bash benchmarks/gpu_check.sh [MODEL] [TRAIN_MINUTES]      # e.g. heatmap_depth 3
#   EPOCHS=30 bash benchmarks/gpu_check.sh triangulation 45     # max_epochs (default 8) for the cosine schedule
#
# Needs a CUDA machine with torch, pytorch-lightning, torchmetrics, opencv and jsonargparse[signatures]
# (W&B is switched off here: --run.wandb false).
set -uo pipefail
MODEL=${1:-heatmap_depth}
MINUTES=${2:-3}
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD
PY=${PY:-python3}
CFG=(--config "configs/model/$MODEL.yaml" --config configs/data/synthetic.yaml --config configs/trainer/gpu.yaml
     --run.wandb false --data.num_workers "$(( $(nproc) - 2 ))")
stage() { echo; echo "=== $1 ($(date +%T))"; }

stage env
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch, pytorch_lightning as pl, cv2; print('torch', torch.__version__, 'lightning', pl.__version__,
'cv2', cv2.__version__, 'cpus', __import__('os').cpu_count())"

stage "training throughput, 256 px ResNet-50, batch 64 images"
for m in regression volumetric heatmap_depth triangulation; do
  timeout 45 $PY benchmarks/train_throughput.py --model $m --backbone resnet50 --size 256 --batch 64 --steps 10
done

stage "attack benchmark: stand-in CNN, 64 px, batch 32"
timeout 45 $PY benchmarks/bench_attacks.py --device cuda --batch 32 --size 64 --repeats 2 --max-batch auto
stage "attack benchmark: regression ResNet-50 (untrained), 256 px, batch 16"
timeout 75 $PY benchmarks/bench_attacks.py --device cuda --model regression --backbone resnet50 --size 256 \
  --batch 16 --repeats 1 --max-batch auto

MAX_TIME=$(printf '00:%02d:%02d:00' $(( MINUTES / 60 )) $(( MINUTES % 60 )))
stage "fit $MODEL, GPU config, ${MINUTES} min"
timeout $(( MINUTES * 60 + 45 )) $PY -m poselab.cli fit "${CFG[@]}" --trainer.max_time "$MAX_TIME" --trainer.max_epochs "${EPOCHS:-8}" \
  --trainer.enable_progress_bar false --checkpoint.dirpath gpu_ckpt
cp runs/csv/"$MODEL"/version_0/metrics.csv "$OUT/fit_metrics.csv" 2>/dev/null
ls -la gpu_ckpt

stage "test $MODEL (clean, best checkpoint)"
timeout 45 $PY -m poselab.cli test "${CFG[@]}" --ckpt_path "gpu_ckpt/$MODEL.ckpt" --trainer.enable_progress_bar false

stage "quick attack sweep on $MODEL"
timeout 90 $PY -m poselab.cli test "${CFG[@]}" --config configs/attack/quick.yaml --ckpt_path "gpu_ckpt/$MODEL.ckpt" \
  --trainer.enable_progress_bar false
cp results/attack-quick/"$MODEL"-synthetic/results.csv "$OUT/attack_results.csv" 2>/dev/null
cp results/attack-quick/"$MODEL"-synthetic/tables.md "$OUT/attack_tables.md" 2>/dev/null
stage done
