"""Checks that a Hamiltonian is what a function or a model needs (clear errors naming the problem).

They live with the operators they check, so that :mod:`netket_arnn._validation` (the checks of
plain values, used everywhere) stays a leaf that imports nothing of the package.
"""

from __future__ import annotations

from .._validation import check_spin_hilbert
from .constructors import curie_weiss_parameters
from .pairwise import PairwiseIsing

__all__ = ["check_curie_weiss", "check_model_hamiltonian", "check_pairwise"]


def check_pairwise(H, name: str = "H"):
    """Return ``H`` after checking it is a :class:`~netket_arnn.PairwiseIsing`."""
    if not isinstance(H, PairwiseIsing):
        raise TypeError(
            f"{name} must be a netket_arnn.PairwiseIsing Hamiltonian, got {type(H).__name__}; build one with "
            "netket_arnn.from_couplings, from_graph, from_ising, curie_weiss, sherrington_kirkpatrick "
            "or edwards_anderson"
        )
    return H


def check_model_hamiltonian(H, model: str):
    """Return ``H`` after checking it is a :class:`~netket_arnn.PairwiseIsing` on ``Spin(0.5, N)``."""
    check_pairwise(H)
    check_spin_hilbert(H.hilbert, H.n_sites)
    return H


def check_curie_weiss(H, model: str) -> tuple[float, float]:
    """``(J, h)`` of a Curie–Weiss ``H``; raise a ValueError naming ``model`` otherwise."""
    check_model_hamiltonian(H, model)
    params = curie_weiss_parameters(H)
    if params is None:
        raise ValueError(
            f"{model} needs a Curie–Weiss Hamiltonian (all couplings J_ij = J/N equal, all fields h_i = h "
            f"equal), but {H!r} is not of that form; use H2ARNN (N <= 20), SingleLayerARNN or SpinGlassARNN"
        )
    return params
