"""Evaluation presets (like AutoAttack's ``version=``): a versioned YAML file, packaged
(``preset_files/<name>.yaml``) or any path, fixing a grid and every option that changes its numbers
(:data:`OPTIONS`); schema :data:`KEYS`, checked on load (docs/CONFIGURATION.md, "Presets")."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from poselab.evaluation.options import check_options, is_int, is_number
from poselab.experiments.base import AttackConfigError
from poselab.experiments.determinism import DEFAULT_THREADS
from poselab.experiments.keys import is_metric
from poselab.experiments.registry import build_experiments
from poselab.metrics import DEFAULT_JDR, check_jdr_definition
from poselab.yaml_limits import safe_load

PRESET_DIR = Path(__file__).parent / "preset_files"
#: The value of an ``AttackEvaluation`` option left to the preset (its default).
FROM_PRESET = "preset"
FromPreset = Literal["preset"]
#: What an option left to the preset is without a preset (``experiments`` has none: it must be given).
DEFAULTS: dict[str, Any] = {"alpha_ratio": 0.125, "max_batch": 256, "max_batches": None, "max_samples": None,
                            "random_start": False, "jdr_definition": DEFAULT_JDR, "threads": DEFAULT_THREADS}


#: The options a preset fixes (every one of them), each with its type check and the type in words.
OPTIONS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "experiments": (lambda v: isinstance(v, list) and all(isinstance(e, Mapping) for e in v),
                    "a list of experiment mappings"),
    "alpha_ratio": (is_number, "a number"),
    "max_batch": (lambda v: v is None or v == "auto" or is_int(v), "an integer, 'auto' or null"),
    "max_batches": (lambda v: v is None or is_int(v), "an integer or null"),
    "max_samples": (lambda v: v is None or is_int(v), "an integer or null"),
    "random_start": (lambda v: isinstance(v, bool), "true or false"),
    "jdr_definition": (lambda v: isinstance(v, str), "a string"),
    "threads": (lambda v: v is None or (is_int(v) and v >= 1), "an integer >= 1 or null"),
}
#: The top-level keys of a preset file, each with its type check and the type in words.
KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: isinstance(v, str) and v.strip() != "" and "/" not in v, "a name without '/'"),
    "version": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "description": (lambda v: isinstance(v, str), "a string"),
    "headline": (lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(c, Mapping) for c in v),
                 "a non-empty list of cells"),
    "options": (lambda v: isinstance(v, Mapping), "a mapping of options"),
}
#: The keys of a headline cell (``attacked_views`` optional), each with its type check and the type in words.
CELL_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "experiment": (lambda v: isinstance(v, str), "an experiment kind"),
    "attack": (lambda v: isinstance(v, str), "an attack name"),
    "eps": (is_number, "a number"),
    "iterations": (is_int, "an integer"),
    "metric": (lambda v: isinstance(v, str) and is_metric(v), "a results metric"),
    "attacked_views": (is_int, "an integer"),
}


class PresetError(AttackConfigError):
    """A preset that cannot be loaded: unknown name, unreadable file, a key or type off the schema."""


@dataclass(frozen=True)
class Preset:
    """A loaded, validated preset: ``headline`` cells (:data:`CELL_KEYS`) in order, every option of
    :data:`OPTIONS` (``experiments`` as written), the file it came from."""

    name: str
    version: int
    description: str
    headline: tuple[dict[str, Any], ...]
    options: dict[str, Any]
    path: Path

    def headline_for(self, multiview: bool) -> dict[str, Any] | None:
        """The headline cell of a model (the first whose experiment applies to it), None when none does."""
        kinds = {spec.kind: spec for spec in build_experiments(self.options["experiments"])}
        return next((dict(c) for c in self.headline if kinds[c["experiment"]].applies_to(multiview)), None)

    def record(self, multiview: bool) -> dict[str, Any]:
        """What results.json's meta records: ``{name, version, headline}`` (the model's headline cell)."""
        return {"name": self.name, "version": self.version, "headline": self.headline_for(multiview)}


def preset_names() -> list[str]:
    """Names of the packaged presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name_or_path: str | Path) -> Preset:
    """A packaged preset by name, or a preset file by path, validated; :class:`PresetError` (one line)."""
    text = str(name_or_path)
    if text in preset_names():
        path = PRESET_DIR / f"{text}.yaml"
    elif text.endswith((".yaml", ".yml")) or "/" in text:
        path = Path(text)
    else:
        raise PresetError(f"unknown preset {text!r}; expected one of {', '.join(preset_names())} or the path "
                          "of a preset YAML file")
    try:
        data = safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise PresetError(f"preset {path}: cannot be read ({detail})") from None
    return _validated(data, path)


