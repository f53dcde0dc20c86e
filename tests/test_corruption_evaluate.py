"""The standalone corruption evaluation on the shipped checkpoints (tiny: 2 test samples)."""

from __future__ import annotations

import pytest
import torch

from poselab.corruptions.evaluate import COLUMNS, evaluate_corruptions, main, read_csv
from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
from poselab.data.sample import select_views
from poselab.metrics import mpjpe
from poselab.models import load_model


@pytest.fixture(scope="module")
def batch():
    ds = build_dataset(DEFAULT_DATA_CONFIGS, {"test_size": 2}, "test")
    return next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))


@pytest.fixture(scope="module")
def models():
    return {m: load_model(f"checkpoints/{m}.ckpt", m) for m in ("regression", "triangulation")}


def test_rows_metrics_and_one_camera(batch, models):
    rows = evaluate_corruptions(models, [batch], ["gaussian_noise"], [2], seed=1)
    one = evaluate_corruptions(models, [batch], ["gaussian_noise"], [2], seed=1, corrupted_views="one")
    cell = {(r["model"], r["corruption"], r["severity"]): r for r in rows}
    assert len(rows) == 4 and all(set(COLUMNS) <= set(r) for r in rows)
    # the clean row is the model's own error on the clean view-0 images
    sub = select_views(batch, [0])
    with torch.no_grad():
        pred = models["regression"](sub["images"].float(), sub)["pose"]
    clean = float(mpjpe(pred, models["regression"].pose_target(sub)).mean())
    assert cell[("regression", "clean", 0)]["mpjpe"] == pytest.approx(clean, rel=1e-5)
    assert cell[("regression", "clean", 0)]["jdr"] == "" and cell[("triangulation", "clean", 0)]["jdr"] > 0.5
    noisy = cell[("triangulation", "gaussian_noise", 2)]
    assert noisy["corrupted_views"] == 4 and noisy["jdr"] < cell[("triangulation", "clean", 0)]["jdr"]
    one_cell = {(r["model"], r["corruption"]): r for r in one}
    # one camera corrupted hurts the multi-view model less; monocular models see the same pixels either way
    assert one_cell[("triangulation", "gaussian_noise")]["corrupted_views"] == 1
    assert one_cell[("triangulation", "gaussian_noise")]["jdr"] > noisy["jdr"]
    mono = cell[("regression", "gaussian_noise", 2)]["mpjpe"]
    assert one_cell[("regression", "gaussian_noise")]["mpjpe"] == mono


def test_cli_writes_csv_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(["--model", "regression", "--samples", "2", "--batch-size", "2", "--corruptions",
                 "contrast,occlusion", "--severities", "1,5", "--out", str(out)]) == 0
    rows = read_csv(out)
    assert [(r["corruption"], r["severity"]) for r in rows] == [
        ("clean", 0), ("contrast", 1), ("contrast", 5), ("occlusion", 1), ("occlusion", 5)]
    assert out.with_suffix(".md").read_text().count("| regression |") == 2  # MPJPE and P-MPJPE tables
    for bad, msg in ((["--corruptions", "snow"], "unknown corruption 'snow'"),
                     (["--severities", "0,6"], "--severities must lie in 1..5"),
                     (["--baseline", "x"], "--baseline 'x'")):
        assert main(["--model", "regression", "--out", str(out), *bad]) == 2
        assert msg in capsys.readouterr().err


def test_examples_figure_written(tmp_path):
    from PIL import Image

    from poselab.corruptions.figures import examples_figure

    path = examples_figure(torch.rand(3, 40, 40) * 255, torch.rand(17, 2) * 30 + 5, tmp_path / "ex.png")
    w, h = Image.open(path).size
    assert h > w > 100  # 11 rows x 6 columns of panels


def test_summary_groups_noise_and_other():
    from poselab.corruptions.evaluate import summary_markdown

    rows = []
    for model, clean, noise, fog in (("a", 50.0, 100.0, 60.0), ("b", 40.0, 300.0, 50.0)):
        rows.append({"model": model, "corruption": "clean", "severity": 0, "mpjpe": clean, "pmpjpe": clean,
                     "jdr": ""})
        for name, err in (("gaussian_noise", noise), ("fog", fog)):
            rows += [{"model": model, "corruption": name, "severity": s, "mpjpe": err, "pmpjpe": err,
                      "jdr": ""} for s in (1, 2)]
    text = summary_markdown(rows, "a", metrics=("mpjpe",))
    assert "| mCE noise | mCE other |" in text
    # b: CE noise = 600 / 200 = 3, CE fog = 100 / 120; mCE = mean; rel. mCE = (520/100 + 20/20) / 2
    assert f"| 1.917 | {(5.2 + 1.0) / 2:.3f} | 3.000 | 0.833 |" in text.splitlines()[-1]
