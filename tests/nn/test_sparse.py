"""Frontier tables and the frontier fields of the sparse first layer (netket_arnn.nn.sparse).

The protocol itself (batched fields, recurrence, storage) is checked for every first layer,
the sparse one included, in test_first_layer.py."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

from netket_arnn.nn import frontier_layout
from netket_arnn.nn.first_layer import fields_from_rows
from netket_arnn.nn.sparse import columns_at, edge_weights_at, frontier_fields


def _random_edges(n, n_edges, seed):
    rng = np.random.default_rng(seed)
    rows, cols = np.triu_indices(n, 1)
    pick = rng.choice(len(rows), size=n_edges, replace=False)
    return np.stack([rows[pick], cols[pick]], axis=1)


def _dense(n, edges, weights):
    J = np.zeros((n, n))
    J[edges[:, 0], edges[:, 1]] = weights
    return J + J.T


def _brute_frontier(n, edges):
    J = _dense(n, edges, np.ones(len(edges)))
    return [[l for l in range(i + 1, n) if J[:i, l].any()] for i in range(n)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frontier_matches_definition(seed):
    n = 13
    edges = _random_edges(n, 20, seed)
    layout = frontier_layout(n, edges)
    frontier = _brute_frontier(n, edges)
    assert list(layout.sizes) == [len(f) for f in frontier]
    assert layout.n_pairs == sum(len(f) for f in frontier)
    assert layout.width == max(1, max(len(f) for f in frontier))
    # packed order is (i, l) lexicographic, and the padded tables point into it
    pairs = [(i, l) for i in range(n) for l in frontier[i]]
    assert list(zip(layout.pair_rows.tolist(), layout.pair_cols.tolist())) == pairs
    for i in range(n):
        s = layout.sizes[i]
        assert list(layout.cols[i, :s]) == frontier[i]
        assert np.all(layout.cols[i, s:] == n)
        assert list(layout.slot_index[i, :s]) == list(range(layout.offsets[i], layout.offsets[i] + s))
        assert np.all(layout.slot_index[i, s:] == layout.n_pairs)


def test_adjacency_tables():
    n = 9
    edges = _random_edges(n, 14, 5)
    layout = frontier_layout(n, edges)
    for site in range(n):
        back = {(int(s), int(e)) for s, e in zip(layout.back_src[site], layout.back_edge[site]) if s < n}
        fwd = {(int(s), int(e)) for s, e in zip(layout.fwd_dst[site], layout.fwd_edge[site]) if s < n}
        assert back == {(int(i), e) for e, (i, j) in enumerate(edges) if j == site}
        assert fwd == {(int(j), e) for e, (i, j) in enumerate(edges) if i == site}
    assert np.all(layout.back_src[n] == n) and np.all(layout.back_edge[n] == len(edges))


@pytest.mark.parametrize("L", [4, 7])
def test_lattice_frontier_width_is_linear_in_L(L):
    # raster order on an open L x L lattice: the frontier of (r, c), r >= 1, is the L - 1
    # sites (r, c+1..L-1) and (r+1, 0..c-1) (no row r+1 in the last row), so parameters
    # scale as N * L, not N^2
    graph = nk.graph.Grid([L, L], pbc=False)
    layout = frontier_layout(L * L, np.sort(np.asarray(graph.edges()), axis=1))
    assert layout.width == L - 1
    assert np.all(layout.sizes[L : L * (L - 1)] == L - 1)
    assert list(layout.sizes[L * (L - 1) :]) == list(range(L - 1, -1, -1))
    assert layout.n_pairs == sum(len(f) for f in _brute_frontier(L * L, np.sort(np.asarray(graph.edges()), 1)))


def test_bad_edges_raise():
    with pytest.raises(ValueError, match="i < j"):
        frontier_layout(4, np.array([[2, 1]]))
    with pytest.raises(ValueError, match="i < j"):
        frontier_layout(4, np.array([[0, 4]]))
    with pytest.raises(ValueError, match="integer"):
        frontier_layout(4, np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive"):
        frontier_layout(0, np.zeros((0, 2), dtype=int))


def test_no_edges():
    layout = frontier_layout(5, np.zeros((0, 2), dtype=int))
    assert layout.n_pairs == 0 and layout.width == 1
    x = jnp.ones((2, 5))
    rows = jnp.arange(5)
    slots = jnp.concatenate([rows[:, None], jnp.asarray(layout.cols)], axis=1)
    xi = frontier_fields(x, jnp.zeros((0,)), layout, rows, slots)
    assert xi.shape == (2, 5, 2) and np.all(np.asarray(xi) == 0)


def test_frontier_fields_match_dense():
    n = 11
    edges = _random_edges(n, 18, 3)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=len(edges))
    layout = frontier_layout(n, edges)
    x = jnp.asarray(rng.choice([-1, 1], size=(6, n)).astype(np.int8))
    dense = np.asarray(fields_from_rows(x, jnp.asarray(_dense(n, edges, weights))))  # (B, N, N)

    rows = jnp.arange(n)
    slots = jnp.concatenate([rows[:, None], jnp.asarray(layout.cols)], axis=1)
    xi = np.asarray(frontier_fields(x, jnp.asarray(weights), layout, rows, slots))
    np.testing.assert_allclose(xi[:, :, 0], np.einsum("bii->bi", dense), atol=1e-13)
    for i in range(n):
        s = layout.sizes[i]
        np.testing.assert_allclose(xi[:, i, 1 : 1 + s], dense[:, i, layout.cols[i, :s]], atol=1e-13)
        assert np.all(xi[:, i, 1 + s :] == 0)
    # every pair (i, l > i) outside the frontier has ξ identically zero: nothing is dropped
    for i in range(n):
        outside = [l for l in range(i + 1, n) if l not in set(layout.cols[i, : layout.sizes[i]])]
        assert np.all(dense[:, i, outside] == 0)


def test_padding_ids_read_zero():
    """Edge id E and site N are padding: they read 0, every other id its entry, gradients drop them."""
    rng = np.random.default_rng(1)
    weights = jnp.asarray(rng.normal(size=5))
    ids = jnp.asarray([[4, 5, 0], [5, 2, 2]])
    padded = np.append(np.asarray(weights), 0.0)
    np.testing.assert_array_equal(edge_weights_at(weights, ids), padded[np.asarray(ids)])
    # each entry's gradient counts its reads; the padding reads add to nothing
    grad = jax.grad(lambda w: edge_weights_at(w, ids).sum())(weights)
    np.testing.assert_array_equal(grad, [1.0, 0.0, 2.0, 0.0, 1.0])
    assert edge_weights_at(jnp.zeros((0,)), jnp.asarray([0, 0])).tolist() == [0.0, 0.0]

    state = jnp.asarray(rng.normal(size=(3, 4)))
    cols = jnp.asarray([1, 4, 3, 4])
    expected = np.concatenate([np.asarray(state), np.zeros((3, 1))], axis=1)[:, np.asarray(cols)]
    np.testing.assert_array_equal(columns_at(state, cols), expected)
