"""Atomic file output and JSON encoding of study results.

Every file the study writes goes through these helpers: the content lands in
a temporary file in the target folder and is renamed over the target, so a
crash or an interrupt never leaves a truncated file behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` and rename it onto ``path`` on success.

    The temporary file keeps the target's suffix (or ``suffix``) so that
    libraries which choose a format by extension (matplotlib, numpy) write
    the right one. On an exception the temporary file is removed and the
    target is left untouched.
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{target} is a folder, not an output file: give a file path, for example one inside that folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix if suffix is not None else target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file readable by its owner only; give it the usual umask-based mode.
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars, arrays, paths and non-finite floats into strict-JSON values.

    Infinite floats become the strings ``"inf"`` and ``"-inf"`` and NaN becomes
    ``None``, because strict JSON has no literal for them and a bare
    ``Infinity`` breaks most JSON readers. A decision threshold of ``+inf``
    (nothing is called positive) therefore survives as ``"inf"``, never as a
    clipped 1.0.
    """
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return number
    if isinstance(value, Path):
        return str(value)
    return value


def from_json_float(value: Any) -> float:
    """Read back a float written by :func:`to_jsonable` (``"inf"``, ``None`` for NaN)."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return float(value)
    return float(value)


def dumps_json(value: Any) -> str:
    """Serialise ``value`` as indented strict JSON (no NaN or Infinity literals)."""
    return json.dumps(to_jsonable(value), indent=2, sort_keys=False, allow_nan=False) + "\n"


def atomic_write_json(path: str | os.PathLike, value: Any) -> None:
    """Write ``value`` as strict JSON to ``path`` atomically."""
    atomic_write_text(path, dumps_json(value))


def read_json(path: str | os.PathLike, fix: str = "delete it and rerun to rebuild it") -> Any:
    """Read a JSON file; the error for invalid JSON names the file and ``fix``, the advice to follow."""
    target = Path(path)
    try:
        return json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{target} is not valid JSON ({error}); {fix}") from error


def atomic_savez(path: str | os.PathLike, **arrays: Any) -> None:
    """Write arrays to a compressed ``.npz`` file atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
