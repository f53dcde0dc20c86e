"""One overview PNG of a report (its figures in a grid under a title), for READMEs and quick looks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from poselab.safe_io import save_figure  # noqa: E402


def overview_png(
    figures: Mapping[str, Path], path: Path, title: str, lines: Sequence[str] = (), columns: int = 2
) -> Path:
    """Tile the figure PNGs (``columns`` per row) under ``title`` and summary ``lines``; writes ``path``."""
    if not figures:
        raise ValueError("no figures to put in the overview")
    names = list(figures)
    images = [mpimg.imread(str(figures[n])) for n in names]
    rows = -(-len(names) // columns)
    width = 8.0  # inches per column
    heights = [
        max(width * im.shape[0] / im.shape[1] for im in images[r * columns : (r + 1) * columns])
        for r in range(rows)
    ]
    head = 0.7 + 0.3 * len(lines)
    fig = plt.figure(figsize=(width * columns, sum(heights) + head))
    total = fig.get_figheight()
    grid = fig.add_gridspec(
        rows,
        columns,
        top=1 - head / total,
        bottom=0,
        left=0,
        right=1,
        height_ratios=heights,
        hspace=0.02,
        wspace=0.02,
    )
    fig.suptitle(title, fontsize=16, y=1 - 0.1 / total, va="top")
    for i, line in enumerate(lines):
        fig.text(0.5, 1 - (0.6 + 0.3 * i) / total, line.replace("**", ""), ha="center", va="top", fontsize=11)
    for k, image in enumerate(images):
        ax = fig.add_subplot(grid[k // columns, k % columns])
        ax.imshow(image)
        ax.axis("off")
    save_figure(fig, path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path
