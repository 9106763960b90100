"""The NetKet internals of ``netket_arnn._compat`` still exist and still do their job.

If this fails after a NetKet upgrade, find the new home of the name (or a public API that
replaced it) and update ``netket_arnn/_compat.py``.
"""

from __future__ import annotations

import inspect

import jax.numpy as jnp
import netket as nk
import numpy as np

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
    model = na.models.SingleLayerARNN.from_hamiltonian(H, 0.7)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=1)
    key = vs.sampler_state.key
    samples, log_q = _compat.sample_with_log_prob(vs)
    assert samples.shape == (1, 64, 6) and log_q.shape == (1, 64)
    assert vs.samples is samples
    np.testing.assert_allclose(log_q.reshape(-1), 2 * vs.log_value(samples.reshape(-1, 6)), rtol=1e-12)
    assert not np.array_equal(vs.sampler_state.key, key)  # the sampler's key advanced
    fresh, _ = _compat.sample_with_log_prob(vs)
    assert not np.array_equal(fresh, samples)
