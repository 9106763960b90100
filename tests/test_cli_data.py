"""The ``netket-arnn sample`` and ``netket-arnn fit`` commands, run in-process on tiny systems."""

from __future__ import annotations

import json

import numpy as np

import netket_arnn as na
from netket_arnn import cli


def test_sample_writes_a_diagnosed_dataset_and_fit_recovers_couplings(tmp_path, capsys):
    path = tmp_path / "sk8.npz"
    argv = ["sample", "--system", "sk", "--n", "8", "--seed", "2", "--beta", "0.7", "--n-samples", "4000"]
    argv += ["--chains", "16", "--sweeps-per-sample", "3", "--burn-in", "60", "--out", str(path), "--quiet"]
    assert cli.main(argv) == 0
    data = na.BoltzmannDataset.load(path)
    assert data.n_samples == 4000 and data.samples.dtype == np.int8 and data.beta == 0.7
    assert data.passed and data.fingerprint == na.data.instance_sha256(na.sherrington_kirkpatrick(8, seed=2))
    capsys.readouterr()

    out = tmp_path / "fit"
    argv = ["fit", str(path), "--model", "1l", "--epochs", "4", "--batch-size", "400", "--lr", "0.05"]
    argv += ["--plm", "--out", str(out)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "validation" in text and "r_abs" in text and "pseudo-likelihood" in text
    result = json.loads((out / "fit.json").read_text())
    assert len(result["history"]) == 4
    assert result["history"][-1]["validation_nll"] < result["history"][0]["validation_nll"]
    assert result["recovery"]["pseudo-likelihood"]["r_signed"] > 0.9  # 4000 samples of 8 spins
    assert result["recovery"]["maximum likelihood"]["r_signed"] > 0.5
    assert (out / "recovery.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "model.mpack").stat().st_size > 0


def test_sample_reports_failed_diagnostics_loudly(tmp_path, capsys):
    path = tmp_path / "short.npz"
    argv = ["sample", "--system", "cw", "--n", "6", "--beta", "0.5", "--n-samples", "40", "--chains", "8"]
    argv += ["--burn-in", "0", "--out", str(path), "--quiet"]
    assert cli.main(argv) == 0
    assert "FAILED" in capsys.readouterr().err
    with np.load(path) as raw:
        assert int(raw["diagnostics_passed"]) == 0


def test_fit_refuses_a_file_that_is_not_a_dataset(tmp_path, capsys):
    bad = tmp_path / "instance.npz"
    na.save_instance(na.curie_weiss(4), bad)
    assert cli.main(["fit", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "not a netket_arnn dataset" in capsys.readouterr().err
