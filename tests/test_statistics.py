"""Bootstrap CIs of results cells (checked against scipy), resolved differences, per-sample values and files,
the claim file."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from poselab.metrics import JDR, MPJPE, PMPJPE, FailureCount, sort_samples
from poselab.results import statistics as S
from poselab.results.files import write_results
from poselab.results.reader import read_run
from poselab.results.schema import CI_HIGH, CI_LOW, PER_SAMPLE_CSV


@pytest.mark.parametrize("n", [2, 7, 50, 333])
def test_bootstrap_ci_equals_scipy_with_the_same_draws(n: int) -> None:
    """Same generator, seed, resample count and percentile method: the same index draws, so the bounds agree
    to float rounding (not a Monte-Carlo tolerance)."""
    x = np.random.default_rng(n).gamma(2.0, 40.0, size=n)
    low, high = S.bootstrap_ci(x, resamples=999, seed=3)
    ref = stats.bootstrap((x,), np.mean, n_resamples=999, method="percentile", confidence_level=0.95,
                          rng=np.random.default_rng(3)).confidence_interval
    assert (low, high) == pytest.approx((ref.low, ref.high), rel=1e-12, abs=1e-12)
    assert low < x.mean() < high


def test_bootstrap_batches_draw_the_same_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory bound (index draws per batch) never changes the CI."""
    x = np.random.default_rng(0).normal(80.0, 10.0, size=40)
    whole = S.bootstrap_ci(x, resamples=500, seed=1)
    monkeypatch.setattr(S, "_BATCH_DRAWS", 40 * 7)  # 7 resamples per batch
    assert S.bootstrap_ci(x, resamples=500, seed=1) == whole


def test_bootstrap_ci_edge_cases() -> None:
    assert all(math.isnan(v) for v in S.bootstrap_ci([5.0]))
    assert all(math.isnan(v) for v in S.bootstrap_ci([]))
    assert S.bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    assert S.bootstrap_ci([1.0, 2.0, 9.0]) == S.bootstrap_ci([1.0, 2.0, 9.0])  # seeded
    with pytest.raises(ValueError):
        S.bootstrap_ci([1.0, 2.0], level=1.5)
    # a count (failed) is n x the CI of the failure rate
    flags = [1.0, 0.0, 0.0, 1.0, 0.0]
    low, high = S.bootstrap_ci(flags)
    assert S.cell_ci("failed", flags) == pytest.approx((5 * low, 5 * high))


def test_resolved_and_ranks() -> None:
    a = {CI_LOW: 10.0, CI_HIGH: 12.0}
    b = {CI_LOW: 11.5, CI_HIGH: 14.0}
    c = {CI_LOW: 13.0, CI_HIGH: 15.0}
    assert not S.resolved(a, b) and S.resolved(a, c) and not S.resolved(b, c)
    assert not S.resolved({"value": 1.0}, c)  # an older row without a CI is never resolved
    rows = [dict(c, value=14.0), dict(a, value=11.0), dict(b, value=12.5)]
    assert S.rank_resolved(rows, lambda r: r["value"]) == [2, 1, 1]  # c resolved from a only
    assert S.rank_resolved([{"value": 2.0}, {"value": 1.0}], lambda r: r["value"]) == [1, 1]


def test_per_sample_order_does_not_depend_on_the_rank_split() -> None:
    """The DDP gather concatenates ranks' samples in rank order; sorting by (index, view, value) undoes it."""
    pred, target = torch.randn(6, 2, 17, 3) * 50, torch.randn(6, 2, 17, 3) * 50
    index = torch.tensor([4, 0, 5, 1, 3, 2])
    one = MPJPE(per_sample=True)
    one.update(pred, target, index=index)
    one.compute()
    ranks = [MPJPE(per_sample=True) for _ in range(2)]
    for r, rows in zip(ranks, ([0, 2, 4], [1, 3, 5])):  # interleaved as a DistributedSampler splits
        r.update(pred[rows], target[rows], index=index[rows])
    gathered = [torch.cat([getattr(r, name)[0] for r in ranks]) for name in ("sample_index", "sample_view",
                                                                               "sample_value")]
    merged = sort_samples(*gathered)
    for a, b in zip(one.sorted_samples, merged):
        assert torch.equal(a, b)
    assert one.sorted_samples.index.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert one.sorted_samples.view.tolist() == [0, 1] * 6
    assert float(one.sorted_samples.value.mean()) == pytest.approx(float(one.compute()), rel=1e-12)


