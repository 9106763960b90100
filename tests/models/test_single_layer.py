"""1L baseline: one masked linear layer (THEORY §5)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from netket.utils import HashableArray

import netket_arnn as na
from netket_arnn.models import SingleLayerARNN
from netket_arnn.nn.first_layer import fields_from_rows

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
    model = SingleLayerARNN.from_hamiltonian(H, beta, dtype=jnp.float64)
    x = np.random.default_rng(1).choice([-1.0, 1.0], size=(32, N))
    variables = _init(model, x)
    # u_i = 2 beta (xi_ii + h_i), with xi from the shared couplings first layer
    xi = np.asarray(fields_from_rows(jnp.asarray(x), H.couplings))
    u = 2 * beta * (np.diagonal(xi, axis1=1, axis2=2) + np.asarray(H.fields))
    cond = evaluate(model, variables, x)["conditionals"]
    up = list(H.hilbert.local_states).index(1)
    np.testing.assert_allclose(cond[..., up], 1 / (1 + np.exp(-u)), atol=1e-13)


def test_parameter_count_and_mask():
    N = 7
    H = _random_dense(N, seed=2)
    model = SingleLayerARNN.from_hamiltonian(H, 1.0, couplings_init_scale=0.3, dtype=jnp.float64)
    x = np.asarray(H.hilbert.all_states())
    params = _init(model, x)["params"]
    kernel = params["first_layer"]["kernel"]
    assert kernel.shape == (N, N) and params["bias"].shape == (N,)
    assert sum(p.size for p in jax.tree.leaves(params)) == N**2 + N  # THEORY: N^2 + O(N)
    assert 0.1 < np.std(np.asarray(kernel)) < 0.6
    np.testing.assert_allclose(params["bias"], 2.0 * np.asarray(H.fields))

    def with_kernel(p, k):
        return {**p, "first_layer": {"kernel": k}}

    # only the strict upper triangle W[s, i], s < i, acts: the rest has no effect and no gradient
    def loss(p):
        return jnp.sum(jnp.sin(jnp.arange(len(x))) * model.apply({"params": p}, x))

    grad = np.asarray(jax.jit(jax.grad(loss))(params)["first_layer"]["kernel"])
    np.testing.assert_array_equal(grad != 0, np.triu(np.ones((N, N), bool), 1))
    changed = with_kernel(params, kernel + 5.0 * jnp.tril(jnp.ones((N, N))))
    np.testing.assert_allclose(loss(changed), loss(params), atol=1e-13)

    # gradient against central finite differences on the acting entries
    eps = 1e-6
    for s, i in [(0, 3), (5, 6), (2, 4)]:
        step = jnp.zeros((N, N)).at[s, i].set(eps)
        fd = loss(with_kernel(params, kernel + step)) - loss(with_kernel(params, kernel - step))
        np.testing.assert_allclose(grad[s, i], fd / (2 * eps), rtol=1e-6)
    # the coupling matrix the layer holds is the symmetrised upper triangle
    W = np.asarray(model.apply({"params": params}, method=model.coupling_matrix))
    np.testing.assert_array_equal(W, np.triu(kernel, 1) + np.triu(kernel, 1).T)


def test_explicit_construction_and_bad_input():
    N = 5
    H = _random_dense(N, seed=3)
    model = SingleLayerARNN(hilbert=H.hilbert, couplings=HashableArray(np.zeros((N, N))))
    x = np.asarray(H.hilbert.all_states())
    np.testing.assert_allclose(2 * evaluate(model, _init(model, x), x)["log_psi"], -N * np.log(2), atol=1e-13)

    bad = SingleLayerARNN(hilbert=H.hilbert, couplings=HashableArray(np.zeros((N, N + 1))))
    with pytest.raises(ValueError, match="coupling matrix"):
        bad.init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="start for its kernel"):
        SingleLayerARNN(hilbert=H.hilbert).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="couplings_init_scale"):
        SingleLayerARNN.from_hamiltonian(H, 1.0, couplings_init_scale=-1.0, dtype=jnp.float64)
    with pytest.raises(ValueError, match="beta"):
        SingleLayerARNN.from_hamiltonian(H, -2.0, dtype=jnp.float64)
    with pytest.raises(TypeError, match="HashableArray"):  # a raw array field cannot be hashed
        SingleLayerARNN(hilbert=H.hilbert, couplings=np.zeros((N, N)))
