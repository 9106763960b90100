"""netket-arnn: physics-derived autoregressive networks for pairwise spin systems, on NetKet."""

from importlib import metadata as _metadata

from . import data, driver, exact, models, nn, observables, recipes, sampler
from .data import BoltzmannDataset, pseudo_likelihood_couplings, sample_boltzmann
from .driver import (
    AnnealInterrupted,
    AnnealRecord,
    AnnealResult,
    ConstantBeta,
    DivergenceError,
    LinearBeta,
    MaximumLikelihood,
    PlateauStopping,
    StepwiseBeta,
    VariationalFreeEnergy,
    anneal,
    beta_grid,
    load_results,
)
from .operators import (
    PairwiseIsing,
    curie_weiss,
    curie_weiss_parameters,
    edwards_anderson,
    from_couplings,
    from_graph,
    from_ising,
    load_instance,
    random_regular_graph,
    save_instance,
    sherrington_kirkpatrick,
    sherrington_kirkpatrick_couplings,
)
from .plotting import plot_anneal
from .sampler import ARDirectSampler

try:
    # The version is declared once, in pyproject.toml, and read from the installed metadata.
    __version__ = _metadata.version("netket-arnn")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ARDirectSampler",
    "AnnealInterrupted",
    "AnnealRecord",
    "AnnealResult",
    "BoltzmannDataset",
    "ConstantBeta",
    "DivergenceError",
    "LinearBeta",
    "MaximumLikelihood",
    "PairwiseIsing",
    "PlateauStopping",
    "StepwiseBeta",
    "VariationalFreeEnergy",
    "anneal",
    "beta_grid",
    "curie_weiss",
    "curie_weiss_parameters",
    "data",
    "driver",
    "edwards_anderson",
    "exact",
    "from_couplings",
    "from_graph",
    "from_ising",
    "load_instance",
    "load_results",
    "models",
    "nn",
    "observables",
    "plot_anneal",
    "pseudo_likelihood_couplings",
    "random_regular_graph",
    "recipes",
    "sampler",
    "sample_boltzmann",
    "save_instance",
    "sherrington_kirkpatrick",
    "sherrington_kirkpatrick_couplings",
]
