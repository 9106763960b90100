"""netket-arnn: physics-derived autoregressive networks for pairwise spin systems, on NetKet.

The names below are loaded on first use (PEP 562), so that ``import netket_arnn`` and the
command line's ``--help`` do not pay for importing jax and NetKet until something needs them.
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import TYPE_CHECKING

from .registry import Net, build_net, get_net, net_names, register_net

try:
    # The version is declared once, in pyproject.toml, and read from the installed metadata.
    __version__ = _metadata.version("netket-arnn")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

_SUBMODULES = (
    "data",
    "driver",
    "exact",
    "models",
    "nn",
    "observables",
    "operators",
    "plotting",
    "recipes",
    "registry",
    "sampler",
    "sampling",
)
# public name -> the submodule that defines it
_ATTRIBUTES = {
    **dict.fromkeys(["BoltzmannDataset", "pseudo_likelihood_couplings", "sample_boltzmann"], "data"),
    **dict.fromkeys(
        [
            "AnnealInterrupted",
            "AnnealProtocol",
            "AnnealRecord",
            "AnnealResult",
            "ConstantBeta",
            "DivergenceError",
            "LinearBeta",
            "MaximumLikelihood",
            "PlateauStopping",
            "SampleSpaceSR",
            "StepwiseBeta",
            "VariationalFreeEnergy",
            "anneal",
            "beta_grid",
            "load_results",
        ],
        "driver",
    ),
    **dict.fromkeys(
        [
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
        ],
        "operators",
    ),
    "plot_anneal": "plotting",
    "ARDirectSampler": "sampling",
}

__all__ = [
    "ARDirectSampler",
    "AnnealInterrupted",
    "AnnealProtocol",
    "AnnealRecord",
    "AnnealResult",
    "BoltzmannDataset",
    "ConstantBeta",
    "DivergenceError",
    "LinearBeta",
    "MaximumLikelihood",
    "Net",
    "PairwiseIsing",
    "PlateauStopping",
    "SampleSpaceSR",
    "StepwiseBeta",
    "VariationalFreeEnergy",
    "anneal",
    "beta_grid",
    "build_net",
    "curie_weiss",
    "curie_weiss_parameters",
    "data",
    "driver",
    "edwards_anderson",
    "exact",
    "ferromagnet_2d",
    "from_couplings",
    "from_graph",
    "from_ising",
    "get_net",
    "load_instance",
    "load_results",
    "models",
    "net_names",
    "nn",
    "observables",
    "operators",
    "plot_anneal",
    "plotting",
    "pseudo_likelihood_couplings",
    "random_regular_graph",
    "recipes",
    "register_net",
    "registry",
    "sample_boltzmann",
    "sampler",
    "sampling",
    "save_instance",
    "sherrington_kirkpatrick",
    "sherrington_kirkpatrick_couplings",
]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
    elif name in _ATTRIBUTES:
        module = getattr(importlib.import_module(f".{_ATTRIBUTES[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = module  # later look-ups skip this function
    return module


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from . import (
        data,
        driver,
        exact,
        models,
        nn,
        observables,
        operators,
        plotting,
        recipes,
        registry,
        sampler,
        sampling,
    )
    from .data import BoltzmannDataset, pseudo_likelihood_couplings, sample_boltzmann
    from .driver import (
        AnnealInterrupted,
        AnnealProtocol,
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
        ferromagnet_2d,
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
    from .sampling import ARDirectSampler
