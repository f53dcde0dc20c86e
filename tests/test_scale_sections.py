"""The scale study's sections beyond the untargeted grid (studies.scale.sections): targeted attacks
across scales, the strongest evaluation across scales, and the two axes (crop size vs backbone), on small
results folders with hand-chosen numbers; every expected value is computed here from those numbers."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from test_scale import MODEL_NAMES, _fake_run, _fake_study, _row

from poselab.results.files import write_results
from studies.scale.points import load_scales, run_points, scale_points
from studies.scale.report import write_study
from studies.scale.sections import (
    AXES_COLUMNS,
    AXIS_BACKBONE,
    AXIS_CROP,
    STRONG_COLUMNS,
    TARGETED_COLUMNS,
    StrongPoint,
    axis_pairs,
    axis_rows,
    plot_scale_vs_clean,
    same_order,
    strong_md,
    strong_order,
    strong_points,
    strong_rows,
    targeted_points,
    targeted_rankings,
)

MONO = MODEL_NAMES[:3]
SECTION_FILES = {"scale_targeted.csv", "scale_strong.csv", "scale_axes.csv"}


def _write(root: Path, scale: str, model: str, rows: list[dict]) -> None:
    write_results(root / f"{model}-synthetic", rows, {"model": model, "dataset": "synthetic", "scale": scale})


def _read_csv(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- 1. targeted

CLEAN_CAMS = {"cam2": 300.0, "cam3": 360.0, "cam4": 270.0}  # iteration-0 distances to the targets (mm)
#: Reached distance (mm) after IGSM-T 100 per scale and model: camera swap per target camera, rotations.
REACHED = {
    "tiny-64": {"regression": ((30, 45, 60), 10, 40), "volumetric": ((90, 120, 150), 20, 50),
                "heatmap_depth": ((60, 60, 90), 30, 60), "triangulation": (None, 5, 70)},
    "r18-128": {"regression": ((90, 100, 110), 12, 90), "volumetric": ((40, 50, 60), 25, 30),
                "heatmap_depth": ((70, 70, 70), 35, 80), "triangulation": (None, 6, 20)},
}


def _targeted_rows(model: str, cams, rot10: float, rot30: float) -> list[dict]:
    """As the callback writes the scale_targeted grid: camera swap (monocular) at iterations 0 / 20 / 100,
    rotation at 10 / 100 (no iteration 0); ``mpjpe`` rows and the 20- and 10-iteration rows are decoys."""
    views = 4 if model == "triangulation" else 1
    rows = []

    def add(exp, it, target, value):
        for metric, v in (("target_mpjpe", value), ("mpjpe", 999.0)):
            rows.append({**_row(model, exp, "igsm_t", 8, it, metric, v, views), "target": target, "n": 4})

    if cams is not None:
        for (target, clean), reached in zip(CLEAN_CAMS.items(), cams, strict=True):
            add("camera_swap", 0, target, clean)
            add("camera_swap", 20, target, (clean + reached) / 2)
            add("camera_swap", 100, target, reached)
    for target, reached in (("rot10", rot10), ("rot30", rot30)):
        add("rotation", 10, target, 2 * reached)
        add("rotation", 100, target, reached)
    return rows


def _targeted_study(tmp_path: Path) -> dict[str, str]:
    roots = {k: str(v) for k, v in _fake_study(tmp_path).items()}
    for scale, models in REACHED.items():
        root = tmp_path / f"targeted-{scale}"
        for model, (cams, rot10, rot30) in models.items():
            _write(root, scale, model, _targeted_rows(model, cams, rot10, rot30))
        roots[scale] += f",{root}"
    return roots


def test_targeted_section_distances_ratios_and_rankings(tmp_path):
    roots = _targeted_study(tmp_path)
    runs = load_scales(roots)
    points = targeted_points(runs)
    # monocular: camera swap + 2 angles; triangulation: 2 angles; two scales
    assert len(points) == 2 * (3 * 3 + 2)
    clean_mean = sum(CLEAN_CAMS.values()) / 3  # 310 mm
    for scale, models in REACHED.items():
        for model, (cams, rot10, rot30) in models.items():
            got = {(p.experiment, p.target): p for p in points if (p.scale, p.model) == (scale, model)}
            if cams is not None:
                swap = got[("camera_swap", "cam2+cam3+cam4")]
                assert swap.clean == pytest.approx(clean_mean)
                assert swap.reached == pytest.approx(sum(cams) / 3)
                assert swap.ratio == pytest.approx(sum(cams) / 3 / clean_mean) and swap.n == 4
            assert got[("rotation", "rot10")].reached == rot10 and got[("rotation", "rot30")].reached == rot30
            assert math.isnan(got[("rotation", "rot10")].clean)  # the rotation grid has no iteration 0
            assert math.isnan(got[("rotation", "rot10")].ratio)
    ranks = {r["setting"][1]: r for r in targeted_rankings(points)}
    # easiest to steer first, by the reached distance
    assert ranks["cam2+cam3+cam4"]["orders"] == {"tiny-64": ["regression", "heatmap_depth", "volumetric"],
                                                 "r18-128": ["volumetric", "heatmap_depth", "regression"]}
    assert ranks["cam2+cam3+cam4"]["same"] is False
    assert ranks["rot10"]["orders"]["tiny-64"] == ["triangulation", "regression", "volumetric",
                                                   "heatmap_depth"]
    assert ranks["rot10"]["same"] is True
    assert ranks["rot30"]["same"] is False
    # a scale with one model (r50-256: heatmap_depth only) does not void the comparison of the others
    assert same_order({"a": ["x", "y", "z"], "b": ["x", "w", "y"], "c": ["y"]}) is True
    assert same_order({"a": ["x", "y"], "b": ["y", "x"], "c": ["y"]}) is False
    assert same_order({"a": ["x", "y"], "c": ["y"]}) is None

    out = write_study(roots, tmp_path / "report")
    text = (out / "tables.md").read_text()
    assert "## Targeted attacks" in text and "## Strongest evaluation" not in text
    ratio = 45 / clean_mean
    assert f"| tiny-64 | regression | 4 | 310 → 45 (x{ratio:.2f}) | – → 10 | – → 40 |" in text
    assert "| tiny-64 | triangulation | 4 | – | – → 5 | – → 70 |" in text  # no camera swap for multi-view
    assert "| camera swap cam2, cam3, cam4 (ε=8) | regression < heatmap_depth < volumetric | " \
           "volumetric < heatmap_depth < regression | no |" in text
    rows = _read_csv(out / "scale_targeted.csv")
    assert tuple(rows[0]) == TARGETED_COLUMNS and len(rows) == len(points)
    row = next(r for r in rows if (r["scale"], r["model"], r["target"]) == ("r18-128", "volumetric",
                                                                            "cam2+cam3+cam4"))
    assert float(row["reached_ratio"]) == pytest.approx(50 / clean_mean)
    # the untargeted tables are unchanged by the targeted roots
    assert scale_points(runs) == scale_points(load_scales({k: v.split(",")[0] for k, v in roots.items()}))


# ----------------------------------------------------------------------------- 2. strongest evaluation

#: Clean MPJPE and, at eps 8, (IGSM-U 10, IGSM-U 100, APGD 100, ensemble 100 or None) per model (mm).
STRONG8 = {"regression": (50.0, (200, 400, 380, 420)), "volumetric": (40.0, (100, 150, 160, 155)),
           "heatmap_depth": (60.0, (200, 360, 330, None)), "triangulation": (20.0, (60, 100, 140, 150))}
#: eps 2: every attack = clean * factor * (1, 1.1, 1.2, 1.3) in series order.
FACTOR2 = {"regression": 1.5, "volumetric": 1.2, "heatmap_depth": 1.4, "triangulation": 1.3}


def _strong_rows(model: str) -> list[dict]:
    """As configs/attack/strong.yaml's results: IGSM-U / APGD / ensemble at 10 and 100 iterations, the
    multi-view model in ``multiview`` with 4 attacked views; the 10-iteration APGD / ensemble rows are
    decoys (higher than any reported series), as is a 1-view multi-view row."""
    exp, views = ("multiview", 4) if model == "triangulation" else ("untargeted", 1)
    clean, eight = STRONG8[model]
    rows = [_row(model, exp, "clean", 0, 0, "mpjpe", clean, 0 if exp == "multiview" else 1)]
    series = (("igsm_u", 10), ("igsm_u", 100), ("apgd", 100), ("ensemble", 100))
    for eps, values in ((8, eight), (2, tuple(clean * FACTOR2[model] * k for k in (1, 1.1, 1.2, 1.3)))):
        for (attack, it), v in zip(series, values, strict=True):
            if v is not None:
                rows.append(_row(model, exp, attack, eps, it, "mpjpe", v, views))
        for attack in ("apgd", "ensemble"):
            rows.append(_row(model, exp, attack, eps, 10, "mpjpe", 5000.0, views))
        if model == "triangulation":
            rows.append(_row(model, exp, "ensemble", eps, 100, "mpjpe", 9000.0, 1))
            rows.append(_row(model, exp, "ensemble", eps, 100, "failed", 1.0 if eps == 8 else 0.0, views))
    return rows


def test_run_points_order_by_series_or_eps_and_extra_metrics(tmp_path):
    """The per-run loop of the scale grid and the strong section: every-view rows only (not the 1-view
    9000 mm decoy), against the run's clean row, series then eps (or eps then series), extra fields read
    from their metric's rows (NaN without one)."""
    _write(tmp_path / "strong", "tiny-64", "triangulation", _strong_rows("triangulation"))
    (run,) = load_scales({"tiny-64": str(tmp_path / "strong")})["tiny-64"]
    series = (("igsm_u", 10), ("ensemble", 100))
    by_series = run_points("tiny-64", run, series, StrongPoint, extra={"failed": "failed"})
    assert [(p.attack, p.eps) for p in by_series] == [("igsm_u", 2), ("igsm_u", 8), ("ensemble", 2),
                                                      ("ensemble", 8)]
    by_eps = run_points("tiny-64", run, series, StrongPoint, eps_first=True, extra={"failed": "failed"})
    assert [(p.attack, p.eps) for p in by_eps] == [("igsm_u", 2), ("ensemble", 2), ("igsm_u", 8),
                                                   ("ensemble", 8)]
    # clean 20 mm; eps 2: 20 * 1.3 * (1, 1.3) for IGSM-U 10 / ensemble; eps 8: 60 and 150 (STRONG8)
    assert [p.adv_mpjpe for p in by_eps] == pytest.approx([26.0, 33.8, 60.0, 150.0])
    assert all(p.clean_mpjpe == 20.0 and p.n == 16 and math.isnan(p.adv_jdr) for p in by_eps)
    failed = {(p.attack, p.eps): p.failed for p in by_eps}
    assert failed[("ensemble", 2)] == 0.0 and failed[("ensemble", 8)] == 1.0
    assert math.isnan(failed[("igsm_u", 2)]) and math.isnan(failed[("igsm_u", 8)])
    assert sorted(map(repr, by_series)) == sorted(map(repr, by_eps))


