r"""Sparse couplings first layer: frontier pairs, edge couplings and their ξ (THEORY §4).

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
  ``E`` denotes a padding weight zero.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray


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


def _padded_weights(weights: jax.Array) -> jax.Array:
    """Append the padding weight 0 (edge id ``E``)."""
    return jnp.concatenate([weights, jnp.zeros((1,), weights.dtype)])


def frontier_first_layer(x: jax.Array, weights: jax.Array, layout: FrontierLayout, rows, slots) -> jax.Array:
    r"""First-layer inputs of some rows, at the sites of their slots.

    .. math::  \xi[b, r, t] = \sum_{s < \text{rows}[r],\ s \sim l} J_{sl}\, x_{b,s},
               \qquad l = \text{slots}[r, t]

    Work and memory :math:`O(B \cdot R \cdot T \cdot D_b)`; nothing of size :math:`N^2`.

    Args:
        x: ``(B, N)`` spins ±1 (any dtype; cast to ``weights.dtype``).
        weights: ``(E,)`` edge couplings.
        layout: the :class:`FrontierLayout` of the edges.
        rows: ``(R,)`` sites ``i`` (an index ``>= N`` is a padding row: all of its ξ are 0).
        slots: ``(R, T)`` sites ``l`` whose ξ is wanted (``N`` is padding: ξ = 0). Typically
            ``[i] + F(i)``: the skip input :math:`\xi_{ii}` and the frontier.

    Returns:
        ``(B, R, T)``.
    """
    w = _padded_weights(weights)
    src = jnp.asarray(layout.back_src)[slots]  # (R, T, Db) earlier neighbours of l
    edge = jnp.asarray(layout.back_edge)[slots]
    # only neighbours sampled before row i count; others (and padding) get weight 0
    coeff = jnp.where(src < jnp.asarray(rows)[:, None, None], w[edge], 0.0)
    xp = jnp.concatenate([x.astype(weights.dtype), jnp.zeros((x.shape[0], 1), weights.dtype)], axis=1)
    return jnp.einsum("brtd,rtd->brt", xp[:, src], coeff)


def frontier_first_layer_update(xi: jax.Array, weights: jax.Array, layout: FrontierLayout, x, index):
    r"""Advance the sparse sampling state from site ``index - 1`` to ``index``.

    The state is the ``(B, N)`` array :math:`\xi_{i,l}` over all sites ``l`` (entries
    ``l < i`` are stale and never read again). Only the later neighbours of
    ``index - 1`` change: :math:`\xi_{i,l} = \xi_{i-1,l} + J_{i-1,l} x_{i-1}`, so the
    update costs :math:`O(B \cdot D_f)`. At ``index = 0`` nothing changes.

    Args:
        xi: ``(B, N)`` state.
        weights: ``(E,)`` edge couplings.
        layout: the :class:`FrontierLayout` of the edges.
        x: ``(B, N)`` partially sampled configurations (sites ``< index`` are set).
        index: the site about to be sampled (a traced integer is fine).
    """
    w = _padded_weights(weights)
    prev = jnp.maximum(index - 1, 0)
    x_prev = jnp.where(index > 0, x[:, prev].astype(weights.dtype), 0.0)
    dst = jnp.asarray(layout.fwd_dst)[prev]  # (Df,), padding = N
    coeff = w[jnp.asarray(layout.fwd_edge)[prev]]
    # padding points one past the end: dropped by the scatter
    return xi.at[:, dst].add(x_prev[:, None] * coeff[None, :], mode="drop")


class EdgeCouplings(nn.Module):
    r"""Provides the ``(E,)`` edge couplings of a sparse first layer.

    The sparse analogue of :class:`netket_arnn.nn.Couplings`: fixed (default) in the
    non-trainable ``"couplings"`` collection (variable ``"edge_weights"``), initialised
    from ``values``; or trainable (``trainable=True``) as the parameter ``"kernel"``,
    started from ``values`` when ``kernel_init`` is ``None``, else from ``kernel_init``.
    A trainable sparse first layer learns couplings on the given edges only.
    """

    n_edges: int
    values: HashableArray | None = None
    trainable: bool = False
    kernel_init: Callable | None = None
    param_dtype: jnp.dtype = jnp.float64

    @nn.compact
    def __call__(self) -> jax.Array:
        if self.values is not None and np.asarray(self.values).shape != (self.n_edges,):
            raise ValueError(
                f"edge coupling values must have shape ({self.n_edges},), got {np.asarray(self.values).shape}"
            )
        if self.trainable:
            if self.kernel_init is None:
                if self.values is None:
                    raise ValueError("trainable edge couplings need `values` or a `kernel_init`")
                init = lambda key, shape, dtype: jnp.asarray(np.asarray(self.values), dtype=dtype)  # noqa: E731
            else:
                init = self.kernel_init
            return self.param("kernel", init, (self.n_edges,), self.param_dtype)
        if self.values is None:
            raise ValueError("fixed edge couplings need `values` (the Hamiltonian's edge weights)")
        return self.variable(
            "couplings",
            "edge_weights",
            lambda: jnp.asarray(np.asarray(self.values), dtype=self.param_dtype),
        ).value
