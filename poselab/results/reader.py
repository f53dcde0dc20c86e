"""Read saved results folders (docs/RESULTS.md: ``results.csv`` or ``results.json``, optional
``per_joint.csv`` / ``transfer.csv``) into runs of cells, validated; discover them under parent folders.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from poselab.results.runs import Cell, JointCell, RunResults, describe, identity
from poselab.results.schema import (
    CI_COLUMNS,
    CI_HIGH,
    CI_LOW,
    COLUMNS,
    CORRUPTION,
    CORRUPTION_EXPERIMENT,
    JOINT,
    JOINT_MPJPE,
    METRICS,
    PER_JOINT_COLUMNS,
    PER_JOINT_CSV,
    PER_SAMPLE_CSV,
    RESULT_FILES,
    RESULTS_CSV,
    RESULTS_JSON,
    SAMPLE_INDEX,
    SAMPLE_VALUE,
    SAMPLE_VIEW,
    SEVERITY,
    TRANSFER_COLUMNS,
    TRANSFER_CSV,
    VIEW_SET,
    WORST_PREFIX,
    attack_names,
    corruption_names,
    experiment_names,
    is_metric,
)
from poselab.results.statistics import combined_ci


class ResultsError(ValueError):
    """A results folder is missing or malformed; the message names the folder."""


def _parse_setting(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Typed setting fields of a csv/json row; raises ValueError naming the bad field."""
    try:
        out: dict[str, Any] = {
            "experiment": str(row["experiment"]), "attack": str(row["attack"]), "eps": float(row["eps"]),
            "iterations": int(float(row["iterations"])), "attacked_views": int(float(row["attacked_views"])),
            "target": "" if row["target"] is None else str(row["target"]),
            VIEW_SET: str(row.get(VIEW_SET) or "")}
    except KeyError as err:
        raise ValueError(f"{where}: missing field {err.args[0]!r}") from None
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: bad value ({err})") from None
    if out["experiment"] not in experiment_names():
        raise ValueError(f"{where}: unknown experiment {out['experiment']!r}, expected one of "
                         f"{experiment_names()}; a kind registered by your own module is known once that "
                         "module is imported (poselab report --plugin MODULE)")
    if out["attack"] not in attack_names():
        raise ValueError(f"{where}: unknown attack {out['attack']!r}, expected 'clean' or a registered "
                         f"attack {attack_names()[1:]}; an attack registered by your own module is known "
                         "once that module is imported (poselab report --plugin MODULE)")
    if not math.isfinite(out["eps"]) or out["eps"] < 0:
        raise ValueError(f"{where}: eps must be a finite number >= 0 pixels, got {out['eps']}")
    out.update(_parse_corruption(row, out["experiment"], where))
    return out


def _parse_corruption(row: dict[str, Any], experiment: str, where: str) -> dict[str, Any]:
    """The optional ``corruption``/``severity`` fields ("" and 0 when absent); ValueError naming a bad one."""
    name = str(row.get(CORRUPTION) or "")
    try:
        severity = int(float(row.get(SEVERITY) or 0))
    except (TypeError, ValueError):
        raise ValueError(f"{where}: bad severity {row.get(SEVERITY)!r}") from None
    if name and experiment != CORRUPTION_EXPERIMENT:
        raise ValueError(f"{where}: corruption {name!r} in a {experiment!r} row "
                         f"(only {CORRUPTION_EXPERIMENT!r} rows have one)")
    if name and name not in corruption_names():
        raise ValueError(f"{where}: unknown corruption {name!r}, expected one of {corruption_names()}")
    if (name and severity not in range(1, 6)) or (not name and severity != 0):
        raise ValueError(f"{where}: severity must be 1..5 with a corruption and 0 without, got {severity}")
    return {"corruption": name, "severity": severity}


def _read_csv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """The rows of a csv file whose header has ``columns``; ValueError for a file cut off (no final newline)
    or a row with more or fewer fields than the header."""
    with path.open(newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        raise ValueError(f"{path.name} does not end with a newline: the file was cut off (its last value may "
                         "be truncated)")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}")
    rows = list(reader)
    for i, row in enumerate(rows):
        if None in row or None in row.values():
            more = None in row
            raise ValueError(f"{path.name} row {i + 1} has {'more' if more else 'fewer'} fields than its "
                             f"header ({len(reader.fieldnames or [])}): a {'stray' if more else 'missing'} "
                             "separator shifts its values")
    return rows


