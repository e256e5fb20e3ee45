"""Study units: each step of the study writes into its own folder, atomically.

A unit is a folder under the run directory (``frozen``,
``generators/pa_vae/seed_0``, ...) with a ``unit.json`` written last. The
unit's work happens in a temporary folder that is renamed into place only
when it succeeds, so a folder with ``unit.json`` is always complete. A rerun
skips every unit whose ``unit.json`` carries the same fingerprint (a hash of
the configuration and inputs that determine it, and of the package's source
code) and recomputes the others,
which makes an interrupted study resume where it stopped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from pavae import __version__
from pavae.utils.io import atomic_write_json, read_json

log = logging.getLogger(__name__)

UNIT_FILE = "unit.json"


@functools.lru_cache(maxsize=1)
def _process_alive(pid: int) -> bool:
    """Return True if a process with this id runs on this machine (other users' processes included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def source_fingerprint() -> str:
    """Return a SHA-256 prefix over the package's Python sources.

    A unit computed by other code is never reused: an edited loss or model
    changes every fingerprint, even where the configuration is the same.
    """
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(*parts: Any) -> str:
    """Return a SHA-256 prefix over JSON-serialisable parts and the package sources."""
    text = json.dumps([source_fingerprint(), *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class UnitStore:
    """Run, skip or reuse the units of one study folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict[str, Any]] = {}

    def path(self, key: str) -> Path:
        return self.root / key

    def is_done(self, key: str, unit_fingerprint: str) -> bool:
        marker = self.path(key) / UNIT_FILE
        if not marker.exists():
            return False
        try:
            return read_json(marker).get("fingerprint") == unit_fingerprint
        except ValueError:
            return False

    def run(self, key: str, unit_fingerprint: str, stage: str, work: Callable[[Path], dict[str, Any] | None]) -> Path:
        """Run ``work(folder)`` for the unit ``key`` unless a finished unit with this fingerprint exists.

        Args:
            key: folder of the unit relative to the run directory.
            unit_fingerprint: hash of everything the unit's output depends on.
            stage: stage name for the wall-time summary (data, frozen, generator, ...).
            work: writes the unit's files into the folder it is given and may
                return a dict stored in ``unit.json`` under ``info``.

        Returns:
            The unit's final folder.
        """
        final = self.path(key)
        if self.is_done(key, unit_fingerprint):
            record = read_json(final / UNIT_FILE)
            record["reused"] = True
            self.records[key] = record
            log.info("reusing finished unit %s", key)
            return final

        partial = self.root / ".partial" / f"{key.replace('/', '__')}.{os.getpid()}"
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        log.info("running unit %s", key)
        started = time.perf_counter()
        try:
            info = work(partial) or {}
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        record = {
            "key": key,
            "stage": stage,
            "fingerprint": unit_fingerprint,
            "wall_seconds": time.perf_counter() - started,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "info": info,
        }
        atomic_write_json(partial / UNIT_FILE, record)

        # Replace a stale unit (other fingerprint) only once the new one is complete.
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            stale = final.with_name(f".{final.name}.stale.{os.getpid()}")
            os.replace(final, stale)
            os.replace(partial, final)
            shutil.rmtree(stale, ignore_errors=True)
        else:
            os.replace(partial, final)
        record["reused"] = False
        self.records[key] = record
        return final

    def remove_partial_folder(self) -> None:
        """Remove temporary unit folders left by dead processes, then the folder itself when empty."""
        partial = self.root / ".partial"
        if not partial.is_dir():
            return
        for leftover in partial.iterdir():
            pid = leftover.suffix.lstrip(".")
            if not (pid.isdigit() and _process_alive(int(pid))):
                log.info("removing %s, left by an interrupted run", leftover)
                shutil.rmtree(leftover, ignore_errors=True)
        if not any(partial.iterdir()):
            partial.rmdir()

    def stage_seconds(self) -> dict[str, dict[str, float]]:
        """Sum the wall time of this run's units by stage, split into computed now and reused.

        ``seconds`` is the time spent in this call; ``reused_seconds`` is what the
        reused units took when they were computed.
        """
        totals: dict[str, dict[str, float]] = {}
        for record in self.records.values():
            entry = totals.setdefault(record["stage"], {"seconds": 0.0, "units": 0, "reused_seconds": 0.0,
                                                        "reused_units": 0})
            if record.get("reused"):
                entry["reused_units"] += 1
                entry["reused_seconds"] += float(record["wall_seconds"])
            else:
                entry["seconds"] += float(record["wall_seconds"])
                entry["units"] += 1
        return totals
