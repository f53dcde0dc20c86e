"""The transfer matrix of ``transfer.csv`` rows (:mod:`poselab.evaluation.transfer`): tables and heat maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from poselab import style
from poselab.reporting.tables import Table
from poselab.results.schema import MPJPE


def transfer_tables(rows: Sequence[Mapping[str, Any]]) -> list[Table]:
    """One matrix per (eps, iterations): rows = source (crafted on), columns = target (evaluated on),
    values = MPJPE increase (mm)."""
    tables = []
    for eps, it in sorted({(float(r["eps"]), int(r["iterations"])) for r in rows}):
        sel = [r for r in rows if (float(r["eps"]), int(r["iterations"])) == (eps, it)]
        names = list(dict.fromkeys([r["source"] for r in sel] + [r["target"] for r in sel]))
        value = {(r["source"], r["target"]): float(r["increase"]) for r in sel}
        table_rows = [[f"crafted on {s}"] + [value.get((s, t)) for t in names] for s in names]
        title = f"Transfer: MPJPE increase (mm) on the column model, eps={eps:g} px, {it} it"
        columns = ["source \\ target"] + [f"on {t}" for t in names]
        tables.append(Table(f"transfer_eps{eps:g}_it{it}", title, columns, table_rows, MPJPE))
    return tables


def plot_transfer(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Heat map(s) of the transfer matrix, one panel per (eps, iterations)."""
    plt = style.pyplot()
    tables = transfer_tables(rows)
    if not tables:
        raise ValueError("no transfer rows to draw")
    fig, axes = plt.subplots(1, len(tables), figsize=(6.0 * len(tables), 5.4), squeeze=False)
    for ax, table in zip(axes[0], tables):
        names = [c.removeprefix("on ") for c in table.columns[1:]]
        data = [[float("nan") if v is None else v for v in row[1:]] for row in table.rows]
        im = ax.imshow(data, cmap="Reds")
        top = max((x for r in data for x in r if x == x), default=0.0)
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                color = "white" if top > 0 and v > 0.6 * top else "black"
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_xlabel("evaluated on")
        ax.set_ylabel("crafted on")
        ax.set_title(table.title.split(", ", 1)[1], fontsize=9)
        fig.colorbar(im, ax=ax, label="MPJPE increase (mm)", shrink=0.8)
    fig.suptitle("Transfer attacks: MPJPE increase (mm) of the column model, images crafted on the row model",
                 fontsize=style.TITLE_SIZE)
    fig.tight_layout()
    return style.save(fig, path)
