"""The W&B robustness dashboard as code (docs/WANDB.md, "The dashboard"): a panel spec (pure data) built from
saved results with the functions that name the logged keys (:mod:`poselab.wandb.keys`); extension point:
:func:`register_section`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from poselab.reporting.strength import STRONG_ATTACKS
from poselab.reporting.tables import METRIC_NAMES, METRIC_UNITS
from poselab.reporting.transfer import transfer_tables
from poselab.results.schema import FAILED, JDR, MPJPE, NEAR_DEGENERATE, PMPJPE, is_clean
from poselab.wandb import keys as wr

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Panel:
    """One panel: ``kind`` ``line`` (``keys`` over ``x``), ``table`` (``keys[0]``) or ``media`` (``keys``);
    ``runs``: the job_type of the group's runs it reads (``attack`` or ``report``)."""

    kind: str
    title: str
    keys: tuple[str, ...]
    x: str | None = None
    y_title: str | None = None
    runs: str = "attack"


@dataclass(frozen=True)
class Section:
    name: str
    panels: tuple[Panel, ...]
    description: str = ""


@dataclass
class Dashboard:
    """The whole dashboard: a W&B report over the runs of ``group`` in ``project``."""

    project: str
    group: str
    title: str
    sections: list[Section] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def keys(self) -> set[str]:
        """Every history key a line panel plots."""
        return {k for s in self.sections for p in s.panels if p.kind == "line" for k in p.keys}


@dataclass(frozen=True)
class Inputs:
    """What the sections are built from: all runs' results rows and the transfer rows."""

    rows: tuple[Row, ...]
    transfer: tuple[Row, ...] = ()


SectionBuilder = Callable[[Inputs], list[Section]]
_BUILDERS: list[tuple[str, SectionBuilder]] = []


def register_section(name: str) -> Callable[[SectionBuilder], SectionBuilder]:
    """Decorator: add a section builder (``Inputs -> list[Section]``, empty when its data is absent) after the
    built-in ones (same ``name``: replaces it). A section named after an experiment takes that experiment
    over from the generic "other experiments" section."""

    def add(fn: SectionBuilder) -> SectionBuilder:
        _BUILDERS[:] = [(n, f) for n, f in _BUILDERS if n != name] + [(name, fn)]
        return fn

    return add


def _y_title(metric: str) -> str:
    return f"{METRIC_NAMES.get(metric, metric)} ({METRIC_UNITS.get(metric, '')})".replace(" ()", "")


_X_NAMES = {"eps": "ε", "iterations": "iterations"}


def x_title(step: str) -> str:
    return {"eps": "ε (pixels, 0..255)"}.get(step, step)


def _series(inputs: Inputs, experiment: str) -> list[wr.Series]:
    """The experiment's series over all runs (one per key), in a stable order (views, label)."""
    rows = [r for r in inputs.rows if r["experiment"] == experiment]
    seen: dict[str, wr.Series] = {}
    for run in dict.fromkeys(r.get("run", "") for r in rows):
        for s in wr.series_of([r for r in rows if r.get("run", "") == run]):
            seen.setdefault(s.key, s)
    return sorted(seen.values(), key=lambda s: (s.attacked_views, s.label, s.metric))


def experiment_section(inputs: Inputs, experiment: str, name: str, metrics: Sequence[str] | None = None,
                       description: str = "") -> list[Section]:
    """Line panels (one line per run) of ``metrics`` (default: all) of one experiment, per series."""
    panels = tuple(
        Panel("line", f"{METRIC_NAMES.get(s.metric, s.metric)} vs {_X_NAMES.get(s.step, s.step)}: {s.label}",
              (s.key,), s.step, _y_title(s.metric))
        for s in _series(inputs, experiment)
        if metrics is None or s.metric in metrics
    )
    return [Section(name, panels, description)] if panels else []


_TARGETED = "Lower = the attacker moved the pose closer to the target."
_TARGETED_NOTE = _TARGETED + " MPJPE: the error to the ground truth (higher = moved further from it)."
#: The built-in experiment sections: experiment -> (title, metrics shown (None: all logged), description).
EXPERIMENT_SECTIONS: dict[str, tuple[str, tuple[str, ...] | None, str]] = {
    "untargeted": ("Untargeted attacks (monocular): MPJPE P1 / P2 vs ε", (MPJPE, PMPJPE),
                   "One line per model; one panel per attack and iteration count."),
    "multiview": ("Multi-view attacks: JDR and triangulated MPJPE vs ε",
                  (JDR, MPJPE, FAILED, NEAR_DEGENERATE),
                  "One panel per attack, iteration count and number of attacked views (suffix _v<k>); "
                  "failed = triangulations that failed, near_degenerate = valid ones that 0.001 px can move "
                  "by > 1 mm (counts)."),
    "camera_swap": ("Targeted camera swap: MPJPE to target and to the ground truth vs iterations", None,
                    _TARGETED_NOTE),
    "rotation": ("Targeted rotation: MPJPE to target and to the ground truth vs iterations", None,
                 _TARGETED_NOTE),
}
for _experiment, (_title, _metrics, _note) in EXPERIMENT_SECTIONS.items():
    register_section(_experiment)(
        partial(experiment_section, experiment=_experiment, name=_title, metrics=_metrics, description=_note))


