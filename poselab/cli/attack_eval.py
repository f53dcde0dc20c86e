"""``poselab attack-eval``: ``poselab test`` of several models in ONE process, then their comparison report.

Each model is its own LightningCLI run with the arguments after ``--`` (``{model}`` replaced by its name);
the imports are paid once, and the first model that fails stops the rest with its exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def model_args(template: Sequence[str], model: str) -> list[str]:
    """The ``poselab test`` arguments of one model: ``{model}`` replaced in every argument."""
    return [arg.replace("{model}", model) for arg in template]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ours, template = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="poselab attack-eval", description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True, help="model name (repeat for several)")
    parser.add_argument("--report", default=None, metavar="OUT",
                        help="write the comparison report of the models' results folders to OUT")
    parser.add_argument("--results", default=None, metavar="PATTERN",
                        help="each model's results folder, {model} replaced (for the report)")
    parser.add_argument("--report-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for `poselab report` (repeat)")
    args = parser.parse_args(ours)
    if args.report and not args.results:
        parser.error("--report needs --results, e.g. results/attack-quick/{model}-synthetic")
    from poselab.cli.lightning import run_lightning_cli

    for model in args.model:
        print(f"== attack-eval: {model}", flush=True)
        run_lightning_cli(["test", *model_args(template, model)])
    if args.report:
        from poselab.cli.report import main as report

        folders = [args.results.replace("{model}", m) for m in args.model]
        return int(report([*folders, "--out", args.report, *args.report_arg]) or 0)
    return 0