def test_strong_section_worst_attack_ratio_percent_worse_and_ranking(tmp_path):
    roots = {k: str(v) for k, v in _fake_study(tmp_path).items()}
    grid_only = scale_points(load_scales(roots))
    strong_root = tmp_path / "strong-tiny"
    for model in MODEL_NAMES:
        _write(strong_root, "tiny-64", model, _strong_rows(model))
    roots["tiny-64"] += f",{strong_root}"
    runs = load_scales(roots)
    # the strong grid's IGSM-U 10 rows and clean rows do not leak into the scale grid's tables
    assert scale_points(runs) == grid_only
    points = strong_points(runs)
    assert {p.scale for p in points} == {"tiny-64"} and len(points) == 2 * 4 * 4 - 1  # no heatmap ensemble
    rows = {(r["model"], r["eps"]): r for r in strong_rows(points)}
    names = ("igsm_u 10", "igsm_u 100", "apgd 100", "ensemble 100")
    for model, (clean, values) in STRONG8.items():
        r = rows[(model, 8.0)]
        worst = max(v for v in values if v is not None)
        assert r["worst_mpjpe"] == worst and r["worst_attack"] == names[values.index(worst)]
        assert r["robust_ratio"] == pytest.approx(worst / clean) and r["clean_mpjpe"] == clean
        assert r["pct_worse"] == pytest.approx(100 * (worst / values[0] - 1))
        assert r["apgd_100"] == values[2]
        assert (r["worst_failed"] == 1.0) if model == "triangulation" else math.isnan(r["worst_failed"])
        r2 = rows[(model, 2.0)]
        assert r2["worst_attack"] == "ensemble 100" and r2["pct_worse"] == pytest.approx(30.0)
        assert r2["robust_ratio"] == pytest.approx(FACTOR2[model] * 1.3)
    assert math.isnan(rows[("heatmap_depth", 8.0)]["ensemble_100"])
    # robust ratios at eps 8: regression 8.4, triangulation 7.5, heatmap_depth 6.0, volumetric 4.0;
    # IGSM-U 10 ratios: regression 4.0, heatmap_depth 3.33, triangulation 3.0, volumetric 2.5
    assert strong_order(points, "tiny-64", 8.0) == ["regression", "triangulation", "heatmap_depth",
                                                    "volumetric"]
    assert strong_order(points, "tiny-64", 8.0, ("igsm_u", 10)) == ["regression", "heatmap_depth",
                                                                     "triangulation", "volumetric"]

    out = write_study(roots, tmp_path / "report")
    assert SECTION_FILES & {f.name for f in out.iterdir()} == {"scale_strong.csv"}
    text = (out / "tables.md").read_text()
    assert "## Strongest evaluation" in text and "## Targeted attacks" not in text
    assert "| tiny-64 | regression | 8 | 50.0 | 200.0 | 400.0 | 380.0 | 420.0 | ensemble 100 | 16 | – | " \
           "x8.40 | +110 |" in text
    assert "| tiny-64 | heatmap_depth | 8 | 60.0 | 200.0 | 360.0 | 330.0 | – | igsm_u 100 | 16 | – | " \
           "x6.00 | +80 |" in text
    assert "| tiny-64 | triangulation | 8 | 20.0 | 60.0 | 100.0 | 140.0 | 150.0 | ensemble 100 | 16 | 1 | " \
           "x7.50 | +150 |" in text  # one failed triangulation under the worst attack
    assert "| 8 | tiny-64 | regression > triangulation > heatmap_depth > volumetric | " \
           "regression > heatmap_depth > triangulation > volumetric | no | yes | yes |" in text
    csv_rows = _read_csv(out / "scale_strong.csv")
    assert tuple(csv_rows[0]) == STRONG_COLUMNS and len(csv_rows) == 4 * 2
    # a grid without the ensemble (configs/attack/scale_strong.yaml) gets no empty ensemble column
    no_ens = [p for p in points if p.attack != "ensemble"]
    header = next(line for line in strong_md(no_ens).splitlines() if line.startswith("| scale |"))
    assert "APGD 100" in header and "ensemble" not in header


