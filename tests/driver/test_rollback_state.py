"""A rollback with a stateful optimizer (Adam): the optimizer state goes back with the parameters,
and the halved learning rate and the rollback count survive a checkpoint. MaximumLikelihood stops
with a clear error at a non-finite step instead of applying it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest

import netket_arnn as na
from netket_arnn.driver import MaximumLikelihood, RollbackWarning, VariationalFreeEnergy


def _driver(on_nan="rollback"):
    H = na.curie_weiss(6)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    return VariationalFreeEnergy(H, nk.optimizer.Adam(0.01), variational_state=vs, beta=0.7, on_nan=on_nan)


def _poison_at(*steps):
    """Before the update of the given steps, the parameters become nan (a blown-up update).

    A legacy callback runs after the step's gradient and before its update."""

    def callback(step, log, driver):
        if step in steps:
            driver.state.parameters = jax.tree.map(lambda p: jnp.full_like(p, jnp.nan), driver.state.parameters)
        return True

    return callback


def _adam(opt_state) -> optax.ScaleByAdamState:
    found = [s for s in jax.tree.leaves(opt_state, is_leaf=lambda s: isinstance(s, optax.ScaleByAdamState))]
    found = [s for s in found if isinstance(s, optax.ScaleByAdamState)]
    assert len(found) == 1
    return found[0]


def _leaves(tree):
    return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]


def test_rollback_restores_the_adam_state_of_the_last_good_step():
    driver = _driver()
    snapshots = {}

    def record(step, log, d):
        snapshots[step] = jax.tree.map(np.array, d._optimizer_state)
        return True

    with pytest.warns(RollbackWarning, match="rolled back to the parameters of step 2"):
        driver.run(6, callback=[record, _poison_at(2)], show_progress=False)
    assert driver.step_count == 6 and driver.update_scale == 0.5
    # six updates, the one of step 2 (applied to the poisoned parameters) undone: Adam has counted five
    assert int(_adam(driver._optimizer_state).count) == 5
    # (legacy callbacks run before the update of their step.) The poison comes after step 2's
    # gradient; step 3 is not finite and is retried from the last good step, 2: right before
    # the retried update the optimizer state is, exactly, the one before step 2's update
    assert int(_adam(snapshots[2]).count) == 2
    for a, b in zip(_leaves(snapshots[3]), _leaves(snapshots[2]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(np.all(np.isfinite(p)) for p in _leaves(driver.state.parameters))


def test_halved_learning_rate_and_rollbacks_survive_a_checkpoint():
    driver = _driver()
    with pytest.warns(RollbackWarning):
        driver.run(4, callback=_poison_at(1), show_progress=False)
    assert driver.update_scale == 0.5
    saved = driver.to_bytes()
    resumed = _driver()
    assert resumed.update_scale == 1.0
    resumed.from_bytes(saved)
    assert resumed.update_scale == 0.5 and resumed.step_count == 4
    assert resumed.state_dict()["_rollbacks"] == 1
    # both go on with the halved learning rate: the same parameters, bit for bit
    driver.run(2, show_progress=False)
    resumed.run(2, show_progress=False)
    for a, b in zip(_leaves(driver.state.parameters), _leaves(resumed.state.parameters), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_leaves(driver._optimizer_state), _leaves(resumed._optimizer_state), strict=True):
        np.testing.assert_array_equal(a, b)


def test_rollbacks_restored_from_a_checkpoint_count_towards_the_bound():
    driver = _driver()
    driver._max_rollbacks = 1
    with pytest.warns(RollbackWarning):
        driver.run(3, callback=_poison_at(1), show_progress=False)
    resumed = _driver()
    resumed._max_rollbacks = 1
    resumed.from_bytes(driver.to_bytes())
    with pytest.raises(na.driver.DivergenceError, match="1 rollbacks done"):
        resumed.run(4, callback=_poison_at(3), show_progress=False)


def test_max_likelihood_stops_at_a_non_finite_step_without_applying_it():
    hilbert = nk.hilbert.Spin(0.5, 5)
    model = nk.models.ARNNDense(hilbert=hilbert, layers=1, features=2, param_dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(hilbert), model, n_samples=16, seed=0)
    data = np.where(np.random.default_rng(0).random((100, 5)) < 0.6, 1, -1)
    driver = MaximumLikelihood(data, nk.optimizer.Adam(0.01), variational_state=vs, batch_size=20)
    with pytest.raises(FloatingPointError, match="not finite at step 2"):
        driver.run(5, callback=_poison_at(1), show_progress=False)
    assert driver.step_count == 2
    assert int(_adam(driver._optimizer_state).count) == 2  # the non-finite step was not applied
