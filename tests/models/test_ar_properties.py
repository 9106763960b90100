"""Properties every physics-derived ARNN must have, checked on all of them.

Normalisation for arbitrary parameter values, the autoregressive property, the cached
``conditional`` against the batched ``conditionals`` along whole sampling passes, a
chi-square test of ARDirectSampler samples, and MCState runs in float64 and float32.
"""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.models import (
    H2ARNN,
    CurieWeissARNN,
    CurieWeissInfARNN,
    OneParameterARNN,
    SingleLayerARNN,
)

from .ar_checks import cached_sampling_pass, chi_square_pvalue, evaluate, log_q, perturb

N = 8
BETA = 0.9


def _random_pairwise(n, seed):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, 1.0 / np.sqrt(n), (n, n)), 1)
    return na.from_couplings(J + J.T, rng.normal(0.0, 0.3, n))


_SK = _random_pairwise(N, 3)
_CW = na.curie_weiss(N, J=1.0, h=0.15)

# name -> (Hamiltonian, factory(dtype) -> model, exact: q equals the Boltzmann distribution).
# Trainable CW_N shares CW_N's code path (only the collection differs): see test_curie_weiss.py.
CASES = {
    "H2ARNN": (_SK, lambda dt: H2ARNN.from_hamiltonian(_SK, BETA, param_dtype=dt), True),
    "H2ARNN-trainable": (
        _SK,
        lambda dt: H2ARNN.from_hamiltonian(_SK, BETA, trainable=True, trainable_couplings=True, param_dtype=dt),
        True,
    ),
    "CW_N": (_CW, lambda dt: CurieWeissARNN.from_hamiltonian(_CW, BETA, param_dtype=dt), True),
    "CW_inf": (_CW, lambda dt: CurieWeissInfARNN.from_hamiltonian(_CW, 1.6, param_dtype=dt), False),
    "1P": (_CW, lambda dt: OneParameterARNN.from_hamiltonian(_CW, BETA, param_dtype=dt), False),
    "1L": (_SK, lambda dt: SingleLayerARNN.from_hamiltonian(_SK, BETA, param_dtype=dt), False),
}
NAMES = list(CASES)
# The trainable H2ARNN differs from the fixed one only in how the hidden weights are read (a
# stored array, sliced per site while sampling): its own check is the cached sampling pass.
BASE_NAMES = [name for name in NAMES if "trainable" not in name]


def _build(name, dtype=jnp.float64, perturbed=False):
    H, factory, exact = CASES[name]
    model = factory(dtype)
    x = H.hilbert.all_states()
    variables = jax.jit(model.init)(jax.random.key(0), x)
    if perturbed:  # the properties must not rely on the physics values
        variables = perturb(variables, jax.random.key(1), 0.3, ("params", "fixed", "couplings"))
    return H, model, variables, np.asarray(x), exact


@pytest.mark.parametrize("name", BASE_NAMES)
def test_normalised_and_consistent_for_any_parameters(name):
    H, model, variables, x, _ = _build(name, perturbed=True)
    out = evaluate(model, variables, x)
    lq = 2 * out["log_psi"]
    np.testing.assert_allclose(np.exp(lq).sum(), 1.0, atol=1e-12)

    cond = out["conditionals"]
    assert cond.shape == (len(x), N, 2)
    np.testing.assert_allclose(cond.sum(-1), 1.0, atol=1e-13)
    # log psi(x) is the sum of the conditionals' log psi at the local index of each x_i
    log_psi_c = out["conditionals_log_psi"]
    idx = np.asarray(H.hilbert.states_to_local_indices(jnp.asarray(x)))
    picked = np.take_along_axis(log_psi_c, idx[..., None], axis=-1)[..., 0].sum(-1)
    np.testing.assert_allclose(picked, lq / 2, atol=1e-12)
    # a single configuration (ndim 1) is accepted as a batch of one
    np.testing.assert_allclose(np.asarray(model.apply(variables, x[5])), lq[5:6] / 2, atol=1e-12)


