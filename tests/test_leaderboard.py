"""``poselab leaderboard``: rows from results folders, ranks with ties where CIs overlap, flags, csv and
claim files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from poselab.cli import main
from poselab.reporting.leaderboard import FALLBACK, FROM_PRESET, LEADERBOARD_COLUMNS, leaderboard_rows
from poselab.results.files import write_results
from poselab.results.reader import load_runs

HEADLINE = {"experiment": "untargeted", "attack": "ensemble", "eps": 4.0, "iterations": 10}


def _row(model: str, metric: str, value: float, ci: tuple[float, float], experiment: str = "untargeted",
         attack: str = "clean", eps: float = 0.0, iterations: int = 0, views: int = 1, n: int = 8) -> dict:
    return {"model": model, "dataset": "synthetic", "experiment": experiment, "attack": attack, "eps": eps,
            "iterations": iterations, "attacked_views": views, "view_set": "", "target": "", "corruption": "",
            "severity": 0, "metric": metric, "value": value, "n": n, "ci_low": ci[0], "ci_high": ci[1]}


def _mono(root: Path, model: str, clean: float, robust: tuple[float, float, float], preset: bool = True,
          flags: list | None = None) -> Path:
    value, low, high = robust
    rows = [_row(model, "mpjpe", clean, (clean - 2, clean + 2)),
            _row(model, "pmpjpe", clean * 0.8, (clean * 0.8 - 2, clean * 0.8 + 2)),
            _row(model, "mpjpe", value, (low, high), attack="ensemble", eps=4.0, iterations=10),
            _row(model, "mpjpe", value * 2, (low * 2, high * 2), attack="fgsm", eps=8.0, iterations=1)]
    meta = {"model": model, "dataset": "synthetic", "scale": "tiny-64", "checkpoint": ""}
    if preset:
        meta["preset"] = {"name": "standard", "version": 1, "headline": HEADLINE}
    if flags is not None:
        meta["flags"] = flags
    write_results(root / model, rows, meta)
    return root / model


def _multi(root: Path) -> Path:
    model = "triangulation"
    rows = [_row(model, "mpjpe", 30.0, (28, 32), "multiview", views=0),
            _row(model, "pmpjpe", 25.0, (23, 27), "multiview", views=0),
            _row(model, "jdr", 0.9, (0.85, 0.95), "multiview", views=0),
            _row(model, "mpjpe", 300.0, (250, 350), "multiview", "igsm_u", 8.0, 3, views=4),
            _row(model, "jdr", 0.2, (0.1, 0.3), "multiview", "igsm_u", 8.0, 3, views=4),
            _row(model, "mpjpe", 200.0, (150, 250), "multiview", "igsm_u", 8.0, 3, views=2)]
    write_results(root / model, rows, {"model": model, "dataset": "synthetic", "scale": "tiny-64"})
    return root / model


def test_rank_ties_where_cis_overlap_flags_and_fallback(tmp_path: Path) -> None:
    _mono(tmp_path, "alpha", 50.0, (100.0, 95.0, 105.0), flags=[{"flag": "zero_gradients", "triggered": True},
                                                                 {"flag": "train_mode", "triggered": False}])
    _mono(tmp_path, "beta", 55.0, (103.0, 98.0, 108.0))  # overlaps alpha: same rank
    _mono(tmp_path, "gamma", 60.0, (150.0, 140.0, 160.0))  # resolved from both: rank 3
    _mono(tmp_path, "delta", 60.0, (150.0, 140.0, 160.0), preset=False)  # no headline: its own setting
    _multi(tmp_path)
    rows = leaderboard_rows(load_runs([tmp_path]))
    by = {r["model"]: r for r in rows}
    assert [by[m]["rank"] for m in ("alpha", "beta", "gamma")] == [1, 1, 3]
    assert by["alpha"]["robust_mpjpe"] == 100.0 and by["alpha"]["headline_source"] == FROM_PRESET
    assert (by["alpha"]["robust_ci_low"], by["alpha"]["robust_ci_high"], by["alpha"]["n"]) == (95.0, 105.0, 8)
    assert by["alpha"]["clean_p1"] == 50.0 and by["alpha"]["clean_p2"] == pytest.approx(40.0)
    assert by["alpha"]["flags"] == "zero_gradients" and by["beta"]["flags"] == ""
    assert by["alpha"]["preset"] == "standard" and by["alpha"]["preset_version"] == "1"
    # no preset headline: the largest eps, then most iterations (fgsm eps 8 here); ranks compare one setting,
    # so delta and the multi-view model are ranked alone at theirs
    assert by["delta"]["headline_source"] == FALLBACK and by["delta"]["robust_mpjpe"] == 300.0
    assert by["delta"]["headline"] == "untargeted fgsm eps=8 it=1" and by["delta"]["rank"] == 1
    assert len({r["headline"] for r in rows}) == 3 and by["triangulation"]["rank"] == 1
    same = [r["model"] for r in rows if r["headline"] == by["alpha"]["headline"]]
    assert same == ["alpha", "beta", "gamma"]
    # multi-view: every view attacked at the largest eps; the JDR drop is clean minus attacked
    tri = by["triangulation"]
    assert tri["robust_mpjpe"] == 300.0 and tri["clean_p1"] == 30.0
    assert tri["jdr_drop"] == pytest.approx(0.7) and by["alpha"]["jdr_drop"] is None


def test_cli_writes_markdown_csv_and_claims(tmp_path: Path) -> None:
    res = tmp_path / "results"
    flags = [{"flag": "square_beats_white_box", "triggered": 1}]
    _mono(res, "alpha", 50.0, (100.0, 95.0, 105.0), flags=flags)
    _mono(res, "beta", 55.0, (130.0, 120.0, 140.0))
    out = tmp_path / "board"
    assert main(["leaderboard", str(res), "--out", str(out), "--no-wandb", "--claims"]) == 0
    with (out / "leaderboard.csv").open() as f:
        got = list(csv.DictReader(f))
    assert tuple(got[0]) == LEADERBOARD_COLUMNS
    assert [(r["rank"], r["model"]) for r in got] == [("1", "alpha"), ("2", "beta")]
    md = (out / "leaderboard.md").read_text()
    assert "| 1 | alpha | standard v1 | 50.0 | 40.0 | 100.0 [95.0, 105.0] | 8 |" in md
    assert "square_beats_white_box" in md and "not resolved" in md
    claim = json.loads((res / "alpha" / "claim.json").read_text())
    assert claim["preset"] == "standard" and claim["preset_version"] == 1 and claim["eps"] == 4.0
    assert claim["robust"]["mpjpe"] == 100.0 and claim["robust"]["ci_low"] == 95.0
    assert claim["input_size"] == 64 and claim["architecture"] == "alpha tiny"
    assert claim["checkpoint_sha256"] is None and claim["training_data"] == "unknown"


def test_cli_names_a_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["leaderboard", str(tmp_path / "missing"), "--out", str(tmp_path), "--no-wandb"]) == 2
    assert "missing" in capsys.readouterr().err


def test_report_shows_the_ci_and_says_what_is_not_resolved(tmp_path: Path) -> None:
    from poselab.reporting.report import build_report

    res = tmp_path / "results"
    _mono(res, "alpha", 50.0, (100.0, 95.0, 105.0))  # fgsm eps 8: 200 [190, 210]
    _mono(res, "beta", 55.0, (103.0, 98.0, 108.0))  # 206 [196, 216]: overlaps alpha
    _mono(res, "gamma", 60.0, (150.0, 140.0, 160.0))  # 300 [280, 320]: resolved
    report = build_report([res], tmp_path / "report")
    (robust,) = [t for t in report.tables if t.name == "robustness"]
    assert robust.columns[4:] == ["attacked ci_low", "attacked ci_high", "n"]
    assert robust.rows[0] == ["alpha", 50.0, 200.0, 150.0, 190.0, 210.0, 8]
    text = (tmp_path / "report" / "report.md").read_text()
    assert "**alpha** (200.0 mm), not resolved from beta (95 % CIs overlap)." in text
    # older files without CIs: the table and the sentence as before
    old = tmp_path / "old"
    for model in ("alpha", "gamma"):
        folder = _mono(old, model, 50.0, (100.0, 95.0, 105.0))
        lines = (folder / "results.csv").read_text().splitlines()  # drop ci_low, ci_high
        (folder / "results.csv").write_text("".join(",".join(x.split(",")[:-2]) + "\n" for x in lines))
        (folder / "results.json").unlink()
    report = build_report([old], tmp_path / "report-old")
    (robust,) = [t for t in report.tables if t.name == "robustness"]
    assert robust.columns == ["run", "clean", "attacked", "increase"]
    assert "not resolved" not in (tmp_path / "report-old" / "report.md").read_text()
