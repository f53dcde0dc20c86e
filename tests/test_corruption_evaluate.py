"""The standalone corruption evaluation (a wrapper over the engine) on the shipped checkpoints (2 samples)."""

from __future__ import annotations

import csv

import torch

from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
from poselab.evaluation.corruptions import main
from poselab.experiments.corruption import CorruptionExperiment
from poselab.experiments.evaluate import evaluate
from poselab.models import load_model


def test_cli_writes_results_folders_the_report_reads(tmp_path, capsys):
    from poselab.results.reader import load_runs

    out = tmp_path / "c"
    assert (
        main(
            [
                "--model",
                "regression",
                "--model",
                "volumetric",
                "--samples",
                "2",
                "--batch-size",
                "2",
                "--corruptions",
                "contrast,occlusion",
                "--severities",
                "1,5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with (out / "regression-synthetic" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["corruption"], r["severity"]) for r in rows if r["metric"] == "mpjpe"] == [
        ("", "0"),
        ("contrast", "1"),
        ("contrast", "5"),
        ("occlusion", "1"),
        ("occlusion", "5"),
    ]
    assert {r["metric"] for r in rows} == {"mpjpe", "pmpjpe"}  # regression: no 2D joints, no JDR
    text = (out / "corruptions.md").read_text()
    assert "mCE and relative mCE vs regression" in text and "| volumetric |" in text
    assert "1 - JDR" in text  # volumetric has 2D joints
    runs = load_runs([out])
    assert sorted(r.model for r in runs) == ["regression", "volumetric"]


def test_cli_rejects_bad_input_with_status_2(tmp_path, capsys):
    out = tmp_path / "c"
    for bad, msg in (
        (["--corruptions", "snow"], "unknown corruption 'snow'"),
        (["--severities", "0,6"], "severities must be a non-empty list of distinct integers in 1..5"),
        (["--corrupted-views", "some"], "corrupted_views must be"),
        (["--baseline", "x"], "--baseline 'x'"),
    ):
        assert main(["--model", "regression", "--samples", "2", "--out", str(out), *bad]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1
    assert not out.exists()


def test_engine_rows_equal_the_wrapper_rows():
    """The wrapper's rows are the engine's: same cells whatever the batch size."""
    ds = build_dataset(DEFAULT_DATA_CONFIGS, {"test_size": 2}, "test")
    model = load_model("checkpoints/triangulation.ckpt", "triangulation").eval()
    spec = CorruptionExperiment(corruptions=["fog"], severities=[2], corrupted_views=["one"])
    a, joints = evaluate(model, torch.utils.data.DataLoader(ds, batch_size=2), [spec], name="t")
    b, _ = evaluate(model, torch.utils.data.DataLoader(ds, batch_size=1), [spec], name="t")
    assert [(r["corruption"], r["attacked_views"], r["metric"]) for r in a] == [
        (c, k, m) for c, k in (("", 0), ("fog", 1))
        for m in ("mpjpe", "pmpjpe", "jdr", "failed", "near_degenerate")
    ]
    for x, y in zip(a, b):
        assert abs(x["value"] - y["value"]) <= 1e-4 * max(1.0, abs(x["value"]))
    assert [(row["corruption"], len(v)) for row, v in joints] == [("", 17), ("fog", 17)]  # both mpjpe rows


def test_examples_figure_written(tmp_path):
    from PIL import Image

    from studies.corruption_figures.figures import examples_figure

    path = examples_figure(torch.rand(3, 40, 40) * 255, torch.rand(17, 2) * 30 + 5, tmp_path / "ex.png")
    w, h = Image.open(path).size
    assert h > w > 100  # 11 rows x 6 columns of panels