def _same(a: Any, b: Any) -> bool:
    """A csv field and a results.json value are the same (numbers compared as floats; null = NaN/inf)."""
    if b is None or (isinstance(b, (int, float)) and not isinstance(b, bool)):
        try:
            x = float(a)
        except (TypeError, ValueError):
            return a in ("", None) and b is None
        return (not math.isfinite(x)) if b is None else x == float(b)
    return str(a if a is not None else "") == str(b if b is not None else "")


def cross_check(csv_rows: Sequence[Mapping[str, Any]], json_rows: Sequence[Any]) -> None:
    """ValueError when ``results.csv`` and ``results.json`` (written together from the same rows) disagree:
    a different row count or the first differing value, naming the row and the column."""
    if len(csv_rows) != len(json_rows):
        raise ValueError(f"{RESULTS_CSV} has {len(csv_rows)} rows but {RESULTS_JSON} {len(json_rows)}: "
                         "one of them was cut off or edited")
    for i, (c, j) in enumerate(zip(csv_rows, json_rows)):
        if not isinstance(j, Mapping):
            return  # reported by the row parser
        for col in (*COLUMNS, *CI_COLUMNS):
            if col in j and not _same(c.get(col), j[col]):
                raise ValueError(f"{RESULTS_CSV} row {i + 1} {col} {c.get(col)!r} differs from "
                                 f"{RESULTS_JSON}'s {j[col]!r}: one of them was cut off or edited")


def _rows_to_cells(rows: Iterable[Mapping[str, Any]], label: str, source: str) -> list[Cell]:
    cells: list[Cell] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i, row in enumerate(rows):
        where = f"{source} row {i + 1}"
        if not isinstance(row, Mapping):
            raise ValueError(f"{where}: expected an object, got {type(row).__name__}")
        setting = _parse_setting(row, where)
        metric = str(row.get("metric"))
        if not is_metric(metric):
            raise ValueError(f"{where}: unknown metric {metric!r}, expected one of {METRICS} or "
                             f"{WORST_PREFIX}<member>")
        try:
            value = float("nan") if row["value"] in (None, "") else float(row["value"])
            n = int(float(row.get("n") or 0))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: bad value/n ({err})") from None
        if value < 0 or n < 0:  # errors (mm), rates and counts are never negative
            raise ValueError(f"{where}: {metric} value {value:g} / n {n} is negative")
        low, high = _parse_ci(row, where)
        cell = Cell(run=label, metric=metric, value=value, n=n, ci_low=low, ci_high=high, **setting)
        key = cell_key(cell)
        if key in seen:
            raise ValueError(f"{where}: the same cell as row {seen[key] + 1} ({describe(cell)})")
        seen[key] = i
        cells.append(cell)
    return cells


def _parse_ci(row: Mapping[str, Any], where: str) -> tuple[float, float]:
    """The optional CI columns (NaN when absent or empty: files from before, n < 2); ValueError naming a
    bad or reversed pair."""
    try:
        low, high = (math.nan if row.get(c) in (None, "") else float(row[c]) for c in CI_COLUMNS)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: bad {CI_LOW}/{CI_HIGH} ({err})") from None
    if low > high:
        raise ValueError(f"{where}: {CI_LOW} {low:g} is above {CI_HIGH} {high:g}")
    return low, high


