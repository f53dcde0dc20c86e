"""Read what an offline W&B run will upload: its ``run-<id>.wandb`` file, decoded with wandb's own protobuf.

An offline run (``runs/wandb/wandb/offline-run-<time>-<id>/run-<id>.wandb``) is the transaction log that
``wandb sync`` replays to the server: W&B's LevelDB-log container (a 7-byte header ``:W&B``, 0xBEE1,
version 0; 32 KiB blocks of chunks, each ``crc32 (uint32 LE) | length (uint16 LE) | type (uint8)`` with
type 1 = whole record, 2/3/4 = first/middle/last piece; the CRC is zlib's CRC-32 of the type byte and the
piece) holding ``wandb.proto.wandb_internal_pb2.Record`` messages. wandb 0.31 ships no Python reader for
it (its sync is in the Go core), so this module decodes the container and leaves the messages to wandb's
protobuf classes. Used by the tests, and handy to check a run before ``wandb sync``::

    python tests/support/wandb_offline.py runs/wandb/wandb/offline-run-*/    # keys, step metrics, artifacts
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32768
_CHUNK = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class OfflineRunError(ValueError):
    """A file that is not a readable W&B transaction log (bad header, checksum or framing)."""


def read_records(path: str | Path) -> Iterator[Any]:
    """The ``Record`` messages of a ``.wandb`` file, in order (checksums verified; a file still being written
    yields its complete records)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    if data[: len(HEADER)] != HEADER:
        raise OfflineRunError(f"{path}: not a W&B transaction log (header {data[:7]!r})")
    pos, pieces = len(HEADER), b""
    while pos + _CHUNK.size <= len(data):
        left = BLOCK - pos % BLOCK
        if left < _CHUNK.size:  # the rest of a block too short for a chunk header is padding
            pos += left
            continue
        crc, length, kind = _CHUNK.unpack_from(data, pos)
        if crc == length == kind == 0:  # zero padding at the end of a block
            pos += left
            continue
        piece = data[pos + _CHUNK.size : pos + _CHUNK.size + length]
        if len(piece) < length:  # the writer is still at it: the records so far
            return
        if zlib.crc32(bytes([kind]) + piece) != crc or kind not in (FULL, FIRST, MIDDLE, LAST):
            raise OfflineRunError(f"{path}: corrupt chunk at byte {pos}")
        pos += _CHUNK.size + length
        pieces = piece if kind in (FULL, FIRST) else pieces + piece
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(pieces)
            yield record


