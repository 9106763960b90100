r"""Exact thermodynamics of any square-lattice Ising system by a spin-by-spin transfer matrix.

The lattice is :math:`L \times W` in raster order (see :mod:`netket_arnn.exact.lattice`), with
any couplings on its nearest-neighbour bonds and any fields. The sites are added one at a
time; after site :math:`(i, j)` the state is the vector :math:`v` over the :math:`2^W`
configurations of the "frontier", the last site of every column (:math:`(i, j')` for
:math:`j' \le j`, :math:`(i-1, j')` for :math:`j' > j`). Adding :math:`(i, j)` sums out the
spin :math:`u` at :math:`(i-1, j)` it replaces:

.. math::  v'(\ldots, s, \ldots) = e^{\beta s \phi}\sum_{u = \pm 1} e^{\beta J_\downarrow s u}\,
           v(\ldots, u, \ldots), \qquad
           \phi = h_{ij} + J_\rightarrow s_{i, j-1} + J_\text{wrap}\, s_{i, 0}\,[j = W-1],

one :math:`O(2^W)` vectorised operation per site, :math:`O(L W 2^W)` per sweep. The first row
starts from its own Boltzmann weights over the :math:`2^W` configurations;
:math:`Z = \sum v` at the end. Periodic along :math:`W` costs nothing extra (a row's first spin
is on the frontier when its last one is added). Periodic along :math:`L`, the transfer
direction, couples the last row to the first:
the first row is clamped to each of its :math:`2^W` configurations (a batch of sweeps,
chunked to bound memory) and the last row closes the trace, :math:`O(L W 4^W)` in all.

The sweep runs in log space (:math:`\log v`, each sum over :math:`u` a two-term
log-sum-exp), so nothing overflows or underflows whatever :math:`\beta` and the couplings. The
energy :math:`\langle H\rangle` is exact, with no finite difference: alongside :math:`\log v`
the sweep carries :math:`\bar E = g / v`, where :math:`g = -\partial v / \partial\beta` is the
Boltzmann-weighted partial energy; a step mixes :math:`\bar E` over :math:`u` with the weights
of :math:`v'` and adds the new site's bond and field energy, and
:math:`\langle H\rangle = \sum v \bar E / \sum v` at the end.

:math:`\langle |m| \rangle` needs the distribution of the magnetisation, not only its moments: a
second sweep resolves :math:`v` by the number :math:`K` of up spins so far (shape
:math:`(N+1, 2^W)`, an up spin shifting :math:`K` by one), and
:math:`P(K) \propto \sum v(K, \cdot)` at the end. It costs :math:`N+1` times the first sweep, so
it is done where the resolved frontier holds at most :data:`MAX_MAGNETIZATION_ENTRIES` entries
(:math:`(N+1)\,2^W`, times :math:`2^W` clamped first rows when periodic along :math:`L`; e.g.
13 × 13 open, 7 × 7 periodic in both directions), and is ``nan`` beyond.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import check_beta
from ..operators import PairwiseIsing
from ..operators._checks import check_pairwise
from .lattice import SquareLattice, find_square_lattice, lattice_couplings, transfer_cost, transpose
from .thermo import Thermodynamics

__all__ = ["MAX_MAGNETIZATION_ENTRIES", "MAX_TRACE_WIDTH", "MAX_TRANSFER_WIDTH", "by_transfer_matrix"]

MAX_TRANSFER_WIDTH = 20
r"""Largest width :math:`W` (frontier of :math:`2^W` states) :func:`transfer_matrix` accepts
when the transfer direction is open."""

MAX_TRACE_WIDTH = 11
r"""Largest width when the lattice is periodic along the transfer direction (cost :math:`4^W`)."""

MAX_MAGNETIZATION_ENTRIES = 2**21
r"""Largest :math:`(N+1)\,2^W` (times :math:`2^W` when periodic along the transfer direction) for which
:func:`by_transfer_matrix` computes :math:`\langle |m|\rangle` (``nan`` beyond)."""

_TRACE_CHUNK = 2**18
"""Frontier entries per chunk of clamped first rows (memory knob of the periodic trace)."""


def _spins(W: int) -> np.ndarray:
    """``(2^W, W)`` spins ±1; bit ``W-1-j`` of the index is column ``j`` (0 is +1)."""
    bits = (np.arange(2**W)[:, None] >> np.arange(W - 1, -1, -1)) & 1
    return 1.0 - 2.0 * bits


def _first_row_energy(right: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """``(2^W,)`` energy of row 0 alone: its fields and its right (and wrap) bonds."""
    s = _spins(len(fields))
    return -(s @ fields) - np.sum(right * s * np.roll(s, -1, axis=1), axis=1)


def _sweep(lv, mean, beta, right, down, fields, W, *, count_up=False):
    """Add rows ``1..L-1`` site by site to the batch ``lv = log v`` and ``mean = g / v``, shape ``(B, 2^W)``.

    ``mean`` is the Boltzmann-weighted mean energy of the partial configurations ending in each
    frontier state (arbitrary where ``lv = -inf``), or ``None`` (not carried). With ``count_up``,
    ``lv`` is ``(B, K, 2^W)``, resolved by the number of up spins so far: every up spin added
    moves its weight one step along ``K``.
    """
    lead = lv.shape[:-1]
    lv = lv.reshape(-1, 2**W)
    B = lv.shape[0]
    spin = np.array([1.0, -1.0])
    for i in range(1, right.shape[0]):
        for j in range(W):
            A, C = 2**j, 2 ** (W - 1 - j)
            a = np.arange(A)
            # Field on the new spin from its left neighbour (last bit of a) and, for the last
            # column of a periodic row, from the row's first spin (first bit of a).
            phi = np.full(A, fields[i, j])
            if j >= 1:
                phi = phi + right[i, j - 1] * spin[a & 1]
            if j == W - 1 and W >= 3:
                phi = phi + right[i, W - 1] * spin[a >> (W - 2)]
            Ju = down[i - 1, j]
            lvr = lv.reshape(B, A, 2, C)
            lv_new = np.empty_like(lvr)
            if mean is not None:
                mr = mean.reshape(B, A, 2, C)
                mean_new = np.empty_like(mr)
            for k in range(2):  # the new spin s = spin[k]; the summed spin u = +1 (index 0), -1 (1)
                # The new site's energy is -s (Ju u + phi): bond part -Ju s u, field part -s phi.
                e_bond = (-Ju * spin[k], Ju * spin[k])  # u = +1, u = -1
                l0 = lvr[:, :, 0] - beta * e_bond[0]
                l1 = lvr[:, :, 1] - beta * e_bond[1]
                top = np.maximum(l0, l1)
                finite = np.isfinite(top)
                top = np.where(finite, top, 0.0)
                w0, w1 = np.exp(l0 - top), np.exp(l1 - top)
                total = w0 + w1
                field = spin[k] * phi[None, :, None]
                lv_new[:, :, k] = np.where(finite, top + np.log(np.where(finite, total, 1.0)), -np.inf) + beta * field
                if mean is not None:
                    mixed = w0 * (mr[:, :, 0] + e_bond[0]) + w1 * (mr[:, :, 1] + e_bond[1])
                    mean_new[:, :, k] = np.where(finite, mixed / np.where(finite, total, 1.0), 0.0) - field
            if count_up:  # the new spin up (k = 0): one more up spin
                up = lv_new[:, :, 0].reshape(*lead, A, C)
                shifted = np.full_like(up, -np.inf)
                shifted[..., 1:, :, :] = up[..., :-1, :, :]
                lv_new[:, :, 0] = shifted.reshape(B, A, C)
            lv = lv_new.reshape(B, 2**W)
            if mean is not None:
                mean = mean_new.reshape(B, 2**W)
    return lv.reshape(*lead, 2**W), mean


def _log_z_and_energy(log_w: np.ndarray, mean: np.ndarray) -> tuple[float, float]:
    """``log sum exp(log_w)`` and the ``exp(log_w)``-weighted average of ``mean``."""
    log_z = logsumexp(log_w)
    p = np.exp(log_w - log_z)
    # Dividing by sum(p) rather than 1 cancels the rounding of log_w - log_z at large |log_w|.
    return float(log_z), float(np.sum(np.where(p > 0, p * mean, 0.0)) / p.sum())


def _open_log_z_energy(beta, right, down, fields) -> tuple[float, float]:
    """``log Z`` and ``<H>`` with open boundaries along the transfer (row) direction."""
    W = fields.shape[1]
    e0 = _first_row_energy(right[0], fields[0])
    lv, mean = _sweep((-beta * e0)[None, :], e0[None, :], beta, right, down, fields, W)
    return _log_z_and_energy(lv, mean)


def _traced_sweeps(beta, right, down, fields, row0, mean0=None, *, count_up=False):
    """Periodic along L: the sweeps of the first row clamped to each of its configurations, in chunks.

    ``row0`` is ``(..., 2^W)``, the log-weights of row 0 alone (with ``count_up``, resolved by up
    spins: ``(K, 2^W)``); ``mean0`` its energy ``(2^W,)`` or ``None``. Yields, per chunk of ``B``
    clamped configurations, ``lv`` of shape ``(B, ..., 2^W)`` and ``mean`` ``(B, 2^W)`` (or ``None``)
    with the wrap bonds between the last row (the frontier) and row 0 added: the trace is their
    sum over the batch and the frontier.
    """
    W = fields.shape[1]
    s = _spins(W)
    chunk = max(1, _TRACE_CHUNK // row0.size)
    for start in range(0, 2**W, chunk):
        first = np.arange(start, min(start + chunk, 2**W))
        B = len(first)
        # Clamp the first row: v[b] is a delta on configuration first[b], of weight exp(-beta e0).
        lv = np.full((B, *row0.shape), -np.inf)
        np.moveaxis(lv, -1, 1)[np.arange(B), first] = np.moveaxis(row0[..., first], -1, 0)
        mean = None if mean0 is None else np.broadcast_to(mean0[first][:, None], (B, 2**W)).copy()
        lv, mean = _sweep(lv, mean, beta, right, down, fields, W, count_up=count_up)
        e_close = -(s[first] * down[-1]) @ s.T  # (B, 2^W)
        lv = lv - beta * e_close.reshape(B, *([1] * (lv.ndim - 2)), 2**W)
        yield lv, (None if mean is None else mean + e_close)


def _trace_log_z_energy(beta, right, down, fields) -> tuple[float, float]:
    """``log Z`` and ``<H>`` periodic along L (the transfer direction): a trace over the first row's configurations."""
    e0 = _first_row_energy(right[0], fields[0])
    parts = [_log_z_and_energy(lv, mean) for lv, mean in _traced_sweeps(beta, right, down, fields, -beta * e0, e0)]
    log_parts, energy_parts = zip(*parts, strict=True)
    return _log_z_and_energy(np.asarray(log_parts), np.asarray(energy_parts))


