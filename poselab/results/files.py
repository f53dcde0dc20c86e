"""The results folder's files (names in :mod:`poselab.results.schema`), each written atomically by
:mod:`poselab.safe_io`'s one writer."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from poselab import safe_io
from poselab.results.schema import (
    CI_COLUMNS,
    PER_JOINT_CSV,
    PER_SAMPLE_CSV,
    RESULTS_CSV,
    RESULTS_JSON,
    SAMPLE_INDEX,
    SAMPLE_VALUE,
    SAMPLE_VIEW,
    TRANSFER_COLUMNS,
    WORST_SAMPLE_COLUMNS,
    WORST_SAMPLES_CSV,
    columns_of,
    per_joint_columns,
    per_sample_columns,
)
from poselab.results.tolerance import tolerance_statement

#: Columns of results.json rows whose non-finite floats are written as null.
_FLOAT_COLUMNS = ("value", *CI_COLUMNS)


def write_results(out: str | Path, rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
                  per_joint: Sequence[Mapping[str, Any]] = (),
                  worst_samples: Sequence[Mapping[str, Any]] = (),
                  per_sample: Sequence[tuple[Mapping[str, Any], Any]] = ()) -> None:
    """``results.csv``, ``results.json`` (meta + rows, non-finite values as null; meta gets the
    :mod:`poselab.results.tolerance` table unless it has one), ``per_joint.csv``, ``worst_samples.csv`` when
    an ensemble ran and, given ``per_sample`` ((row, values with ``index``/``view``/``value`` (N,)) pairs),
    ``per_sample.csv``."""
    out = Path(out)
    columns = columns_of(rows)
    safe_io.write_csv(out / RESULTS_CSV, rows, columns)
    json_rows = [{c: (r[c] if c not in _FLOAT_COLUMNS or math.isfinite(r[c]) else None) for c in columns}
                 for r in rows]
    meta = {**meta, "tolerance": meta.get("tolerance") or tolerance_statement()}
    safe_io.atomic_write(out / RESULTS_JSON,
                         json.dumps({"meta": meta, "rows": json_rows}, indent=1) + "\n")
    safe_io.write_csv(out / PER_JOINT_CSV, per_joint, per_joint_columns(columns))
    if worst_samples:
        safe_io.write_csv(out / WORST_SAMPLES_CSV, worst_samples, WORST_SAMPLE_COLUMNS)
    if per_sample:
        safe_io.write_csv(out / PER_SAMPLE_CSV, per_sample_rows(per_sample), per_sample_columns(columns))


def per_sample_rows(pairs: Sequence[tuple[Mapping[str, Any], Any]]) -> list[dict[str, Any]]:
    """``per_sample.csv`` rows: per (row, values) pair, the row's setting and metric with each sample's
    dataset index, view and value (in the values' order)."""
    out = []
    for row, s in pairs:
        for i, v, x in zip(s.index.tolist(), s.view.tolist(), s.value.tolist()):
            out.append({**row, SAMPLE_INDEX: int(i), SAMPLE_VIEW: int(v), SAMPLE_VALUE: float(x)})
    return out


def write_transfer_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Rows in the ``transfer.csv`` schema (``path``: normally ``<results folder>/transfer.csv``)."""
    return safe_io.write_csv(path, rows, TRANSFER_COLUMNS)