@pytest.mark.parametrize("name", BASE_NAMES)
def test_autoregressive_property(name):
    _, model, variables, _, _ = _build(name, perturbed=True)
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 1.0], size=(16, N))
    flips = np.concatenate([x] + [x * np.where(np.arange(N) == j, -1.0, 1.0) for j in range(N)])
    conds = evaluate(model, variables, flips)["conditionals"].reshape(N + 1, len(x), N, 2)
    base = conds[0]
    for j in range(N):
        cond = conds[j + 1]
        np.testing.assert_allclose(cond[:, : j + 1], base[:, : j + 1], rtol=0, atol=1e-14)
        if j < N - 1:  # later sites do see x_j: the check above is not vacuous
            assert np.max(np.abs(cond[:, j + 1 :] - base[:, j + 1 :])) > 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_cached_conditional_matches_full_pass(name):
    _, model, variables, _, _ = _build(name, perturbed=True)
    samples, cached = cached_sampling_pass(model, variables, n_samples=64, seed=2)
    full = evaluate(model, variables, samples)["conditionals"]
    np.testing.assert_allclose(cached, full, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", BASE_NAMES)
def test_chi_square_of_sampler_against_exact_distribution(name):
    H, model, variables, x, exact = _build(name)
    if exact:  # physics-exact models must sample the Boltzmann distribution itself
        probabilities = np.asarray(na.exact.enumeration(H, BETA, return_probabilities=True).probabilities)
    else:
        probabilities = np.exp(log_q(model, variables, x))
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert), model, variables=variables, n_samples=30000, sampler_seed=7
    )
    samples = np.asarray(vstate.samples).reshape(-1, N)
    assert set(np.unique(samples)) == {-1, 1}
    assert chi_square_pvalue(samples, H.hilbert, probabilities) > 1e-3
    if exact:  # the test has power: the Boltzmann distribution at another beta is rejected
        other = np.asarray(na.exact.enumeration(H, 1.2 * BETA, return_probabilities=True).probabilities)
        assert chi_square_pvalue(samples, H.hilbert, other) < 1e-6


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", BASE_NAMES)
def test_runs_in_mcstate(name, dtype):
    H, factory, exact = CASES[name]
    model = factory(dtype)
    assert hash(model) == hash(factory(dtype)) and model == factory(dtype)  # static jit argument
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=2048, seed=0, sampler_seed=1)
    samples = vstate.samples.reshape(-1, N)
    assert samples.shape == (2048, N)
    assert set(np.unique(np.asarray(samples))) <= {-1, 1}
    log_psi = jax.jit(lambda v, s: model.apply(v, s))(vstate.variables, samples)
    assert log_psi.dtype == jnp.dtype(dtype)
    energy = vstate.expect(H)
    assert np.isfinite(energy.mean)
    if exact and dtype == jnp.float64:
        e_exact = na.exact.enumeration(H, BETA).energy * N
        assert abs(energy.mean.real - e_exact) < 5 * energy.error_of_mean + 1e-12
    if vstate.n_parameters:
        _, grad = vstate.expect_and_grad(H)
        leaves = jax.tree.leaves(grad)
        assert all(leaf.dtype == jnp.dtype(dtype) and np.all(np.isfinite(leaf)) for leaf in leaves)
    if dtype == jnp.float32:  # float32 evaluates the same distribution to float32 accuracy
        # (GPUs run float32 matmuls in TF32 by default, with about 1e-3 relative error)
        tol = 2e-5 if jax.default_backend() == "cpu" else 2e-3
        reference = factory(jnp.float64)
        ref_vars = jax.jit(reference.init)(jax.random.key(0), samples)
        ref_vars = jax.tree.map(lambda a, b: jnp.asarray(b, a.dtype), ref_vars, vstate.variables)
        np.testing.assert_allclose(
            np.asarray(log_psi, np.float64), np.asarray(reference.apply(ref_vars, samples)), rtol=tol, atol=tol
        )
