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
	$(VENV)/bin/ruff check poselab tests benchmarks studies examples

# Adversarial evaluation of the shipped checkpoints: `make attack-eval [MODEL=all|regression|...]
# [ATTACK=quick|paper] [DATA=synthetic|h36m] [TRAINER=cpu|gpu|...] [ATTACK_OUT=<folder>]`. Runs `poselab test` with
# configs/trainer/$(TRAINER).yaml and configs/attack/$(ATTACK).yaml per model, all in one process
# (`poselab attack-eval`: the imports are paid once; each run writes its own report into
# results/attack-$(ATTACK)/<model>-$(DATA)/, its tables not printed), then writes and prints the report
# comparing all evaluated models (results/attack-$(ATTACK)/report-$(DATA)/: every table printed once) and logs
# it to W&B in the runs' group (the grid). Model hyper-parameters come from the checkpoint,
# the data sizes (image_size) from the trainer config: pick the TRAINER the checkpoints were trained with.
MODEL ?= all
ATTACK ?= quick
DATA ?= synthetic
TRAINER ?= cpu
TRAINERS := $(basename $(notdir $(wildcard configs/trainer/*.yaml)))
# Model scales (configs/scale/README.md): SCALE=r18-128 (ResNet-18, 128 px) or r50-256 (ResNet-50, 256 px,
# GPU) composes configs/scale/$(SCALE)/trainer.yaml after the trainer config (TRAINER defaults to the
# scale's base_trainer) and reads/writes checkpoints/$(SCALE)/<model>.ckpt and results/attack-$(ATTACK)-$(SCALE)/.
# Empty or tiny-64: the default tiny CNN at 64 px (checkpoints/<model>.ckpt, results/attack-$(ATTACK)/).
SCALE ?=
SCALES := tiny-64 $(notdir $(patsubst %/trainer.yaml,%,$(wildcard configs/scale/*/trainer.yaml)))
SCALE_DIR := $(if $(filter-out tiny-64,$(SCALE)),configs/scale/$(SCALE))
ifneq ($(SCALE_DIR),)
ifeq ($(origin TRAINER),file)
TRAINER := $(shell cat $(SCALE_DIR)/base_trainer 2>/dev/null || echo cpu)
endif
endif
SCALE_CONFIG = $(if $(SCALE_DIR),--config $(SCALE_DIR)/trainer.yaml)
CKPT_DIR = checkpoints$(if $(SCALE_DIR),/$(SCALE))
# The results folder of `make attack-eval` (its runs and the comparison report); ATTACK_OUT=<folder> moves both
ATTACK_OUT ?= results/attack-$(ATTACK)$(if $(SCALE_DIR),-$(SCALE))
.PHONY: check-scale
check-scale:
	@if [ -n "$(SCALE)" ] && [ -z "$(filter $(SCALE),$(SCALES))" ] || [ "$(words $(SCALE))" -gt 1 ]; then \
	  echo "error: unknown SCALE='$(SCALE)'; expected one of: $(SCALES) (configs/scale/<scale>/trainer.yaml)" >&2; \
	  exit 2; fi
