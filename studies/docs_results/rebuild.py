"""Rebuild the committed results under docs/results/ from scratch and say which numbers changed.

Each study's commands (``studies.yaml`` here) run into a scratch folder; then every CSV the study names is
compared, cell by cell, with the committed one: numbers at a relative tolerance, text exactly. ``--update``
copies the rebuilt files over the committed ones (``git diff`` then shows the rest, e.g. figures and
markdown). Exit status 0 when every compared number is unchanged, 1 when some changed, 2 on a failed command.

    python -m studies.docs_results.rebuild --list
    python -m studies.docs_results.rebuild attack-quick corruptions [--update] [--rtol 1e-6]
"""

from __future__ import annotations

import argparse
import csv
import math
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
STUDIES_YAML = Path(__file__).with_name("studies.yaml")
DOCS = ROOT / "docs" / "results"


@dataclass(frozen=True)
class Study:
    """One folder of docs/results/: its commands and the globs of files whose numbers are compared."""

    name: str
    commands: list[str]
    compare: list[str] = field(default_factory=list)
    needs: str | None = None


def load_studies(path: Path = STUDIES_YAML) -> dict[str, Study]:
    raw = yaml.safe_load(path.read_text())
    return {name: Study(name, list(spec.get("commands") or []), list(spec.get("compare") or []),
                        spec.get("needs")) for name, spec in raw.items()}


@dataclass(frozen=True)
class Change:
    """One compared cell (or file) that differs: ``where`` is ``file:row:column``."""

    where: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"  {self.where}: {self.old} -> {self.new}"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def same_cell(old: str, new: str, rtol: float) -> bool:
    """Equal text, or numbers equal to ``rtol`` relative (NaN equals NaN)."""
    if old == new:
        return True
    a, b = _number(old), _number(new)
    if a is None or b is None:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)


def compare_csv(old: Path, new: Path, rtol: float, label: str) -> list[Change]:
    """Cells of two CSV files that differ (shape changes are one change each)."""
    with old.open(newline="") as f:
        a = list(csv.reader(f))
    with new.open(newline="") as f:
        b = list(csv.reader(f))
    if len(a) != len(b):
        return [Change(label, f"{len(a)} rows", f"{len(b)} rows")]
    changes = []
    for i, (ra, rb) in enumerate(zip(a, b)):
        if len(ra) != len(rb):
            changes.append(Change(f"{label}:{i + 1}", f"{len(ra)} columns", f"{len(rb)} columns"))
            continue
        header = a[0] if a else []
        for j, (x, y) in enumerate(zip(ra, rb)):
            if not same_cell(x, y, rtol):
                column = header[j] if j < len(header) else str(j + 1)
                key = ra[0] if ra else ""
                changes.append(Change(f"{label}:{i + 1} [{key}, {column}]", x, y))
    return changes


def compare_study(committed: Path, rebuilt: Path, globs: list[str], rtol: float) -> list[Change]:
    """Every file matching ``globs`` in either folder, compared (a file on one side only is a change)."""
    names = sorted({p.relative_to(committed).as_posix() for g in globs for p in committed.glob(g)}
                   | {p.relative_to(rebuilt).as_posix() for g in globs for p in rebuilt.glob(g)})
    changes: list[Change] = []
    for name in names:
        old, new = committed / name, rebuilt / name
        if not old.is_file() or not new.is_file():
            changes.append(Change(name, "present" if old.is_file() else "missing",
                                  "present" if new.is_file() else "missing"))
        else:
            changes += compare_csv(old, new, rtol, name)
    return changes


def command_lines(study: Study, scratch: Path, out: Path) -> list[str]:
    """The study's commands with ``{py}``, ``{scratch}`` and ``{out}`` filled in (shell-quoted paths)."""
    values = {"py": shlex.quote(sys.executable), "scratch": shlex.quote(str(scratch)),
              "out": shlex.quote(str(out))}
    return [" ".join(c.split()).format(**values) for c in study.commands]


def update(committed: Path, rebuilt: Path) -> None:
    """Copy every rebuilt file over the committed folder (READMEs, written by hand, are kept)."""
    for src in rebuilt.rglob("*"):
        if src.is_file() and src.name != "README.md":
            dst = committed / src.relative_to(rebuilt)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def rebuild(study: Study, work: Path, rtol: float = 1e-6, do_update: bool = False, docs: Path = DOCS) -> int:
    """Run one study and compare; returns 0 (same), 1 (changed) or 2 (a command failed or not runnable)."""
    if study.needs:
        print(f"== {study.name}: skipped, needs {study.needs}")
        return 0
    scratch, out = work / study.name / "runs", work / study.name / "docs"
    for folder in (scratch, out):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for line in command_lines(study, scratch, out):
        print(f"== {study.name}: {line}", flush=True)
        if subprocess.run(line, shell=True, cwd=ROOT).returncode != 0:
            print(f"== {study.name}: command failed; committed files left as they are", file=sys.stderr)
            return 2
    changes = compare_study(docs / study.name, out, study.compare, rtol)
    more = f"\n  ... {len(changes) - 50} more" if len(changes) > 50 else ""
    print(f"== {study.name}: {len(changes)} changed value(s) at rtol {rtol:g}"
          + "".join(f"\n{c}" for c in changes[:50]) + more)
    if do_update:
        update(docs / study.name, out)
        print(f"== {study.name}: docs/results/{study.name}/ updated (see git diff)")
    return 1 if changes else 0


def main(argv: list[str] | None = None) -> int:
    studies = load_studies()
    parser = argparse.ArgumentParser(prog="python -m studies.docs_results.rebuild",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"studies to rebuild (default: all): {', '.join(studies)}")
    parser.add_argument("--work", type=Path, default=ROOT / "results" / "docs-rebuild", help="scratch root")
    parser.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance of compared numbers")
    parser.add_argument("--update", action="store_true", help="copy rebuilt files over docs/results/<study>/")
    parser.add_argument("--list", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in studies]
    if unknown:
        parser.error(f"unknown study {', '.join(unknown)}; expected: {', '.join(studies)}")
    chosen = [studies[n] for n in (args.names or studies)]
    if args.list:
        for s in chosen:
            lines = command_lines(s, args.work / s.name / "runs", args.work / s.name / "docs")
            print(f"{s.name}: " + (f"needs {s.needs}" if s.needs else "\n  " + "\n  ".join(lines)))
        return 0
    codes = [rebuild(s, args.work, args.rtol, args.update) for s in chosen]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
