"""The cross-machine tolerance table: every row has a class, and results.json states the table."""

from __future__ import annotations

import json

from poselab.results.files import write_results
from poselab.results.tolerance import TOLERANCE_VERSION, TOLERANCES, tolerance_class


def _row(attack="igsm_u", eps=8.0, iterations=10, metric="mpjpe"):
    return {"model": "m", "dataset": "d", "experiment": "untargeted", "attack": attack, "eps": eps,
            "iterations": iterations, "attacked_views": 1, "target": "", "metric": metric, "value": 1.0,
            "n": 4}


def test_rows_fall_in_the_class_their_attack_budget_says():
    assert tolerance_class(_row("clean", 0.0, 0)) == "clean"
    assert tolerance_class(_row("fgsm", 8.0, 1)) == "single_step"
    assert tolerance_class(_row(iterations=10)) == "iterative"
    assert tolerance_class(_row(iterations=100)) == "iterative_long"
    assert tolerance_class(_row(iterations=10), multiview=True) == "multiview_attacked"
    assert tolerance_class(_row("clean", 0.0, 0), multiview=True) == "clean"
    assert tolerance_class(_row(metric="failed")) == "count"
    assert tolerance_class(_row(metric="near_degenerate")) == "count"
    bounds = [TOLERANCES[c][0] for c in ("clean", "single_step", "iterative", "iterative_long")]
    assert bounds == sorted(bounds)  # more steps never promise a tighter bound


def test_results_json_states_the_table(tmp_path):
    write_results(tmp_path, [_row()], {"model": "m"})
    meta = json.loads((tmp_path / "results.json").read_text())["meta"]
    assert meta["tolerance"]["version"] == TOLERANCE_VERSION
    assert set(meta["tolerance"]["classes"]) == set(TOLERANCES)
    assert meta["tolerance"]["classes"]["multiview_attacked"]["relative"] is None
