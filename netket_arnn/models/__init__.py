"""Physics-derived autoregressive networks as NetKet models (THEORY §2–§5), and the paper's MADE.

Every physics model is a :class:`PhysicsARNN` (an :class:`netket.models.AbstractARNN` with
``machine_pow = 2``) built on a first layer of :mod:`netket_arnn.nn`, is built in one call with
``Model.from_hamiltonian(H, beta, **options)`` and samples with
:class:`netket.sampler.ARDirectSampler` through a cached ``conditional``. Options shared by the
models have one name: ``learn_couplings`` / ``couplings_init_scale`` (the first layer),
``init_scale`` (random starts), ``trainable`` (physics values trainable instead of fixed),
``param_dtype`` and ``dtype`` (one precision policy for every model and :func:`made`:
:mod:`~netket_arnn.models.precision`); the skip weight and bias of the logits are ``skip`` and
``bias``. The optional hooks a model offers the samplers and drivers (``direct_sample``,
``log_prob_vjp``, ``variables_at``) are declared in :mod:`~netket_arnn.models.hooks`.
"""

from .base import FIXED_COLLECTION, PhysicsARNN
from .curie_weiss import (
    CurieWeissARNN,
    CurieWeissInfARNN,
    OneParameterARNN,
    curie_weiss_exact_parameters,
    saddle_point_magnetisation,
)
from .frontier import FrontierARNN, frontier_n_params
from .h2arnn import H2ARNN, MAX_H2ARNN_SITES
from .hooks import (
    DirectSampling,
    ExactVariables,
    FusedLogProbVJP,
    StartParams,
    direct_sampler_of,
    exact_variables_at,
    fused_log_prob_vjp_of,
    shift_to_beta,
    start_at,
)
from .log_prob import chunked_log_prob, log_prob, machine_pow_of
from .made_baseline import MADE, made, made_n_params, made_width_for, paper_activation
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision
from .single_layer import SingleLayerARNN
from .spin_glass import SpinGlassARNN, spin_glass_n_params

__all__ = [
    "FrontierARNN",
    "frontier_n_params",
    "chunked_log_prob",
    "log_prob",
    "machine_pow_of",
    "DEFAULT_DTYPE",
    "DEFAULT_PARAM_DTYPE",
    "FIXED_COLLECTION",
    "MADE",
    "MAX_H2ARNN_SITES",
    "CurieWeissARNN",
    "CurieWeissInfARNN",
    "DirectSampling",
    "ExactVariables",
    "FusedLogProbVJP",
    "H2ARNN",
    "OneParameterARNN",
    "PhysicsARNN",
    "SingleLayerARNN",
    "SpinGlassARNN",
    "StartParams",
    "check_precision",
    "curie_weiss_exact_parameters",
    "direct_sampler_of",
    "exact_variables_at",
    "fused_log_prob_vjp_of",
    "made",
    "made_n_params",
    "made_width_for",
    "paper_activation",
    "saddle_point_magnetisation",
    "shift_to_beta",
    "spin_glass_n_params",
    "start_at",
]