# ----------------------------------------------------------------------------- 3. the two axes


def test_axis_pairs_are_derived_from_the_scale_names():
    assert axis_pairs(["tiny-64", "r18-64", "r18-128"]) == [(AXIS_CROP, "r18-64", "r18-128"),
                                                           (AXIS_BACKBONE, "tiny-64", "r18-64")]
    assert axis_pairs(["tiny-64", "r18-128", "r50-256"]) == []
    six = ["r50-256", "r18-256", "tiny-128", "r18-128", "tiny-64", "r18-64"]
    assert sorted(axis_pairs(six)) == sorted([
        (AXIS_CROP, "tiny-64", "tiny-128"), (AXIS_CROP, "r18-64", "r18-128"),
        (AXIS_CROP, "r18-128", "r18-256"), (AXIS_BACKBONE, "tiny-64", "r18-64"),
        (AXIS_BACKBONE, "tiny-128", "r18-128"), (AXIS_BACKBONE, "r18-256", "r50-256")])


#: Per scale: clean MPJPE and the gain of each model (adversarial MPJPE = clean * (1 + gain * eps * k),
#: k = 1 FGSM, 2 IGSM-U 10; see test_scale._fake_run).
AXES_STUDY = {"tiny-64": ((80.0, 70.0, 60.0, 40.0), (0.5, 0.1, 0.2, 0.05)),
              "r18-64": ((90.0, 75.0, 65.0, 45.0), (0.3, 0.2, 0.2, 0.10)),
              "r18-128": ((70.0, 150.0, 78.0, 74.0), (0.1, 0.05, 0.15, 0.02))}


