"""MaximumLikelihood with SpinGlassARNN, whose gradient is its fused one-pass backward
(``log_prob_vjp``; ``netket-arnn fit`` uses it by default): the driver's gradient equals the
autodiff gradient of the NLL and its finite differences, and a short run lowers the NLL and
KL(p || q) by enumeration."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest

import netket_arnn as na
from netket_arnn.driver import MaximumLikelihood, negative_log_likelihood
from netket_arnn.models import SpinGlassARNN

from ..data.helpers import exact_distribution, exact_samples, kl_divergence

N = 6
BETA = 1.0


def _state(H, **kwargs):
    model = SpinGlassARNN.from_hamiltonian(H, BETA, 1, **{"start": "random", **kwargs})
    return nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16, seed=0)


def test_fused_gradient_is_the_gradient_of_the_nll():
    H = na.sherrington_kirkpatrick(N, seed=4, h=0.2)
    # float64 arithmetic, and hidden weights large enough that every chain matters
    vs = _state(H, learn_couplings=True, init_scale=0.4, dtype=jnp.float64)  # every leaf
    assert hasattr(vs.model, "log_prob_vjp")
    data = exact_samples(H, BETA, 200, seed=1)
    driver = MaximumLikelihood(data, optax.sgd(0.0), variational_state=vs, batch_size=50, validation_fraction=0.0)
    stats, grad = driver.compute_loss_and_update()
    batch = jnp.asarray(np.asarray(driver._train)[np.asarray(driver._batch_indices(0))])
    model_state = {k: v for k, v in vs.variables.items() if k != "params"}

    def loss(params):
        return -2.0 * jnp.mean(vs.model.apply({"params": params, **model_state}, batch)) / N

    assert float(stats.mean) == pytest.approx(float(loss(vs.parameters)), rel=1e-12)
    autodiff = jax.jit(jax.grad(loss))(vs.parameters)
    assert jax.tree.structure(grad) == jax.tree.structure(autodiff)
    for g, a in zip(jax.tree.leaves(grad), jax.tree.leaves(autodiff), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(a), rtol=1e-9, atol=1e-13)

    flat, unravel = jax.flatten_util.ravel_pytree(vs.parameters)
    g = np.asarray(jax.flatten_util.ravel_pytree(grad)[0])
    flat_loss = jax.jit(lambda theta: loss(unravel(theta)))
    # the coordinates with the largest gradient: a sign error cannot hide in a small entry
    for k in np.argsort(-np.abs(g))[:4]:
        step = np.zeros_like(flat)
        step[k] = 1e-6
        fd = float(flat_loss(flat + step) - flat_loss(flat - step)) / 2e-6
        assert g[k] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_short_run_of_spin_glass_arnn_lowers_the_nll_and_the_kl():
    """30 Adam steps from a start with random hidden weights, on exact samples (default precision)."""
    H = na.sherrington_kirkpatrick(N, seed=2)
    vs = _state(H, init_scale=0.5)
    data = exact_samples(H, BETA, 3000, seed=3)
    held_out = exact_samples(H, BETA, 3000, seed=4)
    states, p, _ = exact_distribution(H, BETA)
    driver = MaximumLikelihood(data, nk.optimizer.Adam(0.02), variational_state=vs, batch_size=300)

    def figures():
        nll = float(negative_log_likelihood(vs.model, vs.variables, held_out).mean)
        return nll, kl_divergence(p, 2 * np.asarray(vs.log_value(states)))

    nll0, kl0 = figures()
    driver.run(30, show_progress=False)
    nll1, kl1 = figures()
    assert kl1 < kl0 / 3, (kl0, kl1)
    # the held-out NLL per spin is S(p)/N + KL/N up to its sampling noise (~0.002 here): it falls
    # with the KL
    assert nll0 - nll1 > 0.5 * (kl0 - kl1) / N, (nll0, nll1, kl0, kl1)
