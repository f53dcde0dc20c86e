"""Error of always predicting the mean training pose (the floor every trained baseline must beat).

Usage::

    python benchmarks/mean_pose_baseline.py [--data configs/data/synthetic.yaml] [key=value ...]

``key=value`` pairs override the data config (e.g. ``image_size=64``). Prints MPJPE P1/P2 (mm) on the
test subjects of

* the mean root-relative camera-space pose (what a monocular model predicts per view), and
* the mean root-relative world pose (the multi-view model's frame; root-aligned as in P1).
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
import yaml

from poselab._alloc import configure_allocator
from poselab.metrics import MPJPE, PMPJPE
from poselab.models.base import root_relative


def mean_pose_errors(datamodule, split: str = "test") -> dict[str, float]:
    """P1/P2 (mm) of the mean training pose on ``split``, in camera and world frames."""
    datamodule.setup("fit")
    sum_cam = torch.zeros(17, 3, dtype=torch.float64)
    sum_world = torch.zeros(17, 3, dtype=torch.float64)
    n_cam = n_world = 0
    for batch in datamodule.train_dataloader():
        cam = root_relative(batch["joints_cam"].double()).flatten(0, 1)
        world = root_relative(batch["joints_world"].double())
        sum_cam += cam.sum(0)
        sum_world += world.sum(0)
        n_cam += cam.shape[0]
        n_world += world.shape[0]
    mean_cam, mean_world = (sum_cam / n_cam).float(), (sum_world / n_world).float()

    datamodule.setup(split)
    loader = datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()
    metrics = {k: m() for k, m in (("cam_p1", MPJPE), ("cam_p2", PMPJPE), ("world_p1", MPJPE),
                                    ("world_p2", PMPJPE))}
    for batch in loader:
        cam = root_relative(batch["joints_cam"].float())
        world = batch["joints_world"].float()
        metrics["cam_p1"].update(mean_cam.expand_as(cam), cam)
        metrics["cam_p2"].update(mean_cam.expand_as(cam), cam)
        metrics["world_p1"].update(mean_world.expand_as(world), world)
        metrics["world_p2"].update(mean_world.expand_as(world), world)
    out = {k: float(m.compute()) for k, m in metrics.items()}
    out["n_train"] = n_world
    out["n_eval"] = int(metrics["world_p1"].count)
    return out


def _value(text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def main(argv: list[str] | None = None) -> int:
    configure_allocator()  # glibc thresholds (POSELAB_MALLOPT=0 disables)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="configs/data/synthetic.yaml", help="data config (`data:` section)")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the data arguments")
    args = parser.parse_args(argv)
    from poselab.data.datamodule import PoseDataModule

    with open(args.data) as f:
        cfg = yaml.safe_load(f)
    kwargs = dict(cfg.get("data", cfg).get("init_args", cfg.get("data", cfg)))
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"override {item!r} is not key=value")
        kwargs[key] = _value(value)
    result = mean_pose_errors(PoseDataModule(**kwargs), args.split)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