ATTACK_MODELS := regression volumetric heatmap_depth triangulation
ATTACK_ARGS ?=
# Your own model (docs/EXTENDING.md): `make attack-eval MODEL_SPEC=pkg.module:factory [WEIGHTS=w.pt]
# [EVAL_ARGS="--input-size 64 --per-view"]` runs `poselab evaluate` (ATTACK is the preset, DATA the data).
MODEL_SPEC ?=
WEIGHTS ?=
EVAL_ARGS ?=
.PHONY: attack-eval
attack-eval: $(VENV)/.installed check-scale
	@if [ -n "$(MODEL_SPEC)" ]; then \
	  $(VENV)/bin/poselab evaluate --model $(MODEL_SPEC) $(if $(WEIGHTS),--weights $(WEIGHTS)) --data $(DATA) \
	    --preset $(ATTACK) --out $(ATTACK_OUT) $(EVAL_ARGS); exit $$?; fi
	@if [ "$(MODEL)" != all ] && [ -z "$(filter $(MODEL),$(ATTACK_MODELS))" ]; then \
	  echo "error: unknown MODEL='$(MODEL)'; expected all or one of: $(ATTACK_MODELS)" >&2; exit 2; fi
	@if [ -n "$(findstring /,$(ATTACK))" ] || [ ! -f configs/attack/$(ATTACK).yaml ]; then \
	  echo "error: unknown ATTACK='$(ATTACK)'; expected quick, paper or a configs/attack/*.yaml name" >&2; exit 2; fi
	@if [ -n "$(findstring /,$(TRAINER))" ] || [ ! -f configs/trainer/$(TRAINER).yaml ]; then \
	  echo "error: unknown TRAINER='$(TRAINER)'; expected one of: $(TRAINERS)" >&2; exit 2; fi
	@set -e; models="$(if $(filter all,$(MODEL)),$(ATTACK_MODELS),$(MODEL))"; \
	for m in $$models; do [ -f $(CKPT_DIR)/$$m.ckpt ] || { echo "error: no checkpoint $(CKPT_DIR)/$$m.ckpt \
	  (train it: make train MODEL=$$m SCALE=$(SCALE) SHIP=1)" >&2; exit 2; }; done; \
	echo "== attack-eval: $$models ($(ATTACK), $(DATA), scale $(or $(SCALE),tiny-64)), one process"; \
	$(VENV)/bin/poselab attack-eval $$(for m in $$models; do echo --model $$m; done) \
	  --report $(ATTACK_OUT)/report-$(DATA) --results '$(ATTACK_OUT)/{model}-$(DATA)' --report-arg=--print \
	  -- --config 'configs/model/{model}.yaml' --config configs/data/$(DATA).yaml \
	  --config configs/trainer/$(TRAINER).yaml $(SCALE_CONFIG) --config configs/attack/$(ATTACK).yaml \
	  --ckpt_path '$(CKPT_DIR)/{model}.ckpt' --attack_evaluation.init_args.out_dir $(ATTACK_OUT) \
	  --attack_evaluation.init_args.print_tables false $(ATTACK_ARGS)

# Compare saved attack results (never re-runs attacks): make report RESULTS="results" REPORT_OUT=reports/latest
RESULTS ?= results
REPORT_OUT ?= reports/latest
REPORT_ARGS ?=
.PHONY: report transfer
report: $(VENV)/.installed
	$(PY) -m poselab.cli report $(RESULTS) --out $(REPORT_OUT) $(REPORT_ARGS)

# W&B robustness dashboard (a W&B report) of the runs behind saved results, built online:
#   make dashboard [RESULTS=results] [DASHBOARD_ARGS="--group baselines --entity me"]
# offline (no API key / WANDB_MODE=offline) it stops with one line, exit 2; DASHBOARD_ARGS=--dry-run prints the spec.
DASHBOARD_ARGS ?=
.PHONY: dashboard
dashboard: $(VENV)/.installed
	$(PY) -m poselab.cli dashboard $(RESULTS) $(DASHBOARD_ARGS)

# Transfer matrix between the shipped monocular checkpoints (64 px synthetic test data), written to
# $(RESULTS)/transfer/transfer.csv, which `make report` reads. TRANSFER_ARGS adds/overrides, e.g.
#   make transfer TRANSFER_ARGS="--eps 2 --steps 10 --batches 32"
TRANSFER_ARGS ?=
transfer: $(VENV)/.installed
	$(PY) -m poselab.evaluation.transfer --model regression --model volumetric --model heatmap_depth \
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
	$(PY) -m studies.adv_compare.compare --model $$m --init checkpoints/$$m.ckpt --lr 5e-4 --steps 400 \
	  --batch-size 32 --eps 4 --adv-steps 3 --fraction 0.5 --attack-eps 2,8 --attack-iterations 1,10 \
	  --max-batches 4 --out $(RESULTS)/adv_compare $(ADV_ARGS)

