"""``untargeted`` (monocular models): the ground truth's MPJPE P1/P2 ascended; default attacks FGSM at 1
iteration, IGSM-U at the others. Its run is shared by ``multiview`` (:mod:`poselab.experiments.multiview`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any, ClassVar

import torch
from torch import Tensor

from poselab.attacks.losses import get_loss
from poselab.experiments.adversarial import AttackExperiment, ViewChoice, view_setting
from poselab.experiments.registry import register_experiment
from poselab.experiments.runner import RunContext, add_examples, example_eps


@register_experiment
@dataclass
class UntargetedExperiment(AttackExperiment):
    """Untargeted attacks on the input views of a monocular model (options: :class:`AttackExperiment`)."""

    name: ClassVar[str] = "untargeted"
    axes: ClassVar[tuple[str, ...]] = ("attack", "eps", "iterations")

    def applies_to(self, multiview: bool) -> bool:
        return not multiview

    def attack_mask(self, choice: ViewChoice, num_views: int) -> Tensor | None:
        """bool (V,) of the attacked views of a view choice; None: every view fed to the model."""
        return None

    def run(self, batch: Mapping[str, Any], ctx: RunContext) -> None:
        model, multiview, num_views, sub, images, gt = self.inputs(batch, ctx)
        with torch.no_grad():
            clean = model(images, sub)
        self.report(ctx, [self.clean_key(m) for m in self.metric_names(multiview)], clean, gt, None, sub)
        eps = [e for e in self.eps if e > 0]
        ref = sub["joints_2d"] if get_loss(self.loss)[1] == "joints_2d" else gt
        last = None
        for choice in self.view_choices(multiview, num_views) if eps else []:
            k, view_set = view_setting(choice)
            mask = self.attack_mask(choice, images.shape[1])
            for name, record in self.attack_plan():
                res = self.sweep(ctx, name, record, images, sub, ref, eps, mask)
                for t, (i, e) in product(record, enumerate(eps)):
                    out = {key: val[i] for key, val in res.outputs[t].items()}
                    keys = self.keys(multiview, name, e, t, k, "", view_set)
                    self.report(ctx, keys, out, gt, None, sub)
                last = (res, name, max(record), view_set or (str(k) if k > 1 else ""))
        if ctx.want_images and last is not None:
            res, name, t, shown = last
            ie = example_eps(eps)
            title = f"{self.kind} {name} eps={eps[ie]:g} it={t}" + (f" views={shown}" if shown else "")
            out = {kk: v[ie] for kk, v in res.outputs[t].items()}
            add_examples(ctx, title, images, res.adversarial[ie], out, sub, clean_out=clean, truth=gt)
