"""MaximumLikelihood's early stopping: ``min_delta`` is the decrease that counts as an improvement,
and the early-stopping bookkeeping (best validation NLL, its step, the patience count) travels
with a checkpoint."""

from __future__ import annotations

import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest

from netket_arnn.driver import MaximumLikelihood


def _state(n=5, seed=0):
    hilbert = nk.hilbert.Spin(0.5, n)
    model = nk.models.ARNNDense(hilbert=hilbert, layers=1, features=2, param_dtype=jnp.float64)
    return nk.vqs.MCState(nk.sampler.ARDirectSampler(hilbert), model, n_samples=16, seed=seed)


def _data(n=5, m=300, seed=0):
    return np.where(np.random.default_rng(seed).random((m, n)) < 0.75, 1, -1).astype(np.int8)


def _driver(optimizer, **kwargs):
    return MaximumLikelihood(
        _data(), optimizer, variational_state=_state(), batch_size=30, validation_fraction=0.2, **kwargs
    )


def test_a_constant_validation_nll_is_no_improvement():
    # learning rate 0: the validation NLL never changes, so it never improves, with or without min_delta
    for min_delta in (0.0, 1e-3):
        driver = _driver(optax.sgd(0.0), validate_every=1, patience=3, min_delta=min_delta)
        driver.run(50, show_progress=False)
        assert driver.stopped_early, min_delta
        assert driver.best_step == 0 and driver.step_count == 4  # validations at 0, 1, 2, 3; stop before 4


def test_improvements_smaller_than_min_delta_do_not_count():
    # a small learning rate: the validation NLL falls at every validation, by much less than 0.01
    slow = _driver(optax.sgd(1e-3), validate_every=1, patience=3, min_delta=0.01)
    slow.run(50, show_progress=False)
    assert slow.stopped_early and slow.best_step == 0 and slow.step_count == 4
    assert float(slow.validation_nll().mean) == pytest.approx(slow.best_validation_nll, rel=1e-12)  # restored
    # the same run without min_delta: every validation improves, it never stops
    plain = _driver(optax.sgd(1e-3), validate_every=1, patience=3, min_delta=0.0)
    log = nk.logging.RuntimeLog()
    plain.run(12, out=log, show_progress=False)
    values = np.asarray(log.data["validation_nll"].Mean)
    assert np.all(np.diff(values) < 0) and np.all(np.diff(values) > -0.01)  # the premise of both runs
    assert not plain.stopped_early and plain.best_step == 11


def test_improvements_larger_than_min_delta_count():
    driver = _driver(nk.optimizer.Adam(0.05), validate_every=2, patience=2, min_delta=1e-4)
    log = nk.logging.RuntimeLog()
    driver.run(10, out=log, show_progress=False)
    values = np.asarray(log.data["validation_nll"].Mean)
    assert np.all(np.diff(values) < -1e-4)  # the premise: every validation improves by more than min_delta
    assert not driver.stopped_early and driver.best_step == 8
    assert driver.best_validation_nll == pytest.approx(values[-1], rel=1e-12)


def test_early_stopping_state_travels_with_a_checkpoint(tmp_path):
    def make():
        return _driver(optax.sgd(1e-3), validate_every=1, patience=4, min_delta=0.01)

    first = make()
    first.run(3, show_progress=False)  # validations at 0, 1, 2: best at 0, two without improvement
    assert first.best_step == 0 and np.isfinite(first.best_validation_nll)
    first.save(tmp_path / "ml.mpack")
    resumed = make()
    resumed.restore(tmp_path / "ml.mpack")
    assert resumed.best_validation_nll == first.best_validation_nll
    assert resumed.best_step == 0 and resumed.step_count == 3
    assert resumed.state_dict()["_since_best"] == first.state_dict()["_since_best"] == 2
    # resumed runs keep comparing with the restored best (an inf best would count step 3 as improvement)
    resumed.run(5, show_progress=False)
    assert resumed.best_step == 0 and resumed.best_validation_nll == first.best_validation_nll
