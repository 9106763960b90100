"""One precision policy for every model (netket_arnn.models.precision), and the model hooks.

``param_dtype`` stores the parameters and accumulates log q, ``dtype`` is the arithmetic of the
per-sample pass; the defaults are float64 and float32 for every model and for ``made``. Checked on
each of them:

- ``dtype=float64``: log q is float64, normalised to 1e-12 over all states, and equal to the
  exact log p for the exact models;
- the defaults: log q is float64 and is the float64 sum of the float32 per-site log-conditionals
  (a float32 accumulation of the same terms misses by ~1e-7 relative; the test checks it would);
- a float32 request computes in float32: in the jaxpr of the pass, every floating array with a
  batch axis is float32, except the cast of the per-site terms to param_dtype and the (B,) log q.

And the hooks of netket_arnn.models.hooks: ``variables_at(beta)`` moves a model built at another
β to the model built at ``beta``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import exact
from netket_arnn.models import (
    DEFAULT_DTYPE,
    DEFAULT_PARAM_DTYPE,
    H2ARNN,
    MADE,
    CurieWeissARNN,
    CurieWeissInfARNN,
    DirectSampling,
    ExactVariables,
    FusedLogProbVJP,
    OneParameterARNN,
    PhysicsARNN,
    SingleLayerARNN,
    SpinGlassARNN,
    direct_sampler_of,
    exact_variables_at,
    fused_log_prob_vjp_of,
    made,
)

from .ar_checks import equations, perturb

N = 8
BETA = 0.9
BATCH = 11  # a size no other axis of these models has: an axis of this size is a batch axis
F32, F64 = jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)


def _random_pairwise(n, seed):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, 1.0 / np.sqrt(n), (n, n)), 1)
    return na.from_couplings(J + J.T, rng.normal(0.0, 0.3, n))


_SK = _random_pairwise(N, 3)
_CW = na.curie_weiss(N, J=1.0, h=0.15)
_EA = na.edwards_anderson(nk.graph.Grid([2, 4], pbc=False), seed=2, h=0.2)

# name -> (Hamiltonian, factory(**precision) -> model, exact: q equals the Boltzmann distribution)
CASES = {
    "CW_N": (_CW, lambda **p: CurieWeissARNN.from_hamiltonian(_CW, BETA, **p), True),
    "CW_N-trainable": (_CW, lambda **p: CurieWeissARNN.from_hamiltonian(_CW, BETA, trainable=True, **p), True),
    "CW_inf": (_CW, lambda **p: CurieWeissInfARNN.from_hamiltonian(_CW, 1.6, **p), False),
    "1P": (_CW, lambda **p: OneParameterARNN.from_hamiltonian(_CW, BETA, **p), False),
    "1L": (_SK, lambda **p: SingleLayerARNN.from_hamiltonian(_SK, BETA, **p), False),
    "H2ARNN": (_SK, lambda **p: H2ARNN.from_hamiltonian(_SK, BETA, **p), True),
    "H2ARNN-trainable": (
        _SK,
        lambda **p: H2ARNN.from_hamiltonian(_SK, BETA, trainable=True, learn_couplings=True, **p),
        True,
    ),
    "SK_1RSB": (
        _SK,
        lambda **p: SpinGlassARNN.from_hamiltonian(_SK, BETA, k=1, init_scale=0.3, start="random", **p),
        False,
    ),
    "SK_1RSB-sparse": (
        _EA,
        lambda **p: SpinGlassARNN.from_hamiltonian(_EA, BETA, k=1, init_scale=0.3, start="random", **p),
        False,
    ),
    "MADE_22": (_SK, lambda **p: made(_SK.hilbert, 2, 2, **p), False),
}
NAMES = list(CASES)
EXACT = [name for name in NAMES if CASES[name][2]]


@pytest.fixture(autouse=True, scope="module")
def optimised_code_generation():
    """This module compares float32 terms of two compiled programs bit for bit: both compiled with
    XLA's optimisations, as users run them (the default test run turns them off, tests/conftest.py).
    Unoptimised code generation rounds some float32 operations differently (by an ulp), which is
    not what these tests are about."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)


