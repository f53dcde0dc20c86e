"""``poselab leaderboard``'s W&B table, read back from the offline run file: the same columns and rows as
leaderboard.csv, in the order of leaderboard.md."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from support.wandb_offline import read_run
from test_leaderboard import _mono, _multi

from poselab.cli import main
from poselab.reporting.leaderboard import LEADERBOARD_COLUMNS


def _same(logged: Any, written: str) -> bool:
    """A W&B table cell equals a leaderboard.csv field: empty = None/NaN, numbers as floats, text as is."""
    if written == "":
        return logged is None or (isinstance(logged, float) and math.isnan(logged)) or logged == ""
    if isinstance(logged, int | float) and not isinstance(logged, bool):
        return math.isclose(float(logged), float(written), rel_tol=1e-12)
    return str(logged) == written


def test_wandb_table_equals_the_csv_and_markdown_leaderboard(tmp_path: Path) -> None:
    res = tmp_path / "results"
    _mono(res, "alpha", 50.0, (100.0, 95.0, 105.0), flags=[{"flag": "zero_gradients", "triggered": True}])
    _mono(res, "beta", 55.0, (130.0, 120.0, 140.0))
    _mono(res, "gamma", 60.0, (103.0, 98.0, 108.0), preset=False)  # a fallback setting of its own
    _multi(res)  # a JDR drop (empty for the monocular rows): numbers, None and text in one column
    out, wandb_dir = tmp_path / "board", tmp_path / "wb"
    assert main(["leaderboard", str(res), "--out", str(out), "--wandb-dir", str(wandb_dir),
                 "--group", "lb-test"]) == 0
    (folder,) = wandb_dir.glob("**/offline-run-*")
    back = read_run(folder, wait_s=20)
    assert back.complete and back.job_type == "report" and back.name == "leaderboard-lb-test"
    table = back.table("tables/leaderboard")
    with (out / "leaderboard.csv").open() as f:
        reader = csv.DictReader(f)
        assert table["columns"] == list(reader.fieldnames or []) == list(LEADERBOARD_COLUMNS)
        written = list(reader)
    assert len(table["data"]) == len(written) == 4
    assert {r["jdr_drop"] == "" for r in written} == {True, False}  # empty cells are compared too
    for logged, row in zip(table["data"], written):
        bad = [(c, v, row[c]) for c, v in zip(table["columns"], logged) if not _same(v, row[c])]
        assert not bad, bad
    md = (out / "leaderboard.md").read_text().splitlines()
    md_models = [line.split("|")[2].strip() for line in md
                 if line.startswith("| ") and "| model |" not in line]
    assert [d[table["columns"].index("model")] for d in table["data"]] == md_models
    assert {r["model"] for r in written} == {"alpha", "beta", "gamma", "triangulation"}
