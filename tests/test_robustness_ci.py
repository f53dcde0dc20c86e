"""The report's "smallest MPJPE increase" finding ranks only what the increase's 95 % CI (paired over the
runs' per-sample values) resolves; the CI is scipy's paired bootstrap of clean and attacked values."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from poselab.reporting.report import build_report
from poselab.results.files import write_results
from poselab.results.reader import read_samples
from poselab.results.schema import ResultKey, clean_key, row_of
from poselab.results.statistics import RESAMPLES, SEED

N = 24
ATTACKED = ResultKey("untargeted", "igsm_u", 8.0, 10, 1, "", "mpjpe")


def write_run(folder, clean: np.ndarray, attacked: np.ndarray) -> None:
    """A results folder with the untargeted clean row and one attacked row, and their per-sample values."""
    rows = [row_of(folder.name, "toy", clean_key("untargeted", "mpjpe"), float(clean.mean()), N),
            row_of(folder.name, "toy", ATTACKED, float(attacked.mean()), N)]
    per_sample = [(r, SimpleNamespace(index=np.arange(N), view=np.zeros(N, int), value=v))
                  for r, v in zip(rows, (clean, attacked))]
    write_results(folder, rows, {"model": folder.name}, per_sample=per_sample)


def runs(tmp_path, spread: float):
    """Runs a (increase 100 mm) and b (110 mm) whose per-sample increases scatter by ``spread`` mm."""
    rng = np.random.default_rng(0)
    clean = 50 + rng.normal(0, 5, N)
    for name, gap in (("a", 100.0), ("b", 110.0)):
        noise = rng.normal(0, 1, N)
        noise = (noise - noise.mean()) / noise.std()  # the mean increase is exactly the gap
        write_run(tmp_path / "results" / name, clean, clean + gap + spread * noise)
    return build_report([tmp_path / "results"], tmp_path / f"report-{spread:g}")


def finding(report) -> str:
    text = (report.out / "report.md").read_text()
    return next(line for line in text.splitlines() if line.startswith("- Smallest MPJPE increase"))


def test_an_unresolved_smallest_increase_says_so(tmp_path):
    line = finding(runs(tmp_path, spread=60.0))
    assert "**a** (+100.0 mm), not resolved from b (95 % CIs of the increase overlap)." in line


def test_a_resolved_smallest_increase_is_stated_plainly(tmp_path):
    line = finding(runs(tmp_path, spread=2.0))
    assert line.endswith("**a** (+100.0 mm).")


def test_the_increase_ci_is_scipys_paired_bootstrap(tmp_path):
    report = runs(tmp_path, spread=60.0)
    robust = next(t for t in report.tables if t.name == "robustness")
    for k, row in enumerate(robust.rows):
        folder = tmp_path / "results" / row[0]
        cells = list(read_samples(folder).values())
        clean, attacked = (np.array([c[s] for s in sorted(c)]) for c in cells)
        if clean.mean() > attacked.mean():
            clean, attacked = attacked, clean
        ref = stats.bootstrap((attacked, clean), lambda x, y: np.mean(x - y), paired=True,
                              n_resamples=RESAMPLES, method="percentile",
                              rng=np.random.default_rng(SEED)).confidence_interval
        assert robust.cis[(k, "increase")] == pytest.approx((ref.low, ref.high), rel=1e-9)
        assert ref.low < row[3] < ref.high
