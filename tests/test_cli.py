"""The netket-arnn command, run in-process on tiny schedules (one slow test sends a real Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import cli, models, recipes
from netket_arnn.cli import anneal as anneal_command

TINY = ["--steps-per-beta", "3", "--warmup-steps", "2", "--n-samples", "64", "--final-samples", "128", "--quiet"]


def _main(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_anneal_command_writes_json_and_png(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["anneal", "--system", "cw", "--n", "8", "--models", "1p", "cw_n", "--betas", "0.5", "1.0", *TINY[:-1]]
    code, text, _ = _main([*argv, "--out", str(out)], capsys)
    assert code == 0
    assert "rel.err" in text and "summary" in text
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
    # CW_N is exact at every β: its relative error is round-off
    assert data["summary"]["cw_n"]["max_relative_error"] < 1e-12
    # the optimizer's settings as data
    assert data["runs"]["1p"]["metadata"]["optimizer"]["hyperparams"]["learning_rate"] == pytest.approx(1e-2)
    assert data["settings"]["lr"] == 1e-2 and data["settings"]["optimizer"] == "adam"
    assert na.driver.load_results(out / "runs" / "1p.json")["1p"][1].beta == 1.0
    assert sorted(os.listdir(out / "checkpoints")) == ["1p.mpack", "cw_n.mpack"]
    png = (out / "anneal.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_no_argument_runs_the_default_anneal_job(monkeypatch):
    calls = []
    monkeypatch.setattr(anneal_command, "run", lambda args: calls.append(args) or 0)
    assert cli.main([]) == 0
    assert cli.main(["--n", "30"]) == 0  # options without a subcommand also go to the default job
    default, sized = calls
    assert default.command == "anneal" and default.system == "cw" and default.n is None
    assert default.models is None and anneal_command.DEFAULT_MODELS["cw"] == ["cw_n", "cw_inf", "1p"]
    assert sized.n == 30


@pytest.mark.parametrize("argv", [["--help"], ["anneal", "--help"], ["reference", "--help"]])
def test_help_shows_the_defaults(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 0
    text = capsys.readouterr().out
    if argv[0] == "anneal":
        for shown in ("(default: 100)", "(default: 300)", "(default: 0.01)", "(default: 50)", "(default: cw)"):
            assert shown in text, shown
    elif argv[0] == "reference":
        assert "(default: 100)" in text
    else:
        assert "anneal" in text and "reference" in text and "130" in text


def test_models_come_from_the_library_registry():
    H = na.sherrington_kirkpatrick(6, seed=1)
    parser = cli.build_parser()
    action = next(a for a in parser._subparsers._group_actions[0].choices["anneal"]._actions if a.dest == "models")
    assert list(action.choices) == list(recipes.RECIPES)
    made = recipes.build("made_32", H, 0.5)
    assert made.activation is models.paper_activation and made.layers == 3
    assert recipes.get("h2").exact_parameters == "rebuild" and recipes.get("cw_n").exact_parameters is True
    assert recipes.get("h2").chunk_size(16) == 64 and recipes.get("sk_1rsb").chunk_size(16) is None
    for name in anneal_command.DEFAULT_MODELS["sk"]:
        recipes.build(name, H, 0.5)
    assert anneal_command.DEFAULT_MODELS["sk"][:4] == ["sk_rs", "sk_1rsb", "sk_2rsb", "1l"]


def test_systems_from_the_command_line(tmp_path):
    parser = cli.build_parser()
    H, label = anneal_command.build_system(parser.parse_args(["anneal", "--system", "sk", "--n", "12", "--seed", "3"]))
    np.testing.assert_array_equal(H.couplings, na.sherrington_kirkpatrick(12, seed=3).couplings)
    assert "SK" in label
    H, _ = anneal_command.build_system(parser.parse_args(["anneal", "--system", "ea", "--lattice", "3", "4", "--pbc"]))
    assert H.n_sites == 12 and H.is_sparse and H.n_edges == 24
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
    ],
)
def test_domain_errors_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    code, _, err = _main(["anneal", *argv, "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert err.startswith("netket-arnn anneal: error: ")


@pytest.mark.parametrize("argv", [["--lattice", "0"], ["--n", "0"], ["--n-samples", "1"], ["--lr", "nan"]])
def test_bad_numbers_are_refused_by_argparse(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["anneal", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: argument" in err


def test_interrupt_then_resume(tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    argv = ["anneal", "--n", "8", "--models", "cw_inf", "1p", "--betas", "0.4", "0.8", *TINY, "--out", str(out)]
    import netket_arnn.driver.annealing as protocol

    real, calls = protocol.estimate, []

    def interrupted_on_third(*args, **kwargs):  # the 1p model's second β
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(protocol, "estimate", interrupted_on_third)
    code, _, err = _main(argv, capsys)
    assert code == 130
    assert err == (
        f"interrupted after β = 0.4 of 1p; results so far in {out / 'anneal.json'}; "
        f"resume with: netket-arnn anneal --resume {out}\n"
    )
    partial = json.loads((out / "anneal.json").read_text())
    assert partial["status"] == {"cw_inf": "finished", "1p": "running"}
    assert len(partial["runs"]["1p"]["records"]) == 1
    monkeypatch.setattr(protocol, "estimate", real)

    code, _, err = _main(argv, capsys)  # a fresh run would overwrite the unfinished one
    assert code == 2 and f"--resume {out}" in err
    code, _, err = _main(["anneal", "--resume", str(out), "--lr", "0.5"], capsys)
    assert code == 2 and "do not pass --lr" in err

    code, _, _ = _main(["anneal", "--resume", str(out), "--quiet", "--no-plot"], capsys)
    assert code == 0
    done = json.loads((out / "anneal.json").read_text())
    assert done["status"] == {"cw_inf": "finished", "1p": "finished"}
    assert done["runs"]["cw_inf"] == partial["runs"]["cw_inf"]  # kept, not re-run
    assert [r["beta"] for r in done["runs"]["1p"]["records"]] == [0.4, 0.8]
    assert done["runs"]["1p"]["records"][0] == partial["runs"]["1p"]["records"][0]


def test_divergence_exits_1_with_the_message(tmp_path, capsys, monkeypatch):
    import netket_arnn.driver.free_energy as fe

    monkeypatch.setattr(fe, "non_finite", lambda value, grad: "free energy")
    code, _, err = _main(
        ["anneal", "--n", "6", "--models", "1p", "--betas", "0.5", *TINY, "--out", str(tmp_path)], capsys
    )
    assert code == 1
    assert "1p: the free energy is not finite" in err and "at step 0 (β = 0.5)" in err and err.count("\n") == 1


def test_reference_command(capsys):
    assert cli.main(["reference", "--n", "20", "--betas", "0.5"]) == 0
    out = capsys.readouterr().out
    assert f"{na.exact.curie_weiss_closed_form(20, 0.5).free_energy:14.8f}" in out


def test_plot_leaves_the_backend_alone_and_shows_differences(tmp_path, monkeypatch):
    import matplotlib
    import matplotlib.figure

    from netket_arnn.driver import AnnealRecord, AnnealResult
    from netket_arnn.plotting import plot_anneal

    monkeypatch.setattr(matplotlib, "use", lambda *a, **k: pytest.fail("plotting must not choose the backend"))
    seen = []
    real_save = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(
        matplotlib.figure.Figure,
        "savefig",
        lambda self, *a, **k: seen.append([ax.get_ylabel() for ax in self.axes]) or real_save(self, *a, **k),
    )
    pq = {"q": [-1.0, 0.0, 1.0], "probability": [0.25, 0.5, 0.25]}

    def result(shift, exact):
        return AnnealResult(
            records=[
                AnnealRecord(
                    beta=b, free_energy=-1.0 + shift, free_energy_error=1e-3, energy=-0.5, energy_error=0.0,
                    entropy=0.3, entropy_error=0.0, abs_magnetization=0.2, abs_magnetization_error=0.0,
                    log_z=1.0, log_z_error=0.1, ess=90.0, n_samples=100, steps=1, wall_time=1.0,
                    distinct_fraction=0.5, exact_free_energy=-1.0 if exact else None,
                    relative_error=shift if exact else None, extra={"overlaps": pq},
                )
                for b in (0.5, 1.0)
            ]
        )  # fmt: skip

    plot_anneal({"a": result(1e-3, True), "b": result(1e-2, True)}, tmp_path / "a.png")
    plot_anneal({"a": result(1e-3, False), "b": result(1e-2, False)}, tmp_path / "b.png")
    exact_labels, best_labels = seen
    assert exact_labels[0] == r"$f[q] - f$" and "P(q)" in exact_labels[3]
    assert "min" in best_labels[0]  # no exact value: distance to the best model


@pytest.mark.slow
def test_real_ctrl_c_and_resume(tmp_path):
    # The installed command, a real SIGINT in the middle of the second β, then --resume.
    out = tmp_path / "o"
    argv = ["netket-arnn", "anneal", "--n", "12", "--models", "cw_inf", "--betas", "0.3", "0.6"]
    argv += ["--steps-per-beta", "20000", "--warmup-steps", "10", "--n-samples", "64", "--final-samples", "64"]
    argv += ["--checkpoint-every", "10", "--out", str(out)]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 300
    while time.time() < deadline:
        time.sleep(0.5)
        runs = out / "runs" / "cw_inf.json"
        if runs.exists() and json.loads(runs.read_text())["records"]:
            break
    time.sleep(2.0)  # some steps into the second β (20000 of them: far from its end)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted after β = 0.3 of cw_inf") and f"--resume {out}" in last
    assert not list((out / "checkpoints").glob("*.tmp")) and not list(out.glob(".*.tmp"))
    # the checkpoint is from within the second β (saved every 10 steps), not from its start
    from netket_arnn.driver.checkpoint import load_checkpoint

    progress = load_checkpoint(out / "checkpoints" / "cw_inf.mpack")["progress"]
    assert progress["index"] == 1 and progress["steps_done"] >= 10
    done = subprocess.run([*argv[:2], "--resume", str(out), "--quiet"], env=env, timeout=600)
    assert done.returncode == 0
    data = json.loads((out / "anneal.json").read_text())
    assert [r["steps"] for r in data["runs"]["cw_inf"]["records"]] == [20010, 20000]
