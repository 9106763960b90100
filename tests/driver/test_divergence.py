"""Non-finite steps: the driver stops with a clear error, or rolls back and halves the learning rate."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.driver import DivergenceError, RollbackWarning, VariationalFreeEnergy


def _driver(on_nan="raise", max_rollbacks=3):
    H = na.curie_weiss(6)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    return VariationalFreeEnergy(
        H, nk.optimizer.Sgd(0.05), variational_state=vs, beta=0.7, on_nan=on_nan, max_rollbacks=max_rollbacks
    )


def _poison_at(*steps):
    """A callback that makes the parameters nan after the given steps (a blown-up update)."""

    def callback(step, log, driver):
        if step in steps:
            driver.state.parameters = jax.tree.map(lambda p: jnp.full_like(p, jnp.nan), driver.state.parameters)
        return True

    return callback


def test_raise_names_step_beta_and_last_finite_value():
    driver = _driver()
    with pytest.raises(DivergenceError, match=r"free energy is not finite .* at step 3 \(β = 0.7\)") as info:
        driver.run(10, callback=_poison_at(2), show_progress=False)
    assert "last finite value was f[q] = -" in str(info.value) and "at step 2" in str(info.value)
    assert driver.step_count == 3


def test_rollback_restores_the_last_good_parameters_and_halves_the_learning_rate():
    driver = _driver("rollback")
    with pytest.warns(RollbackWarning, match="rolled back to the parameters of step 2"):
        driver.run(6, callback=_poison_at(2), show_progress=False)
    assert driver.step_count == 6 and driver.update_scale == 0.5
    assert all(np.all(np.isfinite(p)) for p in jax.tree.leaves(driver.state.parameters))
    # the scale is kept in the driver's state (and so in checkpoints)
    assert driver.state_dict()["_update_scale"] == 0.5


def test_halved_learning_rate_halves_the_update():
    # SGD: the update after a rollback is exactly half the plain one, from the same point.
    a, b = _driver(), _driver()
    b._update_scale = 0.5
    for d in (a, b):
        d.run(1, show_progress=False)
    start = _driver().state.parameters
    for pa, pb, p0 in zip(*(jax.tree.leaves(t) for t in (a.state.parameters, b.state.parameters, start))):
        np.testing.assert_allclose(pb - p0, 0.5 * (pa - p0), rtol=1e-12, atol=1e-15)


def test_rollbacks_are_bounded():
    driver = _driver("rollback", max_rollbacks=2)
    with pytest.warns(RollbackWarning), pytest.raises(DivergenceError, match="2 rollbacks done"):
        driver.run(10, callback=_poison_at(*range(2, 10)), show_progress=False)
    with pytest.raises(ValueError, match="on_nan"):
        _driver("ignore")