def _first_row_by_up_count(beta, right, fields, n_sites) -> np.ndarray:
    """``(n_sites + 1, 2^W)`` log-weights of row 0 alone, placed at its number of up spins."""
    W = fields.shape[1]
    e0 = _first_row_energy(right[0], fields[0])
    lv = np.full((n_sites + 1, 2**W), -np.inf)
    lv[np.sum(_spins(W) > 0, axis=1), np.arange(2**W)] = -beta * e0
    return lv


def _mean_abs_m(log_p_up: np.ndarray) -> float:
    """``<|m|>`` from the unnormalised log-probabilities of ``K = 0..N`` up spins (``m = (2K - N)/N``)."""
    n = len(log_p_up) - 1
    p = np.exp(log_p_up - logsumexp(log_p_up))
    return float(np.sum(p * np.abs(2 * np.arange(n + 1) - n)) / (n * p.sum()))


def _open_abs_magnetization(beta, right, down, fields) -> float:
    """``<|m|>`` with open boundaries along the transfer direction."""
    n = fields.size
    lv = _first_row_by_up_count(beta, right, fields, n)[None]
    lv, _ = _sweep(lv, None, beta, right, down, fields, fields.shape[1], count_up=True)
    return _mean_abs_m(logsumexp(lv[0], axis=-1))


