"""MaximumLikelihood: the loss and its gradient, epochs, validation, early stopping, checkpoints, and
learning a Boltzmann distribution from exact samples (KL by enumeration, couplings recovered)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest

import netket_arnn as na
from netket_arnn.data import BoltzmannDataset, EquilibrationWarning, coupling_recovery, learned_couplings
from netket_arnn.driver import MaximumLikelihood, negative_log_likelihood
from netket_arnn.models import H2ARNN, SingleLayerARNN

from ..data.helpers import exact_distribution, exact_samples, kl_divergence


def made_state(n=6, seed=0):
    hilbert = nk.hilbert.Spin(0.5, n)
    model = nk.models.ARNNDense(hilbert=hilbert, layers=2, features=4, param_dtype=jnp.float64)
    return nk.vqs.MCState(nk.sampler.ARDirectSampler(hilbert), model, n_samples=16, seed=seed)


def random_data(n=6, m=200, seed=0):
    return np.where(np.random.default_rng(seed).random((m, n)) < 0.7, 1, -1).astype(np.int8)


def test_loss_is_mean_negative_log_likelihood_per_spin_and_gradient_matches_finite_differences():
    vs = made_state()
    data = random_data()
    driver = MaximumLikelihood(data, optax.sgd(0.0), variational_state=vs, batch_size=50, validation_fraction=0.0)
    stats, grad = driver.compute_loss_and_update()
    batch = np.asarray(driver._train)[np.asarray(driver._batch_indices(0))]
    log_q = 2 * np.asarray(vs.log_value(batch))
    assert float(stats.mean) == pytest.approx(-log_q.mean() / 6, rel=1e-12)
    assert float(stats.error_of_mean) == pytest.approx(log_q.std(ddof=1) / 6 / np.sqrt(50), rel=1e-10)

    flat, unravel = jax.flatten_util.ravel_pytree(vs.parameters)

    @jax.jit
    def loss(theta):
        return -2 * jnp.mean(vs.model.apply({"params": unravel(theta)}, batch)) / 6

    g = jax.flatten_util.ravel_pytree(grad)[0]
    rng = np.random.default_rng(1)
    for k in rng.choice(len(flat), size=5, replace=False):
        step = np.zeros_like(flat)
        step[k] = 1e-6
        fd = float(loss(flat + step) - loss(flat - step)) / 2e-6
        assert float(g[k]) == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_epochs_visit_every_training_sample_once_and_are_reproducible():
    data = random_data(m=230)
    a = MaximumLikelihood(data, optax.sgd(0.0), variational_state=made_state(), batch_size=50, seed=3)
    assert a.n_validation == 23 and a.n_train == 207 and a.steps_per_epoch == 4
    train = np.asarray(a._train)
    validation = np.asarray(a._validation)
    # train and validation split the data (as multisets of rows)
    rows = sorted(map(bytes, np.concatenate([train, validation])))
    assert rows == sorted(map(bytes, data))
    for epoch in range(2):
        seen = np.concatenate([np.asarray(a._batch_indices(epoch * 4 + s)) for s in range(4)])
        assert len(np.unique(seen)) == 200 and seen.max() < 207  # no repeats within an epoch
    first = np.asarray(a._batch_indices(0))
    assert not np.array_equal(first, np.asarray(a._batch_indices(4)))  # reshuffled each epoch
    b = MaximumLikelihood(data, optax.sgd(0.0), variational_state=made_state(), batch_size=50, seed=3)
    np.testing.assert_array_equal(np.asarray(b._batch_indices(5)), np.asarray(a._batch_indices(5)))


def test_logs_train_and_validation_nll_with_error_bars():
    vs = made_state()
    driver = MaximumLikelihood(
        random_data(m=400), nk.optimizer.Adam(0.01), variational_state=vs, batch_size=60, validation_fraction=0.25
    )
    log = nk.logging.RuntimeLog()
    driver.run(12, out=log, show_progress=False)
    assert len(log.data["nll"].Mean) == 12 and np.all(np.isfinite(log.data["nll"].Sigma))
    val = log.data["validation_nll"]
    assert list(val.iters) == [0, 5, 10]  # one validation per epoch of 5 steps
    assert np.all(np.asarray(val.Sigma) > 0)
    assert float(np.asarray(val.Mean)[-1]) < float(np.asarray(val.Mean)[0])  # it learns
    np.testing.assert_allclose(np.asarray(log.data["epoch"]), np.arange(12) / 5)


def test_early_stopping_restores_the_best_parameters():
    vs = made_state()
    # a learning rate far too large: the validation NLL gets worse after the first epochs
    driver = MaximumLikelihood(
        random_data(m=300),
        optax.sgd(30.0),
        variational_state=vs,
        batch_size=30,
        validation_fraction=0.2,
        validate_every=2,
        patience=3,
    )
    driver.run(200, show_progress=False)
    assert driver.stopped_early and driver.step_count < 200
    best = driver.best_validation_nll
    assert float(driver.validation_nll().mean) == pytest.approx(best, rel=1e-12)
    assert driver.best_step % 2 == 0 and driver.step_count >= driver.best_step + 3 * 2


def test_save_restore_resumes_the_same_run(tmp_path):
    data = random_data(m=300)

    def make():
        return MaximumLikelihood(
            data, nk.optimizer.Adam(0.01), variational_state=made_state(), batch_size=40, patience=50
        )

    straight = make()
    straight.run(14, show_progress=False)
    first = make()
    first.run(9, show_progress=False)
    first.save(tmp_path / "ml.mpack")
    resumed = make()
    resumed.restore(tmp_path / "ml.mpack")
    assert resumed.step_count == 9 and resumed.best_step == first.best_step
    for a, b in zip(
        jax.tree.leaves(first.restore_best().state.parameters),
        jax.tree.leaves(make().restore(tmp_path / "ml.mpack").restore_best().state.parameters),
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # the best parameters travel too
    resumed.run(5, show_progress=False)
    for a, b in zip(jax.tree.leaves(straight.state.parameters), jax.tree.leaves(resumed.state.parameters)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = MaximumLikelihood(
        random_data(n=5), nk.optimizer.Adam(0.01), variational_state=made_state(n=5), batch_size=40
    )
    with pytest.raises(ValueError, match="does not fit"):
        other.restore(tmp_path / "ml.mpack")


def test_negative_log_likelihood_of_the_exact_model_is_the_entropy():
    """With q = p (H2ARNN at its exact parameters), E_p[-log q]/N is the entropy per spin."""
    H = na.sherrington_kirkpatrick(6, seed=1)
    states, p, thermo = exact_distribution(H, 0.8)
    model = H2ARNN.from_hamiltonian(H, 0.8, dtype=jnp.float64)  # exact to round-off
    variables = jax.jit(model.init)(jax.random.key(0), states[:2])
    stats = negative_log_likelihood(model, variables, states, batch_size=7)  # chunks with padding
    values = -2 * np.asarray(jax.jit(model.apply)(variables, states)) / 6
    assert float(stats.mean) == pytest.approx(values.mean(), rel=1e-12)
    assert float(p @ values) == pytest.approx(thermo.entropy, rel=1e-10)


@pytest.fixture(scope="module")
def h2arnn_fit_n8():
    return _fit_h2arnn(8, 20000, steps=100, lr=0.05)


def _fit_h2arnn(n, n_samples, *, steps, lr):
    H = na.sherrington_kirkpatrick(n, seed=3)
    beta = 1.0
    data = exact_samples(H, beta, n_samples, seed=0)
    model = H2ARNN.from_hamiltonian(H, beta, learn_couplings=True, couplings_init_scale=0.01)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16, seed=1)
    start = learned_couplings(vs.variables, model)
    driver = MaximumLikelihood(
        data, optax.adam(optax.cosine_decay_schedule(lr, steps, alpha=0.05)), variational_state=vs, batch_size=1000
    )
    driver.run(steps, show_progress=False)
    states, p, _ = exact_distribution(H, beta)
    log_q = 2 * np.asarray(vs.log_value(states))
    return H, start, learned_couplings(vs.variables, model), kl_divergence(p, log_q)


def test_learns_the_boltzmann_distribution_from_exact_samples(h2arnn_fit_n8):
    """N = 8, 20k exact samples: KL(p || q) by enumeration < 0.01 from a random first layer."""
    H, start, W, kl = h2arnn_fit_n8
    assert kl < 0.01


def test_h2arnn_with_learned_couplings_recovers_the_true_couplings(h2arnn_fit_n8):
    H, start, W, kl = h2arnn_fit_n8
    J = np.asarray(H.couplings)
    assert coupling_recovery(start, J).r_signed < 0.5  # the start knows nothing of J
    recovery = coupling_recovery(W, J)
    assert recovery.r_signed > 0.95 and recovery.r_abs > 0.9
    assert recovery.slope == pytest.approx(1.0, abs=0.1)


@pytest.mark.slow
def test_learns_the_boltzmann_distribution_n10():
    """The issue's setting: N = 10, 20k exact samples, KL(p || q) < 0.01, couplings correlate > 0.95."""
    H, start, W, kl = _fit_h2arnn(10, 20000, steps=200, lr=0.03)
    assert kl < 0.01
    assert coupling_recovery(W, np.asarray(H.couplings)).r_signed > 0.95


