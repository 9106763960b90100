"""Pairwise Ising Hamiltonians as NetKet operators, their constructors and instance files."""

from .constructors import (
    curie_weiss,
    curie_weiss_parameters,
    edwards_anderson,
    ferromagnet_2d,
    from_couplings,
    from_graph,
    from_ising,
    random_regular_graph,
    sherrington_kirkpatrick,
    sherrington_kirkpatrick_couplings,
)
from .io import load_instance, save_instance
from .pairwise import PairwiseIsing

__all__ = [
    "PairwiseIsing",
    "curie_weiss",
    "curie_weiss_parameters",
    "edwards_anderson",
    "ferromagnet_2d",
    "from_couplings",
    "from_graph",
    "from_ising",
    "load_instance",
    "random_regular_graph",
    "save_instance",
    "sherrington_kirkpatrick",
    "sherrington_kirkpatrick_couplings",
]
