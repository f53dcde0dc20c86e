"""The results folder's files: ``results.csv`` / ``results.json`` / ``per_joint.csv`` / ``worst_samples.csv``
and ``transfer.csv``, each written atomically by :mod:`poselab.safe_io`'s one writer."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
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
from poselab.results.tolerance import tolerance_statement


def write_results(out: str | Path, rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
                  per_joint: Sequence[Mapping[str, Any]] = (), worst_samples: Sequence[Mapping[str, Any]] = ()
                  ) -> None:
    """``results.csv``, ``results.json`` (meta + rows, non-finite values as null; meta gets the cross-machine
    tolerance table of :mod:`poselab.results.tolerance` unless it has one), ``per_joint.csv`` and,
    when an ensemble ran, ``worst_samples.csv`` (which member attack was worst for each sample)."""
    out = Path(out)
    columns = columns_of(rows)
    safe_io.write_csv(out / RESULTS_CSV, rows, columns)
    json_rows = [{c: (r[c] if c != "value" or math.isfinite(r[c]) else None) for c in columns} for r in rows]
    meta = {**meta, "tolerance": meta.get("tolerance") or tolerance_statement()}
    safe_io.atomic_write(out / RESULTS_JSON,
                         json.dumps({"meta": meta, "rows": json_rows}, indent=1) + "\n")
    safe_io.write_csv(out / PER_JOINT_CSV, per_joint, per_joint_columns(columns))
    if worst_samples:
        safe_io.write_csv(out / WORST_SAMPLES_CSV, worst_samples, WORST_SAMPLE_COLUMNS)


def write_per_joint_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Rows in the ``per_joint.csv`` schema (without ``view_set``)."""
    return safe_io.write_csv(path, rows, PER_JOINT_COLUMNS)


def write_transfer_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Rows in the ``transfer.csv`` schema (``path``: normally ``<results folder>/transfer.csv``)."""
    return safe_io.write_csv(path, rows, TRANSFER_COLUMNS)
