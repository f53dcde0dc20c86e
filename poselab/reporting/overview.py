"""One overview PNG of a report (its figures under a title), for READMEs and quick looks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from poselab import style

#: Page width (inches) and the figures' resolution (px per inch, :func:`poselab.style.save`'s).
WIDTH = 16.0
FIGURE_DPI = 100


def pack_rows(widths: Sequence[float], page: float = WIDTH) -> list[list[int]]:
    """Figures (their widths, in order) grouped into rows whose summed width stays within ``page`` (a wider
    figure alone)."""
    rows: list[list[int]] = []
    for i, w in enumerate(widths):
        if rows and sum(widths[j] for j in rows[-1]) + w <= page:
            rows[-1].append(i)
        else:
            rows.append([i])
    return rows


def overview_png(figures: Mapping[str, Path], path: Path, title: str, lines: Sequence[str] = ()) -> Path:
    """Tile the figure PNGs at their own size in rows of the page's width (:func:`pack_rows`), centred,
    under ``title`` and summary ``lines``; writes ``path``."""
    if not figures:
        raise ValueError("no figures to put in the overview")
    plt = style.pyplot()
    images = [plt.imread(str(p)) for p in figures.values()]
    sizes = []
    for im in images:  # inches, shrunk to the page's width
        w, h = im.shape[1] / FIGURE_DPI, im.shape[0] / FIGURE_DPI
        k = min(1.0, WIDTH / w)
        sizes.append((w * k, h * k))
    rows = pack_rows([w for w, _ in sizes])
    heights = [max(sizes[i][1] for i in row) for row in rows]
    head = 0.7 + 0.3 * len(lines)
    fig = plt.figure(figsize=(WIDTH, sum(heights) + head + 0.1 * len(rows)))
    total = fig.get_figheight()
    fig.suptitle(title, fontsize=16, y=1 - 0.1 / total, va="top")
    for i, line in enumerate(lines):
        fig.text(0.5, 1 - (0.6 + 0.3 * i) / total, line.replace("**", ""), ha="center", va="top", fontsize=11)
    top = 1 - head / total
    for row, h in zip(rows, heights):
        left = (WIDTH - sum(sizes[i][0] for i in row)) / 2
        for i in row:
            w, hi = sizes[i]
            ax = fig.add_axes((left / WIDTH, top - (h + hi) / 2 / total, w / WIDTH, hi / total))
            ax.imshow(images[i])
            ax.axis("off")
            left += w
        top -= (h + 0.1) / total
    return style.save(fig, path, dpi=90)
