"""netket_arnn.sampling.ARDirectSampler: exact samples, log-probabilities, and models' planned passes."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.models import CurieWeissARNN, SingleLayerARNN

from ..models.ar_checks import chi_square_pvalue

N = 8


class _SiteBySite(CurieWeissARNN):
    """CW_N without its planned pass: the sampler falls back to ``conditional`` at every site."""

    direct_sample = None


def _sample(model, variables, sampler, n_samples, seed=0):
    state = sampler.init_state(model, variables, seed)
    (x, log_q), _ = jax.jit(
        lambda v, s: sampler.sample(model, v, state=s, chain_length=n_samples, return_log_probabilities=True)
    )(variables, state)
    return np.asarray(x).reshape(-1, model.hilbert.size), np.asarray(log_q).reshape(-1)


def test_is_a_netket_direct_sampler():
    sampler = na.sampling.ARDirectSampler(nk.hilbert.Spin(0.5, N))
    assert isinstance(sampler, nk.sampler.ARDirectSampler) and sampler.is_exact


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.int8])
def test_samples_the_model_distribution_with_its_log_probabilities(dtype):
    H = na.sherrington_kirkpatrick(N, seed=5)
    # float64 arithmetic: the sampling pass and the batched pass then agree to 1e-12
    model = SingleLayerARNN.from_hamiltonian(H, 1.1, dtype=jnp.float64)
    variables = jax.jit(model.init)(jax.random.key(0), H.hilbert.all_states())
    x, log_q = _sample(model, variables, na.sampling.ARDirectSampler(H.hilbert, dtype=dtype), 30000, seed=3)
    assert x.dtype == dtype and set(np.unique(x)) == {-1, 1}
    exact = np.exp(2.0 * np.asarray(model.apply(variables, H.hilbert.all_states())))
    assert chi_square_pvalue(x, H.hilbert, exact) > 1e-3
    # the power of the test: another distribution is rejected
    other = np.exp(-0.5 * np.asarray(H.energy(H.hilbert.all_states())))
    assert chi_square_pvalue(x, H.hilbert, other / other.sum()) < 1e-6
    np.testing.assert_allclose(log_q, 2.0 * np.asarray(model.apply(variables, x.astype(np.float64))), atol=1e-12)


@pytest.mark.parametrize("trainable", [False, True])
def test_planned_pass_equals_the_site_by_site_pass(trainable):
    # CW_N's direct_sample and the sampler's loop over conditional, from the same uniforms
    H = na.curie_weiss(40, J=1.0, h=0.05)
    planned = CurieWeissARNN.from_hamiltonian(H, 1.3, trainable=trainable, dtype=jnp.float64)
    loop = _SiteBySite(hilbert=H.hilbert, beta=1.3, J=1.0, h=0.05, trainable=trainable, dtype=jnp.float64)
    variables = jax.jit(planned.init)(jax.random.key(0), jnp.ones((1, 40)))
    sampler = na.sampling.ARDirectSampler(H.hilbert)
    x_planned, lq_planned = _sample(planned, variables, sampler, 500, seed=7)
    x_loop, lq_loop = _sample(loop, variables, sampler, 500, seed=7)
    np.testing.assert_array_equal(x_planned, x_loop)
    np.testing.assert_allclose(lq_planned, lq_loop, rtol=1e-13)
    np.testing.assert_allclose(lq_planned, 2.0 * np.asarray(planned.apply(variables, x_planned)), rtol=1e-10)
    assert 0.1 < np.mean(x_planned > 0) < 0.9


def test_planned_pass_samples_the_boltzmann_distribution():
    H = na.curie_weiss(N, J=1.0, h=0.2)
    model = CurieWeissARNN.from_hamiltonian(H, 1.4)
    variables = model.init(jax.random.key(0), jnp.ones((1, N)))
    x, _ = _sample(model, variables, na.sampling.ARDirectSampler(H.hilbert), 30000, seed=11)
    exact = np.asarray(na.exact.by_enumeration(H, 1.4, return_probabilities=True).probabilities)
    assert chi_square_pvalue(x, H.hilbert, exact) > 1e-3
    other = np.asarray(na.exact.by_enumeration(H, 1.0, return_probabilities=True).probabilities)
    assert chi_square_pvalue(x, H.hilbert, other) < 1e-6


def test_works_in_mcstate_and_the_free_energy_driver():
    H = na.curie_weiss(N)
    model = CurieWeissARNN.from_hamiltonian(H, 0.8, trainable=True, dtype=jnp.float64)
    vs = nk.vqs.MCState(na.sampling.ARDirectSampler(H.hilbert), model, n_samples=256, seed=0, sampler_seed=1)
    first = np.asarray(vs.samples)
    vs.reset()
    assert not np.array_equal(first, np.asarray(vs.samples))  # fresh samples after a reset
    driver = na.VariationalFreeEnergy(H, nk.optimizer.Adam(1e-3), variational_state=vs, beta=0.8)
    driver.run(2, show_progress=False)
    # CW_N at its exact parameters: the local free energy has zero variance
    assert float(driver.free_energy.variance) < 1e-20


@pytest.mark.parametrize("planned", [True, False])
def test_every_pass_advances_the_key_and_draws_fresh_samples(planned):
    # both paths: the model's planned pass (CW_N) and the loop over ``conditional`` (the fallback
    # every other model takes); a pass that returns its input key repeats the same samples forever
    H = na.curie_weiss(N, J=1.0, h=0.1)
    model = (CurieWeissARNN if planned else _SiteBySite)(hilbert=H.hilbert, beta=0.9, J=1.0, h=0.1)
    variables = jax.jit(model.init)(jax.random.key(0), jnp.ones((1, N)))
    sampler = na.sampling.ARDirectSampler(H.hilbert)
    state = sampler.init_state(model, variables, 0)
    draw = jax.jit(lambda v, s: sampler.sample(model, v, state=s, chain_length=64))
    first, state1 = draw(variables, state)
    second, state2 = draw(variables, state1)
    assert not np.array_equal(np.asarray(jax.random.key_data(state1.key)), np.asarray(jax.random.key_data(state.key)))
    assert not np.array_equal(np.asarray(jax.random.key_data(state2.key)), np.asarray(jax.random.key_data(state1.key)))
    assert not np.array_equal(np.asarray(first), np.asarray(second))
    # and through MCState, which threads the sampler state itself
    vs = nk.vqs.MCState(sampler, model, n_samples=64, seed=0, sampler_seed=1)
    before = np.asarray(vs.samples)
    vs.reset()
    assert not np.array_equal(before, np.asarray(vs.samples))
