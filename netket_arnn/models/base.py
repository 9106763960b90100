r"""The one base of the physics-derived ARNNs: a first layer, a per-site logit, NetKet's interface.

Every model of this subpackage describes a distribution over spins :math:`x \in \{-1,+1\}^N` by
one *logit* per site,

.. math::  u_i(x_{<i}) = \log \frac{q(x_i = +1 \mid x_{<i})}{q(x_i = -1 \mid x_{<i})},
           \qquad q(x_i \mid x_{<i}) = \sigma(x_i u_i),

computed from the first-layer inputs :math:`\xi_{i\cdot}` (:class:`netket_arnn.nn.FirstLayer`:
:math:`\xi_{il} = \sum_{s<i} J_{sl} x_s`). A model supplies

- ``setup``: its first layer as the submodule ``self.first_layer`` and its parameters;
- :meth:`PhysicsARNN.site_logits`: the physics, the logit of site ``i`` from
  :math:`\xi_{i\cdot}`, ``(B, S), i -> (B,)``.

The base derives everything else from these two:

- :meth:`PhysicsARNN.reference_logits`: all logits by the plain computation, every site's
  :meth:`~PhysicsARNN.site_logits` on :meth:`FirstLayer.all_fields`; a model may override
  :meth:`PhysicsARNN.logits` with a planned, cheaper evaluation of the same formula (its tests
  check the two agree);
- ``conditional``: ancestral sampling, the first-layer state advanced by
  :meth:`FirstLayer.update` and kept in the ``"cache"`` collection;
- NetKet's conventions: ``machine_pow = 2`` so :math:`\log\psi = \tfrac12 \log q`; conditionals
  ordered like ``hilbert.local_states`` (``[+1, -1]`` for ``Spin(0.5, N)``: local index 0 is spin
  up); ``conditional`` returns normalised probabilities; int8 samples cast before any sum.

Variable collections:

- ``"params"``: trainable parameters (always present, possibly empty, as ``MCState`` requires);
- ``"fixed"`` (:data:`FIXED_COLLECTION`): physics parameters held at their exact values;
- ``"couplings"``: fixed first-layer couplings;
- ``"cache"``: the sampling state, created only by ``conditional``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from netket.utils import HashableArray
from netket.utils.types import DType

from ..nn.chains import log_sigmoid
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision

__all__ = ["FIXED_COLLECTION", "PhysicsARNN"]

FIXED_COLLECTION = "fixed"
"""Collection holding non-trainable physics parameters."""


class PhysicsARNN(nk.models.AbstractARNN, kw_only=True):
    r"""Base of the physics-derived ARNNs: a first layer and per-site logits in, NetKet's ARNN out.

    Subclasses are flax dataclasses; they define ``self.first_layer`` (a
    :class:`netket_arnn.nn.FirstLayer`) and their variables in ``setup`` (with
    :meth:`physics_variable` for those that may be fixed or trainable), and implement
    :meth:`site_logits`. They may override :meth:`logits` (batched) and :meth:`conditional_logit`
    (sampling) with planned evaluations of the same formula.

    Precision (:mod:`netket_arnn.models.precision`, the one policy of every model): variables are
    stored in ``param_dtype``; the first layer gets ``dtype`` and every per-sample array (fields,
    hidden units, logits, log-conditionals, sampling conditionals) is computed in it, variables
    cast with :meth:`compute` where they meet the samples; :math:`\log q` is summed and returned
    in ``param_dtype``.
    """

    machine_pow: int = 2
    """log ψ = ½ log q (the only value ``ARDirectSampler`` supports)."""
    param_dtype: DType = DEFAULT_PARAM_DTYPE
    """dtype of the parameters and fixed variables; log q is accumulated and returned in it
    (:mod:`~netket_arnn.models.precision`)."""
    dtype: DType = DEFAULT_DTYPE
    """dtype of the per-sample arithmetic (:mod:`~netket_arnn.models.precision`; default float32)."""

    @property
    def compute_dtype(self) -> jnp.dtype:
        """The arithmetic dtype, ``dtype`` as a ``jnp.dtype``."""
        return jnp.dtype(self.dtype)

    def compute(self, value) -> jax.Array:
        """``value`` (a variable, a parameter-like array) cast to the arithmetic dtype, where it meets samples."""
        return jnp.asarray(value).astype(self.compute_dtype)

    def __post_init__(self):
        check_precision(self.param_dtype, self.dtype)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray | jax.Array):
                raise TypeError(
                    f"{type(self).__name__}.{name} is an array, but model fields must be hashable (the model is a "
                    f"static jit argument): pass netket.utils.HashableArray(array), or build the model with "
                    f"{type(self).__name__}.from_hamiltonian(H, beta)"
                )
        super().__post_init__()

    # -- to implement ----------------------------------------------------------------------
    @abc.abstractmethod
    def site_logits(self, xi: jax.Array, index) -> jax.Array:
        r"""The logit of site ``index`` from its first-layer inputs: ``(B, S) -> (B,)``.

        ``xi[:, l]`` is :math:`\xi_{\text{index}, l}` (only :math:`l \ge` ``index`` are
        meaningful). ``index`` may be a traced scalar. It must only read variables (they are
        created in ``setup``), so that :meth:`reference_logits` can map it over the sites.
        """

    # -- helpers for subclasses ----------------------------------------------------------------
    def physics_variable(self, name: str, init: Callable, trainable: bool):
        """A variable that is trainable (``"params"``) or held fixed (the ``"fixed"`` collection).

        ``init(key)`` returns the initial value; ``key`` is ``None`` for fixed variables, so random
        initialisations are only meaningful for trainable ones. Build values from NumPy as
        ``jnp.asarray(value).astype(dtype)``: ``jnp.asarray(value, dtype=...)`` commits them to a
        single device, a layout ``nk.vqs.FullSumState(variables=...)`` rejects.
        """
        if trainable:
            return self.param(name, init)
        return self.variable(FIXED_COLLECTION, name, init, None).value

    @property
    def local_signs(self) -> jax.Array:
        """``hilbert.local_states`` as ±1 values: the spin of each local index."""
        return jnp.asarray(self.hilbert.local_states, dtype=self.compute_dtype)

    def spins(self, inputs) -> jax.Array:
        """``inputs`` as a ``(B, N)`` array of the compute dtype (one ``(N,)`` configuration is a batch of one).

        Samples of ``ARDirectSampler`` are int8: casting first keeps every later sum exact.
        """
        return self.configurations(inputs).astype(self.compute_dtype)

    def configurations(self, inputs) -> jax.Array:
        """``inputs`` as a ``(B, N)`` array of their own dtype, after checking ``N`` (see :meth:`spins`)."""
        x = jnp.asarray(inputs)
        if x.ndim == 0 or x.shape[-1] != self.hilbert.size:
            raise ValueError(
                f"{type(self).__name__} is defined on {self.hilbert.size} sites, but got configurations of shape "
                f"{x.shape}: the sampler, the samples and the model must share one Hilbert space"
            )
        return x.reshape(-1, x.shape[-1])

    def coupling_matrix(self) -> jax.Array:
        """``(N, N)``: the symmetric coupling matrix of the first layer (learned or fixed).

        ``model.apply(variables, method=model.coupling_matrix)``.
        """
        return self.first_layer.coupling_matrix()

    # -- batched logits ------------------------------------------------------------------------
    def reference_logits(self, x: jax.Array) -> jax.Array:
        r"""All logits by the plain computation: :meth:`site_logits` of every site on :meth:`FirstLayer.all_fields`.

        ``(B, N)`` float spins -> ``(B, N)``; :math:`O(B N S)` memory and no planning.
        """
        xi = self.first_layer.all_fields(x)  # also runs setup before the map below
        return jax.vmap(self.site_logits, in_axes=(1, 0), out_axes=1)(xi, jnp.arange(x.shape[-1]))

    def logits(self, x: jax.Array) -> jax.Array:
        """All logits :math:`u_i(x_{<i})`: ``(B, N)`` float spins -> ``(B, N)`` (default: :meth:`reference_logits`)."""
        return self.reference_logits(x)

    def conditional_logit(self, x: jax.Array, index) -> jax.Array:
        """The logit of site ``index`` while sampling: ``(B, N)`` configurations -> ``(B,)``.

        The configurations are in the sampler's dtype (:meth:`configurations`; sites ``< index`` set).
        Advances the first-layer state kept in ``cache["xi"]`` by one site. Called for
        ``index = 0, 1, ..., N-1`` in order, from a fresh cache (the samplers initialise it for every
        pass, as NetKet's fast ARNN layers require).
        """
        layer = self.first_layer
        cache = self.variable("cache", "xi", layer.init_state, x.shape[0])
        xi = layer.update(cache.value, x, index)
        if not self.is_initializing():
            cache.value = xi
        return self.sampling_site_logits(xi, index)

    def sampling_site_logits(self, xi: jax.Array, index) -> jax.Array:
        """:meth:`site_logits` as the sequential sampling pass calls it (a model may plan it differently)."""
        return self.site_logits(xi, index)

    # -- NetKet ARNN interface -------------------------------------------------------------------
    def conditionals_log_psi(self, inputs: jax.Array) -> jax.Array:
        """``(B, N, 2)``: :math:`\\tfrac12 \\log q(x_i = s \\mid x_{<i})` for ``s`` in ``local_states``."""
        u = self.logits(self.spins(inputs))
        return 0.5 * log_sigmoid(u[..., None] * self.local_signs)

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """``(...,)``: :math:`\\log\\psi(x) = \\tfrac12 \\sum_i \\log\\sigma(x_i u_i)` for ``(..., N)`` inputs."""
        lead = jnp.shape(inputs)[:-1]
        x = self.spins(inputs)
        log_q = log_q_from_logits(x, self.logits(x), self.param_dtype)
        return 0.5 * log_q.reshape(lead if lead else (1,))

    @nn.compact
    def conditional(self, inputs: jax.Array, index) -> jax.Array:
        """``(B, 2)`` normalised :math:`q(x_i = s \\mid x_{<i})`, ``s`` in ``local_states``, from the cache."""
        # the configurations stay in the sampler's dtype: a cast of all of them would cost O(B N) per
        # site, where the first layer reads one column (and casts it)
        u = self.conditional_logit(self.configurations(inputs), index)
        return jax.nn.sigmoid(u[:, None] * self.local_signs)

    def init(self, *args, **kwargs):
        variables = super().init(*args, **kwargs)
        # MCState insists on a "params" collection, which a fully fixed model does not create.
        if "params" not in variables:
            variables = {**variables, "params": {}}
        return variables


def log_q_from_logits(x: jax.Array, logits: jax.Array, param_dtype: DType) -> jax.Array:
    r""":math:`\log q(x) = \sum_i \log\sigma(x_i u_i)` ``(B,)`` from ``(B, N)`` spins and logits: the
    per-site terms in the arithmetic dtype, their sum in ``param_dtype`` (:mod:`~netket_arnn.models.precision`)."""
    return jnp.sum(log_sigmoid(x * logits).astype(param_dtype), axis=-1)


def hashable(array, dtype=np.float64) -> HashableArray:
    """``array`` as a hashable NumPy array of ``dtype`` (a model field)."""
    return HashableArray(np.asarray(array, dtype=dtype))
