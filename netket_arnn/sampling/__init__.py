"""Sampling, in one package: the direct sampler of an ARNN, equilibrium Monte Carlo of the Boltzmann
distribution, and Metropolis with an ARNN as its proposal.

One job per module: :mod:`.direct` (:class:`ARDirectSampler`, NetKet's direct sampler drawing a
pass's random numbers at once, and the models' planned passes), :mod:`.boltzmann` (the Boltzmann
weight as a NetKet machine, :func:`sample_boltzmann` with Metropolis or parallel tempering),
:mod:`.tempering` (:func:`parallel_tempering`: replica exchange with single-flip local
fields, O(N) per flip, for glassy systems), :mod:`.proposal` (:class:`ARNNProposal`, chains
of :math:`e^{-\\beta H}` with an ARNN proposal and the unbiased estimates from them).
Datasets (keeping and writing samples, their diagnostics) are in :mod:`netket_arnn.data`.
"""

from .boltzmann import BoltzmannWeight, boltzmann_sampler, sample_boltzmann
from .direct import ARDirectSampler
from .proposal import (
    ARNNProposal,
    ProposalChains,
    ProposalObservables,
    arnn_proposal_sampler,
    draw_with_proposal,
    sample_with_proposal,
    unbiased_observables,
)
from .tempering import parallel_tempering, replica_temperatures

__all__ = [
    "ARDirectSampler",
    "ARNNProposal",
    "BoltzmannWeight",
    "ProposalChains",
    "ProposalObservables",
    "arnn_proposal_sampler",
    "boltzmann_sampler",
    "draw_with_proposal",
    "parallel_tempering",
    "replica_temperatures",
    "sample_boltzmann",
    "sample_with_proposal",
    "unbiased_observables",
]
