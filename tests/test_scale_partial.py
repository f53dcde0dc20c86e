"""The scale study from some of its grids (studies.scale.report.write_report): a report of the sections the
results support, each left-out section named in tables.md with the grid that fills it, and one error line
(exit code 2) only when no section has rows. Small results folders with hand-chosen numbers; every expected
value is computed here from those numbers."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_scale import CORRUPTION_FACTORS, MODEL_NAMES, _fake_corruptions, _fake_study, _row
from test_scale_sections import CLEAN_CAMS, REACHED, STRONG8, _strong_rows, _targeted_rows, _write

from poselab.results.reader import ResultsError
from studies.scale.report import main, write_study

ROOT = Path(__file__).resolve().parents[1]
#: Every left-out line of tables.md: section name -> the grid that fills it (configs/attack/<grid>.yaml).
ALL_SECTIONS = {"Untargeted attacks across scales": "scale", "Common corruptions": "scale_corruptions",
                "Targeted attacks": "scale_targeted", "Strongest evaluation": "scale_strong",
                "The two axes": "scale", "MPJPE ratio vs clean MPJPE figure": "scale"}
#: The files each section writes besides tables.md.
FILES = {"Untargeted attacks across scales": {"scale.csv", "scale_mpjpe.png", "scale_jdr.png"},
         "Targeted attacks": {"scale_targeted.csv"}, "Strongest evaluation": {"scale_strong.csv"},
         "The two axes": {"scale_axes.csv"}, "MPJPE ratio vs clean MPJPE figure": {"scale_vs_clean.png"}}


def _left_out(text: str) -> dict[str, str]:
    """The left-out lines of a tables.md (before its first table): section name -> grid named; each line
    also names the command that runs the grid."""
    head = text.split("\n## ", 1)[0]
    found = {}
    for line in head.splitlines():
        if line.startswith("- "):
            m = re.match(r"- (.+?)(?: \([^)]*\))?: the `(\w+)` grid", line)
            assert m, line
            assert f"make attack-eval ATTACK={m[2]} SCALE=<scale>" in line
            found[m[1]] = m[2]
    return found


def _titles(text: str) -> list[str]:
    return [line[3:].split(":")[0] for line in text.splitlines() if line.startswith("## ")]


def _expect_left_out(present: set[str]) -> dict[str, str]:
    return {name: grid for name, grid in ALL_SECTIONS.items() if name not in present}


def _files(present: set[str]) -> set[str]:
    return {"tables.md"}.union(*(FILES.get(name, set()) for name in present))


def test_report_from_the_strong_grid_only(tmp_path, capsys):
    root = tmp_path / "strong"
    for model in MODEL_NAMES:
        _write(root, "tiny-64", model, _strong_rows(model))
    out = tmp_path / "report"
    out.mkdir()
    # files of an earlier full report, which the left-out sections would leave stale; other files are kept
    for name in ("scale.csv", "scale_vs_clean.png", "scale_targeted.csv", "notes.txt"):
        (out / name).write_text("old")
    assert main([f"tiny-64={root}", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "left out" in printed and "Untargeted attacks across scales" in printed
    text = (out / "tables.md").read_text()
    assert _left_out(text) == _expect_left_out({"Strongest evaluation"})
    assert {f.name for f in out.iterdir()} == _files({"Strongest evaluation"}) | {"notes.txt"}
    assert (out / "notes.txt").read_text() == "old"
    # the tables start right after the left-out list, with the strong section only
    assert _titles(text) == ["Strongest evaluation"]
    assert "\n\n\n" not in text  # one blank line between the list and the table
    names = ("igsm_u 10", "igsm_u 100", "apgd 100", "ensemble 100")
    for model, (clean, values) in STRONG8.items():
        worst = max(v for v in values if v is not None)
        cells = " | ".join("–" if v is None else f"{v:.1f}" for v in values)
        pct = 100 * (worst / values[0] - 1)
        assert (f"| tiny-64 | {model} | 8 | {clean:.1f} | {cells} | {names[values.index(worst)]} | 16 | "
                f"{'1' if model == 'triangulation' else '–'} | x{worst / clean:.2f} | {pct:+.0f} |") in text
    with (out / "scale_strong.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(MODEL_NAMES) * 2  # eps 2 and 8
    reg8 = next(r for r in rows if (r["model"], float(r["eps"])) == ("regression", 8.0))
    clean, values = STRONG8["regression"]
    assert float(reg8["robust_ratio"]) == pytest.approx(max(values) / clean)


def test_report_from_the_targeted_grid_only(tmp_path):
    roots = {}
    for scale, models in REACHED.items():
        roots[scale] = tmp_path / f"targeted-{scale}"
        for model, (cams, rot10, rot30) in models.items():
            _write(roots[scale], scale, model, _targeted_rows(model, cams, rot10, rot30))
    out = write_study(roots, tmp_path / "report")
    text = (out / "tables.md").read_text()
    assert _left_out(text) == _expect_left_out({"Targeted attacks"})
    assert {f.name for f in out.iterdir()} == _files({"Targeted attacks"})
    assert _titles(text) == ["Targeted attacks"]
    clean = sum(CLEAN_CAMS.values()) / len(CLEAN_CAMS)
    for scale, models in REACHED.items():
        for model, (cams, rot10, rot30) in models.items():
            reached = None if cams is None else sum(cams) / len(cams)
            swap = "–" if reached is None else f"{clean:.0f} → {reached:.0f} (x{reached / clean:.2f})"
            assert f"| {scale} | {model} | 4 | {swap} | – → {rot10} | – → {rot30} |" in text
    with (out / "scale_targeted.csv").open() as f:
        rows = list(csv.DictReader(f))
    # per scale: 3 monocular models x (camera swap, rot10, rot30) + triangulation's two rotations
    assert len(rows) == len(REACHED) * (3 * 3 + 2)


def test_report_from_the_corruption_grid_only(tmp_path):
    roots = {scale: _fake_corruptions(tmp_path / f"corr-{scale}", scale) for scale in CORRUPTION_FACTORS}
    out = write_study(roots, tmp_path / "report")
    text = (out / "tables.md").read_text()
    assert _left_out(text) == _expect_left_out({"Common corruptions"})
    assert {f.name for f in out.iterdir()} == {"tables.md"}  # a table, no file of its own
    assert _titles(text) == ["Common corruptions"]
    for scale, factors in CORRUPTION_FACTORS.items():
        for model, factor in zip(("regression", "volumetric"), factors, strict=True):
            assert f"| {scale} | {model} | 50.0 | {50 * factor:.1f} | x{factor:.2f} |" in text
        most = "regression > volumetric" if factors[0] > factors[1] else "volumetric > regression"
        assert f"- {scale}: {most}" in text


def test_scale_grid_at_scales_without_an_axis_pair_leaves_out_the_axes(tmp_path):
    """tiny-64 and r18-128 differ in backbone and crop size: no pair of the two axes; the other grids'
    sections are named too, and the scale grid's own are written."""
    out = write_study(_fake_study(tmp_path), tmp_path / "report")
    text = (out / "tables.md").read_text()
    present = {"Untargeted attacks across scales", "MPJPE ratio vs clean MPJPE figure"}
    assert _left_out(text) == _expect_left_out(present)
    assert "the `scale` grid at two scales that differ in crop size only or in backbone only" in text
    assert {f.name for f in out.iterdir()} == _files(present)
    assert _titles(text)[0] == "Clean accuracy on the attacked samples"


def test_no_rows_for_any_section_is_one_error_line(tmp_path):
    root = tmp_path / "clean-only"  # runs whose only rows are clean ones: no attack, no corruption
    for model in MODEL_NAMES:
        _write(root, "tiny-64", model, [_row(model, "untargeted", "clean", 0, 0, "mpjpe", 50.0)])
    out = tmp_path / "report"
    with pytest.raises(ResultsError, match="no rows for any section of the scale study"):
        write_study({"tiny-64": root}, out)
    cli = [sys.executable, "-m", "studies.scale.report", f"tiny-64={root}", "--out", str(out)]
    proc = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: no rows for any section")
    for grid in set(ALL_SECTIONS.values()):
        assert grid in proc.stderr
    assert not out.exists()  # nothing written
