"""The ``corruption`` experiment: common corruptions and occlusion at test time (rows: docs/RESULTS.md), the
same pixels for every model, batch size and rank. mCE against a baseline model: :mod:`poselab.results.mce`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any, ClassVar

import torch

from poselab.corruptions.base import SEVERITIES
from poselab.corruptions.registry import CORRUPTION_NAMES, corrupt, get_corruption
from poselab.experiments.base import AttackConfigError, Experiment, is_int, is_list, views_where
from poselab.experiments.keys import (
    CLEAN,
    CORRUPTION,
    JDR,
    MPJPE,
    PMPJPE,
    SEVERITY,
    ResultKey,
)
from poselab.experiments.registry import register_experiment
from poselab.experiments.runner import RunContext, add_examples, update_metrics, view_mask

#: The kind's name, the ``experiment`` of its rows.
CORRUPTION_EXPERIMENT = "corruption"

#: ``corrupted_views`` words: all views of the data, or one (the first) view.
VIEW_WORDS = {"all": None, "one": 1}


@register_experiment
@dataclass
class CorruptionExperiment(Experiment):
    """The ``corruption`` experiment, validated on construction: ``corruptions`` (names or "all"),
    ``severities`` (1..5), ``corrupted_views`` (multi-view models: each "all", "one" = 1 or k >= 1, the
    first k views), ``input_views`` (0-based, monocular models; all corrupted), ``seed`` (all severities)."""

    name: ClassVar[str] = CORRUPTION_EXPERIMENT
    clean_views: ClassVar[int] = 0
    axes: ClassVar[tuple[str, ...]] = (CORRUPTION, SEVERITY)  # every corrupted-view count of a run stays
    x_axis: ClassVar[str] = SEVERITY
    base_metrics: ClassVar[tuple[str, ...]] = (MPJPE, PMPJPE, JDR)
    what: ClassVar[str] = f"{CORRUPTION_EXPERIMENT} experiment"

    kind: str = CORRUPTION_EXPERIMENT
    corruptions: list[str] | str = "all"
    severities: list[int] = field(default_factory=lambda: list(SEVERITIES))
    corrupted_views: list[int | str] = field(default_factory=lambda: ["all"])
    input_views: list[int] = field(default_factory=lambda: [0])
    seed: int = 0

    def __post_init__(self) -> None:
        err, kind = AttackConfigError, CORRUPTION_EXPERIMENT
        if self.kind != kind:
            raise err(f"CorruptionExperiment is the {kind!r} kind, got {self.kind!r}")
        names = list(CORRUPTION_NAMES) if self.corruptions == "all" else (
            [self.corruptions] if isinstance(self.corruptions, str) else self.corruptions)
        if not isinstance(names, Sequence) or not names or not all(isinstance(n, str) for n in names):
            raise err(f"{kind}: corruptions must be 'all' or a list of names "
                      f"({', '.join(CORRUPTION_NAMES)}), got {self.corruptions!r}")
        for n in names:
            try:
                get_corruption(n)
            except ValueError as e:
                raise err(f"{kind}: {e}") from None
        if len(set(names)) != len(names):
            raise err(f"{kind}: corruptions lists a name twice: {names}")
        self.corruptions = list(names)
        sev = self.severities
        if (not is_list(sev) or not sev
                or not all(is_int(s) and int(s) in SEVERITIES for s in sev) or len(set(sev)) != len(sev)):
            raise err(f"{kind}: severities must be a non-empty list of distinct integers in 1..5, "
                      f"got {sev!r}")
        self.severities = sorted(int(s) for s in sev)
        views = self.corrupted_views
        if not is_list(views) or not views or not all(
                (isinstance(v, str) and v in VIEW_WORDS) or (is_int(v) and v >= 1) for v in views):
            raise err(f"{kind}: corrupted_views must be a non-empty list of 'all', 'one' or view counts "
                      f">= 1, got {views!r}")
        self.corrupted_views = [int(v) if is_int(v) else str(v) for v in views]
        if not is_list(self.input_views) or not self.input_views or not all(
                is_int(v) and v >= 0 for v in self.input_views):
            raise err(f"{kind}: input_views must be a non-empty list of 0-based view indices, "
                      f"got {self.input_views!r}")
        self.input_views = [int(v) for v in self.input_views]
        if not is_int(self.seed):
            raise err(f"{kind}: seed must be an integer, got {self.seed!r}")

    def view_counts(self, multiview: bool, num_views: int) -> list[int]:
        """The corrupted-view counts of a model (monocular: 1), in config order without repeats."""
        if not multiview:
            return [1]
        counts = [num_views if v == "all" else VIEW_WORDS.get(v, v) for v in self.corrupted_views]
        return list(dict.fromkeys(int(k) for k in counts))  # type: ignore[arg-type]

    def cells(self, multiview: bool, num_views: int) -> list[ResultKey]:
        """Every results row of this experiment for a model on data with ``num_views`` views."""
        metrics = self.metric_names(multiview)
        out = [self.clean_key(m) for m in metrics]
        for k in self.view_counts(multiview, num_views):
            for c, s in product(self.corruptions, self.severities):
                out += self.keys(metrics, k, c, s)
        return out

    def keys(self, metrics: Sequence[str], views: int, corruption: str, severity: int) -> list[ResultKey]:
        """The results keys of one corrupted setting (``views`` corrupted views fed to the model)."""
        return [ResultKey(self.kind, CLEAN, 0.0, 0, views, "", m, corruption=corruption, severity=severity)
                for m in metrics]

    def check_views(self, num_views: int, multiview: bool) -> None:
        self.check_model_views(num_views, multiview)
        ks = [v for v in self.corrupted_views if multiview and isinstance(v, int) and v > num_views]
        if ks:
            raise AttackConfigError(f"{self.kind}: corrupted_views {ks} exceed the views, "
                                    f"{views_where(num_views)}")

    def work_units(self) -> float:
        """Relative cost per batch in eps-batched attack steps: a corrupted forward pass costs about 0.4 of
        one (shipped checkpoints on a CPU); monocular models count every ``corrupted_views`` entry."""
        return 0.4 * len(self.corruptions) * len(self.severities) * len(self.corrupted_views)

    def run(self, batch: Mapping[str, Any], ctx: RunContext) -> None:
        """The clean row and every (corrupted views, corruption, severity): one forward pass each, of images
        corrupted per (seed, ``index``, ``camera_ids``)."""
        model, multiview, num_views, sub, images, gt = self.inputs(batch, ctx)
        metrics = self.metric_names(multiview)
        size = images.shape[-1]
        want_images = ctx.want_images
        with torch.no_grad():
            clean = model(images, sub)
            update_metrics(ctx.update, [self.clean_key(m) for m in metrics], clean, gt, None, sub, size)
            for k in self.view_counts(multiview, num_views):
                mask = view_mask(k, images.shape[1]) if multiview else None  # (V,) on the CPU
                for c, s in product(self.corruptions, self.severities):
                    x = corrupt(images, c, s, seed=self.seed, samples=sub["index"], view_mask=mask,
                                views=sub["camera_ids"], joints_2d=sub["joints_2d"].float())
                    out = model(x, sub)
                    update_metrics(ctx.update, self.keys(metrics, k, c, s), out, gt, None, sub, size)
                    if want_images and s == self.severities[-1] and c == self.corruptions[0]:
                        title = f"{self.kind} {c} severity={s}" + (f" views={k}" if multiview else "")
                        add_examples(ctx, title, images, x, out, sub, clean_out=clean, truth=gt)
                        want_images = False
