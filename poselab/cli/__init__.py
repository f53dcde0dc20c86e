"""``poselab`` command line: ``fit|validate|test|predict`` (LightningCLI, :mod:`.lightning`) and the tools of
:data:`TOOLS` (preview-data, evaluate, report, attack-eval, dashboard, leaderboard; each module says what)."""

from __future__ import annotations

import sys

TOOLS = {
    "preview-data": "poselab.data.preview:main",
    "evaluate": "poselab.cli.evaluate:main",
    "report": "poselab.cli.report:main",
    "attack-eval": "poselab.cli.attack_eval:main",
    "dashboard": "poselab.wandb.publish:main",
    "leaderboard": "poselab.cli.leaderboard:main",
}


def main(argv: list[str] | None = None) -> int:
    from poselab._alloc import configure_allocator

    configure_allocator()  # glibc thresholds for CPU attack sweeps (POSELAB_MALLOPT=0 disables)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLS:
        import importlib

        module, _, func = TOOLS[argv[0]].partition(":")
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    from poselab.cli.lightning import run_lightning_cli

    run_lightning_cli(argv)
    return 0