# Train a baseline: `make train MODEL=regression|volumetric|heatmap_depth|triangulation
# [TRAINER=cpu|smoke|gpu|ddp] [DATA=synthetic|h36m] [RESUME=1] [TRAIN_ARGS="--trainer.max_epochs 5"]`.
# Writes runs/checkpoints/$(MODEL).ckpt (best val/mpjpe) and runs/checkpoints/$(MODEL)-last.ckpt (RESUME=1
# continues from it: --ckpt_path last = <checkpoint.dirpath>/$(MODEL)-last.ckpt); logs under runs/.
# The shipped, git-tracked checkpoints/$(MODEL).ckpt is replaced only with SHIP=1 (--checkpoint.dirpath checkpoints).
# configs/trainer/$(TRAINER)/$(MODEL).yaml, where it exists, is composed after configs/trainer/$(TRAINER).yaml
# (per-model sizes, e.g. configs/trainer/cpu/volumetric.yaml: the shipped checkpoints' depth bins).
# SCALE=r18-128|r50-256 then composes configs/scale/$(SCALE)/trainer.yaml and configs/scale/$(SCALE)/$(MODEL).yaml,
# writes runs/$(SCALE)/checkpoints/, and with SHIP=1 exports the best epoch to checkpoints/$(SCALE)/$(MODEL).ckpt
# (weights only, fp16; `make export-weights`) instead of replacing the tiny default checkpoints.
TRAIN_MODELS := regression volumetric heatmap_depth triangulation
RESUME ?=
SHIP ?=
TRAIN_ARGS ?=
TRAIN_OVERLAY = $(wildcard configs/trainer/$(TRAINER)/$(MODEL).yaml) \
  $(if $(SCALE_DIR),$(SCALE_DIR)/trainer.yaml $(wildcard $(SCALE_DIR)/$(MODEL).yaml))
.PHONY: train export-weights
train: $(VENV)/.installed check-scale
	@if [ -z "$(filter $(MODEL),$(TRAIN_MODELS))" ] || [ "$(words $(MODEL))" != 1 ]; then \
	  echo "error: unknown MODEL='$(MODEL)'; expected one of: $(TRAIN_MODELS)" >&2; exit 2; fi
	@if [ -n "$(findstring /,$(TRAINER))" ] || [ ! -f configs/trainer/$(TRAINER).yaml ]; then \
	  echo "error: unknown TRAINER='$(TRAINER)'; expected one of: $(TRAINERS)" >&2; exit 2; fi
	$(PY) -m poselab.cli fit --config configs/model/$(MODEL).yaml --config configs/data/$(DATA).yaml \
	  --config configs/trainer/$(TRAINER).yaml $(addprefix --config ,$(TRAIN_OVERLAY)) \
	  $(if $(SHIP),$(if $(SCALE_DIR),,--checkpoint.dirpath checkpoints)) $(if $(RESUME),--ckpt_path last) $(TRAIN_ARGS)
	$(if $(and $(SHIP),$(SCALE_DIR)),$(MAKE) --no-print-directory export-weights MODEL=$(MODEL) SCALE=$(SCALE))

# Weights-only fp16 copy of a scale's trained checkpoint (runs/$(SCALE)/checkpoints/$(MODEL).ckpt, best
# val/mpjpe) -> checkpoints/$(SCALE)/$(MODEL).ckpt (<= 25 MB, or configs/scale/$(SCALE)/max_mb for a scale whose
# files are not committed to git: r50-256); `make train SCALE=... SHIP=1` runs it after fitting.
export-weights: $(VENV)/.installed check-scale
	@if [ -z "$(SCALE_DIR)" ]; then echo "error: export-weights needs SCALE=<one of: $(filter-out tiny-64,$(SCALES))>" >&2; \
	  exit 2; fi
	$(PY) -m poselab.models.export runs/$(SCALE)/checkpoints/$(MODEL).ckpt $(CKPT_DIR)/$(MODEL).ckpt \
	  $(if $(wildcard $(SCALE_DIR)/max_mb),--max-mb $(shell cat $(SCALE_DIR)/max_mb)) $(EXPORT_ARGS)

# Rebuild every committed result in docs/results/ from scratch and list the numbers that changed
# (studies/docs_results/README.md): make docs-results [STUDIES="attack-quick corruptions"] [UPDATE=1]
STUDIES ?=
UPDATE ?=
.PHONY: docs-results
docs-results: $(VENV)/.installed
	$(PY) -m studies.docs_results.rebuild $(STUDIES) $(if $(UPDATE),--update)

