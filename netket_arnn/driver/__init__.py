"""Training drivers: the variational free-energy driver, β schedules and annealing."""

from .anneal import AnnealRecord, AnnealResult, PlateauStopping, anneal, exact_reference
from .free_energy import VariationalFreeEnergy, free_energy_and_grad
from .schedules import ConstantBeta, LinearBeta, StepwiseBeta, beta_grid

__all__ = [
    "AnnealRecord",
    "AnnealResult",
    "ConstantBeta",
    "LinearBeta",
    "PlateauStopping",
    "StepwiseBeta",
    "VariationalFreeEnergy",
    "anneal",
    "beta_grid",
    "exact_reference",
    "free_energy_and_grad",
]