def test_per_sample_values_skip_invalid_samples_and_count_failures() -> None:
    pred, target = torch.randn(4, 17, 3) * 50, torch.randn(4, 17, 3) * 50
    valid = torch.tensor([True, False, True, True])
    m = PMPJPE(per_sample=True)
    m.update(pred, target, valid, index=torch.arange(4) + 10)
    value = float(m.compute())
    assert m.sorted_samples.index.tolist() == [10, 12, 13]
    assert float(m.sorted_samples.value.mean()) == pytest.approx(value, rel=1e-12)
    f = FailureCount(per_sample=True)
    f.update(valid, pred, index=torch.arange(4))
    assert float(f.compute()) == 1 and f.sorted_samples.value.tolist() == [0, 1, 0, 0]
    j = JDR(per_sample=True, definition="head_thorax")
    j.update(torch.randn(2, 3, 17, 2) * 5, torch.randn(2, 3, 17, 2) * 5,
             torch.tensor([[True, True, False], [True, True, True]]), index=torch.tensor([7, 8]))
    rate = float(j.compute())
    assert j.sorted_samples.view.tolist() == [0, 1, 0, 1, 2]  # the missing view is no sample
    assert float(j.sorted_samples.value.mean()) == pytest.approx(rate, rel=1e-12)
    plain = MPJPE()  # the training loops' metrics keep no per-sample state
    assert "sample_value" not in plain.metric_state


def _row(metric: str, value: float, n: int, **extra) -> dict:
    return {"model": "m", "dataset": "d", "experiment": "untargeted", "attack": "clean", "eps": 0.0,
            "iterations": 0, "attacked_views": 1, "view_set": "", "target": "", "corruption": "",
            "severity": 0, "metric": metric, "value": value, "n": n, **extra}


def test_ci_columns_written_and_older_files_still_read(tmp_path: Path) -> None:
    samples = S.bootstrap_ci([70.0, 80.0, 90.0])
    row = _row("mpjpe", 80.0, 3, ci_low=samples[0], ci_high=samples[1])
    one = _row("pmpjpe", 50.0, 1, ci_low=math.nan, ci_high=math.nan)
    write_results(tmp_path / "new", [row, one], {"model": "m", "dataset": "d"})
    run = read_run(tmp_path / "new")
    assert (run.cells[0].ci_low, run.cells[0].ci_high) == pytest.approx(samples)
    assert math.isnan(run.cells[1].ci_low)
    header = (tmp_path / "new" / "results.csv").read_text().splitlines()[0].split(",")
    assert header[-3:] == ["n", "ci_low", "ci_high"]
    old = {k: v for k, v in row.items() if k not in (CI_LOW, CI_HIGH)}
    write_results(tmp_path / "old", [old], {"model": "m", "dataset": "d"})
    assert "ci_low" not in (tmp_path / "old" / "results.csv").read_text()
    cell = read_run(tmp_path / "old").cells[0]
    assert cell.value == 80.0 and math.isnan(cell.ci_low) and math.isnan(cell.ci_high)
    for committed in sorted(Path("docs/results").rglob("results.csv"))[:3]:  # committed older files
        assert read_run(committed.parent).cells


