r"""The exact reference of a pairwise Ising system: whichever exact method applies.

A Curie–Weiss Hamiltonian (all :math:`J_{ij} = J/N`, all :math:`h_i = h`) has a closed form
at any :math:`N` (:func:`~netket_arnn.exact.curie_weiss_closed_form`); any other
:class:`~netket_arnn.PairwiseIsing` is enumerated up to
:data:`~netket_arnn.exact.MAX_ENUMERATION_SITES` spins
(:func:`~netket_arnn.exact.by_enumeration`). Beyond that no exact reference exists.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._validation import check_beta, check_pairwise, check_positive_int, check_spin_configurations
from ..operators import PairwiseIsing, curie_weiss_parameters
from .curie_weiss import curie_weiss_closed_form, curie_weiss_log_z
from .enumeration import MAX_ENUMERATION_SITES, by_enumeration
from .thermo import Thermodynamics

__all__ = ["log_partition_function", "log_prob", "reference_free_energy", "thermodynamics"]


def _has_reference(H: PairwiseIsing, max_sites: int) -> bool:
    return curie_weiss_parameters(H) is not None or H.n_sites <= max_sites


def _no_reference(H: PairwiseIsing) -> ValueError:
    return ValueError(
        f"no exact reference for this Hamiltonian: it is not of Curie–Weiss form and "
        f"N = {H.n_sites} exceeds the enumeration limit N <= {MAX_ENUMERATION_SITES}"
    )


def thermodynamics(H: PairwiseIsing, beta: float) -> Thermodynamics:
    r"""Exact :math:`\log Z`, :math:`f`, :math:`e`, :math:`s` and :math:`\langle|m|\rangle` of ``H`` at ``beta``.

    The Curie–Weiss closed form at any :math:`N`, else enumeration of all :math:`2^N`
    states (:math:`N \le` :data:`MAX_ENUMERATION_SITES`); a ``ValueError`` beyond.
    """
    beta = check_beta(beta)
    check_pairwise(H)
    cw = curie_weiss_parameters(H)
    if cw is not None:
        return curie_weiss_closed_form(H.n_sites, beta, *cw)
    if H.n_sites > MAX_ENUMERATION_SITES:
        raise _no_reference(H)
    return by_enumeration(H, beta)


def log_partition_function(H: PairwiseIsing, beta: float) -> float:
    r"""Exact :math:`\log Z` of ``H`` at ``beta`` (see :func:`thermodynamics` for the method)."""
    beta = check_beta(beta)
    check_pairwise(H)
    cw = curie_weiss_parameters(H)
    if cw is not None:
        return curie_weiss_log_z(H.n_sites, beta, *cw)
    return thermodynamics(H, beta).log_z


def log_prob(H: PairwiseIsing, x, beta: float, *, log_z: float | None = None) -> jax.Array:
    r"""Exact :math:`\log p(x) = -\beta H(x) - \log Z` for a batch ``x`` of shape ``(..., N)``.

    ``x`` holds spins :math:`\pm 1`. ``log_z`` may be passed to skip recomputing it (e.g. from
    :func:`log_partition_function`).
    """
    beta = check_beta(beta)
    check_pairwise(H)
    x = check_spin_configurations(x, H.n_sites)
    if log_z is None:
        log_z = log_partition_function(H, beta)
    return -beta * H.energy(jnp.asarray(x)) - log_z


def reference_free_energy(
    H: PairwiseIsing, *, max_sites: int = MAX_ENUMERATION_SITES
) -> Callable[[float], float] | None:
    r"""A function ``beta -> f`` (exact free energy per spin) when one is available, else ``None``.

    Curie–Weiss Hamiltonians use the closed form at any :math:`N`; other
    :class:`~netket_arnn.PairwiseIsing` systems with :math:`N \le` ``max_sites`` use
    enumeration (``max_sites`` <= :data:`MAX_ENUMERATION_SITES`; enumeration takes about 10 s
    per β at N = 30 on 2 CPU cores, so lower it to skip costly references). Anything else,
    including operators that are not a :class:`~netket_arnn.PairwiseIsing`, gives ``None``.
    """
    max_sites = check_positive_int(max_sites, "max_sites")
    if max_sites > MAX_ENUMERATION_SITES:
        raise ValueError(f"max_sites must be <= MAX_ENUMERATION_SITES = {MAX_ENUMERATION_SITES}, got {max_sites}")
    if not isinstance(H, PairwiseIsing) or not _has_reference(H, max_sites):
        return None
    return lambda beta: -log_partition_function(H, beta) / (check_beta(beta) * H.n_sites)
