"""The end of an attack evaluation (rank 0): CIs, results files, claim, run report, printed tables, W&B.
A failed final write prints the tables (NOT SAVED) and returns the error; W&B failures only warn."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from poselab import safe_io
from poselab.experiments.state import PARTIAL_DIR
from poselab.results.files import write_results
from poselab.results.schema import JOINT, JOINT_MPJPE
from poselab.skeleton import JOINT_NAMES


def finish_run(out: Path, rows: list[dict[str, Any]], joints: list, meta: dict[str, Any],
               examples: Sequence[Any], loggers: Sequence[Any] = (), print_tables: bool = True,
               worst_samples: Sequence[dict[str, Any]] = (),
               samples: Sequence[tuple[dict[str, Any], Any]] = ()) -> safe_io.ResultsNotSavedError | None:
    """Write the results files, ``claim.json`` and the run's report into ``out``, print its tables and log
    it to the first W&B logger. ``joints``: (row, per-joint MPJPE (J,)) pairs; ``samples``: (row, per-sample
    values) pairs, which give every row its CI (in place). Returns the error to raise when the files could
    not be written, else None.
    """
    from poselab.reporting.leaderboard import write_claim
    from poselab.reporting.report import report_tables, tables_markdown
    from poselab.reporting.run_report import write_run_report
    from poselab.reporting.sanity import flags_text
    from poselab.results.runs import run_of
    from poselab.results.statistics import add_ci, ci_meta

    if samples:
        add_ci(rows, samples)
        meta = {**meta, "ci": ci_meta()}

    per_joint = [{**row, JOINT: name, JOINT_MPJPE: v}
                 for row, values in joints for name, v in zip(JOINT_NAMES, values.tolist())]
    run = run_of(rows, meta, joints, out, meta["model"])  # the rows in memory, nothing written or parsed
    try:  # a failed final write: print the tables, say where they could not go, keep .partial
        write_results(out, rows, meta, per_joint, worst_samples, samples)
        write_claim(out, rows, meta)
        report = write_run_report(run, examples)
    except safe_io.SAVE_ERRORS as err:
        print(f"\nAdversarial evaluation of {meta['model']} on {meta['dataset']} (NOT SAVED)\n")
        print(tables_markdown(report_tables([run])))
        return safe_io.ResultsNotSavedError(
            f"could not write the attack results to {out} ({type(err).__name__}: {err}); the tables are "
            f"printed above; the saved partial state in {out / PARTIAL_DIR} was kept: re-run the "
            "same command once the folder is writable to write the results without attacking again")
    if print_tables:
        print(f"\nAdversarial evaluation of {meta['model']} on {meta['dataset']} -> {out}\n")
        print(tables_markdown(report))
    if flags := flags_text(meta):  # the sanity flags, once (poselab.evaluation.checks)
        print(flags)
    from pytorch_lightning.loggers import WandbLogger

    wandb_loggers = [lg for lg in loggers if isinstance(lg, WandbLogger)]
    if wandb_loggers:
        from poselab.wandb.artifacts import log_attack_lineage
        from poselab.wandb.log import log_run_report

        try:  # the results are written: W&B can no longer lose them, nor end the run
            run = wandb_loggers[0].experiment
            log_run_report(run, rows, report, meta["config"].get("jdr_definition"))
            log_attack_lineage(run, meta, out)  # checkpoint in, results folder out
        except Exception as err:  # noqa: BLE001
            warnings.warn(f"attack evaluation: W&B logging failed ({type(err).__name__}: {err}); the "
                          f"results are in {out}", stacklevel=2)
    return None
