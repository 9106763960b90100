"""Learning from data: equilibrium Monte Carlo samples on NetKet's samplers, datasets with their
equilibration diagnostics, the ARNN-proposal Metropolis rule, and inverse-Ising estimators.

One job per module: :mod:`.boltzmann` (the Boltzmann weight as a NetKet machine, sampling),
:mod:`.dataset` (the dataset and its ``.npz`` file), :mod:`.diagnostics` (autocorrelation time,
split-R̂, drift), :mod:`.proposal` (Metropolis with an ARNN proposal), :mod:`.inverse` (couplings
from a trained first layer, pseudo-likelihood).
"""

from .boltzmann import BoltzmannWeight, boltzmann_sampler, sample_boltzmann
from .dataset import BoltzmannDataset, EquilibrationWarning, instance_sha256
from .diagnostics import Diagnostics, diagnose, energy_drift, integrated_autocorrelation_time, split_r_hat
from .inverse import (
    PseudoLikelihoodResult,
    RecoveryFigures,
    coupling_recovery,
    learned_couplings,
    pseudo_likelihood_couplings,
)
from .proposal import (
    ARNNProposal,
    ProposalObservables,
    arnn_proposal_sampler,
    sample_with_proposal,
    unbiased_observables,
)

__all__ = [
    "ARNNProposal",
    "BoltzmannDataset",
    "BoltzmannWeight",
    "Diagnostics",
    "EquilibrationWarning",
    "ProposalObservables",
    "PseudoLikelihoodResult",
    "RecoveryFigures",
    "arnn_proposal_sampler",
    "boltzmann_sampler",
    "coupling_recovery",
    "diagnose",
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
