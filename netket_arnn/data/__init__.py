"""Learning from data: datasets of spin configurations with their equilibration diagnostics, and
inverse-Ising estimators.

One job per module: :mod:`.dataset` (the dataset and its ``.npz`` file), :mod:`.diagnostics`
(autocorrelation time, split-R̂, drift), :mod:`.inverse` (couplings from a trained first layer,
pseudo-likelihood). The samplers that produce the data (equilibrium Monte Carlo, the ARNN-proposal
Metropolis rule) are in :mod:`netket_arnn.sampling`; their names are also available here, as in
earlier versions.
"""

from .dataset import BoltzmannDataset, EquilibrationWarning, instance_sha256
from .diagnostics import Diagnostics, diagnose, energy_drift, integrated_autocorrelation_time, split_r_hat
from .inverse import (
    PseudoLikelihoodResult,
    RecoveryFigures,
    coupling_recovery,
    learned_couplings,
    pseudo_likelihood_couplings,
)

__all__ = [
    "ARNNProposal",
    "BoltzmannDataset",
    "BoltzmannWeight",
    "Diagnostics",
    "EquilibrationWarning",
    "ProposalObservables",
    "ProposalChains",
    "PseudoLikelihoodResult",
    "RecoveryFigures",
    "arnn_proposal_sampler",
    "boltzmann_sampler",
    "coupling_recovery",
    "diagnose",
    "draw_with_proposal",
    "energy_drift",
    "instance_sha256",
    "integrated_autocorrelation_time",
    "learned_couplings",
    "pseudo_likelihood_couplings",
    "sample_boltzmann",
    "sample_with_proposal",
    "split_r_hat",
    "unbiased_observables",
]

# The samplers live in netket_arnn.sampling, which itself keeps its samples in this package's
# datasets: their names are served on first use here, so neither package imports the other's
# __init__ while it is being initialised.
_SAMPLING_NAMES = frozenset(
    {
        "ARNNProposal",
        "BoltzmannWeight",
        "ProposalChains",
        "ProposalObservables",
        "arnn_proposal_sampler",
        "boltzmann_sampler",
        "draw_with_proposal",
        "sample_boltzmann",
        "sample_with_proposal",
        "unbiased_observables",
    }
)


def __getattr__(name: str):
    if name in _SAMPLING_NAMES:
        from .. import sampling

        return getattr(sampling, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
