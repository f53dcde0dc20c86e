"""mCE helpers against a hand-computed example (Hendrycks & Dietterich 2019 definitions)."""

from __future__ import annotations

import pytest
import torch

from poselab.results.mce import (
    corruption_errors,
    mce,
    relative_corruption_errors,
    relative_mce,
    summarise,
)

# model A and baseline B, 2 corruptions x 2 severities, errors in mm; clean 50 (A) and 40 (B)
A = torch.tensor([[60.0, 80.0], [70.0, 90.0]])
B = torch.tensor([[100.0, 120.0], [50.0, 70.0]])


def test_hand_computed_example():
    # CE_1 = (60 + 80) / (100 + 120) = 140 / 220; CE_2 = (70 + 90) / (50 + 70) = 160 / 120
    assert corruption_errors(A, B).tolist() == pytest.approx([140 / 220, 160 / 120])
    assert float(mce(A, B)) == pytest.approx((140 / 220 + 160 / 120) / 2)  # 0.98485
    # relative: ((60-50) + (80-50)) / ((100-40) + (120-40)) = 40 / 140; (20 + 40) / (10 + 30) = 60 / 40
    rel = relative_corruption_errors(A, torch.tensor(50.0), B, torch.tensor(40.0))
    assert rel.tolist() == pytest.approx([40 / 140, 60 / 40])
    assert float(relative_mce(A, torch.tensor(50.0), B, torch.tensor(40.0))) == pytest.approx(
        (40 / 140 + 1.5) / 2)
    assert float(mce(B, B)) == 1.0  # the baseline's own mCE
    batched = mce(torch.stack([A, B]), B)  # leading dims broadcast
    assert batched.tolist() == pytest.approx([float(mce(A, B)), 1.0])


def _rows(model, clean, grid, jdr=None):
    out = [{"model": model, "corruption": "clean", "severity": 0, "mpjpe": clean, "jdr": jdr}]
    for c, errs in zip(("noise", "blur"), grid):
        out += [{"model": model, "corruption": c, "severity": s + 1, "mpjpe": e,
                 "jdr": None if jdr is None else 0.9 - 0.1 * s} for s, e in enumerate(errs)]
    return out


def test_summarise_rows():
    rows = _rows("a", 50.0, A.tolist()) + _rows("b", 40.0, B.tolist(), jdr=0.95)
    table = {r["model"]: r for r in summarise(rows, baseline="b")}
    assert table["a"]["mce"] == pytest.approx(float(mce(A, B)))
    assert table["a"]["relative_mce"] == pytest.approx((40 / 140 + 1.5) / 2)
    assert table["a"]["mean_noise"] == 70.0 and table["b"]["mce"] == 1.0
    jdr = summarise(rows, baseline="b", metric="jdr")  # model a has no JDR: left out
    assert [r["model"] for r in jdr] == ["b"] and jdr[0]["clean"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="baseline model 'c'"):
        summarise(rows, baseline="c")
