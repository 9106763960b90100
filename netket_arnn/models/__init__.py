"""Physics-derived autoregressive networks as NetKet models (THEORY §2–§5), and the paper's baselines.

Every model subclasses :class:`netket.models.AbstractARNN` (``machine_pow = 2``), is built in
one call with ``Model.from_hamiltonian(H, beta, **options)`` and samples with
:class:`netket.sampler.ARDirectSampler` through a cached ``conditional``.
"""

from .base import FIXED_COLLECTION, PhysicsARNN
from .baselines import made, made_n_params, made_width_for, one_layer, one_layer_n_params, paper_activation
from .curie_weiss import (
    CurieWeissARNN,
    CurieWeissInfARNN,
    OneParameterARNN,
    curie_weiss_exact_parameters,
)
from .h2arnn import H2ARNN
from .single_layer import SingleLayerARNN
from .spin_glass import SpinGlassARNN, spin_glass_n_params

__all__ = [
    "FIXED_COLLECTION",
    "CurieWeissARNN",
    "CurieWeissInfARNN",
    "H2ARNN",
    "OneParameterARNN",
    "PhysicsARNN",
    "SingleLayerARNN",
    "SpinGlassARNN",
    "curie_weiss_exact_parameters",
    "made",
    "made_n_params",
    "made_width_for",
    "one_layer",
    "one_layer_n_params",
    "paper_activation",
    "spin_glass_n_params",
]
