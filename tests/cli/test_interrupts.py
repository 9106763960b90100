"""A real Ctrl-C (SIGINT) to the command at two moments, then the resume command it printed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

COMMAND = [sys.executable, "-c", "import sys; from netket_arnn.cli import main; sys.exit(main())"]
SMALL = ["--n", "10", "--betas", "0.3", "0.6", "--warmup-steps", "10"]
SMALL += ["--n-samples", "64", "--final-samples", "64", "--checkpoint-every", "10", "--no-plot"]


def _env():
    return {**os.environ, "MPLBACKEND": "Agg", "JAX_PLATFORMS": "cpu"}


def _start(argv):
    return subprocess.Popen([*COMMAND, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def _wait_for(condition, proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the moment of the interrupt: {proc.communicate()[1][-2000:]}")
        try:
            if condition():
                return
        except (OSError, ValueError):  # a file not yet there (or being replaced)
            pass
        time.sleep(0.05)
    pytest.fail("the moment of the interrupt never came")


def _interrupt(proc, times=1):
    for _ in range(times):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr.strip().splitlines()[-1]


def _resume(last_line):
    words = shlex.split(last_line.split("resume with: ")[1])
    assert words[:3] == ["netket-arnn", "anneal", "--resume"]
    done = subprocess.run([*COMMAND, *words[1:], "--quiet"], capture_output=True, text=True, env=_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _status(out):
    return json.loads((out / "anneal.json").read_text())["status"]


def test_ctrl_c_during_the_first_compilation_then_resume(tmp_path):
    out = tmp_path / "o"
    proc = _start(["anneal", *SMALL, "--models", "cw_inf", "1p", "--steps-per-beta", "50", "--out", str(out)])
    # "running" is written just before the first model's state is created and compiled
    _wait_for(lambda: _status(out)["cw_inf"] == "running", proc)
    last = _interrupt(proc)
    assert last.startswith("interrupted before any β of cw_inf") and f"--resume {out}" in last
    assert not list(out.rglob("*.tmp"))
    _resume(last)
    data = json.loads((out / "anneal.json").read_text())
    assert data["status"] == {"cw_inf": "finished", "1p": "finished"}
    assert [r["steps"] for r in data["runs"]["1p"]["records"]] == [60, 50]


def test_ctrl_c_after_the_first_beta_then_resume(tmp_path):
    out = tmp_path / "o"
    proc = _start(["anneal", *SMALL, "--models", "cw_inf", "--steps-per-beta", "1000", "--out", str(out)])
    runs = out / "runs" / "cw_inf.json"
    _wait_for(lambda: len(json.loads(runs.read_text())["records"]) >= 1, proc)
    time.sleep(1.0)  # some steps into the second β
    last = _interrupt(proc)
    assert last.startswith("interrupted after β = 0.3 of cw_inf") and f"--resume {out}" in last
    from netket_arnn.driver.checkpoint import load_checkpoint

    progress = load_checkpoint(out / "checkpoints" / "cw_inf.mpack")["progress"]
    assert progress["index"] == 1
    _resume(last)
    data = json.loads((out / "anneal.json").read_text())
    assert data["status"] == {"cw_inf": "finished"}
    assert [r["steps"] for r in data["runs"]["cw_inf"]["records"]] == [1010, 1000]


def test_a_second_ctrl_c_during_shutdown_still_exits_130(tmp_path):
    out = tmp_path / "o"
    proc = _start(["anneal", *SMALL, "--models", "cw_inf", "1p", "--steps-per-beta", "50", "--out", str(out)])
    _wait_for(lambda: _status(out)["cw_inf"] == "running", proc)
    _interrupt(proc, times=2)
    assert _status(out)["1p"] == "pending"  # the settings are there: the folder can be resumed