def _build(name, perturbed=False, **precision):
    H, factory, exact_model = CASES[name]
    model = factory(**precision)
    variables = jax.jit(model.init)(jax.random.key(0), jnp.asarray(H.hilbert.all_states()[:2]))
    if perturbed:  # the properties must not rely on the physics values
        variables = perturb(variables, jax.random.key(1), 0.3, ("params", "fixed", "couplings"))
    return H, model, variables


def _log_q(model, variables, x):
    return 2.0 * jax.jit(model.apply)(variables, jnp.asarray(x))


# -- the defaults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_model_has_the_same_defaults(name):
    model = CASES[name][1]()
    assert jnp.dtype(model.param_dtype) == DEFAULT_PARAM_DTYPE == F64
    assert jnp.dtype(model.dtype) == DEFAULT_DTYPE == F32
    fields = type(model).__dataclass_fields__  # the same defaults when the class is built directly
    assert jnp.dtype(fields["param_dtype"].default) == F64 and jnp.dtype(fields["dtype"].default) == F32
    explicit = CASES[name][1](param_dtype=jnp.float32, dtype=jnp.float64)  # both keywords on every factory
    assert (jnp.dtype(explicit.param_dtype), jnp.dtype(explicit.dtype)) == (F32, F64)


@pytest.mark.parametrize("name", NAMES)
def test_bad_dtypes_are_refused(name):
    factory = CASES[name][1]
    with pytest.raises(TypeError, match="dtype"):
        factory(dtype=None)  # jnp.dtype(None) would silently be float64
    with pytest.raises(TypeError, match="param_dtype"):
        factory(param_dtype=jnp.int32)
    with pytest.raises(TypeError, match="dtype"):
        factory(dtype=jnp.complex64)


# -- float64 arithmetic: exact ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_float64_is_normalised_to_1e12(name):
    H, model, variables = _build(name, perturbed=True, dtype=jnp.float64)
    log_q = _log_q(model, variables, H.hilbert.all_states())
    assert log_q.dtype == F64
    assert abs(float(np.sum(np.exp(np.asarray(log_q)))) - 1.0) < 1e-12


@pytest.mark.parametrize("name", EXACT)
def test_float64_exact_models_equal_the_boltzmann_distribution(name):
    H, model, variables = _build(name, dtype=jnp.float64)
    x = H.hilbert.all_states()
    np.testing.assert_allclose(_log_q(model, variables, x), exact.log_prob(H, x, BETA), rtol=0, atol=1e-11)


# -- the defaults: float32 terms, float64 sum ---------------------------------------------------------------


def _site_terms(model, variables, x):
    """``(B, N)`` the per-site log q(x_i | x_<i) as the model computes them (conditionals_log_psi, x2)."""
    half = jax.jit(lambda v, x: model.apply(v, x, method=model.conditionals_log_psi))(variables, jnp.asarray(x))
    index = np.asarray(model.hilbert.states_to_local_indices(jnp.asarray(x)))
    return 2.0 * np.take_along_axis(np.asarray(half), index[..., None], axis=-1)[..., 0]


@pytest.mark.parametrize("name", NAMES)
def test_defaults_sum_float32_terms_in_float64(name):
    H, model, variables = _build(name, perturbed=True)
    x = H.hilbert.all_states()
    log_q = np.asarray(_log_q(model, variables, x))
    terms = _site_terms(model, variables, x)
    assert log_q.dtype == F64 and terms.dtype == F32  # the arithmetic is float32, log q float64
    # normalised up to the float32 rounding of the per-site terms
    assert abs(np.sum(np.exp(log_q)) - 1.0) < 10 * N * np.finfo(np.float32).eps
    # ... and accumulated in float64: log q is the float64 sum of exactly these float32 terms
    in_float64 = np.sum(terms.astype(np.float64), axis=-1)
    np.testing.assert_allclose(log_q, in_float64, rtol=1e-13, atol=0)
    # the bound is sharp: a float32 accumulation of the same terms would miss it
    in_float32 = np.cumsum(terms, axis=-1, dtype=np.float32)[:, -1]
    assert np.max(np.abs(in_float32 - in_float64) / np.abs(in_float64)) > 1e3 * 1e-13