def test_two_axes_ratio_changes_and_the_scatter(tmp_path):
    roots = {}
    for scale, (cleans, gains) in AXES_STUDY.items():
        roots[scale] = tmp_path / scale
        for model, clean, gain in zip(MODEL_NAMES, cleans, gains, strict=True):
            _fake_run(roots[scale], scale, model, clean, gain, 0.9 if model == "triangulation" else None)
    points = scale_points(load_scales(roots))
    rows = axis_rows(points)
    assert len(rows) == 2 * 4 * 2  # pairs x models x (FGSM, IGSM-U 10)
    for r in rows:
        i = MODEL_NAMES.index(r["model"])
        k = 1 if r["attack"] == "fgsm" else 2
        (ca, ga), (cb, gb) = ((AXES_STUDY[s][0][i], AXES_STUDY[s][1][i])
                              for s in (r["from_scale"], r["to_scale"]))
        assert (r["clean_from"], r["clean_to"]) == (ca, cb)
        assert r["ratio_from"] == pytest.approx(1 + ga * 8 * k)
        assert r["ratio_to"] == pytest.approx(1 + gb * 8 * k)
        assert r["ratio_change"] == pytest.approx(8 * k * (gb - ga))
        if r["model"] == "triangulation":  # the fake JDR drop is 0.01 * eps * k at every scale
            assert r["jdr_drop_from"] == pytest.approx(0.08 * k) and r["jdr_drop_change"] == pytest.approx(0)
        else:
            assert math.isnan(r["jdr_drop_from"])
    assert {(r["axis"], r["from_scale"], r["to_scale"]) for r in rows} == {
        (AXIS_CROP, "r18-64", "r18-128"), (AXIS_BACKBONE, "tiny-64", "r18-64")}

    out = write_study(roots, tmp_path / "report")
    text = (out / "tables.md").read_text()
    # crop size 64 -> 128 at ResNet-18, regression: FGSM x3.40 -> x1.80, IGSM-U 10 x5.80 -> x2.60
    assert "### Crop size at fixed backbone" in text and "### Backbone at fixed crop size" in text
    assert "| r18-64 → r18-128 | regression | 90.0 → 70.0 | x3.40 → x1.80 (-1.60) | " \
           "x5.80 → x2.60 (-3.20) | – | – |" in text
    assert "| tiny-64 → r18-64 | triangulation | 40.0 → 45.0 | x1.40 → x1.80 (+0.40) | " \
           "x1.80 → x2.60 (+0.80) | 8.0 → 8.0 (+0.0) | 16.0 → 16.0 (+0.0) |" in text
    csv_rows = _read_csv(out / "scale_axes.csv")
    assert tuple(csv_rows[0]) == AXES_COLUMNS and len(csv_rows) == len(rows)
    png = (out / "scale_vs_clean.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert plot_scale_vs_clean(points, tmp_path / "none.png", eps=3.0) is None  # no points at eps 3
    assert not (tmp_path / "none.png").exists()