def _load_rows(folder: Path) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Raw rows, meta and the name of the file they came from (results.csv preferred)."""
    meta: dict[str, Any] = {}
    json_path = folder / RESULTS_JSON
    data = None
    if json_path.is_file():
        try:
            data = json.loads(json_path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"results.json is not valid JSON ({err})") from None
        if not isinstance(data, dict) or not isinstance(data.get("rows", []), list):
            raise ValueError("results.json must be an object {'meta': {...}, 'rows': [...]}")
        meta = dict(data.get("meta") or {})
    csv_path = folder / RESULTS_CSV
    if csv_path.is_file():
        rows = _read_csv(csv_path, COLUMNS)
        if data is not None:
            cross_check(rows, data.get("rows", []))
        return rows, meta, RESULTS_CSV
    if data is not None:
        return list(data.get("rows", [])), meta, RESULTS_JSON
    raise ValueError(f"no {' or '.join(RESULT_FILES)} found")


def _single(values: Iterable[str], what: str) -> str:
    distinct = sorted({v for v in values if v})
    if len(distinct) > 1:
        raise ValueError(f"rows mix several {what}s {distinct}; one results folder holds one run")
    return distinct[0] if distinct else "unknown"


def read_run(folder: str | Path, label: str | None = None) -> RunResults:
    """Read one results folder; raise :class:`ResultsError` naming it if missing or malformed."""
    folder = Path(folder)
    try:
        if not folder.is_dir():
            raise ValueError("not a directory")
        rows, meta, source = _load_rows(folder)
        pj = folder / PER_JOINT_CSV
        joints = _read_csv(pj, PER_JOINT_COLUMNS) if pj.is_file() else []
        return run_from_rows(rows, meta, joints, folder, label, source)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise ResultsError(f"results folder {str(folder)!r}: {err}") from None


def run_from_rows(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
                  per_joint: Sequence[Mapping[str, Any]] = (), path: str | Path = ".",
                  label: str | None = None, source: str = RESULTS_CSV) -> RunResults:
    """A run from results rows, their meta and per-joint rows (as written or as read back); ValueError
    naming the bad row. The label defaults to the folder name."""
    if not rows:
        raise ValueError(f"{source} has no rows")
    model = _single((str(r.get("model") or "") for r in rows), "model")
    dataset = _single((str(r.get("dataset") or "") for r in rows), "dataset")
    name = label or Path(path).name
    cells = _rows_to_cells(rows, name, source)
    joints = _joint_cells(per_joint, name)
    return RunResults(Path(path), model, dataset, name, dict(meta), cells, joints)


def _joint_cells(rows: Iterable[Mapping[str, Any]], label: str) -> list[JointCell]:
    out = []
    for i, row in enumerate(rows):
        where = f"{PER_JOINT_CSV} row {i + 1}"
        setting = _parse_setting(row, where)
        try:
            mpjpe = float(row[JOINT_MPJPE])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where}: bad {JOINT_MPJPE} {row.get(JOINT_MPJPE)!r}") from None
        out.append(JointCell(run=label, joint=str(row[JOINT]), mpjpe=mpjpe, **setting))
    return out


def read_transfer(folder: str | Path) -> list[dict[str, Any]]:
    """Rows of ``folder/transfer.csv`` (none if absent); :class:`ResultsError` naming a malformed folder."""
    path = Path(folder) / TRANSFER_CSV
    if not path.is_file():
        return []
    out = []
    try:
        for i, row in enumerate(_read_csv(path, TRANSFER_COLUMNS)):
            try:
                out.append({"source": row["source"], "target": row["target"], "eps": float(row["eps"]),
                            "iterations": int(float(row["iterations"])),
                            **{k: float(row[k]) for k in ("clean_mpjpe", "adv_mpjpe", "increase")},
                            "n": int(float(row["n"] or 0))})
            except (TypeError, ValueError) as err:
                raise ValueError(f"transfer.csv row {i + 1}: bad value ({err})") from None
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise ResultsError(f"results folder {str(folder)!r}: {err}") from None
    return out


def _has_results(folder: Path) -> bool:
    return any((folder / f).is_file() for f in (*RESULT_FILES, TRANSFER_CSV))


def _find_results(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        if here != root and _has_results(here):
            found.append(here)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d != "wandb" and not d.startswith("."))
    return found


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """Results folders named by ``paths``: each a results folder or an ancestor of results folders (searched
    at any depth, but not below a results folder or in ``wandb`` folders); :class:`ResultsError` naming the
    first path that does not exist or holds no results."""
    if not paths:
        raise ResultsError("no results folders given")
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ResultsError(f"results folder {str(p)!r}: does not exist")
        if not p.is_dir():
            raise ResultsError(f"results folder {str(p)!r}: not a directory")
        if _has_results(p):
            found.append(p)
            continue
        children = _find_results(p)
        if not children:
            raise ResultsError(f"results folder {str(p)!r}: no {', '.join(RESULT_FILES)} or transfer.csv in "
                               "it or in its sub-folders")
        found.extend(children)
    return list(dict.fromkeys(f.resolve() for f in found))


def load_all(paths: Sequence[str | Path], required: bool = False
             ) -> tuple[list[RunResults], list[dict[str, Any]]]:
    """Runs of every results folder under ``paths`` (labelled by :func:`label_runs`) and all transfer rows
    (a folder holding only ``transfer.csv`` contributes no run); ``required``: ResultsError if neither."""
    folders = discover(paths)
    transfer = [row for f in folders for row in read_transfer(f)]
    runs = label_runs([read_run(f) for f in folders if any((f / r).is_file() for r in RESULT_FILES)])
    if required and not runs and not transfer:
        raise ResultsError(f"no results found in {', '.join(map(str, paths))}")
    return runs, transfer


def load_runs(paths: Sequence[str | Path]) -> list[RunResults]:
    """The runs of :func:`load_all`."""
    return load_all(paths)[0]


def label_runs(runs: Sequence[RunResults]) -> list[RunResults]:
    """``runs`` relabelled: the model name, ``model/folder`` when several runs share a model, with the
    parent folder too when that is still ambiguous."""
    counts = Counter(r.model for r in runs)
    base = [r.model if counts[r.model] == 1 else f"{r.model}/{r.path.name}" for r in runs]
    out, seen = [], set()
    for r, label in zip(runs, base):
        if base.count(label) > 1:  # same folder name under different parents
            label = f"{r.model}/{r.path.parent.name}/{r.path.name}"
        while label in seen:
            label += "'"
        seen.add(label)
        out.append(replace(r, label=label, cells=[replace(c, run=label) for c in r.cells],
                           joints=[replace(j, run=label) for j in r.joints]))
    return out


def cell_key(cell: Cell) -> tuple[Any, ...]:
    """What identifies a cell within a run (every setting axis and the metric): the key of
    :func:`read_samples`."""
    return tuple(identity(cell).values())


def samples_ci(terms: Sequence[tuple[Cell | None, float]],
               samples: Mapping[tuple, Mapping]) -> tuple[float, float]:
    """95 % CI (:func:`~poselab.results.statistics.combined_ci`) of ``sum weight x cell mean`` over ``terms``
    (cell, weight) from ``samples`` (:func:`read_samples`); NaN when a cell or its values are missing."""
    got = [samples.get(cell_key(c)) if c is not None else None for c, _ in terms]
    if not got or any(g is None for g in got):
        return math.nan, math.nan
    return combined_ci(got, [w for _, w in terms])


def read_samples(folder: str | Path) -> dict[tuple[Any, ...], dict[tuple[int, int], float]]:
    """The per-sample values of a results folder's ``per_sample.csv`` by cell (:func:`cell_key`):
    {(dataset index, view): value}; {} without the file. :class:`ResultsError` naming the folder when it is
    malformed or holds a sample twice."""
    path = Path(folder) / PER_SAMPLE_CSV
    if not path.is_file():
        return {}
    out: dict[tuple[Any, ...], dict[tuple[int, int], float]] = {}
    cells: dict[tuple[Any, ...], dict[tuple[int, int], float]] = {}  # by the row's raw setting: parsed once
    sample_columns = (SAMPLE_INDEX, SAMPLE_VIEW, SAMPLE_VALUE)
    try:
        for i, row in enumerate(_read_csv(path, ("metric", *sample_columns))):
            where = f"{PER_SAMPLE_CSV} row {i + 1}"
            raw = tuple(v for k, v in row.items() if k not in sample_columns)
            if raw not in cells:
                cell = Cell(run="", metric=str(row["metric"]), value=0.0, **_parse_setting(row, where))
                cells[raw] = out.setdefault(cell_key(cell), {})
            sample = (int(float(row[SAMPLE_INDEX])), int(float(row[SAMPLE_VIEW])))
            if sample in cells[raw]:
                raise ValueError(f"{where}: sample {sample} of cell {raw} appears twice")
            cells[raw][sample] = float(row[SAMPLE_VALUE])
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise ResultsError(f"results folder {str(folder)!r}: {err}") from None
    return out
