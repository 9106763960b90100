"""The netket-arnn command, run in-process on tiny schedules (the real Ctrl-C tests are in tests/cli/)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import cli, models, registry
from netket_arnn.cli import anneal as anneal_command
from netket_arnn.cli import fit as fit_command

TINY = [
    "--protocol",
    "paper",
    "--lr",
    "1e-2",
    "--steps-per-beta",
    "3",
    "--warmup-steps",
    "2",
    "--n-samples",
    "64",
    "--final-samples",
    "128",
    "--quiet",
]


def _main(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _records(run):
    """A model's records without their wall-clock times (everything else is deterministic)."""
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in run["records"]]


def test_anneal_command_writes_json_and_png(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["anneal", "--system", "cw", "--n", "8", "--models", "1p", "cw_n", "--betas", "0.5", "1.0", *TINY[:-1]]
    code, text, _ = _main([*argv, "--out", str(out)], capsys)
    assert code == 0
    assert "rel.err" in text and "summary" in text
    assert text.count("rel.err") == 2  # one table header per model: the table is printed once
    # each trained net's line states the training (CW_N, exact, has none)
    assert (
        "; protocol " in text.split("== 1p:")[1].split("\n")[0]
        and "; protocol" not in text.split("== cw_n:")[1].split("\n")[0]
    )
    data = json.loads((out / "anneal.json").read_text())  # strict JSON: no NaN tokens
    assert data["betas"] == [0.5, 1.0] and data["status"] == {"1p": "finished", "cw_n": "finished"}
    assert set(data["runs"]) == {"1p", "cw_n"}
    assert [r["steps"] for r in data["runs"]["1p"]["records"]] == [5, 3]
    assert [r["steps"] for r in data["runs"]["cw_n"]["records"]] == [0, 0]
    for run in data["runs"].values():
        for r, beta in zip(run["records"], [0.5, 1.0]):
            exact = na.exact.curie_weiss_closed_form(8, beta)
            assert r["exact_free_energy"] == pytest.approx(exact.free_energy, rel=1e-14)
            assert r["exact_entropy"] == pytest.approx(exact.entropy, rel=1e-14)
            assert r["relative_error"] == pytest.approx(
                abs(r["free_energy"] - exact.free_energy) / abs(exact.free_energy)
            )
            assert r["n_samples"] == 128  # --final-samples, not --n-samples
    # CW_N is exact at every β: its relative error is round-off of the float32 arithmetic
    assert data["summary"]["cw_n"]["max_relative_error"] < 1e-6
    # per spin unless the name says otherwise: log Z total, ESS beside ESS/M
    last = data["summary"]["cw_n"]["last"]
    exact = na.exact.curie_weiss_closed_form(8, 1.0)
    assert last["log_z_total"] == pytest.approx(exact.log_z, rel=1e-6)
    assert last["free_energy"] == pytest.approx(exact.free_energy, rel=1e-6)
    assert last["ess"] == pytest.approx(last["ess_fraction"] * last["n_samples"])
    # the optimizer's settings as plain values, the precision and the provenance
    assert data["optimizer"] == {"name": "adam", "learning_rate": 1e-2}
    assert data["runs"]["1p"]["metadata"]["optimizer_name"] == "adam"
    assert data["runs"]["1p"]["metadata"]["learning_rate"] == 1e-2
    assert data["precision"] == {"param_dtype": "float64", "dtype": "float32"}
    assert data["runs"]["1p"]["metadata"]["param_dtype"] == "float64"
    assert data["runs"]["1p"]["metadata"]["dtype"] == "float32"
    prov = data["provenance"]
    assert prov["versions"]["netket-arnn"] == na.__version__ and prov["param_dtype"] == "float64"
    assert data["system"]["beta_c"] == 1.0  # Curie–Weiss, J = 1
    assert na.driver.load_results(out / "runs" / "1p.json")["1p"][1].beta == 1.0
    assert sorted(os.listdir(out / "checkpoints")) == ["1p.mpack", "cw_n.mpack"]
    from PIL import Image

    with Image.open(out / "anneal.png") as png:
        assert png.format == "PNG" and png.size[0] > 500
        assert "Curie–Weiss N=8" in png.text["Title"]
        assert json.loads(png.text["Description"])["versions"]["netket-arnn"] == na.__version__


def test_no_argument_runs_the_default_anneal_job(monkeypatch):
    calls = []
    monkeypatch.setattr(anneal_command, "run", lambda args: calls.append(args) or 0)
    assert cli.main([]) == 0
    assert cli.main(["--n", "30"]) == 0  # options without a subcommand also go to the default job
    default, sized = calls
    assert default.command == "anneal" and default.system == "cw" and default.n is None
    assert default.models is None and anneal_command.DEFAULT_MODELS["cw"] == ["cw_n", "cw_inf", "1p"]
    assert default.out is None and default.param_dtype == "float64" and default.dtype == "float32"
    assert sized.n == 30


def test_protocol_is_the_adaptive_default_with_single_values_changed(tmp_path, capsys):
    parser = cli.build_parser()
    args = parser.parse_args(["anneal"])
    assert args.protocol == "adaptive" and anneal_command.protocol_of(args) is na.driver.ADAPTIVE
    changed = anneal_command.protocol_of(
        parser.parse_args(["anneal", "--protocol", "paper", "--steps-per-beta", "7", "--lr", "0.02", "--window", "0"])
    )
    assert changed.name == "paper (modified)" and changed.max_steps == 7 and changed.learning_rate == 0.02
    assert changed.warmup_steps == na.driver.PAPER.warmup_steps and changed.convergence is None
    windowed = anneal_command.protocol_of(parser.parse_args(["anneal", "--window", "5"]))
    assert windowed.convergence.window == 5 and windowed.settle_steps == na.driver.ADAPTIVE.settle_steps
    settled = anneal_command.protocol_of(parser.parse_args(["anneal", "--settle-steps", "300"]))
    assert settled.settle_steps == 300 and settled.max_steps == na.driver.ADAPTIVE.max_steps
    carried = anneal_command.protocol_of(parser.parse_args(["anneal", "--protocol", "settled", "--extrapolate", "0.5"]))
    assert carried.extrapolate_start == 0.5 and carried.settle_steps == na.driver.SETTLED.settle_steps
    later = ["anneal", "--protocol", "settled", "--beyond", "1.0", "learning_rate=3e-3", "extrapolate_start=1"]
    later = anneal_command.protocol_of(parser.parse_args([*later, "--beyond", "1.5", "max_steps=40"]))
    assert later.at(0.95) == na.driver.SETTLED.replace(name=later.name)
    assert (later.at(1.2).learning_rate, later.at(1.2).extrapolate_start, later.at(1.2).max_steps) == (3e-3, 1.0, 27)
    assert later.at(1.5).max_steps == 40 and later.at(1.5).learning_rate == 3e-3
    slower = ["anneal", "--protocol", "settled", "--beyond", "1.0", "retreat=0.25", "--beyond", "1.5", "retreat=0"]
    slower = anneal_command.protocol_of(parser.parse_args(slower))  # as --retreat: the factor, 0 for none
    assert slower.at(0.95).retreat is None and slower.at(1.2).retreat == na.driver.Retreat(factor=0.25)
    assert slower.at(1.5).retreat is None
    for words, message in [
        (["1.0"], "needs BETA NAME=VALUE"),
        (["1.0", "optimizer=sgd"], "not one of the per-β fields"),
        (["1.0", "max_steps=2.5"], "max_steps must be an integer"),
        (["-1", "max_steps=2"], "BETA"),
        (["1.0", "min_steps=500"], "min_steps"),
        (["1.0", "retreat=2"], "factor must be in"),
    ]:
        with pytest.raises(SystemExit, match=message):
            anneal_command.protocol_of(parser.parse_args(["anneal", "--protocol", "settled", "--beyond", *words]))
    # the run records the protocol it used, and uses it
    out = tmp_path / "p"
    argv = ["anneal", "--n", "6", "--models", "1p", "--betas", "0.5", "1.0", "--n-samples", "32"]
    argv += ["--final-samples", "64", "--quiet", "--no-plot", "--steps-per-beta", "4", "--warmup-steps", "1"]
    assert _main([*argv, "--out", str(out)], capsys)[0] == 0
    data = json.loads((out / "anneal.json").read_text())
    used = anneal_command.protocol_of(parser.parse_args(argv))
    assert data["protocol"] == json.loads(json.dumps(used.settings()))
    assert data["runs"]["1p"]["metadata"]["protocol"]["name"] == "adaptive (modified)"
    steps = [r["steps"] for r in data["runs"]["1p"]["records"]]
    assert steps == [1 + 4 + used.settle_steps, 4 + used.settle_steps]  # window 20 > 4 steps: never converged
    # a change from a β on reaches the run
    out = tmp_path / "q"
    assert _main([*argv, "--beyond", "1.0", "max_steps=2", "batch_factor=0.5", "--out", str(out)], capsys)[0] == 0
    data = json.loads((out / "anneal.json").read_text())
    steps = [r["steps"] for r in data["runs"]["1p"]["records"]]
    assert steps == [1 + 4 + used.settle_steps, 2 + used.settle_steps]
    assert [r["training_samples"] for r in data["runs"]["1p"]["records"]] == [32 * steps[0], 16 * steps[1]]
    assert [r["n_samples"] for r in data["runs"]["1p"]["records"]] == [64, 64]
    assert data["protocol"]["beyond"] == [{"beta": 1.0, "max_steps": 2, "batch_factor": 0.5}]


def test_nets_train_with_their_own_settings_under_the_adaptive_protocol_only():
    parser = cli.build_parser()
    frontier, rs = na.get_net("frontier"), na.get_net("sk_rs_sparse")
    assert frontier.training == {"learning_rate": 1e-2, "retreat": 0.1, "local_balance": 0.01}
    assert rs.training == {}

    def training(*options):
        args = parser.parse_args(["anneal", *options])
        return {net.name: anneal_command.net_training(args, net) for net in (frontier, rs)}

    default = training()
    assert default["frontier"][0] == na.driver.ADAPTIVE.replace(
        name="adaptive (modified)", learning_rate=1e-2, retreat=na.driver.Retreat(factor=0.1)
    )
    assert default["frontier"][1] == 0.01
    assert default["sk_rs_sparse"] == (na.driver.ADAPTIVE, 0.0)
    given = training("--lr", "0.005", "--local-balance", "0")  # the options win
    assert given["frontier"][0].learning_rate == 0.005 and given["frontier"][1] == 0.0
    assert given["sk_rs_sparse"][0].learning_rate == 0.005
    assert given["frontier"][0].retreat == na.driver.Retreat(factor=0.1)  # --lr leaves the net's retreat
    off = training("--retreat", "0")
    assert off["frontier"][0].retreat is None and off["frontier"][0].learning_rate == 1e-2
    slower = training("--retreat", "0.25")
    assert slower["frontier"][0].retreat.factor == 0.25 and slower["sk_rs_sparse"][0].retreat.factor == 0.25
    with pytest.raises(SystemExit):
        parser.parse_args(["anneal", "--retreat", "1"])
    balanced = training("--local-balance", "0.3")
    assert balanced["frontier"] == (default["frontier"][0], 0.3) and balanced["sk_rs_sparse"][1] == 0.3
    for name, protocol in (("paper", na.driver.PAPER), ("natural", na.driver.NATURAL)):  # their own values
        assert training("--protocol", name)["frontier"] == (protocol, 0.0)
    args = parser.parse_args(["anneal"])
    assert anneal_command._optimizer_settings(args, na.driver.ADAPTIVE, ["frontier", "sk_rs_sparse"]) == {
        "name": "adam",
        "learning_rate": 1e-3,
        "nets": {"frontier": 1e-2},
    }
    bad_settings = (
        {"momentum": 0.9},
        {"learning_rate": 0.0},
        {"retreat": 1.0},
        {"local_balance": -1.0},
        {"local_balance": float("nan")},
    )
    for bad in bad_settings:
        with pytest.raises(ValueError, match="training of net 'mine'"):
            na.Net("mine", "Mine", "a net", lambda H, beta, **kw: None, training=bad)
    with pytest.raises(TypeError, match="training of net 'mine': local_balance must be a real number"):
        na.Net("mine", "Mine", "a net", lambda H, beta, **kw: None, training={"local_balance": True})


def test_natural_protocol_takes_sr_from_the_protocol_and_its_shift_from_sr():
    parser = cli.build_parser()
    natural = anneal_command.protocol_of(parser.parse_args(["anneal", "--protocol", "natural"]))
    assert natural is na.driver.NATURAL  # --optimizer's default is the protocol's (sgd), not adam
    same = anneal_command.protocol_of(parser.parse_args(["anneal", "--protocol", "natural", "--optimizer", "sgd"]))
    assert same is na.driver.NATURAL  # naming the protocol's own optimizer changes nothing
    args = parser.parse_args(["anneal", "--protocol", "natural", "--sr", "0.001"])
    shifted = anneal_command.protocol_of(args)
    assert shifted.diag_shift == 0.001 and shifted.preconditioner == "sr"
    assert anneal_command.preconditioner_settings(args, shifted)["diag_shift"] == 0.001
    plain = parser.parse_args(["anneal", "--sr", "0.01"])
    assert anneal_command.protocol_of(plain).preconditioner is None
    assert anneal_command.preconditioner_settings(plain, anneal_command.protocol_of(plain)) == {
        "name": "SR",
        "diag_shift": 0.01,
    }
    with pytest.raises(SystemExit, match="optimizer='sgd'"):
        anneal_command.protocol_of(parser.parse_args(["anneal", "--protocol", "natural", "--optimizer", "adam"]))


@pytest.mark.parametrize("argv", [["--help"], ["anneal", "--help"], ["reference", "--help"], ["fit", "--help"]])
def test_help_shows_the_defaults(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and ":meth:" not in text  # no reStructuredText markup
    if argv[0] == "anneal":
        flat = " ".join(text.split())  # argparse wraps the help text anywhere
        for shown in ("(default: adaptive)", "(default: 50)", "(default: cw)"):
            assert shown in flat, shown
        for name, p in (("adaptive", na.driver.ADAPTIVE), ("paper", na.driver.PAPER), ("natural", na.driver.NATURAL)):
            for value in (p.max_steps, p.warmup_steps, p.learning_rate, p.optimizer):
                shown = f"{value:g} {name}" if not isinstance(value, str) else f"{value} {name}"
                assert shown in flat, (name, value)
        assert "(default: None)" not in text
    if argv[0] in ("anneal", "fit"):
        assert "--param-dtype {float64,float32}" in text and "(default: float64)" in text
        assert "(default: float32)" in text and "Changed meaning" in " ".join(text.split())
        assert "--plugin MODULE" in text
    if argv[0] == "anneal":
        assert "CRC-32" in " ".join(text.split())  # how each model's seeds are derived
    elif argv[0] == "reference":
        assert "--system" in text and "enumeration" in text
    elif argv[0] == "--help":
        assert "anneal" in text and "reference" in text and "130" in text


def test_first_contact_imports_neither_jax_nor_netket():
    # --help, a sub-command's --help and an argparse error must be instant: nothing heavy imported.
    script = (
        "import sys\n"
        "from netket_arnn.cli import main\n"
        "for argv in (['--help'], ['anneal', '--help'], ['fit', '--help'], ['anneal', '--models', 'nope']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in ('jax', 'netket', 'flax', 'optax', 'matplotlib') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in done.stderr, done.stderr[-2000:]
    assert "invalid choice: 'nope'" in done.stderr


def test_models_come_from_the_registry(capsys):
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    models_action = next(a for a in commands["anneal"]._actions if a.dest == "models")
    assert list(models_action.choices) == registry.net_names()
    fit_action = next(a for a in commands["fit"]._actions if a.dest == "model")
    offered = [name for name in fit_action.choices if name not in fit_command.DEPRECATED_MODELS]
    assert offered == [
        n for n in registry.net_names() if registry.get_net(n).learned_couplings or n.startswith("made_")
    ]
    assert {"1l", "sk_1rsb_learned", "made_23"} <= set(offered) and "sk_1rsb" not in offered
    assert fit_command.model_name("made") == "made_23"  # the old name, with a warning
    assert "deprecated" in capsys.readouterr().err
    H = na.sherrington_kirkpatrick(6, seed=1)
    made = registry.build_net("made_32", H, 0.5)
    assert made.activation is models.paper_activation and made.layers == 3
    for name in anneal_command.DEFAULT_MODELS["sk"]:
        registry.build_net(name, H, 0.5)
    assert anneal_command.DEFAULT_MODELS["sk"][:4] == ["sk_rs", "sk_1rsb", "sk_2rsb", "1l"]


def test_precision_flags_reach_every_build(tmp_path, capsys, monkeypatch):
    import jax.numpy as jnp

    from netket_arnn.driver.checkpoint import load_checkpoint

    seen, real = [], registry.build_net

    def spy(name, H, beta, **kwargs):
        seen.append((name, kwargs["param_dtype"], kwargs["dtype"]))
        return real(name, H, beta, **kwargs)

    monkeypatch.setattr(registry, "build_net", spy)
    out = tmp_path / "o"
    argv = ["anneal", "--n", "6", "--models", "1p", "--betas", "0.5", *TINY, "--no-plot", "--out", str(out)]
    code, _, err = _main([*argv, "--param-dtype", "float32", "--dtype", "float64"], capsys)
    assert code == 0, err
    assert seen == [("1p", jnp.dtype("float32"), jnp.dtype("float64"))]
    data = json.loads((out / "anneal.json").read_text())
    assert data["precision"] == {"param_dtype": "float32", "dtype": "float64"}
    saved = load_checkpoint(out / "checkpoints" / "1p.mpack")
    assert json.loads(saved["metadata"])["param_dtype"] == "float32"
    leaves = [v for v in _leaves(saved["driver"]) if isinstance(v, np.ndarray) and v.shape == (6,)]
    assert leaves and all(v.dtype == np.float32 for v in leaves)  # 1P: one float32 weight per site (and Adam's)


def _leaves(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _leaves(value)
    else:
        yield tree


def test_plugin_nets_are_usable_by_name(tmp_path, capsys):
    plugin = tmp_path / "my_nets.py"
    plugin.write_text(
        "import netket_arnn as na\n"
        "def build(H, beta, *, param_dtype, dtype):\n"
        "    from netket_arnn.models import SingleLayerARNN\n"
        "    return SingleLayerARNN.from_hamiltonian(H, beta, param_dtype=param_dtype, dtype=dtype)\n"
        "na.register_net(na.Net('my_1l', 'My1L', 'a user net: one masked layer', build), overwrite=True)\n"
    )
    out = tmp_path / "o"
    argv = ["anneal", "--plugin", str(plugin), "--n", "6", "--models", "my_1l", "--betas", "0.5", *TINY]
    code, _, err = _main([*argv, "--no-plot", "--out", str(out)], capsys)
    assert code == 0, err
    data = json.loads((out / "anneal.json").read_text())
    assert data["status"] == {"my_1l": "finished"} and data["plugins"] == [str(plugin)]
    assert data["runs"]["my_1l"]["metadata"]["label"] == "My1L"
    code, _, err = _main(["anneal", "--plugin", str(tmp_path / "missing.py"), "--models", "1l"], capsys)
    assert code == 2 and "missing.py" in err and err.count("\n") == 1


def test_an_existing_run_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["anneal", "--n", "6", "--models", "cw_n", "--betas", "0.5", *TINY, "--no-plot", "--out", str(out)]
    assert _main(argv, capsys)[0] == 0
    (out / "notes.txt").write_text("mine")
    (out / "checkpoints" / "stale.mpack").write_bytes(b"old")
    before = (out / "anneal.json").read_text()
    code, _, err = _main(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and "--overwrite" in err and "Traceback" not in err
    assert (out / "anneal.json").read_text() == before
    # marks the earlier run's results (two runs within one second have the same provenance)
    (out / "anneal.json").write_text(json.dumps({**json.loads(before), "earlier": True}))
    code, _, err = _main([*argv, "--overwrite"], capsys)
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "mine"  # not the run's: kept
    assert not (out / "checkpoints" / "stale.mpack").exists()  # the old run's: cleared
    data = json.loads((out / "anneal.json").read_text())
    assert "earlier" not in data and data["status"] == {"cw_n": "finished"}  # written again by this run


def test_the_default_folder_is_new_for_every_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--n", "6", "--models", "cw_n", "--betas", "0.5", *TINY[:-1], "--no-plot"]
    outputs = []
    for _ in range(2):
        code, text, err = _main(argv, capsys)
        assert code == 0, err
        outputs.append(text)
    first, second = (os.path.join("results", "anneal"), os.path.join("results", "anneal-2"))
    assert f"output: {first}" in outputs[0] and f"output: {second}" in outputs[1]
    assert (tmp_path / first / "anneal.json").exists() and (tmp_path / second / "anneal.json").exists()


def test_a_models_result_does_not_depend_on_its_place_in_models(tmp_path, capsys):
    runs = {}
    for models_ in (["1l"], ["cw_inf", "1l"]):
        out = tmp_path / "-".join(models_)
        argv = ["anneal", "--n", "6", "--models", *models_, "--betas", "0.5", "0.8", *TINY, "--no-plot"]
        assert _main([*argv, "--init-seed", "3", "--out", str(out)], capsys)[0] == 0
        runs[len(models_)] = json.loads((out / "anneal.json").read_text())
    alone, second = runs[1], runs[2]
    assert _records(alone["runs"]["1l"]) == _records(second["runs"]["1l"])  # bit for bit
    assert alone["seeds"]["1l"] == second["seeds"]["1l"] == anneal_command.model_seeds("1l", 3)
    assert second["seeds"]["cw_inf"] != second["seeds"]["1l"]
    assert anneal_command.model_seeds("1l", 4) != anneal_command.model_seeds("1l", 3)


def test_systems_from_the_command_line(tmp_path):
    parser = cli.build_parser()
    H, label = anneal_command.build_system(parser.parse_args(["anneal", "--system", "sk", "--n", "12", "--seed", "3"]))
    np.testing.assert_array_equal(H.couplings, na.sherrington_kirkpatrick(12, seed=3).couplings)
    assert "SK" in label and anneal_command.critical_beta(H) == 1.0
    H, _ = anneal_command.build_system(parser.parse_args(["anneal", "--system", "ea", "--lattice", "3", "4", "--pbc"]))
    assert H.n_sites == 12 and H.is_sparse and H.n_edges == 24
    assert anneal_command.critical_beta(H) is None
    assert anneal_command.critical_beta(na.curie_weiss(10, J=2.0)) == 0.5
    path = tmp_path / "inst.npz"
    na.save_instance(na.sherrington_kirkpatrick(6, seed=1), path)
    H, _ = anneal_command.build_system(parser.parse_args(["anneal", "--system", "file", "--instance", str(path)]))
    np.testing.assert_array_equal(H.couplings, na.sherrington_kirkpatrick(6, seed=1).couplings)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--system", "file"], "--instance"),
        (["--system", "file", "--instance", "missing.npz"], "missing.npz"),
        (["--system", "sk", "--n", "6", "--models", "cw_inf"], "Curie"),
        (["--n", "6", "--betas", "0.5", "0.4", "0.6"], "strictly"),
        (["--system", "sk", "--n", "30", "--models", "h2"], "H2ARNN"),
        (["--patience", "5"], "--patience is gone"),
        (["--window", "1"], "window must be >= 2"),
    ],
)
def test_domain_errors_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = _main(["anneal", *argv, "--out", str(out), "--quiet"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert err.startswith("netket-arnn anneal: error: ")
    assert not out.exists()  # bad input leaves nothing behind: the same --out can be used at once


@pytest.mark.parametrize(
    "argv", [["--lattice", "0"], ["--n", "0"], ["--n-samples", "1"], ["--lr", "nan"], ["--local-balance", "-1"]]
)
def test_bad_numbers_are_refused_by_argparse(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["anneal", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: argument" in err


def _run_printed(command: str, capsys, *extra):
    """Run a command line printed by netket-arnn, as a user would paste it."""
    words = shlex.split(command)
    assert words[0] == "netket-arnn"
    return _main([*words[1:], *extra], capsys)


def test_interrupt_then_resume_with_every_setting(tmp_path, capsys, monkeypatch):
    # Non-default settings that change the numbers: the resumed run must take all of them from the folder.
    settings = ["--init-seed", "5", "--lr", "0.03", "--param-dtype", "float32", "--n-samples", "32"]
    base = ["anneal", "--n", "8", "--models", "cw_inf", "1p", "--betas", "0.4", "0.8", *TINY, *settings]
    import netket_arnn.driver.annealing as protocol

    whole = tmp_path / "whole"
    assert _main([*base, "--no-plot", "--out", str(whole)], capsys)[0] == 0

    out = tmp_path / "o"
    argv = [*base, "--out", str(out)]
    real, calls = protocol.estimate, []

    def interrupted_on_second(*args, **kwargs):  # the estimates of cw_inf's second β
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(protocol, "estimate", interrupted_on_second)
    code, _, err = _main(argv, capsys)
    assert code == 130
    assert err.startswith(f"interrupted after β = 0.4 of cw_inf; results so far in {out / 'anneal.json'}")
    resume = err.strip().split("resume with: ")[1]
    assert resume == f"netket-arnn anneal --resume {out}"
    partial = json.loads((out / "anneal.json").read_text())
    assert partial["status"] == {"cw_inf": "running", "1p": "pending"}
    assert len(partial["runs"]["cw_inf"]["records"]) == 1
    monkeypatch.setattr(protocol, "estimate", real)

    code, _, err = _main(argv, capsys)  # a fresh run would overwrite the unfinished one
    assert code == 2 and f"--resume {out}" in err
    code, _, err = _main(["anneal", "--resume", str(out), "--lr", "0.5"], capsys)
    assert code == 2 and "do not pass --lr" in err

    code, _, err = _run_printed(resume, capsys, "--quiet", "--no-plot")
    assert code == 0, err
    done = json.loads((out / "anneal.json").read_text())
    reference = json.loads((whole / "anneal.json").read_text())
    assert done["status"] == {"cw_inf": "finished", "1p": "finished"}
    assert done["runs"]["cw_inf"]["records"][0] == partial["runs"]["cw_inf"]["records"][0]  # kept
    for name in ("cw_inf", "1p"):  # the same numbers as the run never interrupted
        assert _records(done["runs"][name]) == _records(reference["runs"][name]), name
    assert done["settings"] == reference["settings"] | {"out": str(out)}


def test_interrupt_before_any_model_is_built_leaves_a_resumable_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    argv = ["anneal", "--n", "6", "--models", "cw_n", "--betas", "0.5", *TINY, "--no-plot", "--out", str(out)]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(anneal_command, "build_system", interrupted)
    code, _, err = _main(argv, capsys)
    assert code == 130 and err.count("\n") == 1 and "before any β" in err
    pending = json.loads((out / "anneal.json").read_text())
    assert pending["status"] == {"cw_n": "pending"} and pending["settings"]["n"] == 6
    monkeypatch.undo()
    code, _, err = _run_printed(err.strip().split("resume with: ")[1], capsys, "--quiet")
    assert code == 0, err
    assert json.loads((out / "anneal.json").read_text())["status"] == {"cw_n": "finished"}


def test_divergence_exits_1_with_the_message(tmp_path, capsys, monkeypatch):
    import netket_arnn.driver.free_energy as fe

    monkeypatch.setattr(fe, "non_finite", lambda value, grad: "free energy")
    code, _, err = _main(
        ["anneal", "--n", "6", "--models", "1p", "--betas", "0.5", *TINY, "--out", str(tmp_path / "o")], capsys
    )
    assert code == 1
    assert "1p: the free energy is not finite" in err and "at step 0 (β = 0.5)" in err and err.count("\n") == 1


def test_reference_command(capsys):
    assert cli.main(["reference", "--n", "20", "--betas", "0.5"]) == 0
    out = capsys.readouterr().out
    assert f"{na.exact.curie_weiss_closed_form(20, 0.5).free_energy:14.8f}" in out


def test_reference_of_a_finite_sk_instance_is_exact(capsys):
    # Against a brute-force sum over the 2^6 states, independent of the package's enumeration.
    n, beta = 6, 1.3
    assert cli.main(["reference", "--system", "sk", "--n", str(n), "--seed", "2", "--betas", str(beta)]) == 0
    out = capsys.readouterr().out
    assert "enumeration" in out
    J = np.asarray(na.sherrington_kirkpatrick(n, seed=2).couplings, dtype=float)
    J = np.triu(J + J.T) if np.allclose(np.triu(J, 1), 0) else np.triu(J, 1)  # each pair once
    x = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
    energy = -np.einsum("si,ij,sj->s", x, J, x)
    log_z = np.log(np.sum(np.exp(-beta * energy)))
    row = next(line for line in out.splitlines() if line.split() and line.split()[0] == f"{beta:.2f}")
    f, e, s, m, lz = map(float, row.split()[1:6])
    assert lz == pytest.approx(log_z, abs=2e-6)
    assert f == pytest.approx(-log_z / (beta * n), abs=2e-8)
    p = np.exp(-beta * energy - log_z)
    assert e == pytest.approx(p @ energy / n, abs=2e-6)
    assert m == pytest.approx(p @ np.abs(x.mean(1)), abs=2e-5)
    assert "Sherrington–Kirkpatrick N→∞" in out


def test_plot_leaves_the_backend_alone_and_explains_itself(tmp_path, monkeypatch):
    import matplotlib
    import matplotlib.figure
    from matplotlib.container import ErrorbarContainer

    from netket_arnn.driver import AnnealRecord, AnnealResult
    from netket_arnn.plotting import plot_anneal

    monkeypatch.setattr(matplotlib, "use", lambda *a, **k: pytest.fail("plotting must not choose the backend"))
    seen = []
    real_save = matplotlib.figure.Figure.savefig

    def spy(self, *a, **k):
        seen.append(self)
        return real_save(self, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    pq = {"q": [-1.0, 0.0, 1.0], "probability": [0.25, 0.5, 0.25]}

    def result(shift, exact):
        return AnnealResult(
            records=[
                AnnealRecord(
                    beta=b, free_energy=-1.0 + shift, free_energy_error=1e-3, energy=-0.5, energy_error=0.0,
                    entropy=0.3, entropy_error=0.0, abs_magnetization=0.2, abs_magnetization_error=0.0,
                    log_z_total=1.0, log_z_total_error=0.1, ess_fraction=0.9, n_samples=100, steps=1,
                    wall_time=1.0, distinct_fraction=0.5, exact_free_energy=-1.0 if exact else None,
                    relative_error=shift if exact else None, extra={"overlaps": pq},
                )
                for b in (0.5, 1.0)
            ]
        )  # fmt: skip

    plot_anneal({"a": result(1e-3, True), "b": result(1e-2, True)}, tmp_path / "a.png", beta_c=1.0)
    plot_anneal({"a": result(1e-3, False), "b": result(1e-2, False)}, tmp_path / "b.png")
    exact_fig, best_fig = seen
    labels = [ax.get_ylabel() for ax in exact_fig.axes]
    assert labels[0].startswith(r"$f[q] - f$") and "per spin" in labels[0] and "P(q)" in labels[3]
    assert "M = 100" in labels[2]  # M defined
    assert all("beta" in ax.get_xlabel() for ax in exact_fig.axes[:3])
    assert "min" in best_fig.axes[0].get_ylabel()  # no exact value: distance to the best model
    # every free-energy panel carries error bars; one legend names every model (and β_c)
    for ax in exact_fig.axes[:2]:
        assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == 2
    (legend,) = exact_fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", r"$\beta_c = 1$"]
    assert any(line.get_xdata()[0] == 1.0 and line.get_linestyle() == ":" for line in exact_fig.axes[0].lines)
    assert not any(line.get_linestyle() == ":" for line in best_fig.axes[0].lines)  # no β_c given


def test_local_balance_reaches_the_nets_with_a_future_free_energy(tmp_path, capsys):
    out = tmp_path / "b"
    argv = ["anneal", "--system", "ea", "--lattice", "3", "3", "--models", "frontier", "sk_rs_sparse", "h2"]
    argv += ["--betas", "0.5", "--n-samples", "32", "--final-samples", "64", "--steps-per-beta", "2"]
    argv += ["--warmup-steps", "0", "--no-plot", "--local-balance", "0.25", "--out", str(out)]
    code, text, _ = _main(argv, capsys)
    assert code == 0
    assert "; local balance 0.25" in text.split("== frontier:")[1].split("\n")[0]
    assert "; no local balance (no future free energy)" in text.split("== sk_rs_sparse:")[1].split("\n")[0]
    assert "local balance" not in text.split("== h2:")[1].split("\n")[0]
    data = json.loads((out / "anneal.json").read_text())
    assert data["settings"]["local_balance"] == 0.25
    balance = {name: run["metadata"]["local_balance"] for name, run in data["runs"].items()}
    assert balance == {"frontier": 0.25, "sk_rs_sparse": 0.0, "h2": 0.0}  # h2: exact, not trained
    # without the option, each net trains with its own settings (frontier: the term at 0.01 and Adam 1e-2)
    out = tmp_path / "own"
    code, text, _ = _main([*argv[:-4], "--out", str(out)], capsys)
    assert code == 0
    assert "Adam 0.01" in text.split("== frontier:")[1].split("\n")[0]
    data = json.loads((out / "anneal.json").read_text())
    meta = {name: run["metadata"] for name, run in data["runs"].items()}
    used = {name: (m["learning_rate"], m["local_balance"]) for name, m in meta.items()}
    assert used == {"frontier": (1e-2, 0.01), "sk_rs_sparse": (1e-3, 0.0), "h2": (1e-3, 0.0)}
    assert data["optimizer"]["nets"] == {"frontier": 1e-2}
