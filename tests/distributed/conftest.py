"""Fixtures of the multi-process checks: a launcher of 2 JAX processes on 127.0.0.1 (see launcher.py)."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import launcher as _launcher  # noqa: E402


@pytest.fixture(scope="session")
def launcher():
    """The module :mod:`launcher`: ``launch(command, n_processes)`` and ``run_one(command, n_devices)``."""
    return _launcher


@pytest.fixture(scope="session")
def worker_runs(tmp_path_factory):
    """The worker (worker.py) on 2 processes x 1 device (interrupted anneal) and on 1 process x 2 devices.

    Returns ``(two_processes, one_process)``: each a ``(Finished, [result dict per process])``.
    """
    script = os.path.join(HERE, "worker.py")
    root = tmp_path_factory.mktemp("distributed")
    runs = []
    for name, start in (
        ("two", lambda out: _launcher.launch([sys.executable, script, out, "--interrupted"], 2, timeout=240)),
        ("one", lambda out: _launcher.run_one([sys.executable, script, out], n_devices=2, timeout=240)),
    ):
        out = root / name
        out.mkdir()
        finished = start(str(out)).check()
        results = []
        for rank in range(len(finished.returncodes)):
            with open(out / f"result_{rank}.json") as f:
                results.append(__import__("json").load(f))
        runs.append((finished, results))
    return tuple(runs)
