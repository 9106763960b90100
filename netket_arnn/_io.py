"""Writing files so that a reader never finds a partial one, once per multi-process run."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import IO

from ._distributed import barrier, is_main_process


def _default_mode() -> int:
    """The mode :func:`open` gives a new file: ``0o666`` less the process's umask (0644 usually)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Create or replace ``path`` with what ``write(file)`` writes, atomically.

    The content goes to a temporary file in the same folder, is flushed to disk, then renamed
    over ``path`` (:func:`os.replace`): an interruption at any moment leaves either the previous
    complete file or the new one, never a partial file at ``path``. The file gets the mode that
    :func:`open` would give it (``0o666`` less the umask), not the private ``0o600`` of a
    temporary file.

    In a multi-process run (:func:`jax.distributed.initialize`) only process 0 writes; every
    process then waits at a barrier, so that when this returns the file is complete for all of
    them (the processes are assumed to share the file system, as on a cluster). Every process
    must therefore call it, for the same files in the same order; ``write`` runs on process 0
    alone and must only do host work (no collective, no jax computation on global arrays).
    """
    path = os.fspath(path)
    if is_main_process():
        _write_here(path, write)
    barrier(f"netket_arnn.atomic_write:{os.path.basename(path)}")


def _write_here(path: str, write: Callable[[IO[bytes]], None]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), _default_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
