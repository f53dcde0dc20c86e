"""Command-line options every benchmark shares (run the scripts as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import argparse


def add_run_options(p: argparse.ArgumentParser, threads: int = 1) -> argparse.ArgumentParser:
    """``--repeats`` (timed calls per variant), ``--threads`` (torch CPU threads) and ``--device``."""
    p.add_argument("--repeats", type=int, default=3, help="timed calls per variant (default: %(default)s)")
    p.add_argument("--threads", type=int, default=threads, help="torch CPU threads (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    return p
