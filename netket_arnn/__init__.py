"""netket-arnn: physics-derived autoregressive networks for pairwise spin systems, on NetKet."""

from . import exact
from .operators import (
    PairwiseIsing,
    curie_weiss,
    curie_weiss_parameters,
    edwards_anderson,
    from_couplings,
    load_instance,
    random_regular_graph,
    save_instance,
    sherrington_kirkpatrick,
    sherrington_kirkpatrick_couplings,
)

__version__ = "0.1.0"

__all__ = [
    "PairwiseIsing",
    "curie_weiss",
    "curie_weiss_parameters",
    "edwards_anderson",
    "exact",
    "from_couplings",
    "load_instance",
    "random_regular_graph",
    "save_instance",
    "sherrington_kirkpatrick",
    "sherrington_kirkpatrick_couplings",
]
