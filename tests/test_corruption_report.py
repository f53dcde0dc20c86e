"""``poselab report`` with corruption rows: mCE against a hand-computed reference, ranking vs attacks."""

from __future__ import annotations

import csv
import random
from types import SimpleNamespace

import numpy as np
import pytest

from poselab.cli.report import main
from poselab.reporting.corruption_vs_attack import kendall_tau
from poselab.reporting.report import build_report
from poselab.results.files import write_results
from poselab.results.schema import ResultKey, clean_key, row_of

# errors (mm) per corruption x severity 1, 2; "t" is multi-view: all 4 views, and one view corrupted
CLEAN = {"a": 50.0, "b": 40.0, "t": 30.0}
GRID = {
    "a": {4: {"fog": [60, 80], "gaussian_noise": [100, 120]}},
    "b": {4: {"fog": [70, 90], "gaussian_noise": [50, 70]}},
    "t": {
        4: {"fog": [90, 110], "gaussian_noise": [130, 150]},
        1: {"fog": [35, 40], "gaussian_noise": [45, 50]},
    },
}
# untargeted (monocular) / multiview with all views (t) attacked: (fgsm, eps 8, 1 it), (igsm_u, eps 8, 10 it)
ATTACKED = {"a": (200.0, 300.0), "b": (150.0, 250.0), "t": (400.0, 500.0)}


def results(model: str) -> list[dict]:
    mono = model != "t"
    rows = [
        row_of(model, "toy", clean_key("corruption", m), CLEAN[model] + (m == "pmpjpe"), 4)
        for m in ("mpjpe", "pmpjpe")
    ]
    for k, grid in GRID[model].items():
        for c, errs in grid.items():
            for s, e in enumerate(errs, start=1):
                rows += [
                    row_of(
                        model,
                        "toy",
                        ResultKey(
                            "corruption", "clean", 0.0, 0, 1 if mono else k, "", m, corruption=c, severity=s
                        ),
                        e + (m == "pmpjpe"),
                        4,
                    )
                    for m in ("mpjpe", "pmpjpe")
                ]
    exp = "untargeted" if mono else "multiview"
    rows.append(row_of(model, "toy", clean_key(exp, "mpjpe"), CLEAN[model], 4))
    for views in [1] if mono else [1, 4]:
        for (attack, it), v in zip((("fgsm", 1), ("igsm_u", 10)), ATTACKED[model]):
            value = v if views == (1 if mono else 4) else v / 4  # one attacked view of four: ignored
            rows.append(row_of(model, "toy", ResultKey(exp, attack, 8.0, it, views, "", "mpjpe"), value, 4))
    return rows


def samples(rows: list[dict], spread: float) -> list[tuple[dict, SimpleNamespace]]:
    """Per-sample values of every row: its 4 samples at value x (1 + spread x (-1, -1/3, 1/3, 1)) (mean: the
    value), the same pattern in every cell (a hard sample is hard everywhere)."""
    offsets = np.array([-1.0, -1 / 3, 1 / 3, 1.0])
    return [(r, SimpleNamespace(index=np.arange(4), view=np.zeros(4, int), value=r["value"] * (1 + spread *
                                                                                               offsets)))
            for r in rows]


def write_runs(root, spread: float | None) -> None:
    """Results folders of a, b, t; per-sample values with ``spread`` (None: no per_sample.csv)."""
    for m in ("a", "b", "t"):
        rows = results(m)
        write_results(root / m, rows, {"model": m}, per_sample=samples(rows, spread) if spread else ())


@pytest.fixture()
def report(tmp_path):
    write_runs(tmp_path / "results", spread=0.01)  # narrow CIs: every difference resolved
    return build_report([tmp_path / "results"], tmp_path / "report", corruption_baseline="a")


def table(report, name):
    with (report.out / "tables" / f"{name}.csv").open() as f:
        reader = csv.DictReader(f)
        return {row[reader.fieldnames[0]]: row for row in reader}


def test_mce_against_hand_computed_values(report):
    p1 = table(report, "corruption_mpjpe")
    # CE_c = sum_s E / sum_s E_baseline; relative: sum_s (E - E_clean) / sum_s (E_b - E_b,clean)
    assert float(p1["a"]["mCE"]) == pytest.approx(1.0)
    assert float(p1["b"]["mCE"]) == pytest.approx((160 / 140 + 120 / 220) / 2)
    assert float(p1["b"]["rel. mCE"]) == pytest.approx((80 / 40 + 40 / 120) / 2)
    assert float(p1["t"]["mCE"]) == pytest.approx((200 / 140 + 280 / 220) / 2)
    assert float(p1["t [1 of 4 views]"]["mCE"]) == pytest.approx((75 / 140 + 95 / 220) / 2)
    assert float(p1["b"]["fog"]) == 80.0 and float(p1["b"]["mean"]) == 70.0  # mean over severities
    assert float(p1["t"]["clean"]) == 30.0
    assert float(table(report, "corruption_pmpjpe")["b"]["clean"]) == 41.0


def test_ranking_under_corruptions_and_attacks_with_kendall_tau(report):
    rank = table(report, "corruption_vs_attack")
    assert set(rank) == {"a", "b", "t"}  # the one-view variant is not a run
    assert [rank[m]["rank mCE"] for m in "bat"] == ["1", "2", "3"]
    assert [rank[m]["rank attacked"] for m in "bat"] == ["1", "2", "3"]
    assert float(rank["t"]["attacked mean"]) == 450.0  # all 4 views attacked; the 1-view rows left out
    assert float(rank["b"]["attack increase"]) == 160.0
    text = (report.out / "report.md").read_text()
    assert "under corruptions (mCE, MPJPE P1 vs a) b < a < t; under attacks" in text
    assert "the same ranking, Kendall tau = 1.00" in text
    # relative mCE a < b < t vs attack increase b < a < t: one discordant pair of three
    assert ("relative mCE a < b < t; attack increase b < a < t: a different ranking, Kendall tau = 0.33"
            in text)
    assert report.figures["corruption_vs_attack"].is_file()
    assert "![corruption_vs_attack]" in text


