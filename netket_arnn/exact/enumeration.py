r"""Exact thermodynamics by enumerating all :math:`2^N` configurations.

The spins are split into a "high" block (enumerated in chunks by a ``lax.scan``) and a
"low" block of at most ``2^{16}`` configurations (held in memory). The energy of a
full configuration is

.. math::  H(x) = H_\text{high}(x_\text{high}) + H_\text{low}(x_\text{low})
                  - x_\text{low} \cdot (J_{\text{low},\text{high}}\, x_\text{high}),

so each chunk costs one ``(chunk, n_low) @ (n_low, 2^{n_low})`` matmul, and the
partition function and averages are accumulated with a running log-sum-exp. Memory
stays bounded by ``chunk · 2^{n_low}`` whatever :math:`N`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_beta, check_positive_int
from ..operators import PairwiseIsing
from ..operators._checks import check_pairwise
from .thermo import Thermodynamics

MAX_ENUMERATION_SITES = 30
"""Largest :math:`N` that :func:`by_enumeration` accepts (:math:`2^{30}` energies)."""

MAX_SITES_PROBABILITIES = 20
"""Largest :math:`N` for which the full probability vector can be returned."""

_MAX_LOW_SITES = 16


def _check_enumerable(H: PairwiseIsing, limit: int = MAX_ENUMERATION_SITES, what: str = "enumeration") -> None:
    check_pairwise(H)
    if H.n_sites > limit:
        raise ValueError(f"{what} is limited to N <= {limit} spins (2^N states); this system has N = {H.n_sites}")


def _all_spins(n: int) -> np.ndarray:
    """``(2^n, n)`` spins ±1 in NetKet's ``all_states`` order (local state 0 is +1)."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return (1 - 2 * bits).astype(np.float64)


def by_enumeration(
    H: PairwiseIsing, beta: float, *, return_probabilities: bool = False, chunk_size: int = 64
) -> Thermodynamics:
    r"""Exact :math:`\log Z`, :math:`f`, :math:`e`, :math:`s` and :math:`\langle|m|\rangle` of ``H``.

    Args:
        H: any :class:`PairwiseIsing` with :math:`N \le` :data:`MAX_ENUMERATION_SITES`.
        beta: inverse temperature, > 0.
        return_probabilities: also return :math:`p(x)` for all states, in the order of
            ``H.hilbert.all_states()`` (:math:`N \le` :data:`MAX_SITES_PROBABILITIES`).
        chunk_size: number of high-block configurations per scan step (memory knob: a step
            holds ``chunk_size * 2^min(N, 16)`` energies); any positive integer.
    """
    beta = check_beta(beta)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    _check_enumerable(H)
    if return_probabilities:
        _check_enumerable(H, MAX_SITES_PROBABILITIES, "enumeration with return_probabilities")
    n = H.n_sites
    J = np.asarray(H.couplings, dtype=np.float64)
    h = np.asarray(H.fields, dtype=np.float64)

    n_low = min(n, _MAX_LOW_SITES)
    n_high = n - n_low
    low, high = slice(n_high, n), slice(0, n_high)
    x_low = _all_spins(n_low)
    e_low = -0.5 * np.einsum("ci,ij,cj->c", x_low, J[low, low], x_low) - x_low @ h[low]
    m_low = x_low.sum(axis=1)

    # The last chunk may be partial: its configurations past 2^n_high get zero weight.
    chunk = min(chunk_size, 2**n_high)
    n_chunks = -(-(2**n_high) // chunk)
    log_z, e_sum, m_sum = _accumulate(
        jnp.asarray(x_low),
        jnp.asarray(e_low),
        jnp.asarray(m_low),
        jnp.asarray(J[high, high]),
        jnp.asarray(J[high, low]),
        jnp.asarray(h[high]),
        beta,
        n_high,
        n_chunks,
        chunk,
    )
    log_z = float(log_z)
    probabilities = None
    if return_probabilities:
        x = _all_spins(n)
        probabilities = np.exp(-beta * np.asarray(H.energy(x), dtype=np.float64) - log_z)
    return Thermodynamics.from_log_z(n, beta, log_z, float(e_sum) / n, float(m_sum) / n, probabilities=probabilities)


@partial(jax.jit, static_argnames=("n_high", "n_chunks", "chunk"))
def _accumulate(x_low, e_low, m_low, J_hh, J_hl, h_high, beta, n_high, n_chunks, chunk):
    """Running log-sum-exp of :math:`-\\beta H` with weighted sums of :math:`H` and :math:`|M|`."""
    shifts = jnp.arange(n_high - 1, -1, -1)

    def step(carry, c):
        log_z, e_avg, m_avg = carry
        idx = c * chunk + jnp.arange(chunk)
        valid = idx < 2**n_high
        x_high = (1 - 2 * ((idx[:, None] >> shifts) & 1)).astype(x_low.dtype)
        e_high = -0.5 * jnp.sum((x_high @ J_hh) * x_high, axis=1) - x_high @ h_high
        energies = e_high[:, None] + e_low[None, :] - (x_high @ J_hl) @ x_low.T
        abs_m = jnp.abs(x_high.sum(axis=1)[:, None] + m_low[None, :])
        log_w = jnp.where(valid[:, None], -beta * energies, -jnp.inf)
        chunk_log_z = jax.scipy.special.logsumexp(log_w)
        p = jnp.exp(log_w - chunk_log_z)
        new_log_z = jnp.logaddexp(log_z, chunk_log_z)
        old, new = jnp.exp(log_z - new_log_z), jnp.exp(chunk_log_z - new_log_z)
        e_avg = old * e_avg + new * jnp.sum(p * energies)
        m_avg = old * m_avg + new * jnp.sum(p * abs_m)
        return (new_log_z, e_avg, m_avg), None

    init = (jnp.array(-jnp.inf), jnp.array(0.0), jnp.array(0.0))
    (log_z, e_avg, m_avg), _ = jax.lax.scan(step, init, jnp.arange(n_chunks))
    return log_z, e_avg, m_avg