@register_section("stronger attacks")
def _strength(inputs: Inputs) -> list[Section]:
    """The paper's attacks vs the stronger ones (:data:`poselab.reporting.strength.STRONG_ATTACKS`): per
    experiment, metric, attacked views and iteration count one panel of every attack at that count."""
    panels = []
    for experiment, metrics in (("untargeted", (MPJPE, PMPJPE)), ("multiview", (MPJPE, JDR))):
        rows = [r for r in inputs.rows if r["experiment"] == experiment]
        if not any(r["attack"] in STRONG_ATTACKS for r in rows):
            continue
        for metric in metrics:
            # (attacked views, view subset, iterations) -> attack -> the history key of its series
            groups: dict[tuple[int, str, int], dict[str, str]] = {}
            for r in rows:
                if r["metric"] == metric and not is_clean(r):
                    setting = (int(r["attacked_views"]), str(r.get("view_set") or ""), int(r["iterations"]))
                    groups.setdefault(setting, {})[r["attack"]] = wr.metric_key(experiment, metric,
                                                                                wr.series_label(r))
            for (views, view_set, iterations), by_attack in sorted(groups.items()):
                if len(by_attack) > 1 and set(STRONG_ATTACKS).intersection(by_attack):
                    attacks = sorted(by_attack)
                    where = f" (views {view_set} attacked)" if view_set else f" ({views} views attacked)"
                    title = (f"{METRIC_NAMES.get(metric, metric)} vs ε, {iterations} iterations: "
                             + ", ".join(attacks) + (where if experiment == "multiview" else ""))
                    keys = tuple(by_attack[a] for a in attacks)
                    panels.append(Panel("line", title, keys, "eps", _y_title(metric)))
    if not panels:
        return []
    return [Section("Stronger attacks: how much do the paper's attacks understate the damage?", tuple(panels),
                    "Per panel, every attack at the same iteration count: IGSM (the paper's) vs APGD / the "
                    "per-sample worst-case ensemble; one line per run and attack.")]


register_section("corruption")(partial(
    experiment_section, experiment="corruption", name="Common corruptions: MPJPE P1 / JDR vs severity",
    metrics=(MPJPE, JDR),
    description="One panel per corruption and number of corrupted views (suffix _v<k>); severity 0 = clean; "
                "one line per run."))


@register_section("other experiments")
def _others(inputs: Inputs) -> list[Section]:
    """Experiments without a section of their own (e.g. added by later evaluations): all metrics."""
    own = {n for n, _ in _BUILDERS}
    out: list[Section] = []
    for experiment in dict.fromkeys(r["experiment"] for r in inputs.rows):
        if experiment not in own:
            name = f"{experiment}: metrics vs {wr.x_axis(experiment)[0]}"
            out += experiment_section(inputs, experiment, name)
    return out


@register_section("transfer")
def _transfer(inputs: Inputs) -> list[Section]:
    if not inputs.transfer:
        return []
    tables = [Panel("table", t.title, (f"tables/{t.name}",), runs="report")
              for t in transfer_tables(inputs.transfer)]
    panels = (*tables, Panel("media", "Transfer matrix", ("figures/transfer",), runs="report"))
    return [Section("Transfer matrix (report run)", panels, "MPJPE increase of the column model on images "
                    "crafted on the row model; diagonal = white-box.")]


@register_section("all results")
def _all_results(inputs: Inputs) -> list[Section]:
    if not inputs.rows:
        return []
    title = "Results of the attack runs (numeric; W&B concatenates the runs)"
    panels = (Panel("table", title, (wr.TABLE_KEY,)),
              Panel("table", "Results of all compared runs (report run)", ("results",), runs="report"))
    return [Section("All results", panels,
                    "One row per setting, one column per metric: sort, filter or plot any column.")]


def build_dashboard(inputs: Inputs, group: str, project: str | None = None, title: str | None = None
                    ) -> Dashboard:
    """The dashboard spec of ``inputs`` (pure data; nothing sent)."""
    from poselab.wandb.naming import DEFAULT_PROJECT

    project = project or os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT)
    dash = Dashboard(project, group, title or f"poselab robustness: {group}")
    for _, builder in _BUILDERS:
        dash.sections += builder(inputs)
    return dash


def inputs_from_results(paths: Sequence[str]) -> tuple[Inputs, list[dict[str, Any]]]:
    """Inputs read from results folders (any depth) and the metadata of each run."""
    from poselab.results.reader import load_all

    runs, transfer = load_all(paths, required=True)
    return Inputs(tuple(wr.rows_of_runs(runs)), tuple(transfer)), [r.meta for r in runs]
