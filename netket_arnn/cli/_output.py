"""Output folders and files of the sub-commands: never overwrite an earlier run unless told to."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys

from .._distributed import barrier, is_main_process
from .._io import atomic_write

__all__ = ["claim_file", "claim_folder", "exit_now_on_second_interrupt", "holds_run", "write_json"]


def holds_run(folder: str, owned: tuple[str, ...]) -> list[str]:
    """The entries of ``owned`` that exist in ``folder`` (empty: no run there)."""
    return [name for name in owned if os.path.lexists(os.path.join(folder, name))]


def claim_folder(out: str | None, default: str, owned: tuple[str, ...], *, overwrite: bool, command: str) -> str:
    """The folder a fresh run writes into.

    ``out=None`` (no ``--out``): ``default``, or the first of ``default-2``, ``default-3``, ...
    that holds no run, so that running the same command twice never fails. A given ``out`` that
    holds a run is refused (``FileExistsError``) unless ``overwrite``, which removes the entries
    of ``owned`` (and nothing else).
    """
    try:
        if out is None:
            candidate, k = default, 1
            while holds_run(candidate, owned):
                k += 1
                candidate = f"{default}-{k}"
            return candidate
        found = holds_run(out, owned)
        if found and not overwrite:
            raise FileExistsError(
                f"{out} holds an earlier run ({', '.join(found)}): pass --overwrite to replace it, "
                f"or choose another --out{_resume_hint(command, out)}"
            )
        if is_main_process():  # one process removes; the others see the result after the barrier
            for name in found:
                path = os.path.join(out, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
        return out
    finally:
        # Every process decides from the folder as it was, before process 0 writes into it.
        barrier(f"netket_arnn.claim_folder:{command}")


def _resume_hint(command: str, out: str) -> str:
    return f" (or continue it with `netket-arnn {command} --resume {out}`)" if command == "anneal" else ""


def claim_file(path: str, *, overwrite: bool) -> None:
    """Refuse (``FileExistsError``) to replace an existing ``path`` unless ``overwrite``."""
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path} exists: pass --overwrite to replace it, or choose another --out")


def write_json(path: str, payload: dict) -> None:
    """Write ``payload`` as strict JSON with the package's one atomic writer (:func:`netket_arnn._io.atomic_write`).

    A reader never sees half a file; the file gets the usual mode (not a temporary file's 0600);
    in a multi-process run process 0 writes it and the others wait until it is there.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def exit_now_on_second_interrupt() -> None:
    """After a first Ctrl-C: a second one ends the process at once with exit code 130, without a traceback."""

    def handler(signum, frame):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed pipe must not turn the exit into a traceback
                pass
        os._exit(130)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals are not ours to handle
        pass


def speaker(quiet: bool):
    """``print`` for the command's progress lines, or nothing: with ``--quiet``, and on every process
    but process 0 of a multi-process run (each would print the same lines)."""
    if quiet or not is_main_process():
        return lambda *args: None
    return lambda *args: print(*args, flush=True)
