"""1L baseline: one masked linear layer (THEORY §5)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.nn.initializers import constant
from netket.utils import HashableArray

import netket_arnn as na
from netket_arnn.models import SingleLayerARNN
from netket_arnn.nn import first_layer

from .ar_checks import evaluate


def _random_dense(n, seed):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, 1.0 / np.sqrt(n), (n, n)), 1)
    return na.from_couplings(J + J.T, rng.normal(0.0, 0.4, n))


def _init(model, x):
    return jax.jit(model.init)(jax.random.key(0), x)


def test_couplings_start_is_the_direct_term_of_the_exact_logit():
    N, beta = 9, 0.8
    H = _random_dense(N, seed=0)
    model = SingleLayerARNN.from_hamiltonian(H, beta)
    x = np.random.default_rng(1).choice([-1.0, 1.0], size=(32, N))
    variables = _init(model, x)
    # u_i = 2 beta (xi_ii + h_i), with xi from the shared couplings first layer
    xi = np.asarray(first_layer(jnp.asarray(x), H.couplings))
    u = 2 * beta * (np.diagonal(xi, axis1=1, axis2=2) + np.asarray(H.fields))
    cond = evaluate(model, variables, x)["conditionals"]
    up = list(H.hilbert.local_states).index(1)
    np.testing.assert_allclose(cond[..., up], 1 / (1 + np.exp(-u)), atol=1e-13)


def test_parameter_count_and_mask():
    N = 7
    H = _random_dense(N, seed=2)
    model = SingleLayerARNN.from_hamiltonian(H, 1.0, start="random", init_scale=0.3)
    x = np.asarray(H.hilbert.all_states())
    params = _init(model, x)["params"]
    assert params["kernel"].shape == (N, N) and params["bias"].shape == (N,)
    assert sum(p.size for p in jax.tree.leaves(params)) == N**2 + N  # THEORY: N^2 + O(N)
    assert 0.1 < np.std(np.asarray(params["kernel"])) < 0.6
    np.testing.assert_array_equal(params["bias"], 0.0)

    # only the strictly lower triangle (s < i) acts: the rest has no effect and no gradient
    def loss(p):
        return jnp.sum(jnp.sin(jnp.arange(len(x))) * model.apply({"params": p}, x))

    grad = np.asarray(jax.jit(jax.grad(loss))(params)["kernel"])
    np.testing.assert_array_equal(grad != 0, np.tri(N, k=-1, dtype=bool))
    changed = {**params, "kernel": params["kernel"] + 5.0 * jnp.triu(jnp.ones((N, N)))}
    np.testing.assert_allclose(loss(changed), loss(params), atol=1e-13)

    # gradient against central finite differences on the acting entries
    eps = 1e-6
    for i, s in [(3, 0), (6, 5), (4, 2)]:
        step = jnp.zeros((N, N)).at[i, s].set(eps)
        fd = loss({**params, "kernel": params["kernel"] + step}) - loss({**params, "kernel": params["kernel"] - step})
        np.testing.assert_allclose(grad[i, s], fd / (2 * eps), rtol=1e-6)


def test_explicit_construction_and_bad_input():
    N = 5
    H = _random_dense(N, seed=3)
    model = SingleLayerARNN(hilbert=H.hilbert, kernel_init=constant(0.0), bias_init=constant(0.0))
    x = np.asarray(H.hilbert.all_states())
    np.testing.assert_allclose(2 * evaluate(model, _init(model, x), x)["log_psi"], -N * np.log(2), atol=1e-13)

    bad = SingleLayerARNN(hilbert=H.hilbert, initial_kernel=HashableArray(np.zeros((N, N + 1))))
    with pytest.raises(ValueError, match="initial_kernel"):
        bad.init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="start"):
        SingleLayerARNN.from_hamiltonian(H, 1.0, start="exact")
    with pytest.raises(ValueError, match="beta"):
        SingleLayerARNN.from_hamiltonian(H, -2.0)
