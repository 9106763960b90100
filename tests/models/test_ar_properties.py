"""Properties every physics-derived ARNN must have, checked on all of them.

Normalisation for arbitrary parameter values, the autoregressive property, the planned batched
pass against the plain reference computation, the cached ``conditional`` against the batched
``conditionals`` along whole sampling passes, gradients against finite differences, a chi-square
test of ARDirectSampler samples, and MCState runs in float64 and float32. A new model gets all of
them by adding one line to ``CASES``.
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
    PhysicsARNN,
    SingleLayerARNN,
    SpinGlassARNN,
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
_EA = na.edwards_anderson(nk.graph.Grid([2, 4], pbc=False), seed=2, h=0.2)

# name -> (Hamiltonian, factory(dtype) -> model, exact: q equals the Boltzmann distribution)
CASES = {
    "H2ARNN": (_SK, lambda dt: H2ARNN.from_hamiltonian(_SK, BETA, param_dtype=dt, dtype=dt), True),
    "H2ARNN-trainable": (
        _SK,
        lambda dt: H2ARNN.from_hamiltonian(_SK, BETA, trainable=True, learn_couplings=True, param_dtype=dt, dtype=dt),
        True,
    ),
    "CW_N": (_CW, lambda dt: CurieWeissARNN.from_hamiltonian(_CW, BETA, param_dtype=dt, dtype=dt), True),
    "CW_N-trainable": (
        _CW,
        lambda dt: CurieWeissARNN.from_hamiltonian(_CW, BETA, trainable=True, param_dtype=dt, dtype=dt),
        True,
    ),
    "CW_inf": (_CW, lambda dt: CurieWeissInfARNN.from_hamiltonian(_CW, 1.6, param_dtype=dt, dtype=dt), False),
    "1P": (_CW, lambda dt: OneParameterARNN.from_hamiltonian(_CW, BETA, param_dtype=dt, dtype=dt), False),
    "1L": (_SK, lambda dt: SingleLayerARNN.from_hamiltonian(_SK, BETA, param_dtype=dt, dtype=dt), False),
    "SK_RS": (
        _SK,
        lambda dt: SpinGlassARNN.from_hamiltonian(
            _SK, BETA, k=0, init_scale=0.3, start="random", param_dtype=dt, dtype=dt
        ),
        False,
    ),
    "SK_1RSB-decoupled": (
        _SK,
        lambda dt: SpinGlassARNN.from_hamiltonian(_SK, BETA, k=1, start="decoupled", param_dtype=dt, dtype=dt),
        False,
    ),
    "SK_2RSB-learned": (
        _SK,
        lambda dt: SpinGlassARNN.from_hamiltonian(
            _SK, BETA, k=2, learn_couplings=True, couplings_init_scale=0.5, init_scale=0.3, param_dtype=dt, dtype=dt
        ),
        False,
    ),
    "SK_1RSB-sparse": (
        _EA,
        lambda dt: SpinGlassARNN.from_hamiltonian(
            _EA, BETA, k=1, init_scale=0.3, start="random", param_dtype=dt, dtype=dt
        ),
        False,
    ),
    "SK_1RSB-sparse-learned": (
        _EA,
        lambda dt: SpinGlassARNN.from_hamiltonian(
            _EA, BETA, k=1, learn_couplings=True, init_scale=0.3, start="random", param_dtype=dt, dtype=dt
        ),
        False,
    ),
}
NAMES = list(CASES)
TRAINED = [name for name in NAMES if name not in ("H2ARNN", "CW_N")]  # models with parameters


def _build(name, dtype=jnp.float64, perturbed=False):
    H, factory, exact = CASES[name]
    model = factory(dtype)
    x = H.hilbert.all_states()
    variables = jax.jit(model.init)(jax.random.key(0), x)
    if perturbed:  # the properties must not rely on the physics values
        variables = perturb(variables, jax.random.key(1), 0.3, ("params", "fixed", "couplings"))
    return H, model, variables, np.asarray(x), exact


def test_every_model_is_a_physics_arnn():
    for name in NAMES:
        model = CASES[name][1](jnp.float64)
        assert isinstance(model, PhysicsARNN) and isinstance(model, nk.models.AbstractARNN), name
        assert model.machine_pow == 2


@pytest.mark.parametrize("name", NAMES)
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


@pytest.mark.parametrize("name", NAMES)
def test_planned_pass_equals_reference_computation(name):
    _, model, variables, x, _ = _build(name, perturbed=True)

    @jax.jit
    def both(variables, x):
        planned = model.apply(variables, x, method=model.logits)
        reference = model.apply(variables, x, method=model.reference_logits)
        return planned, reference

    planned, reference = both(variables, jnp.asarray(x, jnp.float64))
    np.testing.assert_allclose(planned, reference, rtol=1e-12, atol=1e-12)
    assert np.std(np.asarray(reference)) > 1e-3  # not trivially zero


@pytest.mark.parametrize("name", NAMES)
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
    # later sites do see earlier spins: the check above is not vacuous
    assert any(np.max(np.abs(conds[j + 1][:, j + 1 :] - base[:, j + 1 :])) > 1e-6 for j in range(N - 1))


@pytest.mark.parametrize("name", NAMES)
def test_cached_conditional_matches_full_pass(name):
    _, model, variables, _, _ = _build(name, perturbed=True)
    samples, cached = cached_sampling_pass(model, variables, n_samples=64, seed=2)
    full = evaluate(model, variables, samples)["conditionals"]
    np.testing.assert_allclose(cached, full, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", TRAINED)
def test_gradient_matches_finite_differences(name):
    _, model, variables, x, _ = _build(name, perturbed=True)
    params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}
    weights = jnp.asarray(np.random.default_rng(0).normal(size=len(x)))

    @jax.jit
    def loss(p):
        return jnp.sum(weights * model.apply({**rest, "params": p}, x))

    grad = jax.jit(jax.grad(loss))(params)
    rng = np.random.default_rng(1)
    eps = 1e-5
    for path_grad, path_param in zip(jax.tree.leaves(grad), jax.tree.leaves(params)):
        assert path_grad.shape == path_param.shape
    for _ in range(3):  # random directions over all parameters at once
        d = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), p.dtype), params)
        plus = jax.tree.map(lambda p, e: p + eps * e, params, d)
        minus = jax.tree.map(lambda p, e: p - eps * e, params, d)
        fd = (loss(plus) - loss(minus)) / (2 * eps)
        directional = sum(jnp.sum(g * e) for g, e in zip(jax.tree.leaves(grad), jax.tree.leaves(d)))
        assert abs(float(directional)) > 1e-6
        np.testing.assert_allclose(float(directional), float(fd), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_chi_square_of_sampler_against_exact_distribution(name):
    H, model, variables, x, exact = _build(name)
    if exact:  # physics-exact models must sample the Boltzmann distribution itself
        probabilities = np.asarray(na.exact.by_enumeration(H, BETA, return_probabilities=True).probabilities)
    else:
        probabilities = np.exp(log_q(model, variables, x))
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert), model, variables=variables, n_samples=30000, sampler_seed=7
    )
    samples = np.asarray(vstate.samples).reshape(-1, N)
    assert set(np.unique(samples)) == {-1, 1}
    assert chi_square_pvalue(samples, H.hilbert, probabilities) > 1e-3
    if exact:  # the test has power: the Boltzmann distribution at another beta is rejected
        other = np.asarray(na.exact.by_enumeration(H, 1.2 * BETA, return_probabilities=True).probabilities)
        assert chi_square_pvalue(samples, H.hilbert, other) < 1e-6


# float32 end to end on one variant of each model class in the default run, on the others with the
# slow tests (the variants share the class's code paths; the default precision has its own tests)
FLOAT32_DEFAULT = {"H2ARNN", "CW_N", "CW_inf", "1P", "1L", "SK_1RSB-sparse"}


def _mcstate_cases():
    for name in NAMES:
        yield pytest.param(name, jnp.float64, id=f"{name}-float64")
        slow = () if name in FLOAT32_DEFAULT else pytest.mark.slow
        yield pytest.param(name, jnp.float32, id=f"{name}-float32", marks=slow)


@pytest.mark.parametrize(("name", "dtype"), list(_mcstate_cases()))
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
        e_exact = na.exact.by_enumeration(H, BETA).energy * N
        assert abs(energy.mean.real - e_exact) < 5 * energy.error_of_mean + 1e-12
    if vstate.n_parameters:
        _, grad = vstate.expect_and_grad(H)
        leaves = jax.tree.leaves(grad)
        assert all(leaf.dtype == jnp.dtype(dtype) and np.all(np.isfinite(leaf)) for leaf in leaves)
    # NetKet's full-summation state accepts the state's variables as they are laid out
    full = nk.vqs.FullSumState(H.hilbert, model, variables=vstate.variables)
    np.testing.assert_allclose(
        np.exp(2.0 * np.asarray(full.log_value(H.hilbert.all_states()), np.float64)).sum(), 1.0, rtol=1e-5
    )
    if dtype == jnp.float32:  # float32 evaluates the same distribution to float32 accuracy
        # (GPUs run float32 matmuls in TF32 by default, with about 1e-3 relative error)
        tol = 2e-5 if jax.default_backend() == "cpu" else 2e-3
        reference = factory(jnp.float64)
        ref_vars = jax.jit(reference.init)(jax.random.key(0), samples)
        ref_vars = jax.tree.map(lambda a, b: jnp.asarray(b, a.dtype), ref_vars, vstate.variables)
        np.testing.assert_allclose(
            np.asarray(log_psi, np.float64), np.asarray(reference.apply(ref_vars, samples)), rtol=tol, atol=tol
        )


def test_mismatched_sampler_and_model_sizes_are_named():
    # a model of N = 8 driven by a sampler of N = 6: the model names both sizes
    model = CASES["SK_RS"][1](jnp.float64)
    with pytest.raises(ValueError, match="defined on 8 sites"):
        nk.vqs.MCState(nk.sampler.ARDirectSampler(nk.hilbert.Spin(0.5, 6)), model, n_samples=16)