# -- a float32 request computes in float32 --------------------------------------------------------------------


def _column_read(eqn) -> bool:
    """A ``(B, 1)`` slice of a ``(B, N)`` array: the column of the configurations a sampling step reads."""
    if eqn.primitive.name != "dynamic_slice":
        return False
    (source, *_), (out,) = eqn.invars, eqn.outvars
    return out.aval.shape == (BATCH, 1) and len(source.aval.shape) == 2 and source.aval.shape[0] == BATCH


def _per_sample_dtypes(fun, *args):
    """``(wide, f32_work)``: float arrays with a batch axis that are not float32 (outside the
    accumulation of log q), and the primitives that produce float32 arrays with a batch axis."""
    wide, work = [], set()
    for eqn in equations(jax.make_jaxpr(fun)(*args).jaxpr):
        for var in eqn.outvars:
            aval = var.aval
            if not hasattr(aval, "shape") or BATCH not in aval.shape or not jnp.issubdtype(aval.dtype, jnp.floating):
                continue
            if aval.dtype == F32:
                work.add(eqn.primitive.name)
            elif eqn.primitive.name != "convert_element_type" and aval.shape != (BATCH,) and not _column_read(eqn):
                # allowed in float64: the cast of the per-site terms, the (B,) log q itself, and the
                # one column of the configurations a sampling step reads before casting it
                wide.append(f"{eqn.primitive.name} -> {aval.dtype}{list(aval.shape)}")
    return wide, work


def _sampling_pass(model, variables, x):
    """The cached ``conditional`` at every site (the per-sample pass of the sampler), as one function."""
    cache = model.init(jax.random.key(0), x, 0, method=model.conditional).get("cache", {})
    base = {k: v for k, v in variables.items() if k != "cache"}

    def run(base, x):
        def step(cache, index):
            full = {**base, "cache": cache} if cache else base
            p, mutables = model.apply(full, x, index, method=model.conditional, mutable=["cache"])
            return mutables.get("cache", cache), p

        return jax.lax.scan(step, cache, jnp.arange(x.shape[1]))[1]

    return run, base


@pytest.mark.parametrize("name", NAMES)
def test_float32_request_computes_in_float32(name):
    H, model, variables = _build(name)
    x = jnp.asarray(H.hilbert.random_state(jax.random.key(2), BATCH), jnp.float64)  # the sampler's float64 spins
    wide, work = _per_sample_dtypes(model.apply, variables, x)
    assert not wide, f"per-sample arrays not in float32: {wide}"
    assert work & {"exp", "log", "log1p", "logistic", "dot_general"}, work  # the pass was seen
    assert model.apply(variables, x).dtype == F64

    run, base = _sampling_pass(model, variables, x)
    wide, work = _per_sample_dtypes(run, base, x)
    assert not wide, f"sampling pass not in float32: {wide}"
    assert work & {"exp", "log", "log1p", "logistic"}, work

    sample = direct_sampler_of(model)
    if sample is not None:
        uniforms = jax.random.uniform(jax.random.key(3), (N, BATCH))
        wide, _ = _per_sample_dtypes(sample, variables, uniforms)
        assert not wide, f"direct sampling pass not in float32: {wide}"
        assert sample(variables, uniforms)[1].dtype == F64


@pytest.mark.parametrize("name", NAMES)
def test_float64_request_computes_in_float64(name):
    # the other direction: no float32 array with a batch axis anywhere (every layer got the dtype)
    H, model, variables = _build(name, dtype=jnp.float64)
    x = jnp.asarray(H.hilbert.random_state(jax.random.key(2), BATCH), jnp.float64)
    run, base = _sampling_pass(model, variables, x)
    passes = [(model.apply, (variables, x)), (run, (base, x))]
    if isinstance(model, PhysicsARNN):  # the plain computation reads the first layer at every site
        reference = lambda v, x: model.apply(v, x, method=lambda m, x: m.reference_logits(m.spins(x)))  # noqa: E731
        passes.append((reference, (variables, x)))
    for fun, args in passes:
        arrays = [v.aval for e in equations(jax.make_jaxpr(fun)(*args).jaxpr) for v in e.outvars]
        narrow = [a for a in arrays if hasattr(a, "shape") and BATCH in a.shape and a.dtype == F32]
        assert not narrow, f"float32 arrays in a float64 pass: {narrow}"


