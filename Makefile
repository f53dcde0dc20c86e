# poselab — two commands: `make setup`, `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Known-good torch/torchvision pair installed first; GPU users may override, e.g.
#   make setup TORCH_SPEC="torch==2.5.1 torchvision==0.20.1 --index-url https://download.pytorch.org/whl/cu124"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?= -q

.PHONY: setup test lint
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[dev]"
	# test-only reference for the corruptions; --no-deps: it requires the GUI opencv-python, which would
	# overwrite opencv-python-headless's cv2 (its other requirements are in the dev extra)
	$(PY) -m pip install -q --no-deps "imagecorruptions==1.1.2"
	# test-only reference for APGD / Square (tests/test_strong_attacks.py); --no-deps: it pins
	# requests~=2.25.1, older than wandb's; its other requirements (scipy, tqdm, numpy) are installed
	$(PY) -m pip install -q --no-deps "torchattacks==3.5.1"
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check poselab tests benchmarks

# Adversarial evaluation of the shipped checkpoints: `make attack-eval [MODEL=all|regression|...]
# [ATTACK=quick|paper] [DATA=synthetic|h36m] [TRAINER=cpu|gpu|...]`. Runs `poselab test` with
# configs/trainer/$(TRAINER).yaml and configs/attack/$(ATTACK).yaml per model, then prints the four paper
# tables of all evaluated models (results/attack-$(ATTACK)/). Model hyper-parameters come from the checkpoint,
# the data sizes (image_size) from the trainer config: pick the TRAINER the checkpoints were trained with.
MODEL ?= all
ATTACK ?= quick
DATA ?= synthetic
TRAINER ?= cpu
TRAINERS := $(basename $(notdir $(wildcard configs/trainer/*.yaml)))
ATTACK_MODELS := regression volumetric heatmap_depth triangulation
ATTACK_ARGS ?=
.PHONY: attack-eval
attack-eval: $(VENV)/.installed
	@if [ "$(MODEL)" != all ] && [ -z "$(filter $(MODEL),$(ATTACK_MODELS))" ]; then \
	  echo "error: unknown MODEL='$(MODEL)'; expected all or one of: $(ATTACK_MODELS)" >&2; exit 2; fi
	@if [ ! -f configs/attack/$(ATTACK).yaml ]; then \
	  echo "error: unknown ATTACK='$(ATTACK)'; expected quick, paper or a configs/attack/*.yaml name" >&2; exit 2; fi
	@if [ -n "$(findstring /,$(TRAINER))" ] || [ ! -f configs/trainer/$(TRAINER).yaml ]; then \
	  echo "error: unknown TRAINER='$(TRAINER)'; expected one of: $(TRAINERS)" >&2; exit 2; fi
	@set -e; models="$(if $(filter all,$(MODEL)),$(ATTACK_MODELS),$(MODEL))"; \
	for m in $$models; do \
	  echo "== attack-eval: $$m ($(ATTACK), $(DATA))"; \
	  $(VENV)/bin/poselab test --config configs/model/$$m.yaml --config configs/data/$(DATA).yaml \
	    --config configs/trainer/$(TRAINER).yaml --config configs/attack/$(ATTACK).yaml \
	    --ckpt_path checkpoints/$$m.ckpt $(ATTACK_ARGS); \
	done; \
	$(PY) -m poselab.reporting.paper_tables $$(for m in $$models; do echo results/attack-$(ATTACK)/$$m-$(DATA)/results.csv; done)

# Compare saved attack results (never re-runs attacks): make report RESULTS="results" REPORT_OUT=reports/latest
RESULTS ?= results
REPORT_OUT ?= reports/latest
REPORT_ARGS ?=
.PHONY: report transfer
report: $(VENV)/.installed
	$(PY) -m poselab.cli report $(RESULTS) --out $(REPORT_OUT) $(REPORT_ARGS)

# Transfer matrix between the shipped monocular checkpoints (64 px synthetic test data), written to
# $(RESULTS)/transfer/transfer.csv, which `make report` reads. TRANSFER_ARGS adds/overrides, e.g.
#   make transfer TRANSFER_ARGS="--eps 2 --steps 10 --batches 32"
TRANSFER_ARGS ?=
transfer: $(VENV)/.installed
	$(PY) -m poselab.analysis.transfer --model regression --model volumetric --model heatmap_depth \
	  --eps 8 --steps 10 --batches 16 --out $(RESULTS)/transfer $(TRANSFER_ARGS)

# Plain vs adversarial fine-tuning of one shipped checkpoint (same data, seed and steps), then the
# untargeted attack on both: $(RESULTS)/adv_compare/<model>_{plain,adv}; `make report` compares them.
#   make adv-compare [MODEL=regression] [ADV_ARGS="--steps 800 --eps 8"]
ADV_ARGS ?=
.PHONY: adv-compare
adv-compare: $(VENV)/.installed
	@m="$(if $(filter all,$(MODEL)),regression,$(MODEL))"; \
	case "$$m" in regression|volumetric|heatmap_depth) ;; \
	  *) echo "error: adv-compare takes a monocular MODEL (regression, volumetric, heatmap_depth), got '$$m'" >&2; \
	     exit 2;; esac; \
	$(PY) -m poselab.analysis.adv_compare --model $$m --init checkpoints/$$m.ckpt --lr 5e-4 --steps 400 \
	  --batch-size 32 --eps 4 --adv-steps 3 --fraction 0.5 --attack-eps 2,8 --attack-iterations 1,10 \
	  --max-batches 4 --out $(RESULTS)/adv_compare $(ADV_ARGS)

# Train a baseline: `make train MODEL=regression|volumetric|heatmap_depth|triangulation
# [TRAINER=cpu|smoke|gpu|ddp] [DATA=synthetic|h36m] [RESUME=1] [TRAIN_ARGS="--trainer.max_epochs 5"]`.
# Writes runs/checkpoints/$(MODEL).ckpt (best val/mpjpe) and runs/checkpoints/$(MODEL)-last.ckpt (RESUME=1
# continues from it: --ckpt_path last = <checkpoint.dirpath>/$(MODEL)-last.ckpt); logs under runs/.
# The shipped, git-tracked checkpoints/$(MODEL).ckpt is replaced only with SHIP=1 (--checkpoint.dirpath checkpoints).
# configs/trainer/$(TRAINER)/$(MODEL).yaml, where it exists, is composed after configs/trainer/$(TRAINER).yaml
# (per-model sizes, e.g. configs/trainer/cpu/volumetric.yaml: the shipped checkpoints' depth bins).
TRAIN_MODELS := regression volumetric heatmap_depth triangulation
RESUME ?=
SHIP ?=
TRAIN_ARGS ?=
TRAIN_OVERLAY = $(wildcard configs/trainer/$(TRAINER)/$(MODEL).yaml)
.PHONY: train
train: $(VENV)/.installed
	@if [ -z "$(filter $(MODEL),$(TRAIN_MODELS))" ] || [ "$(words $(MODEL))" != 1 ]; then \
	  echo "error: unknown MODEL='$(MODEL)'; expected one of: $(TRAIN_MODELS)" >&2; exit 2; fi
	@if [ -n "$(findstring /,$(TRAINER))" ] || [ ! -f configs/trainer/$(TRAINER).yaml ]; then \
	  echo "error: unknown TRAINER='$(TRAINER)'; expected one of: $(TRAINERS)" >&2; exit 2; fi
	$(PY) -m poselab.cli fit --config configs/model/$(MODEL).yaml --config configs/data/$(DATA).yaml \
	  --config configs/trainer/$(TRAINER).yaml $(addprefix --config ,$(TRAIN_OVERLAY)) \
	  $(if $(SHIP),--checkpoint.dirpath checkpoints) $(if $(RESUME),--ckpt_path last) $(TRAIN_ARGS)

# Picture of the synthetic data (4 samples x 4 views, 2D skeletons over): make preview [PREVIEW_ARGS="--tile 256"]
PREVIEW_ARGS ?=
.PHONY: preview
preview: $(VENV)/.installed
	$(PY) -m poselab.cli preview-data --out docs/preview.png --data configs/data/synthetic.yaml --samples 4 \
	  --image-size 256 --tile 200 $(PREVIEW_ARGS)
