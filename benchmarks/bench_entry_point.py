"""``poselab.evaluate`` (the adapter path) against today's callback path (``poselab test`` with the
AttackEvaluation callback, as ``make attack-eval MODEL=<model>`` runs it) on the same grid and data.

Both run in this process, interleaved (the order alternates each repeat), each into a fresh folder; the
whole call is timed (model loading, clean test, attacks, results files and run report). Prints the median
wall and CPU seconds of each and their ratio (entry point / callback path).

    python benchmarks/bench_entry_point.py [--model regression] [--preset quick] [--samples 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

import poselab
from poselab._alloc import configure_allocator
from poselab.cli.lightning import run_lightning_cli

ROOT = Path(__file__).resolve().parents[1]
DATA = [str(ROOT / "configs/data/synthetic.yaml"), str(ROOT / "configs/trainer/cpu.yaml")]


def callback_path(model: str, preset: str, samples: int, out: Path, wandb: bool) -> None:
    cfg = yaml.safe_load((ROOT / f"configs/attack/{preset}.yaml").read_text())
    cfg["attack_evaluation"]["init_args"].update(out_dir=str(out / "results"), max_samples=samples,
                                                 print_tables=False)
    (out / "attack.yaml").write_text(yaml.safe_dump(cfg))
    run_lightning_cli(["test", "--config", str(ROOT / f"configs/model/{model}.yaml"), "--config", DATA[0],
                       "--config", DATA[1], "--config", str(out / "attack.yaml"),
                       "--ckpt_path", str(ROOT / f"checkpoints/{model}.ckpt"), "--data.num_workers", "0",
                       "--run.save_dir", str(out / "runs"), "--run.wandb", str(wandb).lower(),
                       "--trainer.default_root_dir", str(out / "runs"),
                       "--trainer.enable_progress_bar", "false"],
                      exit_on_error=False)


def entry_point(model: str, preset: str, samples: int, out: Path, wandb: bool) -> None:
    poselab.evaluate(ROOT / f"checkpoints/{model}.ckpt", data=DATA, preset=preset, out=out / "results",
                     data_options={"num_workers": 0}, wandb=wandb, save_dir=out / "runs", max_samples=samples,
                     print_tables=False, trainer_options={"enable_progress_bar": False})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="regression")
    p.add_argument("--preset", default="quick")
    p.add_argument("--samples", type=int, default=4, help="max_samples (default: %(default)s)")
    p.add_argument("--wandb", action="store_true", help="offline W&B runs in both paths")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per path (default: %(default)s)")
    args = p.parse_args()
    configure_allocator()
    variants = {"callback path (poselab test)": callback_path, "poselab.evaluate": entry_point}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    names = list(variants)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name in names if r % 2 == 0 else names[::-1]:
                out = Path(tmp) / f"{r}-{names.index(name)}"
                out.mkdir()
                wall, cpu = time.perf_counter(), time.process_time()
                variants[name](args.model, args.preset, args.samples, out, args.wandb)
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    med = {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
           for name, t in times.items()}
    print(f"\n{args.model}, preset {args.preset}, max_samples {args.samples}, {args.repeats} interleaved "
          "runs each (median)")
    print("| path | wall s | CPU s |\n|---|---|---|")
    for name, (wall, cpu) in med.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    (cb_wall, cb_cpu), (ep_wall, ep_cpu) = med[names[0]], med[names[1]]
    print(f"ratio entry point / callback path: wall {ep_wall / cb_wall:.3f}x, CPU {ep_cpu / cb_cpu:.3f}x")


if __name__ == "__main__":
    main()
