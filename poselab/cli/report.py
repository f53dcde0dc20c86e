"""``poselab report``: compare the saved attack results of several runs (never re-runs attacks): the report
of :mod:`poselab.reporting.report` in ``--out`` (one per grid), each grid's logged to one W&B run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from poselab.plugins import import_plugins
from poselab.reporting.report import build_report, tables_markdown
from poselab.wandb.report import log_report


def results_parser(prog: str, description: str, out: str, what: str) -> argparse.ArgumentParser:
    """The options ``poselab report`` and ``poselab leaderboard`` share (``what``: the thing they write)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("paths", nargs="+", help="results folders, or parents of results folders")
    parser.add_argument("--out", default=out, help="folder to write (default: %(default)s)")
    parser.add_argument("--no-wandb", action="store_true", help=f"do not log the {what} to W&B")
    parser.add_argument("--wandb-dir", default="runs/wandb", help="W&B run folder (default: %(default)s)")
    parser.add_argument("--print", action="store_true", help=f"also print the {what} (markdown)")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE first (e.g. one that registers your own attacks); repeatable")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser("poselab report", "Compare saved attack results of runs.", "reports/latest",
                            "report")
    parser.add_argument("--group", default=None, help="W&B group of the summary run (default: the group the "
                        "compared runs were logged in, from their results.json)")
    parser.add_argument("--corruption-baseline", default=None,
                        help="run whose corruption errors are the mCE denominator "
                        "(default: regression, else the first run)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        import_plugins(args.plugin)
        report = build_report(args.paths, args.out, args.corruption_baseline)
    except ValueError as err:  # ResultsError is one: the folder or plug-in is named
        print(f"error: {err}", file=sys.stderr)
        return 2
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not args.no_wandb:
        log_report(report, args.group, args.paths, args.wandb_dir)
    if args.print:
        print(tables_markdown(report))
    sections = report.sections or [report]
    tables, figures = sum(len(s.tables) for s in sections), sum(len(s.figures) for s in sections)
    grids = f"{len(sections)} grids ({', '.join(s.grid for s in sections)}): " if report.sections else ""
    print(f"wrote {report.out / 'report.md'} ({grids}{tables} tables, {figures} figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
