"""The paper's four tables as markdown, from results rows (one or several models).

Rows follow the RESULTS SCHEMA of docs/ARCHITECTURE.md. A multi-view MPJPE cell prints "-" when every
triangulation of the cell failed (as in the paper), "*" when only some did; JDR is in percent.

Command line: ``python -m poselab.reporting.paper_tables results/*/results.csv`` prints the tables of all
runs.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from poselab.metrics import DEFAULT_JDR, jdr_label
from poselab.reporting.curves import same
from poselab.results.schema import CLEAN, attacked_series, clean_key

#: The JDR definition of result files written before the definition was recorded (the only one then).
LEGACY_JDR = "head_thorax"

Row = Mapping[str, Any]
Key = tuple


def _view_set(row: Row) -> str:
    """The explicit attacked view subset ("0+2") of a row; "" for the first-k form and older files."""
    return str(row.get("view_set") or "")


def _key(row: Row) -> Key:
    return (row["model"], row["experiment"], row["attack"], float(row["eps"]), int(row["iterations"]),
            int(row["attacked_views"]), row["target"] or "", row["metric"], _view_set(row))


def _index(rows: Iterable[Row]) -> dict[Key, float]:
    return {_key(r): float(r["value"]) if r["value"] not in ("", None) else math.nan for r in rows}


def _fmt(value: float | None, scale: float = 1.0) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value * scale:.1f}"


def _mark(text: str, failed: float | None, applies: bool = True) -> str:
    """Append "*" when some triangulations of the cell failed (the value averages the others)."""
    return f"{text}*" if applies and text != "-" and failed is not None and failed > 0 else text


FOOTNOTE = "\n\n\"-\": every triangulation failed (or no data); \"*\": some failed, mean over the others."


def _eps_label(e: float) -> str:
    return f"{e:g}"


def _models(rows: Sequence[Row], experiment: str) -> list[str]:
    return list(dict.fromkeys(r["model"] for r in rows if r["experiment"] == experiment))


def _values(rows: Sequence[Row], experiment: str, field: str, **where: Any) -> list:
    vals = {r[field] for r in rows if r["experiment"] == experiment
            and all(same(r[k], v) for k, v in where.items())}
    numeric = field in ("eps", "iterations", "attacked_views")
    return sorted(vals, key=lambda v: float(v) if numeric else str(v))


def _md(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _get(idx: Mapping[Key, float], *key: Any, view_set: str = "") -> float | None:
    return idx.get((*key, view_set))


def _clean(idx: Mapping[Key, float], model: str, experiment: str, metric: str) -> float | None:
    key = clean_key(experiment, metric)
    return _get(idx, model, experiment, key.attack, key.eps, key.iterations, key.attacked_views, "", metric)


def untargeted_table(rows: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """Table 1 as (header, body): MPJPE P1/P2 (mm) per model over eps, for each attacked series."""
    idx = _index(rows)
    eps = sorted({float(e) for e in _values(rows, "untargeted", "eps")} | {0.0})
    body = []
    for model in _models(rows, "untargeted"):
        for it, attack, label in attacked_series(rows, "untargeted"):
            for proto, metric in (("P1", "mpjpe"), ("P2", "pmpjpe")):
                cells = []
                for e in eps:
                    if e == 0:
                        v = _clean(idx, model, "untargeted", metric)
                    else:
                        v = _get(idx, model, "untargeted", attack, e, it, 1, "", metric)
                    cells.append(_fmt(v))
                body.append([model, label, proto, *cells])
    return ["Model", "Iter", "Protocol", *[f"ε={_eps_label(e)}" for e in eps]], body


def table_untargeted(rows: Sequence[Row]) -> str:
    """Table 1: MPJPE P1/P2 (mm) per model over eps, for each iteration count."""
    return _md(*untargeted_table(rows))


def multiview_table(rows: Sequence[Row], jdr_definition: str = DEFAULT_JDR
                    ) -> tuple[list[str], list[list[str]]]:
    """Table 2 as (header, body): JDR (%, ``jdr_definition`` named in the Metric header) and MPJPE (mm)
    over eps per attacked views and series."""
    idx = _index(rows)
    eps = sorted({float(e) for e in _values(rows, "multiview", "eps")} | {0.0})
    views = sorted({(int(r["attacked_views"]), _view_set(r)) for r in rows
                    if r["experiment"] == "multiview" and int(r["attacked_views"]) > 0})
    clean = clean_key("multiview", "")
    body = []
    for model in _models(rows, "multiview"):
        for k, view_set in views:
            for it, attack, label in attacked_series(rows, "multiview"):
                for name, metric, scale in (("JDR %", "jdr", 100.0), ("MPJPE", "mpjpe", 1.0)):
                    cells = []
                    for e in eps:
                        key, vs = ((model, "multiview", CLEAN, 0.0, 0, clean.attacked_views, ""), "") \
                            if e == 0 else ((model, "multiview", attack, e, it, k, ""), view_set)
                        v = _get(idx, *key, metric, view_set=vs)
                        failed = _get(idx, *key, "failed", view_set=vs)
                        cells.append(_mark(_fmt(v, scale), failed, metric != "jdr"))
                    body.append([model, view_set or str(k), label, name, *cells])
    metric_header = f"Metric ({jdr_label(jdr_definition)})"
    return ["Model", "Views", "Iter", metric_header, *[f"ε={_eps_label(e)}" for e in eps]], body


def table_multiview(rows: Sequence[Row], jdr_definition: str = DEFAULT_JDR) -> str:
    """Table 2: JDR (%) and MPJPE (mm) over eps per number of attacked views; "-": triangulation failed.

    The Views column is the number k of views (the first k attacked) or, for an explicit subset, the
    attacked view indices ("0+2", 0-based); subsets follow the counts of the same size. The Metric
    header names ``jdr_definition`` (one of :data:`poselab.metrics.JDR_DEFINITIONS`).
    """
    return _md(*multiview_table(rows, jdr_definition)) + FOOTNOTE


def targeted_table(rows: Sequence[Row], experiment: str, target_label: str
                   ) -> tuple[list[str], list[list[str]]]:
    """Tables 3/4 as (header, body): MPJPE to the target (mm) per target and eps over iterations."""
    idx = _index(rows)
    series = attacked_series(rows, experiment, with_zero=True)
    body = []
    for model in _models(rows, experiment):
        targets = _values(rows, experiment, "target", model=model)
        views = {int(r["attacked_views"]) for r in rows
                 if r["model"] == model and r["experiment"] == experiment}
        k = max(views) if views else 1
        for target in targets:
            for e in sorted({float(x) for x in _values(rows, experiment, "eps", model=model)}):
                cells = []
                for it, attack, _ in series:
                    v = _get(idx, model, experiment, attack, e, it, k, target, "target_mpjpe")
                    failed = _get(idx, model, experiment, attack, e, it, k, target, "failed")
                    cells.append(_mark(_fmt(v), failed))
                body.append([model, target, _eps_label(e), *cells])
    return ["Model", target_label, "ε", *[f"iter={label}" for _, _, label in series]], body


def table_camera_swap(rows: Sequence[Row]) -> str:
    """Table 3: MPJPE to the camera-swap target (mm) per target camera over iterations."""
    return _md(*targeted_table(rows, "camera_swap", "Target"))


def table_rotation(rows: Sequence[Row]) -> str:
    """Table 4: MPJPE to the rotated target (mm) per angle over iterations."""
    return _md(*targeted_table(rows, "rotation", "Rotation"))


def _untargeted(rows: Sequence[Row], jdr_definition: str) -> tuple[list[str], list[list[str]]]:
    return untargeted_table(rows)


def _camera_swap(rows: Sequence[Row], jdr_definition: str) -> tuple[list[str], list[list[str]]]:
    return targeted_table(rows, "camera_swap", "Target")


def _rotation(rows: Sequence[Row], jdr_definition: str) -> tuple[list[str], list[list[str]]]:
    return targeted_table(rows, "rotation", "Rotation")


#: The four paper tables: (experiment, title ({jdr}: the JDR definition), (header, body) builder of
#: ``(rows, jdr_definition)``, footnote).
PAPER_TABLES: tuple[tuple[str, str, Any, str], ...] = (
    ("untargeted", "Table 1 — untargeted attacks, monocular models: MPJPE (mm), P1 and P2", _untargeted, ""),
    ("multiview", "Table 2 — untargeted attacks on k views, multi-view model: JDR (%, {jdr}) and MPJPE (mm)",
     multiview_table, FOOTNOTE),
    ("camera_swap", "Table 3 — targeted camera-swap attacks: MPJPE to the target (mm)", _camera_swap, ""),
    ("rotation", "Table 4 — targeted rotation attacks: MPJPE to the target (mm)", _rotation, ""),
)


def paper_tables(rows: Sequence[Row], jdr_definition: str = DEFAULT_JDR
                 ) -> dict[str, tuple[list[str], list[list[str]]]]:
    """experiment -> (header, body) of each paper table with data (for W&B tables)."""
    return {exp: build(rows, jdr_definition) for exp, _, build, _ in PAPER_TABLES
            if any(r["experiment"] == exp for r in rows)}


def render_tables(rows: Sequence[Row], jdr_definition: str = DEFAULT_JDR) -> str:
    """All four tables (those with data) as one markdown document; JDR under ``jdr_definition``."""
    parts = [f"### {title.format(jdr=jdr_definition)}\n\n{_md(*build(rows, jdr_definition))}{note}\n"
             for experiment, title, build, note in PAPER_TABLES
             if any(r["experiment"] == experiment for r in rows)]
    return "\n".join(parts) if parts else "(no attack results)\n"


def read_rows(paths: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of one or more results.csv files."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def recorded_jdr_definition(meta: Mapping[str, Any]) -> str:
    """The JDR definition a results.json ``meta`` records (:data:`LEGACY_JDR` for files from before)."""
    config = meta.get("config") or {}
    return str(config.get("jdr_definition") or LEGACY_JDR)


def jdr_definition_of(paths: Iterable[str]) -> str:
    """The JDR definition of results.csv files, from the results.json beside each; raises if they differ."""
    import json
    from pathlib import Path

    found = set()
    for path in paths:
        meta_path = Path(path).with_name("results.json")
        meta = json.loads(meta_path.read_text()).get("meta", {}) if meta_path.is_file() else {}
        found.add(recorded_jdr_definition(meta))
    if len(found) > 1:
        raise ValueError(f"the results use different JDR definitions ({', '.join(sorted(found))}); "
                         "tabulate them separately")
    return found.pop() if found else DEFAULT_JDR


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m poselab.reporting.paper_tables results/*/results.csv", file=sys.stderr)
        return 2
    try:
        definition = jdr_definition_of(paths)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(render_tables(read_rows(paths), definition))
    return 0


if __name__ == "__main__":
    sys.exit(main())
