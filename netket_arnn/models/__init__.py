"""Physics-derived autoregressive networks as NetKet models (THEORY §2–§5), and the paper's MADE.

Every physics model is a :class:`PhysicsARNN` (an :class:`netket.models.AbstractARNN` with
``machine_pow = 2``) built on a first layer of :mod:`netket_arnn.nn`, is built in one call with
``Model.from_hamiltonian(H, beta, **options)`` and samples with
:class:`netket.sampler.ARDirectSampler` through a cached ``conditional``. Options shared by the
models have one name: ``learn_couplings`` / ``couplings_init_scale`` (the first layer),
``init_scale`` (random starts), ``trainable`` (physics values trainable instead of fixed),
``param_dtype``; the skip weight and bias of the logits are ``skip`` and ``bias``.
"""

from .base import FIXED_COLLECTION, PhysicsARNN
from .curie_weiss import (
    CurieWeissARNN,
    CurieWeissInfARNN,
    OneParameterARNN,
    curie_weiss_exact_parameters,
    saddle_point_magnetisation,
)
from .h2arnn import H2ARNN, MAX_H2ARNN_SITES
from .made_baseline import made, made_n_params, made_width_for, paper_activation
from .single_layer import SingleLayerARNN
from .spin_glass import SpinGlassARNN, spin_glass_n_params

__all__ = [
    "FIXED_COLLECTION",
    "MAX_H2ARNN_SITES",
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
    "paper_activation",
    "saddle_point_magnetisation",
    "spin_glass_n_params",
]