def _trace_abs_magnetization(beta, right, down, fields) -> float:
    """``<|m|>`` periodic along the transfer direction: the trace over the first row, resolved by up spins."""
    row0 = _first_row_by_up_count(beta, right, fields, fields.size)
    log_p_up = np.full(fields.size + 1, -np.inf)
    for lv, _ in _traced_sweeps(beta, right, down, fields, row0, count_up=True):
        log_p_up = np.logaddexp(log_p_up, logsumexp(lv, axis=(0, 2)))
    return _mean_abs_m(log_p_up)


def _magnetization_entries(lattice: SquareLattice) -> int:
    """Entries of the up-count-resolved frontier (all clamped first rows when periodic along L)."""
    n, W = lattice.L * lattice.W, lattice.W
    return (n + 1) * 2**W * (2**W if lattice.periodic_L else 1)


def _check_width(lattice: SquareLattice) -> None:
    if lattice.periodic_L and lattice.W > MAX_TRACE_WIDTH:
        raise ValueError(
            f"the transfer matrix of a lattice periodic in both directions is limited to width "
            f"min(L, W) <= MAX_TRACE_WIDTH = {MAX_TRACE_WIDTH} (cost L W 4^W); this one is "
            f"{lattice.L} x {lattice.W}"
        )
    if lattice.W > MAX_TRANSFER_WIDTH:
        raise ValueError(
            f"the transfer matrix is limited to width <= MAX_TRANSFER_WIDTH = {MAX_TRANSFER_WIDTH} "
            f"(2^W frontier states) along an open direction; this lattice is {lattice.L} x {lattice.W}"
        )


