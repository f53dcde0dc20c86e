"""Figures read at a glance: distinct series, legends matching what is drawn, labels drawn once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from poselab.style import LABEL_BOX_RGB, LABEL_TEXT_RGB, label_box, put_label, series_styles

LABEL = "S9 walking f120 cam1"
GREEN = (0, 160, 0)


def _old_label(image: np.ndarray, text: str) -> np.ndarray:
    """The former preview label: a black outline at thickness 3 under white text at thickness 1."""
    import cv2

    cv2.putText(image, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def label_defects(image: np.ndarray, text: str, background: tuple[int, int, int]) -> list[str]:
    """What is wrong with a label drawn on a uniform ``background`` image: pixels outside the label box
    changed, pixels in it that are not a blend of box and text colour (an outline or a second copy of the
    glyphs), or ink wider than one rendering of the text."""
    import cv2

    x0, y0, x1, y1 = label_box(text, (2, 2))
    defects = []
    outside = np.ones(image.shape[:2], bool)
    outside[y0 : y1 + 1, x0 : x1 + 1] = False
    if (image[outside] != background).any():
        defects.append("pixels changed outside the label box")
    box = image[y0 : y1 + 1, x0 : x1 + 1].astype(float)
    lo, hi = np.array(LABEL_BOX_RGB, float), np.array(LABEL_TEXT_RGB, float)
    t = ((box - lo) @ (hi - lo)) / ((hi - lo) @ (hi - lo))
    off = np.linalg.norm(box - (lo + t[..., None].clip(0, 1) * (hi - lo)), axis=-1)
    if (off > 3).any():
        defects.append(f"{int((off > 3).sum())} label pixels are neither box, text nor a blend of them")
    ink = np.nonzero((t > 0.2).any(axis=0))[0]
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    if len(ink) == 0 or ink[-1] - ink[0] + 1 > width + 2:
        wide = 0 if len(ink) == 0 else ink[-1] - ink[0] + 1
        defects.append(f"ink {wide} px wide, one rendering {width} px")
    return defects


def test_labels_are_drawn_once_on_a_box_with_the_installed_opencv() -> None:
    image = np.full((60, 220, 3), GREEN, np.uint8)
    put_label(image, LABEL, (2, 2))
    assert label_defects(image, LABEL, GREEN) == []


def test_the_label_check_fails_on_the_former_outline_rendering() -> None:
    """The check above can fail: the outline-under-text label it replaced does (a third colour, and with
    OpenCV 5 a second copy of the glyphs drifting right)."""
    image = _old_label(np.full((60, 220, 3), GREEN, np.uint8), LABEL)
    assert any("neither box" in d for d in label_defects(image, LABEL, GREEN))


def test_preview_tiles_carry_one_readable_label_each() -> None:
    """The preview grid's tiles: each label is one rendering on its box (first tile checked in full)."""
    import torch

    from poselab.data.preview import preview_grid

    sample = {"images": torch.full((2, 3, 32, 32), 200, dtype=torch.uint8),
              "joints_2d": torch.full((2, 17, 2), -100.0),  # off the tile: only the label is drawn
              "subject": "S9", "action": "walking", "frame": 120, "camera_ids": torch.tensor([0, 1])}
    grid = preview_grid([sample], tile=200)
    tile = grid[2:202, 2:202]
    background = tuple(int(v) for v in tile[-1, -1])
    assert label_defects(np.ascontiguousarray(tile), LABEL, background) == []


@pytest.mark.parametrize("n", [1, 4, 6, 10, 11, 23, 40])
def test_series_styles_are_distinct(n: int) -> None:
    styles = series_styles(n)
    assert len({(s.color, s.linestyle) for s in styles}) == n
    assert len({(s.color, s.marker) for s in styles}) == n
    widths = [s.linewidth for s in styles]
    assert widths == sorted(widths, reverse=True)


@pytest.mark.parametrize("groups", [[1, 1, 1], [3, 3, 3], [2, 4], [6, 1], [1] * 12])
def test_grouped_styles_are_distinct_and_colour_the_group_when_they_can(groups) -> None:
    from poselab.style import grouped_styles

    styles = grouped_styles(groups)
    flat = [s for row in styles for s in row]
    assert [len(row) for row in styles] == groups
    assert len({(s.color, s.linestyle, s.marker) for s in flat}) == len(flat)
    if max(groups) <= 4 and len(groups) <= 10:
        assert all(len({s.color for s in row}) == 1 for row in styles)
        assert len({row[0].color for row in styles}) == len(groups)


def test_series_styles_keep_a_meaning_of_line_style() -> None:
    dashed = ["--", "--", "-", "-", "-", "-", "--", "--", "--", "--", "--", "--"]
    styles = series_styles(len(dashed), dashed)
    assert [s.linestyle for s in styles] == dashed
    assert len({(s.color, s.linestyle, s.marker) for s in styles}) == len(dashed)


