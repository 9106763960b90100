"""The ``netket-arnn sample`` and ``netket-arnn fit`` commands, run in-process on tiny systems."""

from __future__ import annotations

import json

import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import cli
from netket_arnn.cli import fit as fit_command


@pytest.fixture(scope="module")
def sk8(tmp_path_factory):
    """An equilibrium dataset of an SK instance with N = 8, written by the command."""
    path = tmp_path_factory.mktemp("data") / "sk8.npz"
    argv = ["sample", "--system", "sk", "--n", "8", "--seed", "2", "--beta", "0.7", "--n-samples", "4000"]
    argv += ["--chains", "16", "--sweeps-per-sample", "3", "--burn-in", "60", "--out", str(path), "--quiet"]
    assert cli.main(argv) == 0
    return path, argv


def test_sample_writes_a_diagnosed_dataset_with_its_provenance(sk8, capsys):
    path, argv = sk8
    data = na.BoltzmannDataset.load(path)
    assert data.n_samples == 4000 and data.samples.dtype == np.int8 and data.beta == 0.7
    assert data.passed and data.fingerprint == na.data.instance_sha256(na.sherrington_kirkpatrick(8, seed=2))
    prov = data.metadata["provenance"]
    assert prov["versions"]["netket-arnn"] == na.__version__ and prov["dtype"] == "float64"
    assert data.metadata["system"] == "SK N=8 seed=2"
    # an existing dataset is not replaced without --overwrite
    before = path.read_bytes()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err and path.read_bytes() == before


def test_fit_recovers_couplings_and_describes_its_results(sk8, tmp_path, capsys):
    path, _ = sk8
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
    assert result["precision"] == {"param_dtype": "float64", "dtype": "float32"}
    assert result["optimizer"] == {"name": "adam", "learning_rate": 0.05}
    assert result["model"]["name"] == "1l" and result["provenance"]["versions"]["netket-arnn"] == na.__version__
    assert (result["n_sites"], result["beta"], result["n_samples"]) == (8, 0.7, 4000)
    from PIL import Image

    with Image.open(out / "recovery.png") as png:
        assert png.format == "PNG"
        assert "N = 8" in png.text["Title"] and "β = 0.7" in png.text["Title"] and "M = 4000" in png.text["Title"]
    assert (out / "model.mpack").stat().st_size > 0
    # a second fit into the same folder is refused; --overwrite replaces the fit's files only
    (out / "notes.txt").write_text("mine")
    assert cli.main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    before = (out / "fit.json").read_text()
    assert cli.main([*argv[:5], "2", *argv[6:], "--overwrite", "--quiet"]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "fit.json").read_text() != before
    assert len(json.loads((out / "fit.json").read_text())["history"]) == 2


def test_fit_builds_registry_nets_in_the_precision_asked(sk8, tmp_path, capsys, monkeypatch):
    import jax.numpy as jnp

    from netket_arnn import registry

    path, _ = sk8
    seen, real = [], registry.build_net

    def spy(name, H, beta, **kwargs):
        seen.append((name, kwargs.get("param_dtype"), kwargs.get("dtype"), kwargs.get("couplings_init_scale")))
        return real(name, H, beta, **kwargs)

    monkeypatch.setattr(registry, "build_net", spy)
    monkeypatch.chdir(tmp_path)
    argv = ["fit", str(path), "--model", "made", "--epochs", "1", "--quiet", "--param-dtype", "float32"]
    assert cli.main(argv) == 0
    assert "--model made is deprecated; use --model made_23" in capsys.readouterr().err
    assert seen == [("made_23", jnp.dtype("float32"), jnp.dtype("float32"), None)]
    assert cli.main([*argv[:3], "made_21", *argv[4:]]) == 0
    # no --out: every fit its own folder
    assert json.loads((tmp_path / "results" / "fit" / "fit.json").read_text())["model"]["name"] == "made_23"
    assert json.loads((tmp_path / "results" / "fit-2" / "fit.json").read_text())["model"]["name"] == "made_21"
    # a learned first layer starts from --init-scale
    args = cli.build_parser().parse_args(["fit", "x.npz", "--model", "sk_rs_learned", "--init-scale", "0.02"])
    fit_command.build_model("sk_rs_learned", 8, 0.7, args)
    assert seen[-1] == ("sk_rs_learned", jnp.dtype("float64"), jnp.dtype("float32"), 0.02)


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
