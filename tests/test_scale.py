"""Model scales: ResNet backbones in the four baselines, 16-bit weights-only checkpoints, scale names and
the Makefile's SCALE= selection."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from attack_toys import make_batch

from poselab.models import get_model_class, load_model, read_checkpoint
from poselab.models.backbones import build_backbone
from poselab.models.checkpoint import CheckpointError
from poselab.models.export import STORAGE_KEY, export_weights, to_storage
from poselab.models.export import main as export_main
from poselab.scale import model_scale, parse_scale, scale_name, scaled_name
from poselab.skeleton import NUM_JOINTS
from studies.scale.points import scale_order

ROOT = Path(__file__).resolve().parents[1]
MODEL_NAMES = ("regression", "volumetric", "heatmap_depth", "triangulation")


def scale_hparams(scale: str, model: str) -> dict:
    """Model init_args of ``configs/scale/<scale>/trainer.yaml`` + ``<model>.yaml`` (as `make train`)."""
    out: dict = {}
    for name in ("trainer.yaml", f"{model}.yaml"):
        path = ROOT / "configs" / "scale" / scale / name
        if path.is_file():
            out.update(((yaml.safe_load(path.read_text()) or {}).get("model") or {}).get("init_args") or {})
    return {k: v for k, v in out.items() if k in ("backbone", "hidden", "heatmap_stride", "deconv_channels",
                                                  "depth_bins")}


def _lightning_ckpt(model, path: Path, image_size: int = 32) -> Path:
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                "datamodule_hyper_parameters": {"image_size": image_size}, "poselab_model": model.name,
                "optimizer_states": [{"big": torch.zeros(10)}], "epoch": 2}, path)
    return path


# ----------------------------------------------------------------------------- backbones in the models


@pytest.mark.parametrize("name,channels", [("resnet18", 512), ("resnet34", 512), ("resnet50", 2048)])
def test_resnet_feature_maps_follow_the_image_size(name, channels):
    bb = build_backbone(name).eval()
    with torch.no_grad():
        for size in (32, 96):  # stride 32: 1x1 and 3x3 feature maps
            assert bb(torch.rand(1, 3, size, size) * 255).shape == (1, channels, size // 32, size // 32)


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_four_models_on_a_resnet18_backbone_output_shapes(model_name):
    cls = get_model_class(model_name)
    kw = {"hidden": 32} if model_name == "regression" else {"deconv_channels": 16, "heatmap_stride": 8}
    if model_name == "volumetric":
        kw["depth_bins"] = 8
    model = cls(backbone="resnet18", **kw).eval()
    batch = make_batch(2, 4 if model.multiview else 1)  # 32 px crops
    images = batch["images"].float().requires_grad_(True)
    out = model(images, batch)
    if model.multiview:
        assert out["pose"].shape == (2, NUM_JOINTS, 3)
    else:
        assert out["pose"].shape == (2, 1, NUM_JOINTS, 3)
    if model_name != "regression":
        # 32 px / heat-map stride 8 = 4x4 maps: soft-argmax pixels stay inside the crop
        assert out["joints_2d"].shape[-2:] == (NUM_JOINTS, 2)
        assert (out["joints_2d"] >= 0).all() and (out["joints_2d"] <= 32).all()
        maps = model.head(model.backbone(images.flatten(0, 1)))
        assert maps.shape[-2:] == (4, 4)
    out["pose"].nan_to_num().sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- 16-bit export


@pytest.mark.parametrize("storage,dtype", [("fp16", torch.float16), ("bf16", torch.bfloat16)])
def test_export_round_trip_equals_16_bit_rounding_and_computes_in_fp32(tmp_path, storage, dtype):
    model = get_model_class("heatmap_depth")(backbone="tiny", backbone_width=8, deconv_channels=16)
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for name, buf in model.named_buffers():
            if name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                buf.normal_()
            elif name.endswith("num_batches_tracked"):
                buf.fill_(1234)
    model.eval()
    src = _lightning_ckpt(model, tmp_path / "full.ckpt")
    saved = export_weights(src, tmp_path / "sub" / "half.ckpt", storage)
    assert "optimizer_states" not in saved and saved["epoch"] == 2
    assert read_checkpoint(tmp_path / "sub" / "half.ckpt")[STORAGE_KEY] == storage
    assert STORAGE_KEY not in read_checkpoint(src)
    raw = read_checkpoint(tmp_path / "sub" / "half.ckpt")
    stored = {v.dtype for v in raw["state_dict"].values()}
    assert stored == {dtype, torch.int64}  # floats in 16 bits, num_batches_tracked as it was
    loaded = load_model(tmp_path / "sub" / "half.ckpt", expected_model="heatmap_depth")
    ref = model.state_dict()
    for key, value in loaded.state_dict().items():
        if ref[key].is_floating_point():
            assert value.dtype == torch.float32, key  # fp32 compute
            assert torch.equal(value, ref[key].to(dtype).float()), key  # exactly the 16-bit rounding
            rel = (value - ref[key]).abs() / ref[key].abs().clamp_min(1e-3)
            assert rel.max() <= (2**-11 if storage == "fp16" else 2**-8) * 1.01, key
        else:
            assert torch.equal(value, ref[key]), key  # integer buffers untouched
    batch = make_batch(2, 1)
    with torch.no_grad():
        a = loaded(batch["images"].float(), batch)["pose"]
        b = model(batch["images"].float(), batch)["pose"]
    assert a.dtype == torch.float32
    assert (a - b).abs().max() < 5.0 and not torch.equal(a, b)  # mm: rounding, not a different model
    # the file is about half the fp32 weights-only size
    full = tmp_path / "full-weights.ckpt"
    torch.save({"state_dict": model.state_dict()}, full)
    assert (tmp_path / "sub" / "half.ckpt").stat().st_size < 0.6 * full.stat().st_size


def test_export_refuses_values_beyond_fp16_and_bad_inputs(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"state_dict\['w'\] holds 1e\+05.*export with bf16"):
        to_storage({"w": torch.tensor([1.0, 1e5])}, torch.float16)
    assert to_storage({"w": torch.tensor([1e5])}, torch.bfloat16)["w"].dtype == torch.bfloat16
    assert to_storage({"w": torch.tensor([float("inf")])}, torch.float16)["w"].isinf().all()
    with pytest.raises(CheckpointError, match="does not exist"):
        export_weights(tmp_path / "missing.ckpt", tmp_path / "out.ckpt")
    model = get_model_class("regression")(backbone="tiny", backbone_width=8, hidden=16)
    src = _lightning_ckpt(model, tmp_path / "r.ckpt")
    with pytest.raises(ValueError, match="storage must be one of fp16, bf16"):
        export_weights(src, tmp_path / "out.ckpt", "int8")
    assert export_main([str(tmp_path / "missing.ckpt"), str(tmp_path / "o.ckpt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert export_main([str(src), str(tmp_path / "o.ckpt"), "--max-mb", "0.001"]) == 2
    assert "MB > --max-mb 0.001 (not written)" in capsys.readouterr().err
    assert not (tmp_path / "o.ckpt").exists() and not list(tmp_path.glob("*.tmp"))  # nothing left to commit
    assert export_main([str(src), str(tmp_path / "o.ckpt")]) == 0
    before = (tmp_path / "o.ckpt").read_bytes()
    assert export_main([str(src), str(tmp_path / "o.ckpt"), "--max-mb", "0.001"]) == 2
    assert (tmp_path / "o.ckpt").read_bytes() == before  # a refused export keeps the file it would replace


#: Scales whose checkpoints are committed to git: the issue's 25 MB cap (no configs/scale/<s>/max_mb file).
GIT_SCALES = sorted(p.parent.name for p in (ROOT / "configs" / "scale").glob("*/trainer.yaml")
                    if not (p.parent / "max_mb").exists())


def test_every_scale_in_git_is_capped_and_r50_256_is_not():
    assert {"r18-64", "r18-128"} <= set(GIT_SCALES) and "r50-256" not in GIT_SCALES
    assert float((ROOT / "configs" / "scale" / "r50-256" / "max_mb").read_text().split()[0]) >= 68


@pytest.mark.parametrize("scale", GIT_SCALES)
@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_git_scale_exports_fit_in_25_mb(tmp_path, scale, model_name):
    """The configs/scale/<scale> sizes of the committed scales give weights-only fp16 files <= 25 MB."""
    hp = scale_hparams(scale, model_name)
    _, size_px = parse_scale(scale)
    model = get_model_class(model_name)(**hp)
    dst = export_weights(_lightning_ckpt(model, tmp_path / "full.ckpt", size_px), tmp_path / "half.ckpt")
    size = (tmp_path / "half.ckpt").stat().st_size
    n_params = sum(v.numel() for v in dst["state_dict"].values())
    assert 2 * n_params <= size <= 25e6
    assert model_scale(load_model(tmp_path / "half.ckpt"), size_px) == scale


# ----------------------------------------------------------------------------- scale names


def test_scale_names_round_trip_and_errors():
    assert scale_name("tiny", 64) == "tiny-64" and scale_name("resnet50", 256) == "r50-256"
    for name in ("tiny-64", "r18-128", "r50-256"):
        assert scale_name(*parse_scale(name)) == name
    assert sorted(["r50-256", "r34-128", "tiny-64", "r18-128"], key=scale_order) == \
        ["tiny-64", "r18-128", "r34-128", "r50-256"]
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        scale_name("vgg", 64)
    with pytest.raises(ValueError, match="image_size"):
        scale_name("tiny", 0)
    with pytest.raises(ValueError, match="scale 'big' is not"):
        parse_scale("big")
    tiny = get_model_class("regression")(backbone="tiny", backbone_width=8, hidden=16)
    assert model_scale(tiny, 64) == "tiny-64" and model_scale(tiny, None) is None
    assert model_scale(torch.nn.Linear(1, 1), 64) is None


# ----------------------------------------------------------------------------- Makefile SCALE=


def _make(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_make_export_weights_reads_the_scale_cap():
    r50 = _make("-n", "export-weights", "SCALE=r50-256", "MODEL=regression")
    r18 = _make("-n", "export-weights", "SCALE=r18-64", "MODEL=regression")
    assert r50.returncode == 0 and "--max-mb 80" in r50.stdout
    assert r18.returncode == 0 and "checkpoints/r18-64/regression.ckpt" in r18.stdout
    assert "--max-mb" not in r18.stdout


def test_make_unknown_scale_and_missing_checkpoint_are_one_clear_error(tmp_path):
    for target in ("attack-eval", "train"):
        proc = _make(target, "MODEL=regression", "SCALE=r99-999")
        assert proc.returncode == 2
        assert "error: unknown SCALE='r99-999'; expected one of: tiny-64 r18-128" in proc.stderr
    proc = _make("attack-eval", "MODEL=regression", "SCALE=r18-128", f"CKPT_DIR={tmp_path}")
    assert proc.returncode == 2
    assert f"error: no checkpoint {tmp_path}/regression.ckpt" in proc.stderr
    assert "make train MODEL=regression SCALE=r18-128 SHIP=1" in proc.stderr


def _commands(*args: str) -> str:
    """The poselab / export command lines `make -n` would run (not the argument checks)."""
    lines = _make("-n", *args).stdout.replace("\\\n", " ").splitlines()
    return "\n".join(line for line in lines if "poselab" in line and "echo" not in line)


def test_make_scale_composes_the_scale_overlays():
    train = _commands("train", "MODEL=volumetric", "SCALE=r18-128", "SHIP=1")
    order = ["configs/trainer/cpu.yaml", "configs/trainer/cpu/volumetric.yaml",
             "configs/scale/r18-128/trainer.yaml", "configs/scale/r18-128/volumetric.yaml"]
    assert all(o in train for o in order)
    assert [train.index(o) for o in order] == sorted(train.index(o) for o in order)  # later overrides
    assert "--checkpoint.dirpath checkpoints" not in train  # SHIP=1 exports instead of overwriting
    assert "runs/r18-128/checkpoints/volumetric.ckpt checkpoints/r18-128/volumetric.ckpt" in train
    default = _commands("train", "MODEL=volumetric", "SHIP=1")
    assert "configs/scale" not in default and "--checkpoint.dirpath checkpoints" in default
    gpu = _commands("train", "MODEL=regression", "SCALE=r50-256")
    assert "configs/trainer/gpu.yaml" in gpu and "configs/scale/r50-256/trainer.yaml" in gpu


def test_make_attack_eval_writes_and_reports_where_attack_out_says(tmp_path):
    """The runs and the comparison report read one folder: the grid's, the scale's, or ATTACK_OUT."""
    for args, folder in ((("ATTACK=strong",), "results/attack-strong"),
                         (("ATTACK=strong", "SCALE=r18-64"), "results/attack-strong-r18-64"),
                         (("ATTACK=strong", f"ATTACK_OUT={tmp_path}/mine"), f"{tmp_path}/mine")):
        proc = _make("-n", "attack-eval", "MODEL=regression", *args)
        run = " ".join(proc.stdout.replace("\\\n", " ").split())  # one line, single spaces
        assert proc.returncode == 0 and run.count("bin/poselab attack-eval ") == 1
        assert f"--attack_evaluation.init_args.out_dir {folder} " in run + " "
        assert f"--report {folder}/report-synthetic --results '{folder}/{{model}}-synthetic' " in run


# ----------------------------------------------------------------------------- the scale-study report


def _row(model, experiment, attack, eps, iterations, metric, value, views=1):
    return {"model": model, "dataset": "synthetic", "experiment": experiment, "attack": attack, "eps": eps,
            "iterations": iterations, "attacked_views": views, "target": "", "metric": metric,
            "value": value, "n": 16}


def _fake_run(root: Path, scale: str, model: str, clean: float, gain: float, jdr: float | None) -> None:
    """As the callback writes them: monocular models an ``untargeted`` experiment without JDR, the
    multi-view model a ``multiview`` one (clean row attacked_views 0). With every view attacked the
    adversarial MPJPE is clean * (1 + gain * eps * (2 for IGSM)) and the JDR falls by 0.01 * eps * (1 or 2);
    fewer attacked views hurt less (decoys that must not be picked)."""
    exp, views = ("multiview", (1, 2, 4)) if model == "triangulation" else ("untargeted", (1,))
    rows = [_row(model, exp, "clean", 0, 0, "mpjpe", clean, 0 if exp == "multiview" else 1)]
    if jdr is not None:
        rows.append(_row(model, exp, "clean", 0, 0, "jdr", jdr, 0))
    for attack, it, k in (("fgsm", 1, 1), ("igsm_u", 10, 2)):
        for eps in (2, 8):
            for v in views:
                share = v / max(views)
                adv = clean * (1 + gain * eps * k * share)
                rows.append(_row(model, exp, attack, eps, it, "mpjpe", adv, v))
                if jdr is not None:
                    rows.append(_row(model, exp, attack, eps, it, "jdr", jdr - 0.01 * eps * k * share, v))
    from poselab.results.files import write_results

    write_results(root / f"{model}-synthetic", rows, {"model": model, "dataset": "synthetic", "scale": scale})


def _fake_study(tmp_path: Path) -> dict[str, Path]:
    roots = {"tiny-64": tmp_path / "small", "r18-128": tmp_path / "big"}
    # tiny-64: the paper's order (regression most, volumetric least vulnerable); r18-128: reversed
    for scale, gains in (("tiny-64", (0.5, 0.1, 0.2, 0.05)), ("r18-128", (0.1, 0.5, 0.2, 0.05))):
        cleans, jdrs = (80.0, 70.0, 60.0, 40.0), (None, 0.9, 0.92, 0.96)
        for model, gain, clean, jdr in zip(MODEL_NAMES, gains, cleans, jdrs, strict=True):
            _fake_run(roots[scale], scale, model, clean, gain, jdr)
    return roots


def test_scale_study_numbers_rankings_and_files(tmp_path):
    from studies.scale.points import (
        load_scales,
        multiview_jdr,
        paper_ranking,
        scale_points,
        vulnerability_order,
    )
    from studies.scale.report import write_study

    roots = _fake_study(tmp_path)
    runs = load_scales(roots)
    points = scale_points(runs)
    assert len(points) == 2 * 4 * 2 * 2  # scales x models x attacks x eps
    p = next(p for p in points
             if (p.scale, p.model, p.attack, p.eps) == ("r18-128", "volumetric", "igsm_u", 8))
    assert p.clean_mpjpe == 70.0 and math.isclose(p.adv_mpjpe, 70.0 * (1 + 0.5 * 8 * 2))
    assert math.isclose(p.mpjpe_increase, 70.0 * 8.0) and math.isclose(p.mpjpe_ratio, 9.0)
    assert math.isclose(p.jdr_drop, 0.16)
    reg = next(p for p in points if p.model == "regression")
    assert math.isnan(reg.jdr_drop)  # no 2D joints, no JDR
    assert [q.scale for q in points][0] == "tiny-64"  # ordered by crop size
    assert vulnerability_order(points, "tiny-64", "fgsm", 8) == ["regression", "heatmap_depth", "volumetric",
                                                                 "triangulation"]
    assert paper_ranking(vulnerability_order(points, "tiny-64", "fgsm", 8)) == {
        "regression_most": True, "volumetric_least": True}
    assert paper_ranking(vulnerability_order(points, "r18-128", "fgsm", 8)) == {
        "regression_most": False, "volumetric_least": False}
    assert paper_ranking(["regression", "volumetric"]) == {"regression_most": None, "volumetric_least": None}
    mv = multiview_jdr(runs)
    mv8 = [r for r in mv if r["eps"] == 8]
    assert [(r["scale"], r["eps"]) for r in mv] == [("tiny-64", 2.0), ("tiny-64", 8.0), ("r18-128", 2.0),
                                                    ("r18-128", 8.0)]
    assert mv8[0]["views_1"] > mv8[0]["views_2"] > mv8[0]["views_4"] and mv8[0]["clean"] == 0.96
    tri = next(p for p in points
               if (p.scale, p.model, p.attack, p.eps) == ("tiny-64", "triangulation", "fgsm", 8))
    assert math.isclose(tri.mpjpe_ratio, 1 + 0.05 * 8) and math.isclose(tri.jdr_drop, 0.08)  # all 4 views
    out = write_study(roots, tmp_path / "report")
    assert {f.name for f in out.iterdir()} == {"scale.csv", "tables.md", "scale_mpjpe.png", "scale_jdr.png",
                                                "scale_vs_clean.png"}  # no targeted/strong rows, no axis pair
    text = (out / "tables.md").read_text()
    for title in ("## Targeted attacks", "## Strongest evaluation", "## The two axes"):
        assert title not in text  # studies.scale.sections: sections without rows are left out
    assert "| fgsm | 8 | regression > heatmap_depth > volumetric > triangulation | " \
           "volumetric > heatmap_depth > regression > triangulation | yes / no | yes / no |" in text
    assert "| r18-128 | volumetric | +140 (x3.00) | +560 (x9.00) |" in text  # IGSM: 70*(1+0.5*2*2)
    assert "| tiny-64 | 8 | 96.0 | 94.0 | 92.0 | 88.0 |" in text  # multi-view JDR by attacked views
    lines = (out / "scale.csv").read_text().splitlines()
    assert lines[0].startswith("scale,model,attack,iterations,eps") and len(lines) == 1 + len(points)


def test_scale_study_errors(tmp_path, capsys):
    from poselab.results.reader import ResultsError
    from studies.scale.points import load_scales
    from studies.scale.report import main

    roots = _fake_study(tmp_path)
    with pytest.raises(ResultsError, match="holds scale 'tiny-64', given as 'r50-256'"):
        load_scales({"r50-256": roots["tiny-64"]})
    assert main([f"tiny-64={tmp_path / 'missing'}", "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main(["huge=results"])
    assert err.value.code == 2 and "scale 'huge' is not" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tiny-64"])
    assert "expected <scale>=<results root>" in capsys.readouterr().err
    assert main([f"tiny-64={roots['tiny-64']}", "--out", str(tmp_path / "o")]) == 0


def test_make_scale_study_refuses_an_unknown_scale():
    proc = _make("scale-study", "SCALE_STUDY=r99-1", "STUDY_EVAL=0")
    assert proc.returncode == 2 and "error: unknown scale 'r99-1' in SCALE_STUDY" in proc.stderr


def test_make_n_scale_study_prints_the_report_command_and_writes_nothing(tmp_path):
    """`make -n` runs recipes that call $(MAKE); the report step must then only be printed."""
    roots = _fake_study(tmp_path)
    out = tmp_path / "report"
    extra = f"STUDY_EXTRA=tiny-64={roots['tiny-64']} r18-128={roots['r18-128']}"
    proc = _make("-n", "scale-study", "SCALE_STUDY=tiny-64", "STUDY_EVAL=0", f"STUDY_OUT={out}", extra)
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.strip().splitlines()[-1]  # the echoed report command, roots expanded
    assert "-m studies.scale.report " in printed and printed.endswith(f"--out {out}")
    assert f"tiny-64={roots['tiny-64']}" in printed
    assert not out.exists()
    proc = _make("scale-study", "SCALE_STUDY=tiny-64", "STUDY_EVAL=0", f"STUDY_OUT={out}", extra)
    assert proc.returncode == 0, proc.stderr
    assert (out / "tables.md").is_file()  # without -n the same command writes the report


def test_scaled_name_keeps_the_default_scale_plain():
    assert scaled_name("regression", None) == "regression"
    assert scaled_name("regression", "tiny-64") == "regression"
    assert scaled_name("regression", "tiny-32") == "regression"  # smoke / test runs keep runs/csv/<model>
    assert scaled_name("regression", "r18-64") == "regression-r18-64"


def test_make_scale_study_refuses_an_unknown_grid():
    proc = _make("scale-study", "STUDY_GRIDS=scale nope", "STUDY_EVAL=0")
    assert proc.returncode == 2 and "error: unknown grid 'nope' in STUDY_GRIDS" in proc.stderr


def test_wandb_run_kwargs_carry_the_scale_as_tag_and_config(tmp_path):
    from poselab.wandb.naming import run_kwargs

    kw = run_kwargs("attack", group="scale-study", model="regression", dataset="synthetic", scale="r18-128",
                    config={"a": 1}, save_dir=tmp_path)
    assert kw["tags"] == ["regression", "synthetic", "r18-128", "scale-study"]  # + the grid (the group)
    assert kw["config"] == {"a": 1, "scale": "r18-128", "grid": "scale-study"}
    plain = run_kwargs("attack", group="g", model="regression", save_dir=tmp_path)
    assert "scale" not in plain["config"] and plain["tags"] == ["regression", "g"]


#: Per scale: corrupted / clean MPJPE of regression and volumetric (clean 50 mm; see _fake_corruptions).
CORRUPTION_FACTORS = {"tiny-64": (3.0, 2.0), "r18-128": (1.5, 2.5)}


def _fake_corruptions(root: Path, scale: str) -> Path:
    """As the scale_corruptions grid writes them: regression and volumetric with a clean row of 50 mm and
    corrupted rows (fog, Gaussian noise at severities 1 and 3) whose mean is 50 mm times the model's factor
    of :data:`CORRUPTION_FACTORS`. Returns ``root``."""
    from poselab.results.files import write_results

    for model, factor in zip(("regression", "volumetric"), CORRUPTION_FACTORS[scale], strict=True):
        clean = _row(model, "corruption", "clean", 0, 0, "mpjpe", 50.0, 0)
        rows = [{**clean, "corruption": "", "severity": 0}]
        for name, sev, weight in (("fog", 1, 0.5), ("fog", 3, 1.5), ("gaussian_noise", 1, 1.0),
                                  ("gaussian_noise", 3, 1.0)):  # mean weight 1
            row = _row(model, "corruption", "clean", 0, 0, "mpjpe", 50.0 * factor * weight, 1)
            rows.append({**row, "corruption": name, "severity": sev})
        meta = {"model": model, "dataset": "synthetic", "scale": scale}
        write_results(root / f"{model}-synthetic", rows, meta)
    return root


def test_scale_study_compares_corruptions_from_a_second_root(tmp_path):
    """A scale may name several roots ("attacks,corruptions"): the corruption rows give corrupted / clean
    MPJPE per model and scale (mean over corruptions and severities) and a ranking per scale."""
    from studies.scale.points import load_scales
    from studies.scale.report import corruption_points, write_study

    roots = _fake_study(tmp_path)
    for scale in CORRUPTION_FACTORS:
        roots[scale] = f"{roots[scale]},{_fake_corruptions(tmp_path / f'corr-{scale}', scale)}"
    points = corruption_points(load_scales(roots))
    got = {(p["scale"], p["model"]): p["ratio"] for p in points}
    assert got == pytest.approx({("tiny-64", "regression"): 3.0, ("tiny-64", "volumetric"): 2.0,
                                 ("r18-128", "regression"): 1.5, ("r18-128", "volumetric"): 2.5})
    text = (write_study(roots, tmp_path / "report") / "tables.md").read_text()
    assert "| r18-128 | volumetric | 50.0 | 125.0 | x2.50 |" in text
    assert "- tiny-64: regression > volumetric" in text and "- r18-128: volumetric > regression" in text