def resolve_options(preset: Preset | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of :data:`OPTIONS`: ``given`` unless :data:`FROM_PRESET`, else the preset's, else
    :data:`DEFAULTS` (``experiments`` has none)."""
    out = {}
    for key in OPTIONS:
        value = given.get(key, FROM_PRESET)
        if isinstance(value, str) and value == FROM_PRESET:
            if preset is not None:
                value = copy.deepcopy(preset.options[key])
            elif key in DEFAULTS:
                value = DEFAULTS[key]
            else:
                raise AttackConfigError(f"give {key} or a preset (one of {', '.join(preset_names())})")
        out[key] = value
    return out


def overrides(preset: Preset, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options whose value differs from the preset's."""
    return {k: v for k, v in options.items() if k in preset.options and v != preset.options[k]}


# ---------------------------------------------------------------------------------------------- checks
def _validated(data: Any, path: Path) -> Preset:
    label = f"preset {path}"
    if not isinstance(data, Mapping):
        raise PresetError(f"{label}: expected a mapping with keys {', '.join(KEYS)}")
    _check_keys(data, KEYS, KEYS, label)
    label = f"preset {data['name']!r} ({path})"
    opts = data["options"]
    _check_keys(opts, OPTIONS, OPTIONS, f"{label}: options")
    try:
        check_options(*(opts[k] for k in ("alpha_ratio", "max_batch", "max_batches", "max_samples")), None, 0)
        check_jdr_definition(opts["jdr_definition"])
        specs = build_experiments(opts["experiments"])
    except (AttackConfigError, ValueError) as err:
        raise PresetError(f"{label}: options: {err}") from None
    headline = []
    for i, cell in enumerate(data["headline"]):
        where = f"{label}: headline[{i}]"
        _check_keys(cell, CELL_KEYS, [k for k in CELL_KEYS if k != "attacked_views"], where)
        cell = {k: cell[k] for k in CELL_KEYS if k in cell}
        cell["eps"] = float(cell["eps"])
        _check_cell(cell, specs, where)
        headline.append(cell)
    return Preset(name=data["name"], version=data["version"], description=data["description"].strip(),
                  headline=tuple(headline), options={k: opts[k] for k in OPTIONS}, path=path)


def _check_keys(data: Mapping[str, Any], schema: Mapping[str, tuple[Callable[[Any], bool], str]],
                required: Any, label: str) -> None:
    """Unknown keys, missing required keys and wrong types of ``data``: :class:`PresetError` naming them."""
    unknown = [str(k) for k in data if k not in schema]
    if unknown:
        raise PresetError(f"{label}: unknown key(s) {', '.join(map(repr, unknown))}; expected: "
                          f"{', '.join(schema)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise PresetError(f"{label}: missing key(s) {', '.join(map(repr, missing))}")
    for key, value in data.items():
        check, words = schema[key]
        if not check(value):
            raise PresetError(f"{label}: {key} must be {words}, got {value!r}")


def _check_cell(cell: dict[str, Any], specs: list, where: str) -> None:
    """The headline cell is exactly one results cell of the preset's grid."""
    spec = next((s for s in specs if s.kind == cell["experiment"]), None)
    if spec is None:
        raise PresetError(f"{where}: experiment {cell['experiment']!r} is not in the preset's experiments "
                          f"({', '.join(s.kind for s in specs)})")
    multiview = not spec.applies_to(False)
    matches = [c for c in spec.cells(multiview, cell.get("attacked_views", 1))
               if all(getattr(c, k) == v for k, v in cell.items())]
    if len(matches) != 1:
        what = "no results cell" if not matches else f"{len(matches)} results cells (give attacked_views)"
        raise PresetError(f"{where}: {cell} matches {what} of the preset's grid")
