"""``poselab evaluate``: :func:`poselab.evaluation.api.evaluate` on the command line (docs/EXTENDING.md); a
factory's module is imported because the user named it, its weights load with ``weights_only=True``."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _key(text: str | None) -> str | int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="poselab evaluate", description="Evaluate a pose model under an attack "
                                "preset: results folder, run report, W&B run (offline by default).")
    m = p.add_argument_group("model")
    m.add_argument("--model", required=True, help="pkg.module:factory, or a poselab model name "
                   "(regression, volumetric, heatmap_depth, triangulation)")
    m.add_argument("--ckpt", help="poselab checkpoint of a model name (default checkpoints/<name>.ckpt)")
    m.add_argument("--weights", help="state dict file for the factory's network (weights_only=True)")
    m.add_argument("--name", help="model name in results (default: the factory's module name)")
    m.add_argument("--output", choices=("camera", "world"), help="pose space (default camera)")
    m.add_argument("--units", choices=("mm", "m"), help="units of the 3D pose (default mm)")
    m.add_argument("--per-view", action="store_true", help="call the network on each view as one image")
    m.add_argument("--input-size", type=int, help="crop side in px the network expects")
    m.add_argument("--mean", type=float, nargs=3, help="per-channel mean in 0..1 units")
    m.add_argument("--std", type=float, nargs=3, help="per-channel std in 0..1 units")
    m.add_argument("--takes-batch", action="store_true", help="call net(images, batch)")
    m.add_argument("--pose-key", help="entry of a dict/tuple output holding the pose")
    m.add_argument("--joints-2d-key", help="entry holding 2D joints in crop px (JDR)")
    r = p.add_argument_group("run")
    r.add_argument("--data", nargs="+", default=["synthetic"],
                   help="synthetic, h36m, or YAML data config path(s) (later win)")
    r.add_argument("--preset", default="quick",
                   help="named preset (quick, paper, standard, corruptions, full) or a preset YAML path")
    r.add_argument("--out", help="results root (default: results/attack-<preset>)")
    r.add_argument("--max-samples", type=int)
    r.add_argument("--max-batches", type=int)
    r.add_argument("--max-batch", help="rows per forward pass: an integer or auto")
    r.add_argument("--allow-image-size-mismatch", action="store_true")
    r.add_argument("--accelerator", default="auto")
    r.add_argument("--devices", default="1", help="devices (e.g. 2 with --strategy ddp)")
    r.add_argument("--strategy", default="auto")
    r.add_argument("--no-wandb", action="store_true")
    r.add_argument("--online", action="store_true", help="W&B online (default offline)")
    r.add_argument("--save-dir", default="runs", help="W&B and CSV logs")
    return p


def build_model(args: argparse.Namespace) -> Any:
    """The adapter the arguments name."""
    from poselab.models import MODELS
    from poselab.models.adapter import AdapterError, PoseAdapter, load_adapter
    from poselab.paths import checkpoint_path

    declared = {k: v for k, v in {
        "output": args.output, "units": args.units, "input_size": args.input_size, "mean": args.mean,
        "std": args.std,
        "pose_key": _key(args.pose_key), "joints_2d_key": _key(args.joints_2d_key),
        "per_view": args.per_view or None, "takes_batch": args.takes_batch or None, "name": args.name,
    }.items() if v is not None}
    if args.model in MODELS:
        if args.weights or declared:
            raise AdapterError(f"--model {args.model} is a poselab model: give its --ckpt, not --weights or "
                             f"declarations ({', '.join(sorted(declared)) or '--weights'})")
        return PoseAdapter.from_checkpoint(args.ckpt or checkpoint_path(args.model), args.model)
    if args.ckpt:
        raise AdapterError("--ckpt is for poselab model names; a factory's network takes --weights")
    return load_adapter(args.model, args.weights, **declared)


def main(argv: list[str] | None = None) -> int:
    from poselab.cli.errors import reported

    args = parser().parse_args(argv)

    def run() -> None:
        from poselab.cli.errors import ConfigError
        from poselab.evaluation.api import evaluate
        from poselab.models.adapter import AdapterError

        try:
            model = build_model(args)
        except AdapterError as err:  # the spec or a declaration (a bad weights file: CheckpointError)
            raise ConfigError(str(err)) from None
        overrides = {k: v for k, v in (("max_samples", args.max_samples), ("max_batches", args.max_batches))
                     if v is not None}
        if args.max_batch is not None:
            overrides["max_batch"] = args.max_batch if args.max_batch == "auto" else int(args.max_batch)
        devices = int(args.devices) if args.devices.isdigit() else args.devices
        data = args.data[0] if len(args.data) == 1 else args.data
        evaluate(model, data=data, preset=args.preset, out=args.out,
                 allow_image_size_mismatch=args.allow_image_size_mismatch, wandb=not args.no_wandb,
                 offline=not args.online, save_dir=args.save_dir,
                 trainer_options={"accelerator": args.accelerator, "devices": devices,
                                  "strategy": args.strategy}, **overrides)

    reported(run, "evaluate", exit_on_error=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