def test_per_sample_file_written_with_the_setting_columns(tmp_path: Path) -> None:
    m = MPJPE(per_sample=True)
    m.update(torch.randn(3, 1, 17, 3) * 40, torch.randn(3, 1, 17, 3) * 40, index=torch.tensor([2, 0, 1]))
    row = _row("mpjpe", float(m.compute()), 3)
    S.add_ci([row], [(row, m.sorted_samples)])
    write_results(tmp_path, [row], {"model": "m", "dataset": "d"}, per_sample=[(row, m.sorted_samples)])
    with (tmp_path / PER_SAMPLE_CSV).open() as f:
        got = list(csv.DictReader(f))
    assert [r["index"] for r in got] == ["0", "1", "2"] and {r["metric"] for r in got} == {"mpjpe"}
    assert "n" not in got[0] and "ci_low" not in got[0]
    assert np.mean([float(r["value"]) for r in got]) == pytest.approx(row["value"], rel=1e-9)
    assert row[CI_LOW] <= row["value"] <= row[CI_HIGH]


def test_per_sample_values_read_back_by_cell(tmp_path: Path) -> None:
    from poselab.results.reader import ResultsError, cell_key, read_samples

    m = MPJPE(per_sample=True)
    m.update(torch.randn(3, 1, 17, 3) * 40, torch.randn(3, 1, 17, 3) * 40, index=torch.tensor([2, 0, 1]))
    row = _row("mpjpe", float(m.compute()), 3)
    write_results(tmp_path, [row], {"model": "m", "dataset": "d"}, per_sample=[(row, m.sorted_samples)])
    (cell,) = read_run(tmp_path).cells
    values = read_samples(tmp_path)[cell_key(cell)]
    assert sorted(values) == [(0, 0), (1, 0), (2, 0)]
    assert np.mean(list(values.values())) == pytest.approx(cell.value, rel=1e-9)
    assert read_samples(tmp_path / "nowhere") == {}  # older folders: no per-sample values
    lines = (tmp_path / PER_SAMPLE_CSV).read_text().splitlines()
    (tmp_path / PER_SAMPLE_CSV).write_text("\n".join([*lines, lines[-1]]) + "\n")
    with pytest.raises(ResultsError, match="appears twice"):
        read_samples(tmp_path)


def _evaluate(model_name: str, experiments: list[dict], out: Path, ckpt: bool = False) -> Path:
    import pytorch_lightning as pl

    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
    from poselab.evaluation.callback import AttackEvaluation
    from poselab.models import load_model

    path = f"checkpoints/{model_name}.ckpt"
    model = load_model(path, model_name).eval()
    data = build_dataset(DEFAULT_DATA_CONFIGS, {"test_size": 6}, "test")
    cb = AttackEvaluation(experiments, out_dir=str(out), run_name=model_name, dataset_name="synthetic",
                          max_samples=3, print_tables=False, examples=0)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, callbacks=[cb],
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.test(model, dataloaders=torch.utils.data.DataLoader(data, batch_size=3),
                 ckpt_path=path if ckpt else None, weights_only=True)
    return out / model_name