# ---------------------------------------------------------------------------------------------- figures
def series_lines(ax) -> list:
    """The labelled lines of an axes (a series each; skeleton bones carry one label per skeleton)."""
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def line_style(line) -> tuple[str, str, str]:
    from matplotlib.colors import to_hex

    return to_hex(line.get_color()), str(line.get_linestyle()), str(line.get_marker())


def series_defects(fig) -> list[str]:
    """Series that share a style within a panel, a label drawn in two styles, a legend whose entries differ
    from the labels drawn (count or style)."""
    out = []
    drawn: dict[str, set] = {}
    for i, ax in enumerate(fig.axes):
        styles = [line_style(ln) for ln in series_lines(ax)]
        if len(set(styles)) != len(styles):
            out.append(f"panel {i}: {len(styles)} series in {len(set(styles))} styles")
        for ln in series_lines(ax):
            drawn.setdefault(ln.get_label(), set()).add(line_style(ln))
    out += [f"{label!r} drawn in {len(s)} styles" for label, s in drawn.items() if len(s) > 1]
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    shown: dict[str, tuple] = {}
    for leg in legends:
        for text, handle in zip(leg.get_texts(), leg.legend_handles):
            if text.get_text() in shown:
                out.append(f"legend entry {text.get_text()!r} twice")
            shown[text.get_text()] = line_style(handle)
    if set(shown) != set(drawn):
        out.append(f"legend {sorted(shown)} vs drawn {sorted(drawn)}")
    out += [f"legend entry {k!r} styled unlike its lines" for k, s in shown.items()
            if {s} != drawn.get(k, {s})]
    return out


def hidden_series(fig, min_pixels: int = 15) -> list[str]:
    """Labels of series whose colour shows in fewer than ``min_pixels`` pixels of their panel as rendered
    (a line lying exactly under another one in the same style)."""
    import io

    from matplotlib.colors import to_rgb
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    img = np.asarray(Image.open(buf).convert("RGB")).astype(int)
    height = img.shape[0]
    out = []
    for ax in fig.axes:
        bb = ax.get_window_extent()
        region = img[height - int(bb.y1) : height - int(bb.y0), int(bb.x0) : int(bb.x1)]
        for ln in series_lines(ax):
            rgb = np.array(to_rgb(ln.get_color())) * 255
            if (np.abs(region - rgb).max(-1) < 24).sum() < min_pixels:
                out.append(ln.get_label())
    return out


@pytest.fixture()
def figures(monkeypatch) -> dict:
    """Every figure poselab saves during a test, by file name, captured before it is written."""
    from poselab import safe_io

    saved: dict = {}
    original = safe_io.save_figure

    def capture(fig, path, **kw):
        saved[Path(path).name] = fig
        return original(fig, path, **kw)

    monkeypatch.setattr(safe_io, "save_figure", capture)
    return saved


def test_report_figures_have_distinct_series_and_matching_legends(tmp_path, figures) -> None:
    from test_report import write_results

    from poselab.reporting.report import build_report

    parent = tmp_path / "results"
    write_results(parent / "regression_run", "regression", 60.0)
    write_results(parent / "volumetric_run", "volumetric", 45.0)
    write_results(parent / "heatmap_run", "heatmap_depth", 52.0)
    write_results(parent / "tri_run", "triangulation", 30.0, multiview=True, per_joint=False)
    build_report([parent], tmp_path / "report")
    expected = {"untargeted_mpjpe.png", "multiview.png", "camera_swap.png", "rotation.png", "per_joint.png",
                "overview.png"}
    assert expected <= set(figures)
    for name, fig in figures.items():
        assert series_defects(fig) == [], name
    multiview = figures["multiview.png"]
    assert len({line_style(ln)[0] for ln in series_lines(multiview.axes[0])}) >= 2  # not one colour
    for ax in figures["rotation.png"].axes:  # two points per series: markers, not a line joining them
        assert all(ln.get_linestyle() == "None" for ln in series_lines(ax))
    labels = [t.get_text() for ax in figures["per_joint.png"].axes for t in ax.texts]
    named = ("pelvis", "head", "l_wrist", "r_ankle")
    assert sum(t.startswith(named) for t in labels) >= len(named)  # every joint named, not only the top one


