"""Training drivers: the variational free-energy driver, β schedules, annealing and its results.

One job per module: :mod:`.free_energy` (the driver), :mod:`.estimator` (f[q] and its gradient on
samples), :mod:`.local_balance` (a per-site training signal for nets with a future free energy),
:mod:`.annealing` (the protocol),
:mod:`.results` (records, table, JSON), :mod:`.checkpoint` (saving and resuming a run),
:mod:`.callbacks` (early stopping), :mod:`.schedules` (β as a function of the step),
:mod:`.divergence` (non-finite steps), :mod:`.stages` (what happens at each β: train, exact
variables, re-build), :mod:`.options` (the option groups of ``anneal`` and the per-β observables),
:mod:`.protocols` (the training protocols: steps, learning rate and stopping rule per β),
:mod:`.natural_gradient` (SR through the sample kernel, for nets with more parameters than samples),
:mod:`.core` (what both drivers share: log q, the fused-gradient dispatch, the finite check,
serialisation), :mod:`.max_likelihood` (maximum-likelihood training on data).
"""

from ..protocols import (
    ADAPTIVE,
    NATURAL,
    PAPER,
    PER_BETA_FIELDS,
    SETTLED,
    TRACKING,
    AnnealProtocol,
    Convergence,
    Retreat,
    get_protocol,
    protocol_names,
)
from .annealing import AnnealInterrupted, ESSWarning, anneal
from .callbacks import BetaSteps, PlateauStopping
from .divergence import DivergenceError, RollbackWarning
from .estimator import free_energy_and_grad, has_fused_gradient
from .free_energy import VariationalFreeEnergy
from .local_balance import balance_residuals, earlier_fields, imbalance, supports_local_balance
from .max_likelihood import MaximumLikelihood, negative_log_likelihood
from .natural_gradient import SampleSpaceSR
from .options import Checkpointing, FinalEstimates, PerBetaObservable, SampleBatch, SpecificHeat
from .results import AnnealRecord, AnnealResult, load_results, optimizer_settings
from .schedules import ConstantBeta, LinearBeta, StepwiseBeta, beta_grid
from .stages import BetaStage, Rebuild, SetExactVariables, Train

__all__ = [
    "ADAPTIVE",
    "NATURAL",
    "PAPER",
    "PER_BETA_FIELDS",
    "SETTLED",
    "TRACKING",
    "AnnealProtocol",
    "BetaSteps",
    "Convergence",
    "Retreat",
    "get_protocol",
    "protocol_names",
    "AnnealInterrupted",
    "AnnealRecord",
    "AnnealResult",
    "BetaStage",
    "Checkpointing",
    "ConstantBeta",
    "DivergenceError",
    "ESSWarning",
    "FinalEstimates",
    "LinearBeta",
    "MaximumLikelihood",
    "PerBetaObservable",
    "PlateauStopping",
    "Rebuild",
    "RollbackWarning",
    "SampleBatch",
    "SampleSpaceSR",
    "SetExactVariables",
    "SpecificHeat",
    "StepwiseBeta",
    "Train",
    "VariationalFreeEnergy",
    "anneal",
    "balance_residuals",
    "beta_grid",
    "earlier_fields",
    "free_energy_and_grad",
    "has_fused_gradient",
    "imbalance",
    "load_results",
    "negative_log_likelihood",
    "optimizer_settings",
    "supports_local_balance",
]
