"""anneal(): the paper's protocol reaches the exact free energy; exact-parameter mode; records."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import models
from netket_arnn.driver import (
    AnnealResult,
    Checkpointing,
    FinalEstimates,
    PerBetaObservable,
    PlateauStopping,
    Rebuild,
    SetExactVariables,
    anneal,
    beta_grid,
)

# One initializer object: the model (a static jit argument) then hashes the same in every
# test, and the compiled sampler and estimators are reused.
_SMALL = jax.nn.initializers.normal(1e-2)


def _made_state(H, *, n_samples=1000, seed=0):
    # Small initial weights: q starts close to uniform, the β -> 0 solution the anneal starts from.
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64, kernel_init=_SMALL)
    return nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=n_samples, seed=seed, sampler_seed=seed + 1
    )


SYSTEMS = {
    "cw20": lambda: na.curie_weiss(20),
    "sk12": lambda: na.sherrington_kirkpatrick(12, seed=7),
}
OPTIMIZERS = {
    "adam": lambda: (nk.optimizer.Adam(1e-2), None),
    # SR on ∇f: an Sgd rate η is a natural-gradient step of η/(βN) in KL units.
    "sr": lambda: (nk.optimizer.Sgd(0.2), nk.optimizer.SR(diag_shift=1e-3)),
}


def _check_accuracy(result, H, tol):
    exact = na.exact.reference_free_energy(H)
    for r in result:
        f = exact(r.beta)
        assert r.exact_free_energy == pytest.approx(f, rel=1e-14)
        rel = abs(r.free_energy - f) / abs(f)
        assert rel < tol, (r.beta, rel)
        # variational bound F[q] >= F, up to the statistical error (and round-off when q = p)
        assert r.free_energy > f - 4 * r.free_energy_error - 1e-13 * abs(f), (r.beta, r.free_energy, f)


@pytest.mark.parametrize(
    "system, optimizer",
    [
        ("sk12", "sr"),
        # the other combinations run the same code paths: kept out of the default run
        pytest.param("sk12", "adam", marks=pytest.mark.slow),
        pytest.param("cw20", "adam", marks=pytest.mark.slow),
        pytest.param("cw20", "sr", marks=pytest.mark.slow),
    ],
)
def test_short_anneal_reaches_exact_free_energy(system, optimizer):
    H = SYSTEMS[system]()
    opt, precond = OPTIMIZERS[optimizer]()
    result = anneal(
        H,
        _made_state(H),
        [0.3, 0.65, 1.0],
        optimizer=opt,
        preconditioner=precond,
        warmup_steps=50,
        steps_per_beta=100,
        estimates=FinalEstimates(n_samples=8000),
        show_progress=False,
    )
    assert [r.steps for r in result] == [150, 100, 100]
    assert [r.n_samples for r in result] == [8000] * 3  # not the state's 1000
    _check_accuracy(result, H, 1e-3)
    # the optimizer state was carried over: one optimizer for all 350 steps
    counts = [int(x) for x in jax.tree.leaves(result.driver._optimizer_state) if jnp.ndim(x) == 0]
    if optimizer == "adam":
        assert counts == [350]
    assert result.driver.step_count == 350


def _paper_grid_case(system, optimizer):
    """Model and optimizer with the capacity for the low-temperature phase (β up to 2)."""
    H = SYSTEMS[system]()
    if system == "sk12":  # one masked layer suffices for N = 12
        return H, _made_state(H), *OPTIMIZERS[optimizer]()
    if optimizer == "adam":  # CW: a hidden layer, for the two-peaked distribution at β > 1
        model = nk.models.ARNNDense(
            hilbert=H.hilbert,
            layers=2,
            features=4,
            param_dtype=jnp.float64,
            kernel_init=_SMALL,
        )
        vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=1000, seed=0, sampler_seed=1)
        return H, vs, nk.optimizer.Adam(1e-2), None
    # CW with SR: the trainable CW_N started at its exact parameters at β = 0.1 (880 parameters,
    # a dense QGT); its custom VJP needs the Jacobian (reverse-mode) QGT.
    model = models.CurieWeissARNN.from_hamiltonian(H, 0.1, trainable=True)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=1000, seed=0, sampler_seed=1)
    return H, vs, nk.optimizer.Sgd(0.2), nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTJacobianDense, diag_shift=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("system", list(SYSTEMS))
def test_paper_grid_anneal_reaches_exact_free_energy(system, optimizer):
    # The paper's β range, 0.1 to 2 (step 0.1), the low-temperature phase included.
    H, vs, opt, precond = _paper_grid_case(system, optimizer)
    result = anneal(
        H,
        vs,
        beta_grid(0.1, 2.0, 0.1),
        optimizer=opt,
        preconditioner=precond,
        warmup_steps=300,
        steps_per_beta=150,
        estimates=FinalEstimates(n_samples=20000),
    )
    _check_accuracy(result, H, 1e-3)


def test_exact_variables_stage_errors():
    from netket.utils import HashableArray

    from .tabulated import TabulatedARNN

    H = na.sherrington_kirkpatrick(6, seed=1)

    def variables(beta):
        return {"params": {"unused": jnp.zeros(())}, "table": {"log_p": jnp.zeros(2**6)}}

    # the callable's collections are checked
    model = TabulatedARNN(hilbert=H.hilbert, log_p=HashableArray(np.zeros(2**6)))
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64)
    with pytest.raises(ValueError, match="collections"):
        anneal(H, vs, [0.5], stage=SetExactVariables(variables_at=variables), show_progress=False)
    # a model without the variables_at hook cannot take the "exact" stage, nor "rebuild" without a beta field
    with pytest.raises(TypeError, match="variables_at"):
        anneal(H, vs, [0.5], stage="exact")
    with pytest.raises(TypeError, match="beta"):
        anneal(H, vs, [0.5], stage="rebuild")
    with pytest.raises(TypeError, match="stage"):
        anneal(H, vs, [0.5], stage="exact_parameters")


def test_exact_stage_with_cw_n():
    H = na.curie_weiss(10)
    model = models.CurieWeissARNN.from_hamiltonian(H, 0.5, dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    betas = [0.5, 1.0, 1.5]
    result = anneal(H, vs, betas, stage="exact", show_progress=False)  # the model's variables_at hook
    seen_fixed = []

    def exact_vars(beta):
        seen_fixed.append(beta)
        return {"fixed": models.CurieWeissARNN.fixed_variables(beta)}

    vs2 = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    result2 = anneal(H, vs2, betas, stage=SetExactVariables(variables_at=exact_vars), show_progress=False)
    assert seen_fixed == betas
    for res in (result, result2):
        assert res.metadata["stage"] == "exact" and res.metadata["optimizer"] is None
        for r, beta in zip(res, betas):
            assert r.steps == 0
            f = na.exact.curie_weiss_closed_form(10, beta).free_energy
            assert r.free_energy == pytest.approx(f, rel=1e-12)
            assert r.relative_error < 1e-12
            assert r.ess_fraction == pytest.approx(1.0, rel=1e-9)  # q = p: all weights equal
            assert r.log_z_total == pytest.approx(na.exact.curie_weiss_closed_form(10, beta).log_z, rel=1e-12)


def test_exact_and_rebuild_stages_with_h2arnn():
    # H2ARNN knows how β enters its variables: the exact stage swaps them in the state, the
    # rebuild stage estimates from a fresh model built at each β; both are exact, and rebuild
    # leaves the given state untouched.
    H = na.sherrington_kirkpatrick(6, seed=2)
    model = models.H2ARNN.from_hamiltonian(H, 0.5, dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=128, seed=0, sampler_seed=1)
    before = vs.variables
    rebuilt = anneal(H, vs, [1.2, 1.6], stage=Rebuild(), show_progress=False)
    assert vs.model.beta == 0.5
    jax.tree.map(np.testing.assert_array_equal, vs.variables, before)
    swapped = anneal(H, vs, [1.2, 1.6], stage="exact", show_progress=False)
    for res in (rebuilt, swapped):
        for r in res:
            th = na.exact.by_enumeration(H, r.beta)
            assert r.steps == 0
            assert r.free_energy == pytest.approx(th.free_energy, rel=1e-12)
            assert r.log_z_total == pytest.approx(th.log_z, rel=1e-12)


def test_specific_heat_per_beta_matches_enumeration():
    # H2ARNN is exact: c_q = c_p = β² Var_p(E)/N, known by enumeration; the error bar is the
    # delta-method one of a sample variance and must cover the difference.
    H = na.sherrington_kirkpatrick(10, seed=3)
    model = models.H2ARNN.from_hamiltonian(H, 0.5, dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    betas = [0.5, 1.0, 1.5]
    result = anneal(H, vs, betas, stage="exact", estimates=FinalEstimates(n_samples=20000), show_progress=False)
    x = np.asarray(H.hilbert.all_states())
    energies = np.asarray(H.energy(x))
    for r, beta in zip(result, betas):
        w = np.exp(-beta * (energies - energies.min()))
        p = w / w.sum()
        variance = p @ energies**2 - (p @ energies) ** 2
        exact_c = beta**2 * variance / H.n_sites
        c = r.observables["specific_heat"]
        assert 0 < c["error"] < 0.1 * exact_c
        assert abs(c["mean"] - exact_c) < 4 * c["error"], (beta, c, exact_c)
    assert " c " in f" {result.table().splitlines()[0]} "


def test_a_new_per_beta_observable_is_one_class(tmp_path):
    class MeanSpin(PerBetaObservable):
        name = "mean_spin"
        column = "<x>"

        def __call__(self, batch):
            x = np.asarray(batch.samples, dtype=float)
            return float(x.mean()), float(x.mean(axis=1).std(ddof=1) / np.sqrt(len(x)))

    H = na.curie_weiss(8)
    path = tmp_path / "run.json"
    result = anneal(
        H,
        _made_state(H, n_samples=64),
        [0.5],
        steps_per_beta=1,
        estimates=FinalEstimates(observables=(MeanSpin(),)),
        results_file=path,
        show_progress=False,
    )
    value = result[0].observables["mean_spin"]
    assert abs(value["mean"]) < 5 * value["error"] + 1e-12  # Z2 symmetric q at small weights
    assert "specific_heat" not in result[0].observables
    again = AnnealResult.from_json(path)
    assert again[0].observables["mean_spin"] == pytest.approx(value)
    assert "<x>" in result.table().splitlines()[0]
    with pytest.raises(ValueError, match="same name"):
        FinalEstimates(observables=(MeanSpin(), MeanSpin()))


def test_deprecated_keywords_still_work_and_say_what_replaces_them(tmp_path):
    H = na.curie_weiss(8)
    model = models.CurieWeissARNN.from_hamiltonian(H, 0.5, dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    with pytest.warns(DeprecationWarning, match="stage="):
        result = anneal(H, vs, [0.7], exact_parameters=True, show_progress=False)
    assert result.metadata["stage"] == "exact"
    assert result[0].free_energy == pytest.approx(na.exact.curie_weiss_closed_form(8, 0.7).free_energy, rel=1e-12)
    with pytest.warns(DeprecationWarning, match="FinalEstimates"):
        result = anneal(H, vs, [0.7], exact_parameters=True, n_final_samples=96, overlaps=True, show_progress=False)
    assert result[0].n_samples == 96 and "overlaps" in result[0].extra
    with pytest.warns(DeprecationWarning, match="Checkpointing"):
        anneal(H, vs, [0.7], exact_parameters=True, checkpoint=tmp_path / "c.mpack", show_progress=False)
    assert (tmp_path / "c.mpack").exists()
    with pytest.raises(TypeError, match="not both"), pytest.warns(DeprecationWarning):
        anneal(H, vs, [0.7], stage="exact", exact_parameters=True)
    with pytest.raises(TypeError, match="unexpected"):
        anneal(H, vs, [0.7], n_final=3)


def test_plateau_stopping_ends_a_beta_early():
    # With a zero learning rate f cannot improve (min_delta hides the noise): each β stops
    # after window + patience steps instead of steps_per_beta, and the count is exact. The
    # same instance serves both β: anneal gives every β a fresh copy (dropping the copy would
    # leave the second β with 0 steps, the counters being exhausted).
    H = na.curie_weiss(8)
    stop = PlateauStopping(patience=5, window=3, min_delta=10.0)
    log = nk.logging.RuntimeLog()
    result = anneal(
        H,
        _made_state(H, n_samples=64),
        [0.6, 0.9],
        optimizer=nk.optimizer.Sgd(0.0),
        steps_per_beta=200,
        early_stopping=stop,
        out=log,
        show_progress=False,
    )
    assert [r.steps for r in result] == [3 + 5, 3 + 5]
    assert len(log.data["free_energy_per_spin"]["Mean"]) == 16
    assert result.driver.step_count == 16
    # with min_steps the rule waits
    result = anneal(
        H,
        _made_state(H, n_samples=64),
        [0.6],
        optimizer=nk.optimizer.Sgd(0.0),
        steps_per_beta=200,
        early_stopping=PlateauStopping(patience=5, window=3, min_delta=10.0, min_steps=20),
        show_progress=False,
    )
    assert result[0].steps == 20
    with pytest.raises(ValueError, match="patience"):
        PlateauStopping(patience=0)


def test_netket_early_stopping_and_callbacks_work_at_every_beta():
    # NetKet's EarlyStopping keeps its counters between runs: without a fresh copy per β every
    # β after the first would stop at once. A plain callable and a list are accepted as callback.
    H = na.curie_weiss(8)
    seen = []
    result = anneal(
        H,
        _made_state(H, n_samples=64),
        [0.6, 0.9, 1.2],
        optimizer=nk.optimizer.Sgd(0.0),
        steps_per_beta=50,
        early_stopping=nk.callbacks.EarlyStopping(patience=4, min_delta=10.0),
        callback=lambda step, log, driver: seen.append(driver.beta) or True,
        show_progress=False,
    )
    steps = [r.steps for r in result]
    assert steps[0] > 0 and steps == [steps[0]] * 3  # every β stops after the same patience
    assert seen == sorted(seen) and [seen.count(b) for b in (0.6, 0.9, 1.2)] == [seen.count(0.6)] * 3
    result = anneal(
        H,
        _made_state(H, n_samples=64),
        [0.6],
        steps_per_beta=3,
        callback=[lambda *a: seen.append("a") or True, lambda *a: seen.append("b") or True],
        show_progress=False,
    )
    assert seen[-6:] == ["a", "b"] * 3


def test_result_table_and_json_round_trip(tmp_path):
    H = na.curie_weiss(8)
    lines = []
    path = tmp_path / "anneal.json"
    seen_on_disk = []

    def on_record(r):
        lines.append(r.beta)
        # written before on_record, atomically: a complete document with every record so far
        seen_on_disk.append(len(json.loads(path.read_text())["records"]))

    result = anneal(
        H,
        _made_state(H, n_samples=64),
        [0.4, 0.8],
        optimizer=nk.optimizer.Adam(1e-2),
        steps_per_beta=5,
        warmup_steps=3,
        estimates=FinalEstimates(n_samples=96, overlaps=True),
        on_record=on_record,
        metadata={"label": "test"},
        results_file=path,
        show_progress=False,
    )
    assert lines == [0.4, 0.8] and seen_on_disk == [1, 2]
    assert [r.steps for r in result] == [8, 5]
    assert [r.n_samples for r in result] == [96, 96]
    table = result.table().splitlines()
    assert len(table) == 3 and "rel.err" in table[0]
    data = json.loads(path.read_text())
    assert data["metadata"]["label"] == "test" and data["metadata"]["n_sites"] == 8
    # self-describing: versions, time, command line, precision, the option groups
    assert data["metadata"]["provenance"]["versions"]["netket-arnn"] == na.__version__
    assert data["metadata"]["precision"] == {"param_dtype": "float64", "dtype": None}  # ARNNDense has no dtype
    assert data["metadata"]["estimates"]["overlaps"] is True and data["metadata"]["stage"] == "train"
    # one convention: per spin unless the name says otherwise
    record = data["records"][0]
    assert "log_z_total" in record and "log_z" not in record and 0 < record["ess_fraction"] <= 1
    again = AnnealResult.from_json(path)
    assert again.records[1].free_energy == result.records[1].free_energy
    assert again.records[0].extra["overlaps"]["probability"] == pytest.approx(
        result.records[0].extra["overlaps"]["probability"]
    )
    p = np.array(again.records[0].extra["overlaps"]["probability"])
    assert p.shape == (9,) and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(result.column("beta"), [0.4, 0.8])
    assert [f.name for f in tmp_path.iterdir()] == ["anneal.json"]  # no temporary file left


def test_optimizer_settings_are_data():
    import optax

    H = na.curie_weiss(8)
    result = anneal(H, _made_state(H, n_samples=64), [0.5], steps_per_beta=1, show_progress=False)
    opt = result.metadata["optimizer"]
    assert opt["hyperparams"]["learning_rate"] == pytest.approx(1e-3)  # the default, the paper's
    assert opt["transformations"] == ["adam"]
    json.dumps(result.as_dict(), allow_nan=False)
    sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=0.25)
    result = anneal(H, _made_state(H, n_samples=64), [0.5], optimizer=sgd, steps_per_beta=1, show_progress=False)
    assert result.metadata["optimizer"]["hyperparams"]["learning_rate"] == 0.25
    assert result.metadata["preconditioner"] is None


def test_preconditioner_settings_are_data():
    H = na.curie_weiss(8)
    sr = nk.optimizer.SR(diag_shift=0.02)
    result = anneal(H, _made_state(H, n_samples=64), [0.5], preconditioner=sr, steps_per_beta=1, show_progress=False)
    record = result.metadata["preconditioner"]
    assert record["type"] == "SR" and record["diag_shift"] == 0.02
    assert json.loads(json.dumps(result.as_dict(), allow_nan=False))["metadata"]["preconditioner"] == record


def test_progress_is_shown_by_default(capsys):
    H = na.curie_weiss(8)
    anneal(H, _made_state(H, n_samples=64), [0.5, 0.7], steps_per_beta=2, warmup_steps=3)
    out = capsys.readouterr()
    rows = [line for line in out.out.splitlines() if line.strip()]
    assert "rel.err" in rows[0] and rows[1].split()[0] == "0.500" and rows[2].split()[0] == "0.700"
    assert "5/5" in out.err and "2/2" in out.err  # NetKet's progress bar: warm-up + steps, then steps


def test_decreasing_grid_is_a_heating_run_and_other_orders_are_refused():
    H = na.curie_weiss(8)
    vs = _made_state(H, n_samples=64)
    result = anneal(H, vs, [1.0, 0.5], steps_per_beta=2, warmup_steps=1, show_progress=False)
    assert [r.beta for r in result] == [1.0, 0.5] and [r.steps for r in result] == [3, 2]
    with pytest.raises(ValueError, match="strictly increasing"):
        anneal(H, vs, [0.5, 1.0, 0.8], show_progress=False)
    with pytest.raises(ValueError, match="strictly increasing"):
        anneal(H, vs, [0.5, 0.5], show_progress=False)


def test_ess_warning_when_q_misses_part_of_p():
    # CW_N built for β = 20 but evaluated at β = 0.3: q sits in the two ordered states while
    # p is nearly uniform. The importance weights p/q are equal on what q samples, so ESS/M
    # is 1; the free energy is far off, and the warning says so.
    H = na.curie_weiss(12)
    model = models.CurieWeissARNN.from_hamiltonian(H, 20.0)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=256, seed=0, sampler_seed=1)
    with pytest.warns(na.driver.ESSWarning, match="misses part of p"):
        result = anneal(H, vs, [0.3], stage=SetExactVariables(variables_at=lambda b: {}), show_progress=False)
    r = result[0]
    assert r.ess_fraction > 0.99 and r.relative_error > 0.5
    assert r.distinct_fraction < 0.05 and r.entropy < 0.2 * r.exact_entropy


def test_anneal_rejects_bad_input(tmp_path):
    H = na.curie_weiss(8)
    vs = _made_state(H, n_samples=64)
    with pytest.raises(ValueError, match="beta"):
        anneal(H, vs, [0.5, -0.1])
    with pytest.raises(ValueError, match="steps_per_beta"):
        anneal(H, vs, [0.5], steps_per_beta=-1)
    with pytest.raises(TypeError, match="exact"):
        anneal(H, vs, [0.5], exact="closed form")
    with pytest.raises(ValueError, match="n_samples"):
        FinalEstimates(n_samples=1)
    with pytest.raises(ValueError, match="every"):
        Checkpointing(tmp_path / "c", every=0)
    with pytest.raises(TypeError, match="resume"):
        Checkpointing(tmp_path / "c", resume="yes")
    with pytest.raises(TypeError, match="estimates"):
        anneal(H, vs, [0.5], estimates={"n_samples": 10})
    with pytest.raises(ValueError, match="on_nan"):
        anneal(H, vs, [0.5], on_nan="ignore")
    with pytest.raises(ValueError, match="show_progress"):
        anneal(H, vs, [0.5], show_progress="bars")


def test_beta_grid_has_the_paper_points():
    grid = beta_grid(0.1, 2.0, 0.05)
    assert len(grid) == 39 and grid[0] == 0.1 and grid[-1] == 2.0
    np.testing.assert_allclose(np.diff(grid), 0.05, atol=1e-12)


def test_unbiased_observables_from_the_network_as_proposal():
    # a barely trained 1L is a poor q: its own energy is off, the Metropolis chain that uses it
    # as a proposal still gives the exact energy and <|m|> of exp(-beta H)
    H = na.sherrington_kirkpatrick(8, seed=3)
    model = na.models.SingleLayerARNN.from_hamiltonian(H, 0.3)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=256, seed=0, sampler_seed=1)
    result = anneal(
        H, vs, [1.2], steps_per_beta=2, estimates=FinalEstimates(unbiased_samples=16000), show_progress=False
    )
    record = result.records[0]
    unbiased = record.extra["unbiased"]
    exact = na.exact.by_enumeration(H, 1.2)
    assert abs(unbiased["energy"] - exact.energy) < 4 * unbiased["energy_error"] + 1e-12
    assert abs(unbiased["abs_magnetization"] - exact.abs_magnetization) < 4 * unbiased["abs_magnetization_error"]
    assert 0 < unbiased["acceptance"] <= 1
    assert abs(record.energy - exact.energy) > 5 * record.energy_error  # q itself is biased: the test has content
    json.loads(result.to_json())  # stored as plain data
