"""The ``corruption`` experiment of the evaluation engine: spec, rows, determinism, trends, callback files."""

from __future__ import annotations

import csv

import pytest
import torch
from attack_toys import quiet_trainer

from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
from poselab.data.sample import select_views
from poselab.experiments import AttackConfigError, build_experiments
from poselab.experiments.cells import CellMetrics
from poselab.experiments.corruption import CorruptionExperiment
from poselab.experiments.runner import RunContext, run_experiment
from poselab.metrics import mpjpe
from poselab.models import load_model
from poselab.results.schema import columns_of


@pytest.fixture(scope="module")
def dataset():
    return build_dataset(DEFAULT_DATA_CONFIGS, {"test_size": 3}, "test")


@pytest.fixture(scope="module")
def batch(dataset):
    return next(iter(torch.utils.data.DataLoader(dataset, batch_size=3)))


@pytest.fixture(scope="module")
def models():
    return {
        m: load_model(f"checkpoints/{m}.ckpt", m).eval()
        for m in ("regression", "volumetric", "triangulation")
    }


def rows_of(model, batches, spec, name="m"):
    cells = CellMetrics([spec], model.multiview, batches[0]["images"].shape[1])
    for b in batches:
        run_experiment(spec, b, RunContext(model=model, update=cells.update))
    return cells.collect(None, 1, name, "synthetic")[0]


def by_key(rows):
    return {(r["corruption"], r["severity"], r["attacked_views"], r["metric"]): r["value"] for r in rows}


def test_config_errors_name_the_field():
    for cfg, words in (
        ({"corruptions": ["snow"]}, "unknown corruption 'snow'"),
        ({"severities": [0, 3]}, "severities must be a non-empty list of distinct integers in 1..5"),
        ({"severities": [6]}, "in 1..5, got [6]"),
        ({"corrupted_views": ["some"]}, "corrupted_views must be"),
        ({"input_views": [-1]}, "input_views"),
        ({"eps": [1]}, "unknown corruption experiment option(s) ['eps']"),
    ):
        with pytest.raises(AttackConfigError, match=None) as err:
            build_experiments([{"kind": "corruption", **cfg}])
        assert words in str(err.value)
    spec = build_experiments([{"kind": "corruption"}])[0]
    assert (
        isinstance(spec, CorruptionExperiment)
        and len(spec.corruptions) == 11
        and spec.severities == [1, 2, 3, 4, 5]
    )
    with pytest.raises(AttackConfigError, match="corrupted_views \\[5\\] exceed the views"):
        CorruptionExperiment(corrupted_views=[5]).check_views(4, multiview=True)
    with pytest.raises(AttackConfigError, match="unknown experiment kind 'corrupt'.*corruption"):
        build_experiments([{"kind": "corrupt"}])


def test_rows_columns_clean_reference_and_one_camera(batch, models):
    spec = CorruptionExperiment(
        corruptions=["gaussian_noise", "occlusion"], severities=[2, 5], corrupted_views=["all", "one"]
    )
    reg = rows_of(models["regression"], [batch], spec, "regression")
    tri = rows_of(models["triangulation"], [batch], spec, "triangulation")
    # regression: clean + 2 corruptions x 2 severities, MPJPE P1/P2; no 2D joints -> no JDR rows
    assert len(reg) == 2 * 5 and {r["metric"] for r in reg} == {"mpjpe", "pmpjpe"}
    # triangulation: clean + 2 view counts x 4 settings, with JDR, failed and near-degenerate triangulations
    assert len(tri) == 5 * (1 + 2 * 4) and {r["attacked_views"] for r in tri} == {0, 1, 4}
    assert all(
        r["experiment"] == "corruption" and r["attack"] == "clean" and r["eps"] == 0 for r in reg + tri
    )
    assert columns_of(reg)[8:10] == ["corruption", "severity"]  # after target, before metric
    clean = [r for r in reg if r["corruption"] == ""]
    assert {r["severity"] for r in clean} == {0} and {r["attacked_views"] for r in clean} == {0}
    # the clean row is the model's own error on the clean view-0 images
    model = models["regression"]
    sub = select_views(batch, [0])
    with torch.no_grad():
        pred = model(sub["images"].float(), sub)["pose"]
    want = float(mpjpe(pred, model.pose_target(sub)).mean())
    assert by_key(reg)[("", 0, 0, "mpjpe")] == pytest.approx(want, rel=1e-5)
    # one camera corrupted of four hurts the triangulation less than all four
    t = by_key(tri)
    assert t[("gaussian_noise", 5, 1, "jdr")] > t[("gaussian_noise", 5, 4, "jdr")]
    assert t[("gaussian_noise", 5, 1, "mpjpe")] < t[("gaussian_noise", 5, 4, "mpjpe")]
    assert t[("", 0, 0, "jdr")] > t[("gaussian_noise", 5, 4, "jdr")]


