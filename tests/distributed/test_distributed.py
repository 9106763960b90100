"""The package on JAX's distributed runtime: 2 processes give what 1 process with 2 devices gives.

Every check starts real processes on 127.0.0.1 (``launcher.py``): the worker (``worker.py``) runs
VariationalFreeEnergy, anneal (P(q), unbiased ARNN-proposal samples, a results file, a checkpoint
and a resume), MaximumLikelihood and sample_boltzmann on CW_8, once on 2 processes x 1 device and
once on 1 process x 2 forced host devices. With the same seeds both layouts hold the same
devices, draw the same random numbers and reduce over the same shards, so the results must be
*identical*, not only statistically compatible; the processes of one run must agree exactly
with each other. Then the command line (``NETKET_ARNN_DISTRIBUTED=1 netket-arnn anneal``) on 2
processes, killed and resumed, and the runnable example ``examples/multiprocess.py``.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYOUT_FREE = {"seconds", "process_count", "writes", "n_writes"}  # what may differ between runs


def _strip(result: dict, *free) -> dict:
    return {k: v for k, v in result.items() if k not in LAYOUT_FREE | set(free)}


def test_processes_agree_with_each_other(worker_runs):
    (two, (p0, p1)), _ = worker_runs
    assert p0["process_count"] == p1["process_count"] == 2
    assert p0["device_count"] == 2 and p0["sample_shards"] == 2  # the samples span both processes
    assert _strip(p0) == _strip(p1)


def test_two_processes_equal_one_process_with_two_devices(worker_runs):
    (_, (p0, _)), (_, (single,)) = worker_runs
    assert single["process_count"] == 1 and single["device_count"] == 2
    # the 2-process run was interrupted after its first β and resumed; the 1-process run was not
    assert _strip(p0) == _strip(single)


def test_results_are_physical(worker_runs):
    (_, (p0, _)), _ = worker_runs
    records = p0["anneal"]
    assert [r["beta"] for r in records] == [0.5, 0.7] == p0["anneal_file_betas"]
    for r in records:
        assert r["relative_error"] < 0.05  # f[q] >= f, and close after a short training on CW_8
        assert r["free_energy"] >= r["exact_free_energy"] - 5 * r["free_energy_error"]
        assert 0 < r["distinct_fraction"] <= 1
        pq = r["extra"]["overlaps"]
        assert abs(sum(pq["probability"]) - 1) < 1e-12 and pq["n_samples"] > 0
        unbiased = r["extra"]["unbiased"]
        assert 0 < unbiased["acceptance"] <= 1 and unbiased["n_samples"] == 128
    assert p0["mc_digest"] == p0["mc_loaded_digest"]  # the dataset process 0 wrote, as every process read it
    assert 0 < p0["mc_acceptance"] <= 1


def test_files_are_written_once_by_process_zero(worker_runs):
    (_, (p0, p1)), _ = worker_runs
    assert p1["writes"] == [] and p1["n_writes"] == 0
    assert p0["writes"] == ["anneal.json", "anneal.mpack", "mc.npz"]
    mask = os.umask(0)
    os.umask(mask)
    for name, mode in p0["modes"].items():
        assert int(mode, 8) == 0o666 & ~mask, f"{name} has mode {mode}"


def test_no_sharding_warnings(worker_runs):
    (two, _), (one, _) = worker_runs
    for text in two.outputs + one.outputs:
        assert "not sharded across devices" not in text
        assert "NETKET_EXPERIMENTAL" not in text


def _cli(*args) -> list[str]:
    return [sys.executable, "-c", "import sys; from netket_arnn.cli import main; sys.exit(main())", *args]


@pytest.mark.slow  # ~40 s; the library's runs, files and resume on 2 processes: test_processes_agree_with_each_other
def test_cli_anneal_on_two_processes_resumes_after_a_kill(launcher, tmp_path):
    out = tmp_path / "run"
    run = out / "runs" / "cw_inf.json"
    env = {"NETKET_ARNN_DISTRIBUTED": "1"}
    args = ["anneal", "--n", "8", "--models", "cw_inf", "--betas", "0.3", "0.5", "0.7", "--steps-per-beta", "30"]
    args += ["--warmup-steps", "0", "--n-samples", "64", "--final-samples", "64", "--checkpoint-every", "5"]
    args += ["--no-plot", "--quiet", "--out", str(out)]

    def one_beta_done(outputs):
        try:
            return len(json.loads(run.read_text())["records"]) >= 1
        except (OSError, ValueError, KeyError):
            return False

    first = launcher.launch(_cli(*args), 2, timeout=120, extra_env=env, kill_when=one_beta_done)
    assert any(code != 0 for code in first.returncodes), "the run finished before it could be killed"
    before = json.loads(run.read_text())["records"]
    assert 1 <= len(before) < 3, first.report()
    resumed = launcher.launch(
        _cli("anneal", "--resume", str(out), "--no-plot", "--quiet"), 2, timeout=120, extra_env=env
    ).check()
    # the two processes joined one job (each alone would also finish, racing on the same files)
    assert all("connected to 1 peer ranks" in text for text in resumed.outputs), resumed.report()
    result = json.loads((out / "anneal.json").read_text())
    assert result["status"] == {"cw_inf": "finished"}, resumed.report()
    records = result["runs"]["cw_inf"]["records"]
    assert [r["beta"] for r in records] == [0.3, 0.5, 0.7]
    assert records[: len(before)] == before  # the records saved before the kill are kept as they were
    for r in records:
        assert r["relative_error"] < 0.05
    assert stat.S_IMODE((out / "anneal.json").stat().st_mode) & 0o044 == 0o044  # readable by others


@pytest.mark.slow  # ~35 s; the library calls it makes are checked in test_processes_agree_with_each_other
def test_multiprocess_example(launcher, tmp_path):
    out = tmp_path / "example"
    finished = launcher.launch(
        [sys.executable, str(ROOT / "examples" / "multiprocess.py"), "--smoke", "--out", str(out)], 2, timeout=300
    ).check()
    lines = [
        json.loads(line.split("RESULT ", 1)[1])
        for text in finished.outputs
        for line in text.splitlines()
        if line.startswith("RESULT ")
    ]
    assert len(lines) == 2 and lines[0] == lines[1]  # both processes report the same numbers
    assert lines[0]["process_count"] == 2
    result = json.loads((out / "multiprocess.json").read_text())
    assert result["process_count"] == 2 and np.isfinite(result["records"][-1]["free_energy"])
    assert (out / "multiprocess.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the figure, from process 0


def test_atomic_write_gives_a_new_file_the_default_mode(tmp_path):
    # One process (this one): the file is written here, with the mode open() gives, not mkstemp's 0600.
    from netket_arnn._io import atomic_write

    path = tmp_path / "sub" / "x.bin"
    atomic_write(path, lambda f: f.write(b"abc"))
    mask = os.umask(0)
    os.umask(mask)
    assert path.read_bytes() == b"abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in path.parent.iterdir()] == ["x.bin"]  # no temporary file left
