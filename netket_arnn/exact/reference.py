r"""The exact reference of a pairwise Ising system: whichever exact method applies.

The methods, in the order they are tried:

1. a Curie–Weiss Hamiltonian (all :math:`J_{ij} = J/N`, all :math:`h_i = h`): the closed form
   at any :math:`N` (:func:`~netket_arnn.exact.curie_weiss_closed_form`);
2. :math:`N \le` :data:`~netket_arnn.exact.MAX_ENUMERATION_SITES`: enumeration
   (:func:`~netket_arnn.exact.by_enumeration`);
3. the periodic :math:`L \times W` nearest-neighbour ferromagnet, uniform :math:`J > 0` and no
   field: Kaufman's closed form at any size (:func:`~netket_arnn.exact.kaufman_closed_form`);
4. any couplings and fields on the nearest-neighbour bonds of an :math:`L \times W` square
   lattice (raster order, site ``i * W + j``), open or periodic in each direction: the
   transfer matrix (:func:`~netket_arnn.exact.by_transfer_matrix`), within its width limits
   (:data:`~netket_arnn.exact.MAX_TRANSFER_WIDTH` across an open direction,
   :data:`~netket_arnn.exact.MAX_TRACE_WIDTH` on a torus).

Beyond these no exact reference exists. Method 3 gives no :math:`\langle|m|\rangle` (``nan``),
method 4 gives it where its magnetisation-resolved sweep is cheap
(:data:`~netket_arnn.exact.MAX_MAGNETIZATION_ENTRIES`; ``nan`` beyond). The lattice and the
uniform ferromagnet are recognised exactly from the couplings
(:func:`~netket_arnn.exact.find_square_lattice`, :func:`~netket_arnn.exact.kaufman_parameters`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._validation import check_beta, check_positive_int, check_spin_configurations
from ..operators import PairwiseIsing, curie_weiss_parameters
from ..operators._checks import check_pairwise
from .curie_weiss import curie_weiss_closed_form, curie_weiss_log_z
from .enumeration import MAX_ENUMERATION_SITES, by_enumeration
from .kaufman import kaufman_closed_form, kaufman_log_z, kaufman_parameters
from .lattice import find_square_lattice, transpose
from .thermo import Thermodynamics
from .transfer_matrix import MAX_TRACE_WIDTH, MAX_TRANSFER_WIDTH, by_transfer_matrix, transfer_orientation

__all__ = ["log_partition_function", "log_prob", "reference_free_energy", "thermodynamics"]

#: (beta, abs_magnetization) -> Thermodynamics, beta -> log Z
_Method = tuple[Callable[[float, bool], Thermodynamics], Callable[[float], float]]


def _within_width(lattice) -> bool:
    if transfer_orientation(lattice):
        lattice = transpose(lattice)
    limit = MAX_TRACE_WIDTH if lattice.periodic_L else MAX_TRANSFER_WIDTH
    return lattice.W <= limit


def _method(H: PairwiseIsing, max_sites: int) -> _Method | None:
    """``(beta -> Thermodynamics, beta -> log Z)`` of the first method that applies, or ``None``."""
    cw = curie_weiss_parameters(H)
    if cw is not None:
        return (lambda beta, m: curie_weiss_closed_form(H.n_sites, beta, *cw)), (
            lambda beta: curie_weiss_log_z(H.n_sites, beta, *cw)
        )
    if H.n_sites <= max_sites:
        return (lambda beta, m: by_enumeration(H, beta)), (lambda beta: by_enumeration(H, beta).log_z)
    torus = kaufman_parameters(H)
    if torus is not None:
        L, W, J = torus
        return (lambda beta, m: kaufman_closed_form(L, W, beta, J)), (lambda beta: kaufman_log_z(L, W, beta, J))
    lattice = find_square_lattice(H)
    if lattice is not None and _within_width(lattice):
        return (lambda beta, m: by_transfer_matrix(H, beta, lattice=lattice, abs_magnetization=m)), (
            lambda beta: by_transfer_matrix(H, beta, lattice=lattice, abs_magnetization=False).log_z
        )
    return None


def _no_reference(H: PairwiseIsing) -> ValueError:
    lattice = find_square_lattice(H)
    shape = (
        "not on a square lattice"
        if lattice is None
        else (
            f"on a {lattice.L} x {lattice.W} lattice wider than the transfer-matrix limits "
            f"(min(L, W) <= MAX_TRACE_WIDTH = {MAX_TRACE_WIDTH} periodic both ways, "
            f"<= MAX_TRANSFER_WIDTH = {MAX_TRANSFER_WIDTH} across an open direction)"
        )
    )
    return ValueError(
        f"no exact reference for this Hamiltonian: it is not of Curie–Weiss form, {shape}, and "
        f"N = {H.n_sites} exceeds the enumeration limit N <= {MAX_ENUMERATION_SITES}"
    )


def thermodynamics(H: PairwiseIsing, beta: float, *, abs_magnetization: bool = True) -> Thermodynamics:
    r"""Exact :math:`\log Z`, :math:`f`, :math:`e`, :math:`s` and :math:`\langle|m|\rangle` of ``H`` at ``beta``.

    By the first method that applies (see the module documentation): Curie–Weiss closed form,
    enumeration (:math:`N \le` :data:`MAX_ENUMERATION_SITES`), Kaufman's closed form, transfer
    matrix; a ``ValueError`` when none does. ``abs_magnetization`` is ``nan`` for Kaufman's form,
    and for the transfer matrix where it is not cheap or ``abs_magnetization=False`` (which skips
    its :math:`N+1` times costlier sweep; the other methods give it at no extra cost).
    """
    beta = check_beta(beta)
    check_pairwise(H)
    method = _method(H, MAX_ENUMERATION_SITES)
    if method is None:
        raise _no_reference(H)
    return method[0](beta, bool(abs_magnetization))


def log_partition_function(H: PairwiseIsing, beta: float) -> float:
    r"""Exact :math:`\log Z` of ``H`` at ``beta`` (see :func:`thermodynamics` for the method)."""
    beta = check_beta(beta)
    check_pairwise(H)
    method = _method(H, MAX_ENUMERATION_SITES)
    if method is None:
        raise _no_reference(H)
    return method[1](beta)


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

    The methods of :func:`thermodynamics`, in its order, with enumeration limited to
    :math:`N \le` ``max_sites`` (<= :data:`MAX_ENUMERATION_SITES`; enumeration takes about
    10 s per β at N = 30 on 2 CPU cores, so lower it to skip costly references): Curie–Weiss
    Hamiltonians at any :math:`N`, the periodic uniform square-lattice ferromagnet at any size
    (Kaufman), square lattices with :math:`N >` ``max_sites`` within the transfer-matrix width
    limits. Anything else, including operators that are not a
    :class:`~netket_arnn.PairwiseIsing`, gives ``None``.
    """
    max_sites = check_positive_int(max_sites, "max_sites")
    if max_sites > MAX_ENUMERATION_SITES:
        raise ValueError(f"max_sites must be <= MAX_ENUMERATION_SITES = {MAX_ENUMERATION_SITES}, got {max_sites}")
    if not isinstance(H, PairwiseIsing):
        return None
    method = _method(H, max_sites)
    if method is None:
        return None
    log_z = method[1]
    return lambda beta: -log_z(beta) / (check_beta(beta) * H.n_sites)