def test_deterministic_per_seed_and_sample_not_per_batching(dataset, batch, models):
    model = models["volumetric"]
    spec = CorruptionExperiment(corruptions=["shot_noise", "occlusion", "motion_blur"], severities=[3])
    whole = by_key(rows_of(model, [batch], spec))
    again = by_key(rows_of(model, [batch], spec))
    split = [
        next(iter(torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, idx), batch_size=len(idx))))
        for idx in ([0, 1], [2])
    ]  # other batches, same samples: same draws per (seed, sample, camera)
    parts = by_key(rows_of(model, split, spec))
    other = by_key(
        rows_of(
            model,
            [batch],
            CorruptionExperiment(
                corruptions=["shot_noise", "occlusion", "motion_blur"], severities=[3], seed=1
            ),
        )
    )
    assert whole == again
    for key, value in whole.items():
        assert parts[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert other[("shot_noise", 3, 1, "mpjpe")] != whole[("shot_noise", 3, 1, "mpjpe")]
    assert other[("", 0, 0, "mpjpe")] == whole[("", 0, 0, "mpjpe")]


def test_error_grows_with_severity(batch, models):
    """Mean over corruptions: the error at severity 1 < 3 < 5 and above the clean error, for every model."""
    names = ["defocus_blur", "contrast", "pixelate", "occlusion", "impulse_noise"]
    spec = CorruptionExperiment(corruptions=names, severities=[1, 3, 5])
    for name, model in models.items():
        t = by_key(rows_of(model, [batch], spec, name))
        k = 4 if model.multiview else 1
        mean = [sum(t[(c, s, k, "mpjpe")] for c in names) / len(names) for s in (1, 3, 5)]
        assert t[("", 0, 0, "mpjpe")] < mean[0] < mean[1] < mean[2], (name, mean)


def test_callback_writes_corruption_rows_report_and_per_joint(tmp_path, dataset):

    from poselab.evaluation.callback import AttackEvaluation
    from poselab.results.reader import read_run

    experiments = [
        {"kind": "corruption", "corruptions": ["contrast", "occlusion"], "severities": [1, 5]},
        {"kind": "untargeted", "eps": [0, 4], "iterations": [1]},
    ]
    cb = AttackEvaluation(experiments, out_dir=str(tmp_path), run_name="reg", print_tables=False, examples=1)
    trainer = quiet_trainer(cb)
    model = load_model("checkpoints/regression.ckpt", "regression")
    trainer.test(model, dataloaders=torch.utils.data.DataLoader(dataset, batch_size=3))
    out = tmp_path / "reg"
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[8:10] == ["corruption", "severity"]
    corrupted = [r for r in rows if r["corruption"]]
    assert {(r["corruption"], r["severity"]) for r in corrupted} == {
        ("contrast", "1"),
        ("contrast", "5"),
        ("occlusion", "1"),
        ("occlusion", "5"),
    }
    assert all(r["experiment"] == "corruption" and int(r["n"]) == 3 for r in corrupted)
    assert all(
        r["corruption"] == "" and r["severity"] == "0" for r in rows if r["experiment"] == "untargeted"
    )
    run = read_run(out)  # the reader takes the new columns back
    assert {(c.corruption, c.severity) for c in run.cells if c.experiment == "corruption"} == {
        ("", 0),
        ("contrast", 1),
        ("contrast", 5),
        ("occlusion", 1),
        ("occlusion", 5),
    }
    assert {j.corruption for j in run.joints} >= {"contrast", "occlusion"}
    tables = (out / "tables.md").read_text()
    assert "Common corruptions" in tables and "| regression |" in tables and "Table 1" in tables
    assert (out / "figures" / "corruption_severity.png").is_file()
    assert list((out / "examples").glob("*.png"))  # the clean vs corrupted panel


def test_reader_rejects_bad_corruption_rows(tmp_path):
    from poselab.results.files import write_results
    from poselab.results.reader import ResultsError, read_run
    from poselab.results.schema import ResultKey, row_of

    for corruption, severity, words in (
        ("snow", 1, "unknown corruption 'snow'"),
        ("fog", 7, "severity must be 1..5"),
        ("", 2, "severity must be 1..5 with a corruption and 0 without"),
    ):
        key = ResultKey(
            "corruption", "clean", 0.0, 0, 1, "", "mpjpe", corruption=corruption, severity=severity
        )
        rows = [row_of("m", "d", key, 10.0, 1)]
        rows[0]["corruption"] = corruption or "x"  # written with the columns
        write_results(tmp_path / "r", rows, {})
        text = (tmp_path / "r" / "results.csv").read_text().replace(",x,", ",,")
        (tmp_path / "r" / "results.csv").write_text(text)
        with pytest.raises(ResultsError, match="results folder") as err:
            read_run(tmp_path / "r")
        assert words in str(err.value)