@dataclass
class OfflineRun:
    """What one offline run holds, decoded (values JSON-decoded; nested keys joined by ``/``)."""

    path: Path
    run_id: str = ""
    project: str = ""
    group: str = ""
    job_type: str = ""
    name: str = ""
    tags: list[str] = field(default_factory=list)
    resumed: bool = False
    #: whether the run's final (exit) record is there: wandb finishes writing the file shortly after
    #: ``run.finish()`` returns (see :func:`read_run`'s ``wait_s``)
    complete: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    #: metric definitions: name (or glob) -> {"step_metric": ..., "hidden": ..., "glob": bool, ...}
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: artifacts the run logged: {"type", "name", "aliases", "digest" (of the content: the same files give
    #: the same digest, hence the same version), "entries": {path: reference ("" for a file)},
    #: "metadata", "input"}; ``input``: logged to be used once committed (``use_artifact`` of a new
    #: artifact, an input of the run), else an output; plus one {"type", "name", "input": True} per
    #: ``use_artifact`` record of an existing artifact
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    def inputs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The artifacts the run used (of type ``kind``, default any)."""
        return [a for a in self.artifacts if a["input"] and kind in (None, a["type"])]

    def outputs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The artifacts the run produced (of type ``kind``, default any)."""
        return [a for a in self.artifacts if not a["input"] and kind in (None, a["type"])]

    def step_metric(self, key: str) -> str | None:
        """The step metric W&B uses for ``key``: its exact definition, else the first matching glob."""
        import fnmatch

        exact = self.metrics.get(key)
        if exact is not None and not exact["glob"]:
            return exact["step_metric"] or None
        for name, m in self.metrics.items():
            if m["glob"] and fnmatch.fnmatchcase(key, name):
                return m["step_metric"] or None
        return None

    def keys(self) -> list[str]:
        """Every history key, in first-logged order (W&B's own ``_step``, ``_runtime``, ... left out)."""
        return list(dict.fromkeys(k for row in self.history for k in row if not k.startswith("_")))

    def table(self, key: str) -> dict[str, Any]:
        """The JSON of the table logged last under ``key`` (``{"columns": [...], "data": [[...]]}``)."""
        value = next((row[key] for row in reversed(self.history) if key in row), None)
        if not isinstance(value, dict) or "path" not in value:
            raise KeyError(f"no table logged under {key!r} in {self.path}")
        return json.loads((self.path.parent / "files" / value["path"]).read_text())


def _items(items: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key = item.key or "/".join(item.nested_key)
        value = json.loads(item.value_json)
        if item.key or len(item.nested_key) == 1:
            out[key] = value
        else:  # nested values (a table's fields) under their first key
            node = out.setdefault(item.nested_key[0], {})
            for part in item.nested_key[1:-1]:
                node = node.setdefault(part, {})
            node[item.nested_key[-1]] = value
    return out


def read_run(path: str | Path, wait_s: float = 0.0) -> OfflineRun:
    """Decode an offline run: ``path`` is its ``.wandb`` file or its ``offline-run-*`` folder. ``wait_s``:
    seconds to wait for the run's exit record (wandb's service may still be writing the file just after
    ``finish()``); the run is returned as read then, with ``complete`` telling whether it was there."""
    import time

    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("run-*.wandb"))
        if not files:
            raise OfflineRunError(f"{path}: no run-*.wandb file in this folder")
        path = files[0]
    deadline = time.monotonic() + wait_s
    while True:
        run = _decode(path)
        if run.complete or time.monotonic() >= deadline:
            return run
        time.sleep(0.1)


def _decode(path: Path) -> OfflineRun:
    run = OfflineRun(path)
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.run_id, run.project, run.group, run.job_type = r.run_id, r.project, r.run_group, r.job_type
            run.name, run.tags, run.resumed = r.display_name, list(r.tags), bool(r.resumed)
            run.config.update(_items(r.config.update))
        elif kind == "config":
            run.config.update(_items(record.config.update))
            for item in record.config.remove:
                run.config.pop(item.key or "/".join(item.nested_key), None)
        elif kind == "history":
            run.history.append(_items(record.history.item))
        elif kind == "summary":
            run.summary.update(_items(record.summary.update))
        elif kind == "metric":
            m = record.metric
            name = m.name or m.glob_name
            run.metrics[name] = {
                "step_metric": m.step_metric,
                "hidden": m.options.hidden,
                "step_sync": m.options.step_sync,
                "glob": not m.name,
                "summary": [
                    s
                    for s in ("min", "max", "mean", "best", "last", "none", "copy")
                    if getattr(m.summary, s, False)
                ],
            }
        elif kind == "artifact":
            a = record.artifact
            run.artifacts.append({
                "type": a.type, "name": a.name, "aliases": list(a.aliases), "input": bool(a.use_after_commit),
                "digest": a.digest,
                "entries": {e.path: e.ref for e in a.manifest.contents},
                "metadata": json.loads(a.metadata) if a.metadata else {},
            })
        elif kind == "use_artifact":
            u = record.use_artifact
            run.artifacts.append({"type": u.type, "name": u.name, "aliases": [], "input": True, "digest": "",
                                  "entries": {}, "metadata": {}})
        elif kind == "exit":
            run.complete = True
    run.config.pop("_wandb", None)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python tests/support/wandb_offline.py",
        description="Show what an offline W&B run holds (keys, step metrics, artifacts).",
    )
    parser.add_argument("runs", nargs="+", help="offline-run-* folders or run-*.wandb files")
    args = parser.parse_args(argv)
    for p in args.runs:
        try:
            run = read_run(p)
        except (OSError, OfflineRunError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(
            f"{run.path}: id {run.run_id}, group {run.group!r}, job_type {run.job_type!r}, "
            f"name {run.name!r}, "
            f"{len(run.history)} history rows, {len(run.config)} config keys"
        )
        for key in sorted(run.keys()):
            print(f"  {key}  (x: {run.step_metric(key) or '_step'})")
        for a in run.artifacts:
            print(f"  {'input' if a['input'] else 'output'} artifact {a['type']} {a['name']} "
                  f"{a['aliases']} ({len(a['entries'])} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
