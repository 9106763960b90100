"""Packed upper-triangle rows (netket_arnn.nn.packed) and Couplings(packed=True)."""

import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray

from netket_arnn.nn.couplings import Couplings, first_layer
from netket_arnn.nn.packed import packed_first_layer_update, packed_index, packed_row


def _symmetric(n, seed):
    J = np.triu(np.random.default_rng(seed).normal(size=(n, n)), 1)
    return J + J.T


def test_packed_index_is_triu_order():
    n = 7
    rows, cols = np.triu_indices(n, 1)
    np.testing.assert_array_equal(packed_index(rows, cols, n), np.arange(len(rows)))


def test_rows_and_update_match_the_matrix():
    n = 9
    J = _symmetric(n, 0)
    upper = jnp.asarray(J[np.triu_indices(n, 1)])
    for s in range(n):
        np.testing.assert_array_equal(jax.jit(packed_row, static_argnums=2)(upper, s, n), J[s])
    x = jnp.asarray(np.random.default_rng(1).choice([-1, 1], size=(3, n)).astype(np.int8))
    full = np.asarray(first_layer(x, jnp.asarray(J)))
    xi = jnp.zeros((3, n))
    for i in range(n):
        xi = packed_first_layer_update(xi, upper, x, i)
        np.testing.assert_allclose(xi, full[:, i, :], atol=1e-13)
    np.testing.assert_array_equal(packed_row(jnp.zeros((0,)), 0, 1), [0.0])  # N = 1: no pairs


def test_couplings_packed_output():
    n = 6
    J = _symmetric(n, 2)
    for trainable in (False, True):
        module = Couplings(n_sites=n, values=HashableArray(J), trainable=trainable)
        variables = module.init(jax.random.key(0))
        upper = module.apply(variables, packed=True)
        np.testing.assert_array_equal(upper, J[np.triu_indices(n, 1)])
        np.testing.assert_array_equal(module.apply(variables), J)