def _check_per_sample_means(folder: Path) -> set[str]:
    with (folder / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    with (folder / PER_SAMPLE_CSV).open() as f:
        samples = list(csv.DictReader(f))
    key = ("experiment", "attack", "eps", "iterations", "attacked_views", "target", "metric")
    by_row: dict[tuple, list[float]] = {}
    for s in samples:
        by_row.setdefault(tuple(s[k] for k in key), []).append(float(s["value"]))
    assert len(by_row) == len(rows)
    for r in rows:
        values = by_row[tuple(r[k] for k in key)]
        count = r["metric"] in ("failed", "near_degenerate")
        assert len(values) == int(r["n"]) or count
        got = sum(values) if count else float(np.mean(values))
        assert got == pytest.approx(float(r["value"]), rel=1e-6, abs=1e-9)
        if len(values) > 1 and not count:
            assert float(r["ci_low"]) <= float(r["value"]) <= float(r["ci_high"])
            assert (float(r["ci_low"]), float(r["ci_high"])) == pytest.approx(S.bootstrap_ci(values))
    return {r["metric"] for r in rows}


def test_per_sample_file_means_equal_the_results_rows_shipped_models(tmp_path: Path) -> None:
    """MPJPE and P-MPJPE (regression), and MPJPE, P-MPJPE, JDR, failed and near-degenerate counts
    (triangulation): the mean of each row's per-sample values is its value (counts: the sum); the CI is the
    bootstrap of those values."""
    import hashlib
    import json

    fgsm = {"attack": "fgsm", "eps": [0, 8], "iterations": [1]}
    mono = _evaluate("regression", [{"kind": "untargeted", **fgsm}], tmp_path, ckpt=True)
    assert _check_per_sample_means(mono) == {"mpjpe", "pmpjpe"}
    multi = _evaluate("triangulation", [{"kind": "multiview", **fgsm, "attacked_views": [4]}], tmp_path)
    assert _check_per_sample_means(multi) == {"mpjpe", "pmpjpe", "jdr", "failed", "near_degenerate"}
    meta = json.loads((mono / "results.json").read_text())["meta"]
    assert meta["ci"] == S.ci_meta()
    claim = json.loads((mono / "claim.json").read_text())
    digest = hashlib.sha256(Path("checkpoints/regression.ckpt").read_bytes()).hexdigest()
    assert claim["checkpoint_sha256"] == digest
    # no datamodule here, so no scale: the input size and backbone come from the checkpoint
    assert (claim["name"], claim["input_size"], claim["scale"]) == ("regression", 64, "unknown")
    assert claim["architecture"] == "regression tiny" and claim["training_data"] == "synthetic, 8000 samples"
    assert claim["eps"] == 8.0 and claim["robust"]["source"].startswith("fallback")
    assert claim["clean"]["mpjpe"] > 0 and claim["robust"]["mpjpe"] > claim["clean"]["mpjpe"]
    assert claim["n"] == 6 and claim["poselab_version"] and claim["preset"] is None
    no_ckpt = json.loads((multi / "claim.json").read_text())
    assert no_ckpt["checkpoint_sha256"] is None and no_ckpt["training_data"] == "unknown"


def test_combined_ci_equals_a_paired_scipy_bootstrap_of_the_aggregate() -> None:
    """An aggregate of cells (weighted sum of their means, e.g. an mCE or an attack increase) over the same
    samples: the CI of the per-sample combination is scipy's paired bootstrap of the aggregate itself."""
    rng = np.random.default_rng(5)
    n, weights = 23, [0.5, 0.25, -1.0]
    x = [rng.gamma(2.0, 40.0, size=n) for _ in weights]
    keys = [(i // 2, i % 2) for i in range(n)]  # (dataset index, view), sorted
    shuffled = rng.permutation(n)  # the order the file lists them in does not matter
    cells = [{keys[i]: float(v[i]) for i in shuffled} for v in x]
    got = S.combined_ci(cells, weights, resamples=999, seed=3)

    def aggregate(*xs: np.ndarray, axis: int = -1) -> np.ndarray:
        return sum(w * np.mean(v, axis=axis) for w, v in zip(weights, xs))

    ref = stats.bootstrap(tuple(x), aggregate, paired=True, n_resamples=999, method="percentile",
                          rng=np.random.default_rng(3)).confidence_interval
    assert got == pytest.approx((ref.low, ref.high), rel=1e-9, abs=1e-9)
    assert got[0] < aggregate(*x) < got[1]
    # different samples in the cells, or a cell without samples: the aggregate has no CI
    assert all(math.isnan(v) for v in S.combined_ci([cells[0], {(0, 0): 1.0, (9, 9): 2.0}], [1.0, 1.0]))
    assert all(math.isnan(v) for v in S.combined_ci([cells[0], {}], [1.0, 1.0]))


def test_joined_and_reversed_orders_claim_only_resolved_differences() -> None:
    narrow = [("a", (1.0, 2.0)), ("b", (3.0, 4.0)), ("c", (3.5, 5.0))]
    assert S.joined(narrow) == "a < b ≈ c"
    assert S.joined([(n, None) for n, _ in narrow]) == "a < b < c"  # older files without CIs: as before
    swapped = [("a", (1.0, 2.0)), ("c", (3.5, 5.0)), ("b", (3.0, 4.0))]
    assert not S.reversed_resolved(narrow, swapped)  # b and c overlap: not a reversal
    assert S.reversed_resolved(narrow, [("b", (0.0, 0.5)), ("a", (1.0, 2.0)), ("c", (3.5, 5.0))])