def test_any_arnn_and_the_package_models_train():
    H = na.sherrington_kirkpatrick(6, seed=2)
    data = exact_samples(H, 1.0, 2000, seed=1)
    for model in (
        nk.models.ARNNDense(hilbert=H.hilbert, layers=2, features=4, param_dtype=jnp.float64),
        SingleLayerARNN.from_hamiltonian(H, 1.0, couplings_init_scale=0.01),
    ):
        vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16, seed=0)
        driver = MaximumLikelihood(data, nk.optimizer.Adam(0.05), variational_state=vs, batch_size=200)
        before = float(driver.validation_nll().mean)
        driver.run(30, show_progress=False)
        assert float(driver.validation_nll().mean) < before - 0.05


def test_a_dataset_that_failed_its_diagnostics_is_not_used_silently():
    H = na.curie_weiss(6)
    chains = np.ones((2, 40, 6), dtype=np.int8)  # frozen chains: nothing to diagnose
    with pytest.warns(EquilibrationWarning):
        data = BoltzmannDataset.from_chains(chains, 1.0, hamiltonian=H)
    with pytest.warns(EquilibrationWarning, match="maximum likelihood"):
        MaximumLikelihood(data, optax.sgd(0.1), variational_state=made_state(), batch_size=10)


def test_bad_input_is_named():
    vs = made_state()
    with pytest.raises(ValueError, match="model has N = 6"):
        MaximumLikelihood(random_data(n=5), optax.sgd(0.1), variational_state=vs)
    with pytest.raises(ValueError, match="spins ±1"):
        MaximumLikelihood(np.zeros((10, 6)), optax.sgd(0.1), variational_state=vs)
    with pytest.raises(ValueError, match="batch_size"):
        MaximumLikelihood(random_data(m=20), optax.sgd(0.1), variational_state=vs, batch_size=100)
    with pytest.raises(ValueError, match="validation_fraction"):
        MaximumLikelihood(random_data(), optax.sgd(0.1), variational_state=vs, validation_fraction=1.0)
    with pytest.raises(ValueError, match="patience"):
        MaximumLikelihood(
            random_data(), optax.sgd(0.1), variational_state=vs, batch_size=10, validation_fraction=0, patience=2
        )
    rbm = nk.vqs.MCState(nk.sampler.MetropolisLocal(vs.hilbert), nk.models.RBM(), n_samples=16)
    with pytest.raises(TypeError, match="AbstractARNN"):
        MaximumLikelihood(random_data(), optax.sgd(0.1), variational_state=rbm)