def test_unknown_baseline_is_one_error_line(tmp_path, capsys):
    for m in ("a", "b"):
        write_results(tmp_path / "results" / m, results(m), {"model": m})
    assert (
        main(
            [
                str(tmp_path / "results"),
                "--out",
                str(tmp_path / "r"),
                "--no-wandb",
                "--corruption-baseline",
                "zz",
            ]
        )
        == 2
    )
    assert "corruption baseline 'zz' is not a run with corruption rows (a, b)" in capsys.readouterr().err


def test_kendall_tau_matches_scipy():
    from scipy.stats import kendalltau

    rng = random.Random(0)
    for n in (2, 3, 4, 7):
        for _ in range(20):
            a = [rng.randint(0, 3) for _ in range(n)]  # with ties
            b = [rng.random() if rng.random() < 0.5 else rng.randint(0, 2) for _ in range(n)]
            want = kendalltau(a, b).statistic
            got = kendall_tau(a, b)
            assert (got == pytest.approx(want)) or (want != want and got != got), (a, b)
    with pytest.raises(ValueError, match="equal lengths"):
        kendall_tau([1, 2], [1])


def test_wandb_run_report_logs_the_corruption_rows_and_figures(tmp_path):
    from poselab.reporting.run_report import write_run_report
    from poselab.results.files import write_results
    from poselab.results.reader import read_run
    from poselab.wandb.log import log_run_report

    logged: dict = {}

    class Run:  # stands in for a wandb run: keeps what is logged
        summary: dict = {}

        def log(self, payload):
            logged.update(payload)

        def define_metric(self, *args, **kwargs):
            pass

    rows = results("t")
    write_results(tmp_path, rows, {"model": "t", "dataset": "d", "config": {}})
    run = read_run(tmp_path, label="t")
    log_run_report(Run(), rows, write_run_report(run))
    table = logged["attack/results"]
    c, s = table.columns.index("corruption"), table.columns.index("severity")
    assert {(r[c], r[s]) for r in table.data} == {("", 0), ("fog", 1), ("fog", 2), ("gaussian_noise", 1),
                                                   ("gaussian_noise", 2)}
    assert "attack/figures/corruption_severity" in logged
    assert "Common corruptions" in (tmp_path / "tables.md").read_text()
    from poselab.wandb.keys import history_rows, step_definitions

    steps = step_definitions(rows)  # per-severity history: one line per corruption, severity 0 = clean
    fog = [k for k in steps if k.startswith("corruption/mpjpe/fog")]
    assert fog and all(steps[k] == "severity" for k in fog)
    clean = next(float(r["value"]) for r in rows if r["experiment"] == "corruption" and r["metric"] == "mpjpe"
                 and not r.get("corruption"))
    points = {h["severity"]: h[fog[0]] for h in history_rows(rows) if fog[0] in h}
    assert sorted(points) == [0, 1, 2] and points[0] == clean


@pytest.mark.parametrize("spread", [0.01, 0.9, None])
def test_ranking_claims_only_what_the_cis_resolve(tmp_path, spread):
    """Narrow CIs resolve every difference; wide ones none (ranks shared, '≈'); without per-sample values
    the aggregates have no CI and no ranking is claimed."""
    write_runs(tmp_path / "results", spread)
    report = build_report([tmp_path / "results"], tmp_path / "report", corruption_baseline="a")
    rank = table(report, "corruption_vs_attack")
    text = (report.out / "report.md").read_text()
    ranks = [[rank[m][c] for m in "bat"] for c in ("rank mCE", "rank attacked", "rank increase")]
    if spread == 0.01:
        assert ranks == [["1", "2", "3"]] * 3 and "under corruptions (mCE, MPJPE P1 vs a) b < a < t" in text
    elif spread == 0.9:
        assert ranks == [["1", "1", "1"]] * 3 and "under corruptions (mCE, MPJPE P1 vs a) b ≈ a ≈ t" in text
        assert "attack increase b ≈ a ≈ t: no resolved pair reversed" in text  # the 0.33 tau was noise
    else:
        assert ranks == [["", "", ""]] * 3 and rank["b"]["mCE CI"] == ""
        assert "(mCE, MPJPE P1 vs a) not ranked (no CI: no per-sample values)" in text
        assert "Kendall" not in text.split("Corruptions vs attacks")[1].split("\n")[0]
    if spread:  # the CI stated is the paired bootstrap of the aggregate over the run's samples
        from scipy.stats import bootstrap

        x = [np.array(r["value"]) * (1 + spread * np.array([-1.0, -1 / 3, 1 / 3, 1.0])) for r in results("b")
             if r["experiment"] == "untargeted" and r["attack"] != "clean"]
        ci = bootstrap(tuple(x), lambda *v, axis=-1: np.mean([np.mean(a, axis=axis) for a in v], axis=0),
                       paired=True, n_resamples=2000, method="percentile",
                       rng=np.random.default_rng(0)).confidence_interval
        assert rank["b"]["attacked CI"] == f"[{ci.low:.3g}, {ci.high:.3g}]"
