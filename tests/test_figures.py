"""Figures read at a glance: distinct series, legends matching what is drawn, labels drawn once."""

from __future__ import annotations

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


def test_series_styles_keep_a_meaning_of_line_style_without_clashes() -> None:
    dashed = ["--", "--", "-", "-", "-", "-", "--", "--", "--", "--", "--", "--"]
    styles = series_styles(len(dashed), dashed)
    assert [s.linestyle for s in styles[:10]] == dashed[:10]
    assert len({(s.color, s.linestyle) for s in styles}) == len(dashed)
