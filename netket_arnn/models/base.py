r"""Shared scaffold of the physics-derived ARNNs.

Every model in this subpackage describes a distribution over spins :math:`x \in \{-1,+1\}^N`
by one *logit* per site,

.. math::  u_i(x_{<i}) = \log \frac{q(x_i = +1 \mid x_{<i})}{q(x_i = -1 \mid x_{<i})},
           \qquad q(x_i \mid x_{<i}) = \sigma(x_i u_i),

so a subclass only supplies

- :meth:`PhysicsARNN.logits`: all :math:`N` logits of a batch in one vectorised pass,
  ``(B, N) -> (B, N)``;
- :meth:`PhysicsARNN.conditional_logit`: the logit of one site during ancestral sampling,
  ``(B, N), i -> (B,)``, reading and advancing a recurrent state kept in the ``"cache"``
  collection (it runs inside the compact :meth:`PhysicsARNN.conditional`, so it may create
  cache variables with :meth:`PhysicsARNN.cache_variable`).

This base turns logits into NetKet's conventions: ``machine_pow = 2`` so
:math:`\log\psi = \tfrac12 \log q`; conditionals are ordered like
``hilbert.local_states`` (``[+1, -1]`` for ``Spin(0.5, N)``, i.e. local index 0 is spin up);
``conditional`` returns normalised probabilities.

Variable collections used by the models:

- ``"params"``: trainable parameters (may be empty: a model whose parameters are all fixed
  still gets an empty ``"params"`` collection, which :class:`netket.vqs.MCState` requires);
- ``"fixed"`` (:data:`FIXED_COLLECTION`): physics parameters held at their exact values,
  never touched by an optimiser; they live in ``vstate.model_state["fixed"]``;
- ``"couplings"``: fixed couplings of the first layer (:class:`netket_arnn.nn.Couplings`);
- ``"cache"``: the sampling state, created only by ``conditional``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import netket as nk

from .._validation import check_spin_hilbert
from ..operators import PairwiseIsing, curie_weiss_parameters

__all__ = [
    "FIXED_COLLECTION",
    "PhysicsARNN",
    "as_spins",
    "check_curie_weiss",
    "check_options",
    "check_pairwise",
    "exclusive_cumsum",
    "masked_logsumexp",
    "site_window",
]

FIXED_COLLECTION = "fixed"
"""Collection holding non-trainable physics parameters."""


def as_spins(x, dtype) -> jax.Array:
    """``x`` as a ``(B, N)`` array of ``dtype`` (a single ``(N,)`` configuration gets B = 1).

    Samples from ``ARDirectSampler`` can be int8: casting first keeps every later sum exact.
    """
    x = jnp.asarray(x)
    if x.ndim == 1:
        x = x[None, :]
    return x.astype(dtype)


def exclusive_cumsum(x: jax.Array) -> jax.Array:
    r"""Running magnetisations :math:`M_i = \sum_{s<i} x_s` along the last axis, ``(..., N)``."""
    return jnp.cumsum(x, axis=-1) - x


def site_window(start, width, window: int, total: int):
    r"""A static-size window over a packed, site-ragged array of hidden units.

    Several models pack the hidden units of all sites one after the other: site ``i`` owns
    the ``width`` units ``[start, start + width)`` of a ``total``-long axis, with widths that
    vary by site. During sampling the site is a traced index, so its units are read through a
    window of the static size ``window >= width`` (the largest width). The window start is
    clamped so it never runs past ``total``; the returned mask tells which window positions are
    the site's own units, and ``k`` is each position's index *within* the site.

    Returns:
        ``(offset, valid, k)``: the window start for :func:`jax.lax.dynamic_slice`, a
        ``(window,)`` boolean mask and the ``(window,)`` int32 local unit indices (meaningful
        where ``valid``).
    """
    start = jnp.asarray(start).astype(jnp.int32)
    offset = jnp.minimum(start, total - window).astype(jnp.int32)
    k = offset + jnp.arange(window, dtype=jnp.int32) - start
    valid = (k >= 0) & (k < width)
    return offset, valid, k


def masked_logsumexp(values: jax.Array, valid: jax.Array, axis: int = -1) -> jax.Array:
    """Log-sum-exp over ``axis`` of the entries where ``valid`` (at least one must be)."""
    return jax.nn.logsumexp(jnp.where(valid, values, -jnp.inf), axis=axis)


def check_pairwise(H) -> PairwiseIsing:
    """Raise unless ``H`` is a :class:`~netket_arnn.PairwiseIsing` on ``Spin(0.5, N)``."""
    if not isinstance(H, PairwiseIsing):
        raise TypeError(
            f"expected a netket_arnn.PairwiseIsing Hamiltonian, got {type(H).__name__}; build one with "
            "netket_arnn.from_couplings, curie_weiss, sherrington_kirkpatrick or edwards_anderson"
        )
    check_spin_hilbert(H.hilbert, H.n_sites)
    return H


def check_curie_weiss(H, model: str) -> tuple[float, float]:
    """``(J, h)`` of a Curie–Weiss ``H``; raise a ValueError naming ``model`` otherwise."""
    check_pairwise(H)
    params = curie_weiss_parameters(H)
    if params is None:
        raise ValueError(
            f"{model} needs a Curie–Weiss Hamiltonian (all couplings J_ij = J/N equal, all fields h_i = h "
            f"equal), but {H!r} is not of that form; use H2ARNN (N <= 20) or SingleLayerARNN instead"
        )
    return params


def check_options(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")


class PhysicsARNN(nk.models.AbstractARNN):
    """Base of the physics-derived ARNNs: logits in, NetKet's ARNN interface out.

    Subclasses are flax dataclasses that must declare ``machine_pow: int = 2`` and
    ``param_dtype`` (last, since they have defaults), implement :meth:`logits` and
    :meth:`conditional_logit`, and declare their parameters in ``setup`` (with
    :meth:`physics_variable` for the ones that may be fixed or trainable), so that
    ``__call__``, ``conditionals_log_psi`` and ``conditional`` all see the same variables.
    """

    # -- to implement --------------------------------------------------------------------
    @abc.abstractmethod
    def logits(self, x: jax.Array) -> jax.Array:
        """All logits :math:`u_i(x_{<i})`: ``(B, N)`` float spins -> ``(B, N)``, vectorised."""

    @abc.abstractmethod
    def conditional_logit(self, x: jax.Array, index) -> jax.Array:
        """The logit of site ``index`` from the ``"cache"`` state: ``(B, N)`` float spins -> ``(B,)``.

        Called for ``index = 0, 1, ..., N-1`` in order. It must create its cache variables with
        :meth:`cache_variable`, reset them at ``index == 0``, and leave them unchanged while
        ``self.is_initializing()``.
        """

    # -- helpers for subclasses ------------------------------------------------------------
    def physics_variable(self, name: str, init: Callable, trainable: bool):
        """A parameter that is trainable (``"params"``) or held fixed (``"fixed"`` collection).

        ``init(key)`` returns the initial value; ``key`` is ``None`` for fixed variables, so
        random initialisations are only meaningful for trainable ones.
        """
        if trainable:
            return self.param(name, init)
        return self.variable(FIXED_COLLECTION, name, init, None).value

    def cache_variable(self, name: str, shape, dtype):
        """A zero-initialised ``"cache"`` variable (only inside :meth:`conditional_logit`)."""
        return self.variable("cache", name, jnp.zeros, shape, dtype)

    @property
    def local_signs(self) -> jax.Array:
        """``hilbert.local_states`` as ±1 values: the spin of each local index."""
        return jnp.asarray(self.hilbert.local_states, dtype=self.param_dtype)

    # -- NetKet ARNN interface ---------------------------------------------------------------
    def conditionals_log_psi(self, inputs: jax.Array) -> jax.Array:
        """``(B, N, 2)``: :math:`\\tfrac12 \\log q(x_i = s \\mid x_{<i})` for ``s`` in ``local_states``."""
        u = self.logits(as_spins(inputs, self.param_dtype))
        return 0.5 * jax.nn.log_sigmoid(u[..., None] * self.local_signs)

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """``(B,)``: :math:`\\log\\psi(x) = \\tfrac12 \\sum_i \\log\\sigma(x_i u_i)`."""
        x = as_spins(inputs, self.param_dtype)
        return 0.5 * jnp.sum(jax.nn.log_sigmoid(x * self.logits(x)), axis=-1)

    @nn.compact
    def conditional(self, inputs: jax.Array, index) -> jax.Array:
        """``(B, 2)`` normalised :math:`q(x_i = s \\mid x_{<i})`, ``s`` in ``local_states``, from the cache."""
        u = self.conditional_logit(as_spins(inputs, self.param_dtype), index)
        return jax.nn.sigmoid(u[:, None] * self.local_signs)

    def init(self, *args, **kwargs):
        # MCState insists on a "params" collection, which a fully fixed model does not create.
        variables = super().init(*args, **kwargs)
        if "params" not in variables:
            variables = {**variables, "params": {}}
        return variables
