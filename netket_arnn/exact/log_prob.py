"""Exact Boltzmann log-probabilities wherever log Z is known."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._validation import check_beta
from ..operators import PairwiseIsing, curie_weiss_parameters
from .curie_weiss import curie_weiss_log_z
from .enumeration import MAX_SITES, enumeration


def log_partition_function(H: PairwiseIsing, beta: float) -> float:
    """Exact :math:`\\log Z`: Curie–Weiss closed form at any N, else enumeration (N <= 30)."""
    beta = check_beta(beta)
    if not isinstance(H, PairwiseIsing):
        raise TypeError(f"expected a PairwiseIsing Hamiltonian, got {type(H).__name__}")
    cw = curie_weiss_parameters(H)
    if cw is not None:
        return curie_weiss_log_z(H.n_sites, beta, *cw)
    if H.n_sites > MAX_SITES:
        raise ValueError(
            f"log Z is not known exactly for this Hamiltonian: it is not of Curie–Weiss form "
            f"and N = {H.n_sites} exceeds the enumeration limit N <= {MAX_SITES}"
        )
    return enumeration(H, beta).log_z


def log_prob(H: PairwiseIsing, x, beta: float, *, log_z: float | None = None) -> jax.Array:
    r"""Exact :math:`\log p(x) = -\beta H(x) - \log Z` for a batch ``x`` of shape ``(..., N)``.

    ``log_z`` may be passed to skip recomputing it (e.g. from :func:`log_partition_function`).
    """
    beta = check_beta(beta)
    if log_z is None:
        log_z = log_partition_function(H, beta)
    return -beta * H.energy(jnp.asarray(x)) - log_z
