"""Atomic writes and appends: a file (or a line) appears whole or not at all, so a killed process never
leaves half of one. Every layer writes through these (simulator caches, checkpoints, tables)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_line(path: Path, text: str) -> None:
    """Append ``text`` (whole lines) with one write, flushed to disk: a killed run leaves it whole or absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        written = os.write(fd, data)
        if written != len(data):  # a full disk: take the partial line back
            os.ftruncate(fd, size)
            raise OSError(f"{path}: wrote {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)