def transfer_orientation(lattice: SquareLattice) -> bool:
    """True when the transfer runs along columns (the transposed lattice is cheaper)."""
    return transfer_cost(transpose(lattice)) < transfer_cost(lattice)


def by_transfer_matrix(
    H: PairwiseIsing, beta: float, *, lattice: SquareLattice | None = None, abs_magnetization: bool = True
) -> Thermodynamics:
    r"""Exact :math:`\log Z`, :math:`f`, :math:`e`, :math:`s` of ``H`` on a square lattice.

    Args:
        H: a :class:`~netket_arnn.PairwiseIsing` whose nonzero couplings are nearest-neighbour
            bonds of an :math:`L \times W` lattice in raster order (site ``i * W + j``), with
            any couplings and fields.
        beta: inverse temperature, > 0.
        lattice: the :class:`~netket_arnn.exact.SquareLattice`; default the cheapest one
            :func:`~netket_arnn.exact.find_square_lattice` recognises.
        abs_magnetization: compute :math:`\langle|m|\rangle` where it is cheap (below); ``False``
            skips it (``nan``).

    The transfer runs along whichever direction is cheaper: cost :math:`O(N 2^w)` for width
    :math:`w` across an open direction (:math:`w \le` :data:`MAX_TRANSFER_WIDTH`), and
    :math:`O(N 4^w)` when periodic in both directions (:math:`w \le` :data:`MAX_TRACE_WIDTH`).
    ``abs_magnetization`` from a sweep resolved by the magnetisation, :math:`N + 1` times the
    cost, where that fits :data:`MAX_MAGNETIZATION_ENTRIES` (the module doc); else ``nan``.
    """
    beta = check_beta(beta)
    check_pairwise(H)
    if lattice is None:
        lattice = find_square_lattice(H)
        if lattice is None:
            raise ValueError("the couplings of the Hamiltonian are not nearest-neighbour bonds of any square lattice")
    right, down, fields = lattice_couplings(H, lattice)
    if transfer_orientation(lattice):
        lattice = transpose(lattice)
        right, down, fields = down.T, right.T, fields.T
    _check_width(lattice)
    run = _trace_log_z_energy if lattice.periodic_L else _open_log_z_energy
    log_z, mean_energy = run(beta, right, down, fields)
    abs_m = float("nan")
    if abs_magnetization and _magnetization_entries(lattice) <= MAX_MAGNETIZATION_ENTRIES:
        magnetization = _trace_abs_magnetization if lattice.periodic_L else _open_abs_magnetization
        abs_m = magnetization(beta, right, down, fields)
    n = H.n_sites
    return Thermodynamics.from_log_z(n, beta, log_z, mean_energy / n, abs_magnetization=abs_m)
