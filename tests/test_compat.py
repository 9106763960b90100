"""The NetKet internals of ``netket_arnn._compat`` still exist and still do their job.

If this fails after a NetKet upgrade, find the new home of the name (or a public API that
replaced it) and update ``netket_arnn/_compat.py``.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import _compat


def test_get_forward_operator_is_the_dispatch_autochunksize_uses():
    import netket._src.callbacks.auto_chunk_size as acs

    # AutoChunkSize must still look the operator up through this very function.
    assert _compat.get_forward_operator is acs.get_forward_operator
    assert "get_forward_operator(driver)" in inspect.getsource(acs.AutoChunkSize)


def test_the_free_energy_driver_is_registered():
    H = na.curie_weiss(4)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=32)
    driver = na.VariationalFreeEnergy(H, nk.optimizer.Sgd(0.1), variational_state=vs, beta=1.0)
    assert _compat.get_forward_operator(driver) is H


def test_sample_with_log_prob_matches_the_state():
    # the log-probabilities computed while sampling are the model's log q of those samples, and
    # the state's cached samples are the ones returned
    H = na.sherrington_kirkpatrick(6, seed=2)
    model = na.models.SingleLayerARNN.from_hamiltonian(H, 0.7, dtype=jnp.float64)  # round-off level
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    key = vs.sampler_state.key
    samples, log_q = _compat.sample_with_log_prob(vs)
    assert samples.shape == (1, 64, 6) and log_q.shape == (1, 64)
    assert vs.samples is samples
    np.testing.assert_allclose(log_q.reshape(-1), 2 * vs.log_value(samples.reshape(-1, 6)), rtol=1e-12)
    assert not np.array_equal(vs.sampler_state.key, key)  # the sampler's key advanced
    fresh, _ = _compat.sample_with_log_prob(vs)
    assert not np.array_equal(fresh, samples)


def test_sample_with_log_prob_needs_a_direct_sampler():
    H = na.curie_weiss(4)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64)
    vs = nk.vqs.MCState(nk.sampler.MetropolisLocal(H.hilbert, n_chains=4), model, n_samples=32)
    with pytest.raises(TypeError, match="direct sampler"):
        _compat.sample_with_log_prob(vs)


def test_direct_sampler_reset_keeps_the_key_and_has_no_chains():
    # the package's sampler resets like NetKet's (the key is kept), without NetKet's check of a
    # `state.σ` that a direct sampler does not have (which warns on several devices)
    H = na.curie_weiss(4)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64)
    sampler = na.ARDirectSampler(H.hilbert)
    variables = model.init(jax.random.PRNGKey(0), jnp.ones((1, 4)))
    state = sampler.init_state(model, variables, seed=3)
    reset = sampler.reset(model, variables, state)
    assert not hasattr(reset, "σ")
    np.testing.assert_array_equal(jax.random.key_data(reset.key), jax.random.key_data(state.key))
    assert sampler.reset(model, variables) is not None  # a fresh state when none is given


def test_the_direct_sampler_hooks_exist_with_the_signatures_the_package_relies_on():
    # netket_arnn.sampling.ARDirectSampler overrides _sample_chain and calls _init_cache and _reset:
    # each must exist on NetKet's sampler with these parameters, and `sample` must still go
    # through _sample_chain (else the override would silently stop being used)
    for name, parameters in _compat.AR_DIRECT_SAMPLER_HOOKS.items():
        method = getattr(nk.sampler.ARDirectSampler, name)
        method = getattr(method, "__wrapped__", method)
        assert tuple(inspect.signature(method).parameters)[1:] == parameters, name
    from netket.sampler import base

    assert "self._sample_chain(" in inspect.getsource(base.Sampler.sample)
    # the override is the one NetKet's `sample` runs: its planned pass (CW_N's direct_sample) is used
    H = na.curie_weiss(6)
    model = na.models.CurieWeissARNN.from_hamiltonian(H, 0.8, dtype=jnp.float64)
    variables = model.init(jax.random.PRNGKey(0), jnp.ones((1, 6)))
    calls = []
    original = type(model).direct_sample

    def counting(self, uniforms):
        calls.append(uniforms.shape)
        return original(self, uniforms)

    try:
        type(model).direct_sample = counting
        sampler = na.sampling.ARDirectSampler(H.hilbert)
        sampler.sample(model, variables, chain_length=8)
    finally:
        type(model).direct_sample = original
    assert calls, "NetKet's sample() no longer calls the package's _sample_chain"
