"""Writing results files atomically (temp file in the same folder + rename): nothing half-written."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from poselab import safe_io
from poselab.results.schema import (
    PER_JOINT_COLUMNS,
    PER_JOINT_CSV,
    RESULTS_CSV,
    RESULTS_JSON,
    TRANSFER_COLUMNS,
    WORST_SAMPLE_COLUMNS,
    WORST_SAMPLES_CSV,
    columns_of,
    per_joint_columns,
)


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text or bytes) to ``path`` atomically with the project's one writer
    (:mod:`poselab.safe_io`: temp file in the same folder, mode 0666 & ~umask, rename); the folder is
    created. Returns the path."""
    if isinstance(data, bytes):
        safe_io.atomic_write_bytes(path, data)
    else:
        safe_io.atomic_write_text(path, data)
    return Path(path)


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with a header (extra keys of the rows ignored; "\\n" line ends)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """Write rows as CSV atomically."""
    return atomic_write(path, csv_text(rows, columns))


def write_results(out: str | Path, rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
                  per_joint: Sequence[Mapping[str, Any]] = (), worst_samples: Sequence[Mapping[str, Any]] = ()
                  ) -> None:
    """``results.csv``, ``results.json`` (meta + rows, non-finite values as null), ``per_joint.csv`` and,
    when an ensemble ran, ``worst_samples.csv`` (which member attack was worst for each sample)."""
    out = Path(out)
    columns = columns_of(rows)
    write_csv(out / RESULTS_CSV, rows, columns)
    json_rows = [{c: (r[c] if c != "value" or math.isfinite(r[c]) else None) for c in columns} for r in rows]
    atomic_write(out / RESULTS_JSON, json.dumps({"meta": dict(meta), "rows": json_rows}, indent=1) + "\n")
    write_csv(out / PER_JOINT_CSV, per_joint, per_joint_columns(columns))
    if worst_samples:
        write_csv(out / WORST_SAMPLES_CSV, worst_samples, WORST_SAMPLE_COLUMNS)


def write_per_joint_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Rows in the ``per_joint.csv`` schema (without ``view_set``)."""
    return write_csv(path, rows, PER_JOINT_COLUMNS)


def write_transfer_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Rows in the ``transfer.csv`` schema (``path``: normally ``<results folder>/transfer.csv``)."""
    return write_csv(path, rows, TRANSFER_COLUMNS)


def save_figure(fig: Any, path: str | Path, **savefig: Any) -> Path:
    """Save a matplotlib figure as PNG atomically (rendered in memory, then :func:`atomic_write`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    return atomic_write(path, buf.getvalue())
