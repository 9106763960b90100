r"""Optional hooks a model may offer to the samplers and drivers, declared once.

A model of this package (or any flax module) may implement any of four methods; the package's
samplers and drivers look for them here, through the ``*_of`` functions below, and nowhere else:

- :class:`DirectSampling` ``direct_sample(uniforms)``: the model draws a whole batch itself,
  ``(N, B)`` uniforms in :math:`[0, 1)` -> ``(B, N)`` spins and ``(B,)`` :math:`\log q`, the
  same samples as the site-by-site inverse-CDF pass over ``conditional`` with those uniforms
  (e.g. :meth:`~netket_arnn.models.CurieWeissARNN.direct_sample`);
- :class:`FusedLogProbVJP` ``log_prob_vjp(inputs, cotangent)``: :math:`\sum_b g_b \nabla_\theta
  \log q(x_b)` in one pass, the same numbers as ``jax.vjp`` of :math:`\log q` (e.g.
  :meth:`~netket_arnn.models.SpinGlassARNN.log_prob_vjp`);
- :class:`ExactVariables` ``variables_at(beta)``: the model knows how the inverse temperature
  enters its variables, and returns the variable collections of the exact model at ``beta``
  (``{"fixed": ...}``, ``{"params": ...}``, ...): a model whose output depends on β through its
  variables alone, so an annealing driver swaps variables instead of re-building the model
  (:meth:`~netket_arnn.models.CurieWeissARNN.variables_at`,
  :meth:`~netket_arnn.models.H2ARNN.variables_at`);
- :class:`StartParams` ``start_params(beta)``: the model's physics start at ``beta`` (a dict of
  top-level parameters, float64 NumPy arrays), e.g. the exact conditional of the distribution with
  non-interacting unsampled spins (:meth:`~netket_arnn.models.SpinGlassARNN.start_params`); a
  training protocol starts from it (:func:`start_at`) and moves trained parameters from one β to
  the next by its change (:func:`shift_to_beta`).

The protocols are :func:`typing.runtime_checkable`: ``isinstance(model, DirectSampling)`` says
whether the method is there; a subclass switches a hook off by setting it to ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import jax

__all__ = [
    "DirectSampling",
    "ExactVariables",
    "FusedLogProbVJP",
    "direct_sampler_of",
    "exact_variables_at",
    "StartParams",
    "fused_log_prob_vjp_of",
    "shift_to_beta",
    "start_at",
]


@runtime_checkable
class DirectSampling(Protocol):
    """A model that draws a whole batch itself (see the module doc)."""

    def direct_sample(self, uniforms: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(N, B)`` uniforms -> ``(B, N)`` spins and ``(B,)`` :math:`\\log q` (in ``param_dtype``)."""


@runtime_checkable
class FusedLogProbVJP(Protocol):
    """A model with a fused :math:`\\log q` vector-Jacobian product (see the module doc)."""

    def log_prob_vjp(self, inputs: jax.Array, cotangent: jax.Array) -> Any:
        """``(B, N)`` inputs, ``(B,)`` cotangents -> a pytree shaped like ``variables["params"]``."""


@runtime_checkable
class ExactVariables(Protocol):
    """A model that knows its exact variables at any inverse temperature (see the module doc)."""

    def variables_at(self, beta: float) -> dict:
        """The variable collections of the exact model at ``beta`` (those that depend on β)."""


@runtime_checkable
class StartParams(Protocol):
    """A model with a physics start at any inverse temperature (see the module doc)."""

    def start_params(self, beta: float) -> dict:
        """Top-level parameters of the start at ``beta``: ``name -> float64 array``."""


def start_at(model, params: dict, beta: float) -> dict:
    """``params`` with the entries of the model's physics start at ``beta`` (each in its dtype), or
    ``params`` unchanged for a model without :class:`StartParams`."""
    if not isinstance(model, StartParams):
        return params
    start = model.start_params(beta)
    unknown = set(start) - set(params)
    if unknown:
        raise ValueError(f"start_params returned {sorted(unknown)}, which are not parameters of the model")
    return {**params, **{name: jax.numpy.asarray(v).astype(params[name].dtype) for name, v in start.items()}}


def shift_to_beta(model, params: dict, old_beta: float, new_beta: float) -> dict:
    r"""``params`` trained at ``old_beta`` moved to ``new_beta``: :math:`\theta + s(\beta') - s(\beta)`.

    :math:`s(\beta)` is the model's :meth:`StartParams.start_params`; what training added to the
    start is kept, the part of the parameters that the physics says scales with β is moved. Each
    array keeps its dtype. A model without the hook gets ``params`` back unchanged.
    """
    if not isinstance(model, StartParams):
        return params
    old, new = model.start_params(old_beta), model.start_params(new_beta)
    unknown = set(new) - set(params)
    if unknown:
        raise ValueError(f"start_params returned {sorted(unknown)}, which are not parameters of the model")
    moved = dict(params)
    for name, value in new.items():
        current = params[name]
        moved[name] = (current + (value - old[name])).astype(current.dtype)
    return moved


def direct_sampler_of(model) -> Callable[[Any, jax.Array], tuple[jax.Array, jax.Array]] | None:
    """``(variables, uniforms) -> (spins, log_q)`` running ``model.direct_sample``, or ``None`` without one."""
    if not isinstance(model, DirectSampling):
        return None
    return lambda variables, uniforms: model.apply(variables, uniforms, method=model.direct_sample)


def fused_log_prob_vjp_of(model) -> Callable[[Any, jax.Array, jax.Array], Any] | None:
    """``(variables, inputs, cotangent) -> gradient`` running ``model.log_prob_vjp``, or ``None`` without one."""
    if not isinstance(model, FusedLogProbVJP):
        return None
    return lambda variables, inputs, cotangent: model.apply(variables, inputs, cotangent, method=model.log_prob_vjp)


def exact_variables_at(model, beta: float) -> dict | None:
    """``model.variables_at(beta)``, or ``None`` when the model does not know how β enters its variables."""
    if not isinstance(model, ExactVariables):
        return None
    return model.variables_at(beta)