# Picture of the synthetic data (4 samples x 4 views, 2D skeletons over): make preview [PREVIEW_ARGS="--tile 256"]
# writes runs/preview.png (untracked); DOCS=1 replaces the README's figure, the tracked docs/preview.png.
PREVIEW_ARGS ?=
DOCS ?=
PREVIEW_OUT ?= $(if $(DOCS),docs/preview.png,runs/preview.png)
.PHONY: preview
preview: $(VENV)/.installed
	$(PY) -m poselab.cli preview-data --out $(PREVIEW_OUT) --data configs/data/synthetic.yaml --samples 4 \
	  --image-size 256 --tile 200 $(PREVIEW_ARGS)

# Scale study (studies/scale/README.md): every attack grid of STUDY_GRIDS (configs/attack/<grid>.yaml: the
# untargeted + multi-view grid, common corruptions, the targeted experiments, the strongest evaluation) on
# every scale of SCALE_STUDY whose four checkpoints exist (others are skipped with a note), then the report
# (studies.scale.report: tables, figures, the paper-ranking check) in $(STUDY_OUT), from every results
# root of a scale that exists (results/attack-<grid>[-<scale>]): the sections those results have rows for
# (tables.md names the others and the grid that fills each). W&B: every run in group scale-study, with
# the scale as a tag and config.scale (group by it to compare scales side by side).
#   make scale-study [SCALE_STUDY="tiny-64 r18-128"] [STUDY_GRIDS="scale scale_strong"] [STUDY_EVAL=0: report only]
#                    [STUDY_EXTRA="r50-256=<results root>"]  (more <scale>=<root> pairs for the report only)
SCALE_STUDY ?= $(SCALES)
# `make -n scale-study` runs the recipe (it calls $(MAKE)): the sub-makes are dry too, the report is only printed
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
STUDY_GRIDS ?= scale scale_corruptions scale_targeted scale_strong
STUDY_OUT ?= docs/results/scale
STUDY_EVAL ?= 1
STUDY_EXTRA ?=
.PHONY: scale-study
scale-study: $(VENV)/.installed
	@set -e; for g in $(STUDY_GRIDS); do [ -f configs/attack/$$g.yaml ] || { \
	  echo "error: unknown grid '$$g' in STUDY_GRIDS (no configs/attack/$$g.yaml)" >&2; exit 2; }; done; \
	roots=""; for s in $(SCALE_STUDY); do \
	  case " $(SCALES) " in *" $$s "*) ;; *) echo "error: unknown scale '$$s' in SCALE_STUDY; expected: $(SCALES)" >&2; \
	    exit 2;; esac; \
	  if [ $$s = tiny-64 ]; then dir=checkpoints; suffix=; else dir=checkpoints/$$s; suffix=-$$s; fi; \
	  missing=""; for m in $(ATTACK_MODELS); do [ -f $$dir/$$m.ckpt ] || missing="$$missing $$m"; done; \
	  if [ -n "$$missing" ]; then echo "scale-study: skipping $$s (no $$dir/<model>.ckpt for:$$missing)"; continue; fi; \
	  found=""; for g in $(STUDY_GRIDS); do \
	    if [ "$(STUDY_EVAL)" != 0 ]; then $(MAKE) --no-print-directory attack-eval ATTACK=$$g SCALE=$$s ATTACK_OUT=results/attack-$$g$$suffix \
	      ATTACK_ARGS="--run.group scale-study $(ATTACK_ARGS)"; fi; \
	    [ -d results/attack-$$g$$suffix ] && found="$$found,results/attack-$$g$$suffix"; \
	  done; \
	  if [ -n "$$found" ]; then roots="$$roots $$s=$${found#,}"; \
	  else echo "scale-study: no results for $$s (run without STUDY_EVAL=0)"; fi; \
	done; \
	roots="$$roots $(STUDY_EXTRA)"; \
	if [ -z "$$(echo $$roots)" ]; then echo "error: no scale of SCALE_STUDY='$(SCALE_STUDY)' has its four checkpoints and results" >&2; \
	  exit 2; fi; \
	$(if $(DRY_RUN),echo) $(PY) -m studies.scale.report $$roots --out $(STUDY_OUT)
