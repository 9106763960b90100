"""The netket-arnn command, run in-process on tiny schedules."""

from __future__ import annotations

import json

import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import cli


def test_anneal_command_writes_json_and_png(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["anneal", "--system", "cw", "--n", "8", "--models", "1p", "cw_n", "--betas", "0.5", "1.0"]
    argv += ["--steps-per-beta", "3", "--warmup-steps", "2", "--n-samples", "64", "--final-samples", "128"]
    argv += ["--out", str(out)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "rel.err" in text and "summary" in text
    data = json.loads((out / "anneal.json").read_text())
    assert data["betas"] == [0.5, 1.0]
    assert set(data["runs"]) == {"1p", "cw_n"}
    assert [r["steps"] for r in data["runs"]["1p"]["records"]] == [5, 3]
    assert [r["steps"] for r in data["runs"]["cw_n"]["records"]] == [0, 0]
    for run in data["runs"].values():
        for r, beta in zip(run["records"], [0.5, 1.0]):
            exact = na.exact.curie_weiss(8, beta).free_energy
            assert r["exact_free_energy"] == pytest.approx(exact, rel=1e-14)
            assert r["relative_error"] == pytest.approx(abs(r["free_energy"] - exact) / abs(exact))
    # CW_N is exact at every β: its relative error is round-off
    assert data["summary"]["cw_n"]["max_relative_error"] < 1e-12
    png = (out / "anneal.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_no_argument_runs_the_default_anneal_job(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "_anneal", lambda args: calls.append(args) or 0)
    assert cli.main([]) == 0
    assert cli.main(["--n", "30"]) == 0  # options without a subcommand also go to the default job
    default, sized = calls
    assert default.command == "anneal" and default.system == "cw" and default.n is None
    assert default.models is None  # -> cw_n cw_inf 1p on Curie–Weiss
    assert sized.n == 30


def test_systems_from_the_command_line(tmp_path):
    parser = cli.build_parser()
    H, label = cli.build_system(parser.parse_args(["anneal", "--system", "sk", "--n", "12", "--seed", "3"]))
    np.testing.assert_array_equal(H.couplings, na.sherrington_kirkpatrick(12, seed=3).couplings)
    assert "SK" in label
    H, _ = cli.build_system(parser.parse_args(["anneal", "--system", "ea", "--lattice", "3", "4", "--pbc"]))
    assert H.n_sites == 12 and H.is_sparse and H.n_edges == 24
    path = tmp_path / "inst.npz"
    na.save_instance(na.sherrington_kirkpatrick(6, seed=1), path)
    H, _ = cli.build_system(parser.parse_args(["anneal", "--system", "file", "--instance", str(path)]))
    np.testing.assert_array_equal(H.couplings, na.sherrington_kirkpatrick(6, seed=1).couplings)
    with pytest.raises(SystemExit):
        cli.build_system(parser.parse_args(["anneal", "--system", "file"]))
    with pytest.raises(SystemExit):
        cli.main(["anneal", "--models", "nope", "--n", "4", "--out", str(tmp_path / "x")])


def test_reference_command(capsys):
    assert cli.main(["reference", "--n", "20", "--betas", "0.5"]) == 0
    out = capsys.readouterr().out
    assert f"{na.exact.curie_weiss(20, 0.5).free_energy:14.8f}" in out
