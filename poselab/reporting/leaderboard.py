"""The leaderboard of evaluated models (one row per results folder, ranked by robust MPJPE at the preset's
headline setting, a shared rank where CIs overlap) and each model's claim file (docs/RESULTS.md)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from poselab import safe_io
from poselab.reporting.corruption import wide_rows
from poselab.reporting.tables import Table
from poselab.results.mce import summarise
from poselab.results.reader import load_runs
from poselab.results.runs import Cell, RunResults, run_of
from poselab.results.schema import (
    CLAIM_JSON,
    CLEAN,
    CORRUPTION_EXPERIMENT,
    JDR,
    LEADERBOARD_CSV,
    LEADERBOARD_MD,
    MPJPE,
    PMPJPE,
    is_clean,
)
from poselab.results.statistics import rank_resolved

#: The columns of ``leaderboard.csv`` (one row per results folder), in order.
LEADERBOARD_COLUMNS = ("rank", "model", "preset", "preset_version", "scale", "clean_p1", "clean_p2",
                       "robust_mpjpe", "robust_ci_low", "robust_ci_high", "n", "headline", "headline_source",
                       "jdr_drop", "mce", "flags", "folder")
#: ``headline_source`` values: the preset named the setting, or the fallback rule chose it.
FROM_PRESET = "preset"
FALLBACK = "fallback: largest eps, most iterations"
#: The experiments whose MPJPE rows give the fallback headline, in order of preference.
_ROBUST_EXPERIMENTS = ("untargeted", "multiview")
#: The claim file's keys, in order.
CLAIM_KEYS = ("name", "model", "architecture", "input_size", "scale", "training_data", "dataset", "preset",
              "preset_version", "eps", "headline", "clean", "robust", "n", "poselab_version", "checkpoint",
              "checkpoint_sha256", "created")


def _preset(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    preset = meta.get("preset")
    return preset if isinstance(preset, Mapping) else {}


def headline_cell(run: RunResults, metric: str = MPJPE) -> tuple[Cell | None, str]:
    """(the cell of ``metric`` at the run's headline setting, where the setting came from): results.json
    ``meta["preset"]["headline"]`` when the run has it, else :data:`FALLBACK`: the largest eps, then most
    iterations, of the untargeted (else multiview, every view attacked) rows, the worst attack there."""
    head = _preset(run.meta).get("headline")
    if isinstance(head, Mapping):
        want = {k: head[k] for k in ("experiment", "attack", "eps", "iterations") if k in head}
        found = [c for c in run.cells if c.metric == metric and not is_clean(c)
                 and all(_equal(getattr(c, k), v) for k, v in want.items())]
        if found:
            return max(found, key=lambda c: (c.attacked_views, c.view_set == "", c.value)), FROM_PRESET
    for exp in _ROBUST_EXPERIMENTS:
        attacked = [c for c in run.cells if c.experiment == exp and c.metric == metric and c.eps > 0
                    and c.view_set == "" and math.isfinite(c.value)]
        if attacked:
            return max(attacked, key=lambda c: (c.eps, c.iterations, c.attacked_views, c.value)), FALLBACK
    return None, FALLBACK


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and not isinstance(a, bool):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def clean_value(run: RunResults, metric: str, experiment: str | None = None) -> float | None:
    """The clean row's value of ``metric`` (of ``experiment``, else the first robust experiment with one)."""
    for exp in (experiment,) if experiment else _ROBUST_EXPERIMENTS:
        found = [c for c in run.cells if c.experiment == exp and c.metric == metric and c.attack == CLEAN
                 and c.eps == 0]
        if found:
            return found[0].value
    return None


def jdr_drop(run: RunResults, head: Cell | None) -> float | None:
    """Clean JDR minus the JDR at the headline setting, multi-view runs (None without multiview JDR rows)."""
    cells = [c for c in run.cells if c.experiment == "multiview" and c.metric == JDR and c.eps > 0]
    if not cells:
        return None
    clean = clean_value(run, JDR, "multiview")
    if head is not None and head.experiment == "multiview":
        cells = [c for c in cells if c.key() == head.key() and c.view_set == head.view_set] or cells
    attacked = max(cells, key=lambda c: (c.eps, c.iterations, c.attacked_views, -c.value))
    return None if clean is None else clean - attacked.value


def _scale(meta: Mapping[str, Any]) -> str:
    return str(meta.get("scale") or "unknown")


def mce_by_run(runs: Sequence[RunResults]) -> dict[str, float]:
    """mCE (MPJPE) of each run with corruption rows, against the ``regression`` run if one has them, else the
    first such run (:func:`poselab.reporting.corruption.mce_tables`'s rule)."""
    cells = [c for r in runs for c in r.cells if c.experiment == CORRUPTION_EXPERIMENT]
    wide = [w for w in wide_rows(cells) if w[MPJPE] != ""]
    if not wide:
        return {}
    labels = {r.label: r.model for r in runs}
    models = list(dict.fromkeys(w["model"] for w in wide))
    base = next((m for m in models if labels.get(m) == "regression"), models[0])
    return {row["model"]: row["mce"] for row in summarise(wide, base, MPJPE)}


def leaderboard_rows(runs: Sequence[RunResults]) -> list[dict[str, Any]]:
    """One row per run (:data:`LEADERBOARD_COLUMNS`), grouped by headline setting (ranks compare runs at the
    same setting only), best first: ranked by robust MPJPE, a shared rank where the CIs overlap; runs without
    a robust MPJPE come last, unranked."""
    mce = mce_by_run(runs)
    rows = []
    for run in runs:
        head, source = headline_cell(run)
        preset = _preset(run.meta)
        exp = head.experiment if head is not None else None
        rows.append({
            "rank": None, "model": run.label, "preset": str(preset.get("name") or ""),
            "preset_version": str(preset.get("version") or ""), "scale": _scale(run.meta),
            "clean_p1": clean_value(run, MPJPE, exp), "clean_p2": clean_value(run, PMPJPE, exp),
            "robust_mpjpe": head.value if head else None, "robust_ci_low": head.ci_low if head else None,
            "robust_ci_high": head.ci_high if head else None, "n": head.n if head else None,
            "headline": _setting(head) if head else "", "headline_source": source if head else "",
            "jdr_drop": jdr_drop(run, head), "mce": mce.get(run.label), "flags": " ".join(_flags(run.meta)),
            "folder": str(run.path), "_cell": head,
        })
    ranked = [r for r in rows if r["_cell"] is not None and math.isfinite(r["robust_mpjpe"])]
    for setting in dict.fromkeys(r["headline"] for r in ranked):  # ranks compare one setting only
        group = [r for r in ranked if r["headline"] == setting]
        for r, rank in zip(group, rank_resolved([r["_cell"] for r in group], lambda c: c.value)):
            r["rank"] = rank
    rows.sort(key=lambda r: (r["rank"] is None, r["headline"], r["rank"] or 0, r["robust_mpjpe"] or 0.0,
                             r["model"]))
    return [{k: v for k, v in r.items() if k != "_cell"} for r in rows]


def _flags(meta: Mapping[str, Any]) -> list[str]:
    """Names of the triggered (truthy) sanity flags of results.json ``meta["flags"]``."""
    flags = meta.get("flags") or []
    return [str(f.get("flag")) for f in flags if isinstance(f, Mapping) and f.get("triggered")]


def _setting(cell: Cell) -> str:
    views = f" views={cell.attacked_views}" if cell.experiment == "multiview" else ""
    return f"{cell.experiment} {cell.attack} eps={cell.eps:g} it={cell.iterations}{views}"


def _ci_text(row: Mapping[str, Any]) -> str:
    value, low, high = row["robust_mpjpe"], row["robust_ci_low"], row["robust_ci_high"]
    if value is None:
        return "–"
    if low is None or not (math.isfinite(low) and math.isfinite(high)):
        return f"{value:.1f}"
    return f"{value:.1f} [{low:.1f}, {high:.1f}]"


def _preset_text(row: Mapping[str, Any]) -> str:
    version = f"v{row['preset_version']}" if row["preset_version"] else ""
    return " ".join(x for x in (row["preset"], version) if x) or "–"


def leaderboard_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """The leaderboard as a markdown :class:`~poselab.reporting.tables.Table` (robust MPJPE with its CI)."""
    columns = ["rank", "model", "preset", "clean P1", "clean P2", "robust MPJPE [95% CI]", "n", "setting",
               "JDR drop", "mCE", "flags"]
    body = [[str(r["rank"]) if r["rank"] is not None else "–", r["model"], _preset_text(r),
             r["clean_p1"], r["clean_p2"], _ci_text(r), r["n"],
             r["headline"] + (" (fallback)" if r["headline_source"] == FALLBACK else ""),
             r["jdr_drop"], r["mce"], r["flags"] or "–"] for r in rows]
    ranks = [(r["headline"], r["rank"]) for r in rows if r["rank"] is not None]
    tied = len(set(ranks)) < len(ranks)
    settings = len({h for h, _ in ranks})
    note = ("Ranked by robust MPJPE P1 (mm)" + (", among the rows of one setting" if settings > 1 else "")
            + "; models whose 95 % bootstrap CIs overlap share a rank (their difference is not resolved)."
            + (" Equal ranks: not resolved." if tied else "")
            + ' "(fallback)": the run names no preset headline; its largest eps and most iterations.')
    return Table("leaderboard", "Leaderboard: robust MPJPE P1 (mm) at the preset's headline setting", columns,
                 body, MPJPE, note=note, digits={"JDR drop": 3, "mCE": 3})


def write_leaderboard(paths: Sequence[str | Path], out: str | Path) -> tuple[list[dict[str, Any]], Table]:
    """Read the results folders under ``paths``; write ``leaderboard.md`` and ``leaderboard.csv`` into
    ``out``. Returns (rows, table)."""
    rows = leaderboard_rows(load_runs(paths))
    table = leaderboard_table(rows)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    safe_io.atomic_write(out / LEADERBOARD_MD, table.to_markdown() + "\n")
    safe_io.write_csv(out / LEADERBOARD_CSV, rows, LEADERBOARD_COLUMNS)
    return rows, table


def sha256_of(path: str | Path) -> str | None:
    """Hex sha256 of a file's bytes (None when it is not a readable file)."""
    h = hashlib.sha256()
    try:
        with Path(path).open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def checkpoint_hparams(meta: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model, data) hyper-parameters saved in results.json ``meta["checkpoint"]`` (a Lightning checkpoint,
    read with ``weights_only``); empty dicts when there is none or it says nothing."""
    path = str(meta.get("checkpoint") or "")
    if not path or not Path(path).is_file():
        return {}, {}
    try:
        import torch

        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - not a Lightning checkpoint (a user's weights): nothing said
        return {}, {}
    if not isinstance(ckpt, Mapping):
        return {}, {}
    model, data = ckpt.get("hyper_parameters"), ckpt.get("datamodule_hyper_parameters")
    return tuple(dict(h) if isinstance(h, Mapping) else {} for h in (model, data))  # type: ignore[return-value]


def training_data(meta: Mapping[str, Any], data: Mapping[str, Any] | None = None) -> str:
    """What the model was trained on: results.json ``meta["training_data"]``, else the checkpoint's data
    hyper-parameters ``data`` (dataset and its training subjects or size), else "unknown"."""
    if meta.get("training_data"):
        return str(meta["training_data"])
    data = checkpoint_hparams(meta)[1] if data is None else data
    name = data.get("dataset")
    if not name:
        return "unknown"
    if name == "h36m" and data.get("train_subjects"):
        return f"h36m subjects {' '.join(map(str, data['train_subjects']))}"
    size = data.get("train_size")
    return f"{name}, {size} samples" if size else str(name)


def poselab_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("poselab")
    except PackageNotFoundError:
        return "unknown"


def claim(run: RunResults) -> dict[str, Any]:
    """The claim of one run (:data:`CLAIM_KEYS`): name, architecture (model and backbone), input size (px),
    training data, preset and version, headline eps, clean and robust numbers with CI, n, poselab version,
    checkpoint sha256. Architecture and input size come from results.json ``scale``, else the checkpoint."""
    from poselab.scale import parse_scale

    meta = run.meta
    hparams, data = checkpoint_hparams(meta)
    try:
        backbone, size = parse_scale(str(meta.get("scale")))
    except ValueError:  # no scale recorded: what the checkpoint says
        backbone, size = str(hparams.get("backbone") or "unknown"), data.get("image_size")
    head, source = headline_cell(run)
    preset = _preset(meta)
    exp = head.experiment if head is not None else None
    checkpoint = str(meta.get("checkpoint") or "")
    robust = None if head is None else {
        "mpjpe": head.value, "ci_low": _finite(head.ci_low), "ci_high": _finite(head.ci_high), "n": head.n,
        "setting": _setting(head), "source": source}
    values = {
        "name": run.label, "model": run.model,
        "architecture": "unknown" if backbone == "unknown" else f"{meta.get('model', run.model)} {backbone}",
        "input_size": size, "scale": _scale(meta), "training_data": training_data(meta, data),
        "dataset": run.dataset, "preset": preset.get("name"), "preset_version": preset.get("version"),
        "eps": head.eps if head else None, "headline": preset.get("headline"),
        "clean": {"mpjpe": clean_value(run, MPJPE, exp), "pmpjpe": clean_value(run, PMPJPE, exp)},
        "robust": robust, "n": head.n if head else None, "poselab_version": poselab_version(),
        "checkpoint": checkpoint or None, "checkpoint_sha256": sha256_of(checkpoint) if checkpoint else None,
        "created": meta.get("created"),
    }
    return {k: values[k] for k in CLAIM_KEYS}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def write_claim(out: str | Path, rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> Path:
    """``claim.json`` of a run from its rows in memory and meta (the end of an evaluation)."""
    run = run_of(rows, meta, [], out, str(meta.get("model")))
    return _save_claim(Path(out), claim(run))


def rebuild_claims(paths: Sequence[str | Path]) -> list[Path]:
    """``claim.json`` of every results folder under ``paths``, rebuilt from its results.json/csv."""
    return [_save_claim(run.path, claim(run)) for run in load_runs(paths)]


def _save_claim(folder: Path, data: Mapping[str, Any]) -> Path:
    return safe_io.atomic_write(folder / CLAIM_JSON, json.dumps(data, indent=1, default=str) + "\n")
