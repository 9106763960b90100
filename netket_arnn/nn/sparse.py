r"""Sparse first layer: one coupling per edge, and the frontier tables of its pairs (THEORY §4).

With sparse couplings the first-layer input :math:`\xi_{il} = \sum_{s<i} J_{sl} x_s`
(:math:`l > i`) is identically zero unless some already-sampled site :math:`s < i` is a
neighbour of :math:`l`. The **frontier** of site :math:`i` is

.. math::  F(i) = \{\, l > i : \exists\, s < i,\ J_{sl} \neq 0 \,\} ,

i.e. :math:`l \in F(i)` iff :math:`m_l < i < l` with :math:`m_l` the smallest neighbour of
:math:`l`. Only frontier pairs :math:`(i, l)` need hidden units: :math:`O(N \cdot W)`
of them, :math:`W = \max_i |F(i)|` (for an :math:`L \times L` lattice in raster order,
:math:`W \approx L` with open and :math:`\approx 2L` with periodic boundaries).

Layout conventions (all static numpy, built once per edge list):

* frontier pairs are numbered ``p = 0 … P-1`` in ``(i, l)`` lexicographic order; per-pair
  parameters are packed ``(…, P)`` arrays;
* row ``i`` of the padded ``(N, W)`` tables holds ``F(i)`` in increasing order in slots
  ``0 … |F(i)|-1``; padding slots point at the packed index ``P`` (a zero appended by the
  model, so padding contributes nothing) and at site ``N`` (a dummy site without
  neighbours, so their ξ is zero);
* the edge weights are the ``(E,)`` vector of :attr:`PairwiseIsing.edge_weights`; edge id
  ``E`` denotes a padding weight zero (:func:`edge_weights_at` reads it so, and
  :func:`columns_at` reads the dummy site ``N`` of a ``(B, N)`` state as 0).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray

from .first_layer import FirstLayer

__all__ = ["FrontierLayout", "SparseFirstLayer", "frontier_layout"]


@dataclasses.dataclass(frozen=True, eq=False)
class FrontierLayout:
    """Static index tables of the frontier pairs of a sparse coupling graph.

    Build with :func:`frontier_layout`. Shapes: ``N`` sites, ``E`` edges, ``P`` frontier
    pairs, ``W`` frontier width (at least 1), ``Db``/``Df`` maximal number of earlier/later
    neighbours (at least 1). Tables with ``N + 1`` rows have a dummy last row (site ``N``)
    whose entries are all padding.
    """

    n_sites: int
    n_edges: int
    sizes: np.ndarray
    """``(N,)`` frontier sizes :math:`|F(i)|`."""
    offsets: np.ndarray
    """``(N,)`` packed index of the first pair of row ``i``."""
    pair_rows: np.ndarray
    """``(P,)`` site ``i`` of each frontier pair."""
    pair_cols: np.ndarray
    """``(P,)`` frontier site ``l`` of each pair."""
    cols: np.ndarray
    """``(N, W)`` frontier sites of row ``i``, padded with the dummy site ``N``."""
    slot_index: np.ndarray
    """``(N, W)`` packed pair index of each slot, padded with ``P``."""
    back_src: np.ndarray
    """``(N + 1, Db)`` neighbours ``s < l`` of each site ``l``, padded with ``N``."""
    back_edge: np.ndarray
    """``(N + 1, Db)`` edge ids of :attr:`back_src`, padded with ``E``."""
    fwd_dst: np.ndarray
    """``(N + 1, Df)`` neighbours ``s > l`` of each site ``l``, padded with ``N``."""
    fwd_edge: np.ndarray
    """``(N + 1, Df)`` edge ids of :attr:`fwd_dst`, padded with ``E``."""

    @property
    def n_pairs(self) -> int:
        """Number ``P`` of frontier pairs (per-pair parameter count per unit type)."""
        return int(self.pair_rows.shape[0])

    @property
    def width(self) -> int:
        """Padded frontier width ``W``."""
        return int(self.cols.shape[1])


def frontier_layout(n_sites: int, edges) -> FrontierLayout:
    """Frontier tables for ``n_sites`` spins coupled along ``edges``.

    Args:
        n_sites: number of spins ``N``.
        edges: ``(E, 2)`` integer pairs ``(i, j)`` with ``0 <= i < j < N``, each unordered
            pair once (the convention of :attr:`PairwiseIsing.edges`); edge ``e`` carries
            weight ``e`` of the edge-weight vector.
    """
    edges = np.asarray(edges)
    if edges.size == 0:
        edges = np.zeros((0, 2), dtype=np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2 or not np.issubdtype(edges.dtype, np.integer):
        raise ValueError(f"edges must be an (E, 2) integer array, got shape {edges.shape} ({edges.dtype})")
    n = int(n_sites)
    if n < 1:
        raise ValueError(f"n_sites must be a positive integer, got {n_sites!r}")
    if edges.size and (np.any(edges[:, 0] >= edges[:, 1]) or edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"edges must be pairs (i, j) with 0 <= i < j < {n}")
    return _frontier_layout_cached(n, HashableArray(edges.astype(np.int64)))


@functools.lru_cache(maxsize=32)
def _frontier_layout_cached(n: int, edges_h: HashableArray) -> FrontierLayout:
    edges = np.asarray(edges_h)
    n_edges = edges.shape[0]
    lo, hi = edges[:, 0], edges[:, 1]

    # m_l: smallest neighbour of l (n where l has no earlier neighbour); l ∈ F(i) iff m_l < i < l.
    min_nbr = np.full(n, n, dtype=np.int64)
    np.minimum.at(min_nbr, hi, lo)
    sites = np.arange(n)
    counts = np.maximum(sites - min_nbr - 1, 0)
    pair_cols = np.repeat(sites, counts)
    starts = np.repeat(min_nbr + 1, counts)
    pair_rows = starts + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    order = np.lexsort((pair_cols, pair_rows))
    pair_rows, pair_cols = pair_rows[order], pair_cols[order]
    n_pairs = pair_rows.shape[0]

    sizes = np.bincount(pair_rows, minlength=n).astype(np.int64)
    offsets = np.cumsum(sizes) - sizes
    width = max(int(sizes.max(initial=0)), 1)
    pos = np.arange(n_pairs) - offsets[pair_rows]
    cols = np.full((n, width), n, dtype=np.int32)
    cols[pair_rows, pos] = pair_cols
    slot_index = np.full((n, width), n_pairs, dtype=np.int32)
    slot_index[pair_rows, pos] = np.arange(n_pairs)

    back_src, back_edge = _adjacency(hi, lo, n, n_edges)
    fwd_dst, fwd_edge = _adjacency(lo, hi, n, n_edges)
    return FrontierLayout(
        n_sites=n,
        n_edges=n_edges,
        sizes=sizes,
        offsets=offsets,
        pair_rows=pair_rows.astype(np.int32),
        pair_cols=pair_cols.astype(np.int32),
        cols=cols,
        slot_index=slot_index,
        back_src=back_src,
        back_edge=back_edge,
        fwd_dst=fwd_dst,
        fwd_edge=fwd_edge,
    )


def _adjacency(owner: np.ndarray, other: np.ndarray, n: int, n_edges: int):
    """Padded ``(n + 1, D)`` lists of ``other`` endpoints (and edge ids) per ``owner`` site."""
    order = np.lexsort((other, owner))
    owner_s, other_s, edge_s = owner[order], other[order], np.arange(n_edges)[order]
    deg = np.bincount(owner_s, minlength=n)
    width = max(int(deg.max(initial=0)), 1)
    pos = np.arange(n_edges) - (np.cumsum(deg) - deg)[owner_s]
    nbr = np.full((n + 1, width), n, dtype=np.int32)
    eid = np.full((n + 1, width), n_edges, dtype=np.int32)
    nbr[owner_s, pos] = other_s
    eid[owner_s, pos] = edge_s
    return nbr, eid


def frontier_fields(x: jax.Array, weights: jax.Array, layout: FrontierLayout, rows, slots) -> jax.Array:
    r"""First-layer inputs of some rows, at the sites of their slots.

    .. math::  \xi[b, r, t] = \sum_{s < \text{rows}[r],\ s \sim l} J_{sl}\, x_{b,s},
               \qquad l = \text{slots}[r, t]

    Args:
        x: ``(B, N)`` spins ±1 (any dtype; cast to the couplings' dtype).
        weights: ``(E,)`` edge couplings.
        layout: the :class:`FrontierLayout` of the edges.
        rows: ``(R,)`` sites ``i`` (an index ``>= N`` is a padding row: all of its ξ are 0).
        slots: ``(R, T)`` sites ``l`` whose ξ is wanted (``N`` is padding: ξ = 0). Typically
            ``[i] + F(i)``: the skip input :math:`\xi_{ii}` and the frontier.

    Returns:
        ``(B, R, T)``.
    """
    src = jnp.asarray(layout.back_src)[slots]  # (R, T, Db) earlier neighbours of l
    edge = jnp.asarray(layout.back_edge)[slots]
    # only neighbours sampled before row i count; others (and padding) get weight 0
    coeff = jnp.where(src < jnp.asarray(rows)[:, None, None], edge_weights_at(weights, edge), 0.0)
    xp = jnp.concatenate([x.astype(weights.dtype), jnp.zeros((x.shape[0], 1), weights.dtype)], axis=1)
    return jnp.einsum("brtd,rtd->brt", xp[:, src], coeff)


def edge_weights_at(weights: jax.Array, edge_ids) -> jax.Array:
    r"""``weights[edge_ids]`` of the ``(E,)`` edge weights, the padding id ``E`` reading a zero weight.

    A fill-mode gather, shaped like ``edge_ids``: no padded copy of the weights is made, and its
    gradient is a scatter-add that drops the padding.
    """
    if weights.shape[0] == 0:  # no edges: every id is padding, and XLA cannot gather from nothing
        return jnp.zeros(jnp.shape(edge_ids), weights.dtype)
    return weights.at[edge_ids].get(mode="fill", fill_value=0)


def columns_at(state: jax.Array, cols) -> jax.Array:
    r"""``state[:, cols]`` of a ``(B, N)`` array, the padding site ``N`` reading 0: ``(B, *cols.shape)``.

    How a sampling step reads a row's columns of the first-layer state: a fill-mode gather costs
    :math:`O(B \cdot |\mathrm{cols}|)`, where padding the state first would copy all of it.
    """
    return state.at[:, cols].get(mode="fill", fill_value=0)


class SparseFirstLayer(FirstLayer):
    r"""First layer with one coupling per edge of a graph (the protocol of :class:`FirstLayer`).

    ``edges``: the ``(E, 2)`` pairs ``(i, j)``, ``i < j`` (:attr:`PairwiseIsing.edges`);
    ``values``: the ``(E,)`` edge weights. Fixed couplings live in ``"couplings"/"edge_weights"``;
    learned ones are ``params["kernel"]`` of shape ``(E,)``: couplings are learned on the given
    edges only.

    The state is the ``(B, N)`` array :math:`\xi_{i,l}` over all sites (entries :math:`l < i`
    are stale and never read). The sampling update touches only the later neighbours of site
    :math:`i - 1` (:math:`O(B D_f)`), and :meth:`frontier_fields` gives the batched inputs of chosen
    rows and columns in :math:`O(B \cdot R \cdot T \cdot D_b)`, never anything of size :math:`N^2`.
    """

    edges: HashableArray | None = None
    """``(E, 2)`` integer pairs ``(i, j)`` with ``i < j``."""

    @property
    def layout(self) -> FrontierLayout:
        """The frontier tables of :attr:`edges`."""
        if self.edges is None:
            raise ValueError("SparseFirstLayer needs `edges` (the coupling graph)")
        return frontier_layout(self.n_sites, np.asarray(self.edges))

    @property
    def state_width(self) -> int:
        return self.n_sites

    def _storage(self):
        n_edges = self.layout.n_edges
        stored = None
        if self.values is not None:
            stored = np.asarray(self.values)
            if stored.shape != (n_edges,):
                raise ValueError(f"edge coupling values must have shape ({n_edges},), got {stored.shape}")
        return "edge_weights", (n_edges,), stored

    def rows(self) -> jax.Array:
        n = self.n_sites
        lo, hi = np.asarray(self.edges).reshape(-1, 2).T
        J = jnp.zeros((n, n), self.weights.dtype).at[lo, hi].set(self.weights)
        return J + J.T

    def add_row(self, state, s, coeff):
        layout = self.layout
        dst = jnp.asarray(layout.fwd_dst)[s]  # (Df,) later neighbours of s, padding = N
        weights = edge_weights_at(self.weights.astype(state.dtype), jnp.asarray(layout.fwd_edge)[s])
        # only the later neighbours change; padding points one past the end and is dropped
        return state.at[:, dst].add(coeff[:, None] * weights[None, :], mode="drop")

    def frontier_fields(self, x: jax.Array, rows, slots) -> jax.Array:
        """:func:`frontier_fields` of this layer's couplings, in the arithmetic dtype."""
        return frontier_fields(x, self.weights.astype(self.compute_dtype), self.layout, rows, slots)