# -- hooks -----------------------------------------------------------------------------------------------------

EXACT_VARIABLES = {
    "CW_N": lambda b, **p: CurieWeissARNN.from_hamiltonian(_CW, b, **p),
    "CW_N-trainable": lambda b, **p: CurieWeissARNN.from_hamiltonian(_CW, b, trainable=True, **p),
    "H2ARNN": lambda b, **p: H2ARNN.from_hamiltonian(_SK, b, **p),
    "H2ARNN-trainable": lambda b, **p: H2ARNN.from_hamiltonian(_SK, b, trainable=True, **p),
    "H2ARNN-learned": lambda b, **p: H2ARNN.from_hamiltonian(
        _SK, b, learn_couplings=True, couplings_init_scale=0.3, **p
    ),
}


@pytest.mark.parametrize("name", list(EXACT_VARIABLES))
def test_variables_at_gives_the_model_built_at_beta(name):
    build = EXACT_VARIABLES[name]
    H = _CW if name.startswith("CW") else _SK
    x = jnp.asarray(H.hilbert.all_states())
    model = build(0.4, dtype=jnp.float64)
    assert isinstance(model, ExactVariables)
    variables = jax.jit(model.init)(jax.random.key(0), x[:2])
    for beta in (0.7, 1.9):
        new = exact_variables_at(model, beta)
        for collection, values in new.items():  # the model's own trees, in param_dtype
            assert jax.tree.structure(values) == jax.tree.structure(variables[collection]), collection
            assert all(leaf.dtype == F64 for leaf in jax.tree.leaves(values))
        moved = _log_q(model, {**variables, **new}, x)
        np.testing.assert_allclose(moved, exact.log_prob(H, x, beta), rtol=0, atol=1e-11)
        if name != "H2ARNN-learned":  # (that one starts from random couplings: variables_at sets the exact ones)
            rebuilt = build(beta, dtype=jnp.float64)
            own = _log_q(rebuilt, jax.jit(rebuilt.init)(jax.random.key(0), x[:2]), x)
            np.testing.assert_allclose(moved, own, rtol=0, atol=1e-12)


def test_hooks_are_found_by_protocol():
    models = {name: CASES[name][1]() for name in NAMES}
    with_exact = {name for name, m in models.items() if exact_variables_at(m, 1.0) is not None}
    assert with_exact == {"CW_N", "CW_N-trainable", "H2ARNN", "H2ARNN-trainable"}
    assert {name for name, m in models.items() if isinstance(m, DirectSampling)} == {"CW_N", "CW_N-trainable"}
    assert {name for name, m in models.items() if isinstance(m, FusedLogProbVJP)} == {"SK_1RSB", "SK_1RSB-sparse"}
    assert isinstance(models["MADE_22"], MADE) and isinstance(models["MADE_22"], nk.models.ARNNDense)
    assert direct_sampler_of(nk.models.ARNNDense(hilbert=_SK.hilbert, layers=2, features=2)) is None

    class SiteBySite(CurieWeissARNN):  # a hook set to None is switched off
        direct_sample = None

    assert direct_sampler_of(SiteBySite(hilbert=_CW.hilbert, beta=1.0)) is None

    # the functions run the hooks
    H, model, variables = _build("SK_1RSB", dtype=jnp.float64)
    x = jnp.asarray(H.hilbert.all_states()[:16])
    g = jnp.linspace(-1.0, 1.0, 16)
    fused = fused_log_prob_vjp_of(model)(variables, x, g)
    _, vjp = jax.vjp(lambda p: 2.0 * model.apply({**variables, "params": p}, x), variables["params"])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12), fused, vjp(g)[0])
    cw, cw_variables = _build("CW_N", dtype=jnp.float64)[1:]
    spins, log_q = direct_sampler_of(cw)(cw_variables, jax.random.uniform(jax.random.key(4), (N, 64)))
    np.testing.assert_allclose(log_q, _log_q(cw, cw_variables, spins), rtol=1e-12)
