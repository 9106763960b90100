r"""Recognise a :class:`~netket_arnn.PairwiseIsing` whose couplings live on a square lattice.

Sites are in raster order: site :math:`x = iW + j` sits at row :math:`i \in [0, L)`, column
:math:`j \in [0, W)` (the order of ``nk.graph.Grid(extent=[L, W])``). A bond joins
:math:`(i, j)` to :math:`(i, j+1)` ("right") or to :math:`(i+1, j)` ("down"); with periodic
boundaries along a direction of extent :math:`\ge 3` the wrap bonds :math:`(L-1, j)-(0, j)`
(periodic along :math:`L`) or :math:`(i, W-1)-(i, 0)` (periodic along :math:`W`) exist too. An extent-2 ring
would repeat its bond, so it counts as open.

The check is exact: every nonzero coupling of ``H`` must be one of these bonds (some bonds may
have zero coupling); the periodic flags record whether any wrap bond is nonzero in that direction. Fields are
arbitrary. The couplings are read from the edge list of a sparse operator, so that no dense
:math:`N \times N` matrix is built for large lattices.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..operators import PairwiseIsing

__all__ = ["SquareLattice", "find_square_lattice", "lattice_couplings"]


class SquareLattice(NamedTuple):
    """An :math:`L \\times W` square lattice in raster order (site ``i * W + j``).

    Its fields: ``L``, the number of rows; ``W``, the number of columns (sites per row);
    ``periodic_L``, periodic along :math:`L` (the wrap bonds :math:`(L-1, j)-(0, j)` are
    present; needs ``L >= 3``); ``periodic_W``, periodic along :math:`W` (the wrap bonds
    :math:`(i, W-1)-(i, 0)`; needs ``W >= 3``).

    The order of the fields is that of ``nk.graph.Grid(extent=[L, W], pbc=[periodic_L, periodic_W])``.
    """

    L: int
    W: int
    periodic_L: bool
    periodic_W: bool


def nonzero_pairs(H: PairwiseIsing) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, J_ab)`` of every pair ``a < b`` with a nonzero coupling, as ``(P,)`` arrays."""
    if H.is_sparse:
        edges = np.asarray(H.edges, dtype=np.int64).reshape(-1, 2)
        weights = np.asarray(H.edge_weights, dtype=np.float64)
        keep = weights != 0
        return edges[keep].min(axis=1), edges[keep].max(axis=1), weights[keep]
    J = np.asarray(H.couplings, dtype=np.float64)
    a, b = np.nonzero(np.triu(J, k=1))
    return a, b, J[a, b]


def _classify(a: np.ndarray, b: np.ndarray, L: int, W: int) -> tuple[np.ndarray, ...] | None:
    """Masks (right, right wrap, down, down wrap) of the pairs ``a < b`` on the periodic L x W
    lattice, or ``None`` if some pair is no bond of it."""
    ia, ja, ib, jb = a // W, a % W, b // W, b % W
    same_row, same_col = ia == ib, ja == jb
    right = same_row & (jb - ja == 1)
    right_wrap = same_row & (W >= 3) & (ja == 0) & (jb == W - 1)
    down = same_col & (ib - ia == 1)
    down_wrap = same_col & (L >= 3) & (ia == 0) & (ib == L - 1)
    if not np.all(right | right_wrap | down | down_wrap):
        return None
    return right, right_wrap, down, down_wrap


def lattices_of(H: PairwiseIsing) -> list[SquareLattice]:
    """Every :math:`L \\times W` lattice (:math:`LW = N`) whose bonds hold all nonzero couplings of ``H``."""
    a, b, _ = nonzero_pairs(H)
    n = H.n_sites
    found = []
    for W in range(1, n + 1):
        if n % W:
            continue
        masks = _classify(a, b, n // W, W)
        if masks is not None:
            found.append(SquareLattice(n // W, W, bool(masks[3].any()), bool(masks[1].any())))
    return found


def find_square_lattice(H: PairwiseIsing) -> SquareLattice | None:
    r"""The square lattice of ``H`` that is cheapest for the transfer matrix, or ``None``.

    Among all factorisations :math:`N = LW` whose bonds (raster order, see the module doc)
    hold every nonzero coupling of ``H``, the one with the smallest transfer cost
    :math:`2^{w}` (times :math:`2^{w}` when periodic along the transfer direction), where the
    transfer runs along rows (width :math:`w = W`) or along columns (:math:`w = L`),
    whichever is cheaper. ``None`` if the couplings fit no square lattice.
    """
    candidates = lattices_of(H)
    if not candidates:
        return None
    return min(candidates, key=lambda lat: min(transfer_cost(lat), transfer_cost(transpose(lat))))


def transpose(lattice: SquareLattice) -> SquareLattice:
    """The same lattice with rows and columns exchanged."""
    return SquareLattice(lattice.W, lattice.L, lattice.periodic_W, lattice.periodic_L)


def transfer_cost(lattice: SquareLattice) -> int:
    """Transfer cost along rows: :math:`2^W` per site, :math:`\\times 2^W` for a periodic trace."""
    return 2 ** (2 * lattice.W) if lattice.periodic_L else 2**lattice.W


def lattice_couplings(H: PairwiseIsing, lattice: SquareLattice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``(right, down, fields)``, each of shape ``(L, W)``, of ``H`` on ``lattice``.

    ``right[i, j]`` couples :math:`(i, j)` to :math:`(i, (j+1) \bmod W)` and ``down[i, j]``
    couples :math:`(i, j)` to :math:`((i+1) \bmod L, j)`; the wrap entries (``right[:, W-1]``,
    ``down[L-1, :]``) are zero on open boundaries. A ``ValueError`` if ``H`` has a nonzero
    coupling that is no bond of ``lattice``.
    """
    L, W = lattice.L, lattice.W
    if L * W != H.n_sites:
        raise ValueError(f"a {L} x {W} lattice has {L * W} sites; the Hamiltonian has N = {H.n_sites}")
    a, b, J = nonzero_pairs(H)
    masks = _classify(a, b, L, W)
    if masks is None or (masks[1].any() and not lattice.periodic_W) or (masks[3].any() and not lattice.periodic_L):
        raise ValueError(f"the couplings of the Hamiltonian are not all bonds of the {lattice}")
    right_mask, right_wrap, down_mask, down_wrap = masks
    right = np.zeros((L, W))
    down = np.zeros((L, W))
    # Each bond is stored at its "left" or "upper" end; a wrap bond at the last column or row.
    right.flat[a[right_mask]] = J[right_mask]
    right.flat[b[right_wrap]] = J[right_wrap]
    down.flat[a[down_mask]] = J[down_mask]
    down.flat[b[down_wrap]] = J[down_wrap]
    fields = np.asarray(H.fields, dtype=np.float64).reshape(L, W)
    return right, down, fields
