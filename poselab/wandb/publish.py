"""``poselab dashboard RESULTS...``: the dashboard spec of saved results saved as a W&B report (needs W&B
online and the optional ``wandb-workspaces``, else one line and exit status 2) or printed (``--dry-run``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from poselab.wandb.dashboard import Dashboard, Panel, build_dashboard, inputs_from_results, x_title


def to_report(dash: Dashboard, entity: str) -> Any:
    """The ``wandb_workspaces`` report of a dashboard spec (built offline; :func:`publish` saves it)."""
    import wandb_workspaces.reports.v2 as wrep
    from wandb_workspaces import expr

    def runset(job_type: str) -> Any:
        return wrep.Runset(entity=entity, project=dash.project, name=f"{dash.group} / {job_type}",
                           filters=[expr.Metric("Group") == dash.group, expr.Metric("JobType") == job_type])

    def panel(p: Panel) -> Any:
        if p.kind == "line":
            return wrep.LinePlot(title=p.title, x=p.x, y=list(p.keys), title_x=x_title(p.x or ""),
                                 title_y=p.y_title)
        if p.kind == "table":
            return wrep.WeavePanelSummaryTable(table_name=p.keys[0])
        if p.kind == "media":
            return wrep.MediaBrowser(title=p.title, media_keys=list(p.keys))
        raise ValueError(f"panel kind {p.kind!r}: expected line, table or media")

    blocks: list[Any] = [wrep.P(f"Runs of W&B group '{dash.group}' (project {dash.project}); built by "
                                "`poselab dashboard` from the saved results. Line plots: one line per attack "
                                "run (= per model).")]
    for section in dash.sections:
        blocks += [wrep.H2(section.name)] + ([wrep.P(section.description)] if section.description else [])
        for job_type in dict.fromkeys(p.runs for p in section.panels):
            blocks.append(wrep.PanelGrid(runsets=[runset(job_type)],
                                         panels=[panel(p) for p in section.panels if p.runs == job_type]))
    return wrep.Report(project=dash.project, entity=entity, title=dash.title[:128], blocks=blocks,
                       width="fluid")


class DashboardError(RuntimeError):
    """The dashboard cannot be built here (offline, no API key, optional package missing)."""


def check_online() -> None:
    """Raise :class:`DashboardError` unless W&B is online with an API key and wandb-workspaces installed."""
    import importlib.util

    from poselab.wandb.naming import has_api_key

    mode = os.environ.get("WANDB_MODE", "")
    if mode in ("offline", "dryrun", "disabled"):
        raise DashboardError(f"WANDB_MODE={mode}: building the dashboard needs W&B online (unset WANDB_MODE "
                             "or set it to online); --dry-run prints the panel spec offline")
    if not has_api_key():
        raise DashboardError("no W&B API key (WANDB_API_KEY or `wandb login`): building the dashboard needs "
                             "W&B online; --dry-run prints the panel spec offline")
    if importlib.util.find_spec("wandb_workspaces") is None:
        raise DashboardError("the optional package wandb-workspaces is missing: pip install -e "
                             "'.[dashboard]' (or --dry-run to print the panel spec)")


def publish(dash: Dashboard, entity: str | None = None) -> str:
    """Save the dashboard as a W&B report (online); returns its URL."""
    check_online()
    import wandb

    entity = entity or os.environ.get("WANDB_ENTITY") or wandb.Api().default_entity
    report = to_report(dash, entity)
    report.save()
    return str(report.url)


def main(argv: Sequence[str] | None = None) -> int:
    from poselab.results.reader import ResultsError
    from poselab.wandb.naming import group_of

    parser = argparse.ArgumentParser(prog="poselab dashboard", description="Build the W&B robustness "
                                     "dashboard (a W&B report) of saved results.")
    parser.add_argument("paths", nargs="+", help="results folders, or parents of results folders")
    parser.add_argument("--group", default=None, help="W&B group whose runs the panels show (default: the "
                        "group recorded in the results)")
    parser.add_argument("--project", default=None, help="W&B project (default: the one recorded in the "
                        "results, else $WANDB_PROJECT or poselab)")
    parser.add_argument("--entity", default=None, help="W&B entity (default: $WANDB_ENTITY or your default)")
    parser.add_argument("--title", default=None, help="report title")
    parser.add_argument("--dry-run", action="store_true", help="print the panel spec as JSON; send nothing")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        inputs, metas = inputs_from_results(args.paths)
    except ResultsError as err:
        print(f"poselab dashboard: error: {err}", file=sys.stderr)
        return 2
    group = args.group
    if group is None:
        group, warning = group_of(metas)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    projects = {str(p) for m in metas if (p := (m.get("wandb") or {}).get("project"))}
    project = args.project or (projects.pop() if len(projects) == 1 else None)  # as recorded, if one
    dash = build_dashboard(inputs, group, project, args.title)
    if args.dry_run:
        print(json.dumps(dash.to_dict(), indent=1))
        return 0
    try:
        url = publish(dash, args.entity)
    except DashboardError as err:
        print(f"poselab dashboard: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - network / server failures: one line
        first = str(err).splitlines()[0] if str(err) else ""
        print(f"poselab dashboard: error: W&B did not accept the report ({type(err).__name__}: {first})",
              file=sys.stderr)
        return 1
    print(f"dashboard: {url} ({sum(len(s.panels) for s in dash.sections)} panels)")
    return 0
