"""netket-arnn: physics-derived autoregressive networks for pairwise spin systems, on NetKet."""

from . import driver, exact, models, nn, observables
from .driver import (
    AnnealRecord,
    AnnealResult,
    ConstantBeta,
    LinearBeta,
    PlateauStopping,
    StepwiseBeta,
    VariationalFreeEnergy,
    anneal,
    beta_grid,
)
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
from .plotting import plot_anneal

__version__ = "0.1.0"

__all__ = [
    "AnnealRecord",
    "AnnealResult",
    "ConstantBeta",
    "LinearBeta",
    "PairwiseIsing",
    "PlateauStopping",
    "StepwiseBeta",
    "VariationalFreeEnergy",
    "anneal",
    "beta_grid",
    "curie_weiss",
    "curie_weiss_parameters",
    "driver",
    "edwards_anderson",
    "exact",
    "from_couplings",
    "load_instance",
    "models",
    "nn",
    "observables",
    "plot_anneal",
    "random_regular_graph",
    "save_instance",
    "sherrington_kirkpatrick",
    "sherrington_kirkpatrick_couplings",
]