def test_strength_figure_shows_every_attack_even_where_two_coincide(tmp_path, figures) -> None:
    """APGD's curve lies exactly under the ensemble's (its member): both stay visible, 6 entries, 6 lines."""
    from poselab.reporting.report import build_report
    from poselab.results.files import write_results
    from poselab.results.schema import ResultKey, clean_key, row_of

    for model, base in (("regression", 70.0), ("volumetric", 65.0)):
        rows = [row_of(model, "synthetic", clean_key("untargeted", m), base, 8) for m in ("mpjpe", "pmpjpe")]
        for attack, factor in (("igsm_u", 1.0), ("apgd", 1.5), ("ensemble", 1.5)):  # ensemble == apgd
            for it in (10, 100):
                for eps in (2.0, 8.0):
                    for m in ("mpjpe", "pmpjpe"):
                        v = base + factor * eps * it
                        key = ResultKey("untargeted", attack, eps, it, 1, "", m)
                        rows.append(row_of(model, "synthetic", key, v, 8))
        (tmp_path / "r" / model).mkdir(parents=True)
        write_results(tmp_path / "r" / model, rows, {"model": model, "dataset": "synthetic", "checkpoint": "",
                                                      "config": {}, "created": "now"})
    build_report([tmp_path / "r"], tmp_path / "report")
    fig = figures["strength.png"]
    assert series_defects(fig) == []
    assert len(fig.legends[0].get_texts()) == 6 == len(series_lines(fig.axes[0]))
    assert hidden_series(fig) == []
    assert fig.axes[0].get_yscale() == "log"  # 65 .. 1265 mm: more than a decade


def test_corruption_figures_of_the_committed_results(tmp_path, figures) -> None:
    """The shipped corruption results (11 corruptions, all and 1 of 4 views): no two series alike, and
    the title names dashed lines only where some are drawn."""
    from poselab.reporting.report import build_report

    build_report([Path(__file__).parents[1] / "docs/results/corruptions/results"], tmp_path / "report")
    for name in ("corruption_severity.png", "corruption_vs_attack.png", "untargeted_mpjpe.png",
                 "multiview.png"):
        assert series_defects(figures[name]) == [], name
    severity = figures["corruption_severity.png"]
    dashed = [ln for ax in severity.axes for ln in series_lines(ax) if ln.get_linestyle() == "--"]
    assert dashed and "dashed" in severity._suptitle.get_text()
    assert len(severity.legends[0].get_texts()) == 22  # 11 corruptions, all views and 1 of 4


def test_corruption_severity_title_names_no_dashed_lines_when_none_are_drawn(tmp_path, figures) -> None:
    from poselab.reporting.corruption import plot_severity

    rows = [{"experiment": "corruption", "model": "regression", "attacked_views": 1, "corruption": c,
             "severity": s, "metric": "mpjpe", "value": 70.0 + 10 * s + i}
            for i, c in enumerate(("gaussian_noise", "fog")) for s in (1, 2, 3)]
    rows.append({"experiment": "corruption", "model": "regression", "attacked_views": 1, "corruption": "",
                 "severity": 0, "metric": "mpjpe", "value": 70.0})
    plot_severity(rows, ["regression"], tmp_path / "s.png")
    fig = figures["s.png"]
    assert "dashed" not in fig._suptitle.get_text() and series_defects(fig) == []


def test_example_panel_draws_clean_and_adversarial_predictions_target_and_a_legend(tmp_path, figures) -> None:
    import torch

    from poselab.experiments.runner import Example
    from poselab.reporting.examples import save_example

    joints = torch.rand(2, 17, 2) * 40 + 10
    ex = Example("rotation igsm_t eps=8 it=100 target=rot30 #0", torch.zeros(2, 3, 64, 64),
                 torch.full((2, 3, 64, 64), 8.0), joints + 5, joints, clean_2d=joints + 1,
                 target_2d=joints - 4, mpjpe=(71.25, 412.5))
    save_example(ex, tmp_path / "ex.png")
    fig = figures["ex.png"]
    assert series_defects(fig) == []
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert legend == {"ground truth", "clean prediction", "adversarial prediction", "target"}
    on_clean = {ln.get_label() for ln in series_lines(fig.axes[0])}
    on_adv = {ln.get_label() for ln in series_lines(fig.axes[2])}
    assert on_clean == {"ground truth", "clean prediction"}
    assert on_adv == {"ground truth", "adversarial prediction", "target"}
    assert "clean 71.2, adversarial 412.5" in fig._suptitle.get_text()


def test_validation_panel_has_caption_and_legend_strip() -> None:
    import torch

    from poselab.models.visualize import GT, PRED, STRIP, skeleton_panel

    joints = torch.rand(2, 17, 2) * 20 + 6
    panel = skeleton_panel(torch.zeros(2, 3, 32, 32), joints + 2, joints, size=64,
                           caption="epoch 3, validation batch 0: MPJPE P1 71.0 mm",
                           tile_labels=["MPJPE 70 mm", "MPJPE 72 mm"])
    assert panel.shape == (STRIP + 64, 128, 3)
    strip = panel[:STRIP]
    for color in (GT, PRED):  # the legend's swatches and words in the skeletons' colours
        assert (np.abs(strip.astype(int) - color).max(-1) < 10).sum() > 20
    assert (strip.min(-1) > 180).sum() > 30  # the caption's white text
