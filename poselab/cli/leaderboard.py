"""``poselab leaderboard``: rank evaluated models from their saved results (never re-runs attacks):
``leaderboard.md``/``.csv`` (:mod:`poselab.reporting.leaderboard`) in ``--out``, the table in one W&B run
(``leaderboard-<group>``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from poselab.cli.report import results_parser
from poselab.plugins import import_plugins
from poselab.reporting.leaderboard import LEADERBOARD_COLUMNS, rebuild_claims, write_leaderboard
from poselab.results.schema import LEADERBOARD_MD


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser("poselab leaderboard", "Rank evaluated models by robust MPJPE (with CIs).",
                            "reports/leaderboard", "table")
    parser.add_argument("--claims", action="store_true", help="also rebuild each folder's claim.json")
    parser.add_argument("--group", default="leaderboard", help="W&B group (default: %(default)s)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        import_plugins(args.plugin)
        rows, table = write_leaderboard(args.paths, args.out)
        claims = rebuild_claims(args.paths) if args.claims else []
    except (ValueError, OSError) as err:  # ResultsError is one: the folder is named
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.no_wandb:
        _log(rows, args.group, args.paths, args.wandb_dir)
    if args.print:
        print(table.to_markdown())
    print(f"wrote {args.out}/{LEADERBOARD_MD} ({len(rows)} models)"
          + (f" and {len(claims)} claim files" if claims else ""))
    return 0


def _log(rows: list[dict], group: str, inputs: Sequence[str], save_dir: str) -> None:
    from poselab.wandb.log import log_table
    from poselab.wandb.runs import finish_run, init_run

    run = init_run("report", group=group, name=f"leaderboard-{group}", tags=["leaderboard"],
                   config={"inputs": list(inputs)}, save_dir=save_dir)
    if run is None:
        return
    try:
        log_table(run, "tables/leaderboard", LEADERBOARD_COLUMNS, [[r[c] for c in LEADERBOARD_COLUMNS]
                                                                  for r in rows])
    except Exception as err:  # noqa: BLE001 - the files are already written
        print(f"warning: W&B logging failed ({type(err).__name__}: {err})", file=sys.stderr)
    finally:
        finish_run(run)


if __name__ == "__main__":
    sys.exit(main())
