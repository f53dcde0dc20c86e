"""Paper tables from results rows: layout, clean column, '-' / '*' for failed triangulations, CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from poselab.reporting.paper_tables import main, render_tables, table_multiview, table_untargeted


def _row(experiment, attack, eps, it, views, target, metric, value, model="m"):
    return {"model": model, "dataset": "d", "experiment": experiment, "attack": attack, "eps": eps,
            "iterations": it, "attacked_views": views, "target": target, "metric": metric, "value": value,
            "n": 4}


def test_untargeted_table_uses_clean_value_at_eps_zero_and_fgsm_for_one_iteration() -> None:
    rows = [_row("untargeted", "clean", 0.0, 0, 1, "", "mpjpe", 50.0),
            _row("untargeted", "clean", 0.0, 0, 1, "", "pmpjpe", 40.0),
            _row("untargeted", "fgsm", 4.0, 1, 1, "", "mpjpe", 80.04),
            _row("untargeted", "fgsm", 4.0, 1, 1, "", "pmpjpe", 60.0),
            _row("untargeted", "igsm_u", 4.0, 10, 1, "", "mpjpe", 120.0),
            _row("untargeted", "igsm_u", 4.0, 10, 1, "", "pmpjpe", 90.0)]
    lines = table_untargeted(rows).splitlines()
    assert lines[0] == "| Model | Iter | Protocol | ε=0 | ε=4 |"
    assert "| m | 1 | P1 | 50.0 | 80.0 |" in lines
    assert "| m | 10 | P2 | 40.0 | 90.0 |" in lines


def test_multiview_table_marks_failed_triangulations() -> None:
    rows = [_row("multiview", "clean", 0.0, 0, 0, "", "jdr", 0.9),
            _row("multiview", "clean", 0.0, 0, 0, "", "mpjpe", 30.0),
            _row("multiview", "clean", 0.0, 0, 0, "", "failed", 0.0),
            _row("multiview", "fgsm", 8.0, 1, 4, "", "jdr", 0.25),
            _row("multiview", "fgsm", 8.0, 1, 4, "", "mpjpe", float("nan")),
            _row("multiview", "fgsm", 8.0, 1, 4, "", "failed", 4.0),
            _row("multiview", "fgsm", 8.0, 1, 2, "", "jdr", 0.5),
            _row("multiview", "fgsm", 8.0, 1, 2, "", "mpjpe", 300.0),
            _row("multiview", "fgsm", 8.0, 1, 2, "", "failed", 1.0)]
    text = table_multiview(rows)
    assert text.splitlines()[0].startswith("| Model | Views | Iter | Metric (JDR [qiu2019: error <= 0.5 x ")
    assert "head_thorax: error < 0.5 x |head_top - thorax|" in table_multiview(rows, "head_thorax")
    assert "| m | 4 | 1 | JDR % | 90.0 | 25.0 |" in text
    assert "| m | 4 | 1 | MPJPE | 30.0 | - |" in text
    assert "| m | 2 | 1 | MPJPE | 30.0 | 300.0* |" in text


def test_tables_cli_combines_results_files(tmp_path: Path, capsys) -> None:
    paths = []
    for model in ("a", "b"):
        path = tmp_path / f"{model}.csv"
        rows = [_row("rotation", "igsm_t", 8.0, it, 1, "rot10", "target_mpjpe", v, model=model)
                for it, v in ((10, 100.0), (100, 20.0))]
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        paths.append(str(path))
    assert main(paths) == 0
    out = capsys.readouterr().out
    assert "Table 4" in out and "| a | rot10 | 8 | 100.0 | 20.0 |" in out and "| b | rot10 |" in out
    assert render_tables([]) == "(no attack results)\n"


def test_tables_cli_names_the_recorded_jdr_definition(tmp_path: Path, capsys) -> None:
    rows = [_row("multiview", "clean", 0.0, 0, 0, "", "jdr", 0.9),
            _row("multiview", "fgsm", 8.0, 1, 4, "", "jdr", 0.5)]
    paths = []
    for name, meta in (("new", {"config": {"jdr_definition": "qiu2019"}}), ("old", {"config": {}})):
        (tmp_path / name).mkdir()
        path = tmp_path / name / "results.csv"
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        (tmp_path / name / "results.json").write_text(json.dumps({"meta": meta, "rows": []}))
        paths.append(str(path))
    assert main(paths[:1]) == 0
    assert "JDR (%, qiu2019)" in capsys.readouterr().out
    assert main(paths[1:]) == 0  # written before the option: the per-sample head size was the only one
    assert "JDR (%, head_thorax)" in capsys.readouterr().out
    assert main(paths) == 2
    assert "different JDR definitions" in capsys.readouterr().err
