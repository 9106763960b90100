"""VariationalFreeEnergy: gradient estimator, zero variance, NetKet integration, checkpoints, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest
from netket.utils import HashableArray

import netket_arnn as na
from netket_arnn import models
from netket_arnn.driver import LinearBeta, VariationalFreeEnergy, free_energy_and_grad

from .tabulated import TabulatedARNN


def _flat(tree):
    return jnp.concatenate([jnp.ravel(x) for x in jax.tree.leaves(tree)])


def _made_state(H, *, layers=1, features=2, n_samples=128, seed=0, scale=None, chunk_size=None):
    # One shared configuration (1-layer ARNNDense, 128 samples) so that compiled functions are reused.
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=layers, features=features, param_dtype=jnp.float64)
    vs = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert),
        model,
        n_samples=n_samples,
        seed=seed,
        sampler_seed=seed + 1,
        chunk_size=chunk_size,
    )
    if scale is not None:
        vs.parameters = jax.tree.map(lambda p: scale * p, vs.parameters)
    return vs


def _exact_free_energy_of_q(vs, H, beta):
    """F[q]/N by full enumeration, as a differentiable function of the parameters."""
    xs = jnp.asarray(H.hilbert.all_states())
    energies = H.energy(xs)

    def f(params):
        log_q = 2.0 * vs.model.apply({"params": params, **vs.model_state}, xs)
        return jnp.sum(jnp.exp(log_q) * (energies + log_q / beta)) / H.n_sites

    return f


def test_gradient_estimator_is_unbiased():
    # N = 8 SK: average the estimator over many independent batches and compare, parameter
    # by parameter, with the exact gradient of F[q] (autodiff through the full enumeration).
    H = na.sherrington_kirkpatrick(8, seed=3)
    beta = 0.7
    vs = _made_state(H, scale=0.3)
    exact_f = _exact_free_energy_of_q(vs, H, beta)
    g_exact = np.asarray(_flat(jax.grad(exact_f)(vs.parameters)))

    n_batches, batch = 4000, 8
    samples = vs.sample(n_samples=n_batches * batch).reshape(n_batches, batch, H.n_sites)

    @jax.jit
    def batched(samples):
        return jax.lax.map(lambda s: _flat(free_energy_and_grad(vs, H, beta, samples=s)[1]), samples)

    grads = np.asarray(batched(samples))
    mean = grads.mean(axis=0)
    se = grads.std(axis=0, ddof=1) / np.sqrt(n_batches)
    live = se > 0  # ARNNDense has masked (structurally zero) weights
    assert live.sum() > 50
    np.testing.assert_array_equal(mean[~live], 0.0)
    np.testing.assert_allclose(g_exact[~live], 0.0, atol=1e-14)
    z = (mean[live] - g_exact[live]) / se[live]
    assert np.max(np.abs(z)) < 5.0, np.max(np.abs(z))
    # The projection on the exact gradient is 1 for an unbiased estimator; with the 1/M
    # (instead of 1/(M-1)) covariance it would be 1 - 1/M = 0.875 here.
    proj = grads @ g_exact / (g_exact @ g_exact)
    assert abs(proj.mean() - 1.0) < 4 * proj.std(ddof=1) / np.sqrt(n_batches)
    assert abs(proj.mean() - 1.0) < 0.04


def test_gradient_matches_chunked_and_log_values():
    H = na.curie_weiss(8)
    vs = _made_state(H)
    vs_chunked = _made_state(H, chunk_size=32)
    x = vs.samples
    st, g = free_energy_and_grad(vs, H, 0.9, samples=x)
    st_c, g_c = free_energy_and_grad(vs_chunked, H, 0.9, samples=x)
    np.testing.assert_allclose(_flat(g), _flat(g_c), rtol=1e-10, atol=1e-14)
    # the logged statistics are those of the local values on these samples
    flat = x.reshape(-1, H.n_sites)
    log_q = 2.0 * vs.log_value(flat)
    f_loc = (H.energy(flat) + log_q / 0.9) / H.n_sites
    np.testing.assert_allclose(st["free_energy"].mean, f_loc.mean(), rtol=1e-12)
    np.testing.assert_allclose(st["free_energy"].error_of_mean, f_loc.std(ddof=1) / np.sqrt(f_loc.size), rtol=1e-10)
    np.testing.assert_allclose(st["entropy"].mean, -log_q.mean() / H.n_sites, rtol=1e-12)
    m = np.abs(np.asarray(flat, dtype=float).sum(axis=1)).mean() / H.n_sites
    np.testing.assert_allclose(st["abs_magnetization"].mean, m, rtol=1e-12)
    np.testing.assert_allclose(st_c["energy"].mean, st["energy"].mean, rtol=1e-12)


def _exact_state(H, beta, n_samples=128):
    log_p = np.asarray(na.exact.log_prob(H, H.hilbert.all_states(), beta))
    model = TabulatedARNN(hilbert=H.hilbert, log_p=HashableArray(log_p))
    return nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=n_samples, seed=0, sampler_seed=5)


def _check_zero_variance(driver, f_exact):
    f = driver.free_energy
    assert abs(f.mean - f_exact) <= max(3 * f.error_of_mean, 1e-12 * abs(f_exact))
    assert f.variance < 1e-24
    # f_loc is constant: with the baseline the gradient vanishes ...
    grad = _flat(driver._loss_grad)
    assert grad.size > 0 and np.max(np.abs(grad)) < 1e-12
    # ... while without it, it would be f · (mean score), far from zero on M samples: the
    # parameters matter, so dropping the baseline fails this check.
    vs = driver.state
    x = vs.samples.reshape(-1, vs.hilbert.size)
    log_q, vjp = jax.vjp(lambda p: 2.0 * vs.model.apply({"params": p, **vs.model_state}, x), vs.parameters)
    (no_baseline,) = vjp(jnp.full_like(log_q, f.mean / (x.shape[0] - 1)))
    assert np.max(np.abs(_flat(no_baseline))) > 1e-4


def test_zero_variance_with_exact_table():
    # The tabulated q = p: f_loc is constant and f[q] = f (its one parameter is unused).
    H = na.sherrington_kirkpatrick(8, seed=2)
    beta = 1.3
    vs = _exact_state(H, beta)
    driver = VariationalFreeEnergy(H, nk.optimizer.Sgd(0.0), variational_state=vs, beta=beta)
    driver.run(2, show_progress=False)
    f = driver.free_energy
    assert abs(f.mean - na.exact.by_enumeration(H, beta).free_energy) <= 1e-12
    assert f.variance < 1e-24
    # at a different β the same q is no longer p: positive variance, f[q] above f
    driver.beta = 0.6
    driver.run(1, show_progress=False)
    f = driver.free_energy
    assert f.variance > 1e-6
    assert f.mean > na.exact.by_enumeration(H, 0.6).free_energy


def test_zero_variance_and_zero_gradient_with_trainable_cw_n():
    # CW_N with its physics parameters trainable, at their exact values: q = p exactly.
    H = na.curie_weiss(10)
    beta = 1.2
    # float64 arithmetic: exactness to round-off (the default float32 arithmetic is exact to ~1e-8)
    model = models.CurieWeissARNN.from_hamiltonian(H, beta, trainable=True, dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=128, seed=0, sampler_seed=1)
    driver = VariationalFreeEnergy(H, nk.optimizer.Sgd(0.0), variational_state=vs, beta=beta)
    driver.run(1, show_progress=False)
    _check_zero_variance(driver, na.exact.curie_weiss_closed_form(10, beta).free_energy)


def test_zero_variance_and_zero_gradient_with_trainable_h2arnn():
    # The same for a spin glass: H2ARNN with trainable hidden layer, at its exact parameters.
    H = na.sherrington_kirkpatrick(5, seed=2)
    beta = 0.9
    model = models.H2ARNN.from_hamiltonian(H, beta, trainable=True, dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=128, seed=0, sampler_seed=1)
    driver = VariationalFreeEnergy(H, nk.optimizer.Sgd(0.0), variational_state=vs, beta=beta)
    driver.run(1, show_progress=False)
    _check_zero_variance(driver, na.exact.by_enumeration(H, beta).free_energy)


def test_netket_integration_logs_callbacks_obs_and_sr(tmp_path):
    H = na.curie_weiss(8)
    vs = _made_state(H)
    schedule = LinearBeta(0.2, 1.0, 4)
    # 128 samples, 144 parameters: NetKet's warning class, naming this driver's remedy
    with pytest.warns(nk.errors.InsufficientSamplesForSRWarning, match="SampleSpaceSR"):
        driver = VariationalFreeEnergy(
            H,
            nk.optimizer.Sgd(0.05),
            variational_state=vs,
            beta=schedule,
            preconditioner=nk.optimizer.SR(diag_shift=1e-2),
        )
    seen = []

    def callback(step, log_data, drv):
        seen.append((step, drv.beta))
        return True

    log = nk.logging.RuntimeLog()
    json_log = nk.logging.JsonLog(str(tmp_path / "run"), save_params=False)
    mz = sum(nk.operator.spin.sigmaz(H.hilbert, i) for i in range(H.n_sites))
    driver.run(6, out=[log, json_log], obs={"Mz": mz, "H": H}, callback=callback, show_progress=True)
    data = log.data
    assert list(data["beta"]["value"]) == [schedule(k) for k in range(6)]
    assert seen == [(k, schedule(k)) for k in range(6)]
    per_spin = ("free_energy_per_spin", "energy_per_spin", "entropy_per_spin", "abs_magnetization_per_spin")
    for key in ("free_energy", "energy", "entropy", "Mz", *per_spin):
        assert np.all(np.isfinite(data[key]["Mean"])), key
    # entropy of a normalised q over 2^N states lies in [0, log 2] per spin
    s_per_spin = data["entropy_per_spin"]["Mean"]
    assert np.all((s_per_spin >= 0) & (s_per_spin <= np.log(2) + 1e-12))
    # totals under NetKet's names, as NetKet logs the operators of obs=: N times the per-spin values
    n = H.n_sites
    for key in ("free_energy", "energy", "entropy"):
        np.testing.assert_allclose(data[key]["Mean"], n * data[f"{key}_per_spin"]["Mean"], rtol=1e-12)
        np.testing.assert_allclose(data[key]["Sigma"], n * data[f"{key}_per_spin"]["Sigma"], rtol=1e-12)
    # NetKet's own estimate of <H> on the same samples is the logged total energy
    np.testing.assert_allclose(np.real(data["H"]["Mean"]), data["energy"]["Mean"], rtol=1e-10)
    # f = e - s/β holds sample by sample, hence for the logged means
    f = data["free_energy"]["Mean"]
    e, s = data["energy"]["Mean"], data["entropy"]["Mean"]
    np.testing.assert_allclose(f, e - s / np.asarray(data["beta"]["value"]), rtol=1e-10)
    assert (tmp_path / "run.log").exists()
    assert driver.step_count == 6


def test_training_lowers_free_energy_towards_exact():
    H = na.curie_weiss(8)
    beta = 0.8
    vs = _made_state(H)
    driver = VariationalFreeEnergy(H, nk.optimizer.Adam(2e-2), variational_state=vs, beta=beta)
    log = nk.logging.RuntimeLog()
    driver.run(100, out=log, show_progress=False)
    f = log.data["free_energy_per_spin"]["Mean"]
    exact = na.exact.curie_weiss_closed_form(8, beta).free_energy
    assert np.mean(f[-20:]) < np.mean(f[:5])
    assert abs(np.mean(f[-20:]) - exact) / abs(exact) < 2e-3
    # variational bound: f[q] >= f up to noise
    assert np.mean(f[-20:]) > exact - 5 * np.std(f[-20:]) / np.sqrt(20)


def test_save_restore_round_trip(tmp_path):
    H = na.curie_weiss(8)

    def make(seed):
        vs = _made_state(H, seed=seed)
        return VariationalFreeEnergy(H, nk.optimizer.Adam(1e-2), variational_state=vs, beta=LinearBeta(0.1, 1.0, 20))

    a = make(0)
    a.run(7, show_progress=False)
    a.save(tmp_path / "ckpt.mpack")
    beta_saved = a.beta
    a.run(5, show_progress=False)

    b = make(42)  # different initial parameters and sampler seed
    vs_b = b.state
    b.restore(tmp_path / "ckpt.mpack")
    assert b.state is vs_b  # restored in place
    assert b.step_count == 7 and b.beta == beta_saved
    b.run(5, show_progress=False)
    assert b.step_count == a.step_count == 12
    assert b.beta == a.beta
    for x, y in zip(jax.tree.leaves(a.state.parameters), jax.tree.leaves(b.state.parameters)):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(jax.tree.leaves(a._optimizer_state), jax.tree.leaves(b._optimizer_state)):
        np.testing.assert_array_equal(x, y)
    assert a.free_energy.mean == b.free_energy.mean

    # a constant β is saved too
    c = VariationalFreeEnergy(H, nk.optimizer.Adam(1e-2), variational_state=_made_state(H), beta=0.37)
    d = VariationalFreeEnergy(H, nk.optimizer.Adam(1e-2), variational_state=_made_state(H), beta=2.0)
    d.from_bytes(c.to_bytes())
    assert d.beta == 0.37 and d.beta_schedule is None


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_rejects_bad_beta(beta):
    H = na.curie_weiss(8)
    with pytest.raises(ValueError, match="beta"):
        VariationalFreeEnergy(H, nk.optimizer.Sgd(0.1), variational_state=_made_state(H), beta=beta)


def test_rejects_bad_beta_schedule():
    H = na.curie_weiss(8)
    driver = VariationalFreeEnergy(
        H, nk.optimizer.Sgd(0.1), variational_state=_made_state(H), beta=lambda step: 1.0 - 0.5 * step
    )
    with pytest.raises(ValueError, match="beta"):
        driver.run(4, show_progress=False)
    assert driver.step_count == 2  # β(2) = 0 is refused before the step


def test_rejects_mismatched_hilbert_spaces():
    H = na.curie_weiss(8)
    with pytest.raises(ValueError, match="Hilbert space"):
        VariationalFreeEnergy(na.curie_weiss(6), nk.optimizer.Sgd(0.1), variational_state=_made_state(H), beta=1.0)
    # model built on another space than the sampler / Hamiltonian
    model = nk.models.ARNNDense(hilbert=nk.hilbert.Spin(0.5, 6), layers=1, features=2)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16)
    with pytest.raises(ValueError, match="Hilbert space"):
        VariationalFreeEnergy(H, nk.optimizer.Sgd(0.1), variational_state=vs, beta=1.0)


def test_rejects_non_exact_sampler_and_non_autoregressive_model():
    H = na.curie_weiss(8)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2)
    vs = nk.vqs.MCState(nk.sampler.MetropolisLocal(H.hilbert, n_chains=16), model, n_samples=64)
    with pytest.raises(TypeError, match="exact direct sampler"):
        VariationalFreeEnergy(H, nk.optimizer.Sgd(0.1), variational_state=vs, beta=1.0)
    vs = nk.vqs.MCState(nk.sampler.ExactSampler(H.hilbert), nk.models.RBM(alpha=1), n_samples=64)
    with pytest.raises(TypeError, match="autoregressive"):
        VariationalFreeEnergy(H, nk.optimizer.Sgd(0.1), variational_state=vs, beta=1.0)
    fs = nk.vqs.FullSumState(H.hilbert, model)
    with pytest.raises(TypeError, match="MCState"):
        VariationalFreeEnergy(H, nk.optimizer.Sgd(0.1), variational_state=fs, beta=1.0)


def test_rejects_quantum_operator():
    H = na.curie_weiss(8)
    ising = nk.operator.Ising(H.hilbert, nk.graph.Chain(8), h=1.0)
    with pytest.raises(TypeError, match="classical Hamiltonian"):
        VariationalFreeEnergy(ising, nk.optimizer.Sgd(0.1), variational_state=_made_state(H), beta=1.0)
