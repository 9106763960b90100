r"""H2ARNN: the exact autoregressive form of a pairwise Boltzmann distribution (THEORY §2).

.. math::

    u_i = a_i \xi_{ii} + c_i + \log\rho_i^+ - \log\rho_i^-, \qquad
    \log\rho_i^\pm = \mathrm{LSE}_{c}\Big(b^\pm_c + \sum_{l>i} w_{cl}\, \xi_{il}\Big),

with the couplings first layer :math:`\xi_{il} = \sum_{s<i} J_{sl} x_s`, one hidden unit
per configuration :math:`c` of the unsampled spins :math:`x_{>i}` (:math:`2^{n_i}` of them,
:math:`n_i = N - 1 - i`), and at the exact values :math:`a_i = 2\beta`,
:math:`c_i = 2\beta h_i`, :math:`w_{cl} = \beta x^c_l`,
:math:`b^\pm_c = \beta \sum_{l>i} (\pm J_{il} + h_l) x^c_l + \beta \sum_{i<l<l'} J_{ll'} x^c_l x^c_{l'}`.

Layout. The hidden units of all sites are packed one after another on a single axis of
:math:`U = \sum_i 2^{n_i} = 2^N - 1` units: site :math:`i` owns units
:math:`[2^N - 2^{N-i},\, 2^N - 2^{N-1-i})`, and its unit :math:`c` is the configuration whose
spin :math:`l > i` is :math:`x^c_l = 1 - 2\,\mathrm{bit}_{N-1-l}(c)` (site :math:`i+1` is the most
significant bit). The batched pass evaluates all :math:`U` units at once, as one matmul of the
spins with the :math:`(N, U)` kernel :math:`K_{su} = [s < i(u)] \sum_l J_{sl} w_{ul}` (the first
layer is linear in the spins), and reduces them per site with segment log-sum-exps:
:math:`O(B\, N 2^N)` work, in batch chunks of at most ``chunk_elements`` numbers. Sampling
advances the first-layer state (:class:`netket_arnn.nn.PackedFirstLayer`, :math:`O(N)` per site)
and reads the site's units through a window of :math:`2^{N-1}` units (:meth:`H2ARNN.site_logits`).

Fixed hidden weights are never stored: :math:`\beta x^c_l` is regenerated from the unit
index and the fixed variable ``beta``, so the model depends on β through its variables alone
(:meth:`H2ARNN.variables_at`). The model is meant as an exact reference: :math:`N \le`
:data:`MAX_H2ARNN_SITES`.

Precision (:mod:`~netket_arnn.models.precision`): the hidden kernel :math:`K` is computed once per
parameter set in ``param_dtype`` and cast to ``dtype``; the unit inputs, the log-sum-exps and the
logits of every sample are computed in ``dtype``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray
from netket.utils.types import DType

from .._validation import check_beta, check_positive_int, check_scale
from ..nn.dense import PackedFirstLayer
from ..operators._checks import check_model_hamiltonian
from ._layout import masked_logsumexp, site_window
from .base import FIXED_COLLECTION, PhysicsARNN, hashable
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision

__all__ = ["H2ARNN", "MAX_H2ARNN_SITES", "hidden_parameter_count"]

MAX_H2ARNN_SITES = 20
r"""Largest :math:`N` accepted by :class:`H2ARNN`: it has :math:`2^N - 1` hidden units and a
batched pass costs :math:`O(B\, N\, 2^N)` (about :math:`2 \cdot 10^7` numbers per sample at N = 20)."""


def _unit_spins(k, n: int, dtype) -> jax.Array:
    r"""``(..., N)`` spins :math:`x^c_l = 1 - 2\,\mathrm{bit}_{N-1-l}(c)` of unit indices ``k``."""
    shift = (n - 1 - jnp.arange(n, dtype=jnp.int32)).astype(jnp.int32)
    bits = jnp.right_shift(jnp.asarray(k, jnp.int32)[..., None], shift) & 1
    return (1 - 2 * bits).astype(dtype)


@functools.lru_cache(maxsize=2)
def _hidden_biases(couplings: HashableArray, fields: HashableArray, beta: float):
    r"""Exact :math:`b^\pm` of all :math:`2^N - 1` packed units (numpy, at initialisation).

    Cached so that initialising ``b_plus`` and ``b_minus`` (and the sampler's cache
    initialisation) enumerate the future configurations once.
    """
    J, h = np.asarray(couplings), np.asarray(fields)
    n = len(h)
    plus, minus = [], []
    for i in range(n):  # init-time numpy, never traced
        future = np.arange(i + 1, n)
        c = np.arange(2 ** len(future))
        spins = 1.0 - 2.0 * ((c[:, None] >> (n - 1 - future)[None, :]) & 1)
        energy = spins @ h[future] + 0.5 * np.sum((spins @ J[np.ix_(future, future)]) * spins, axis=1)
        coupling = spins @ J[i, future]
        plus.append(beta * (energy + coupling))
        minus.append(beta * (energy - coupling))
    return np.concatenate(plus), np.concatenate(minus)


def hidden_parameter_count(N: int, trainable_weights: bool = True) -> int:
    r"""Number of numbers in H2ARNN's output stage, excluding the couplings.

    Hidden biases :math:`2(2^N - 1)`, skip weights and output biases :math:`2N`, and the hidden
    weights: trainable, the effective weights :math:`\sum_i n_i 2^{n_i} = (N - 2) 2^N + 2`
    (stored as a masked ``(2^N - 1, N)`` array); fixed, their one scale :math:`\beta`.
    """
    count = 2 * (2**N - 1) + 2 * N
    return count + ((N - 2) * 2**N + 2 if trainable_weights else 1)


class H2ARNN(PhysicsARNN):
    r"""The exact ARNN of a pairwise Hamiltonian (THEORY §2), for :math:`N \le 20`.

    With its initial parameters :math:`q(x) = e^{-\beta H(x)}/Z` exactly, at every ``x``.

    Variables (``(U,)`` means the :math:`U = 2^N - 1` packed hidden units):

    - first layer: the couplings (:class:`netket_arnn.nn.PackedFirstLayer`; fixed in the
      ``"couplings"`` collection, or :math:`N(N-1)/2` trainable parameters
      ``params["first_layer"]["kernel"]`` with ``learn_couplings=True``, started from
      ``couplings`` or from :math:`\mathcal N(0, \sigma^2)` with :math:`\sigma` = ``couplings_init_scale``);
    - ``skip`` :math:`a` ``(N,)``, ``bias`` :math:`c` ``(N,)``, ``b_plus`` and ``b_minus``
      ``(U,)``: fixed (``"fixed"`` collection) or trainable (``trainable=True``);
    - ``weights`` ``(U, N)``, only with ``trainable=True``: the hidden weights, started at
      :math:`\beta x^c_l` and masked to :math:`l > i` (the masked entries get zero gradient).
      Fixed hidden weights are regenerated on the fly from the fixed scalar ``beta`` and not stored.

    β enters only through these variables: :meth:`variables_at` gives them at any β.

    Counts: :func:`hidden_parameter_count` (:math:`2^{N+1} + 2N - 1` fixed,
    plus :math:`(N - 2)2^N + 2` effective weights when trainable), plus :math:`N(N-1)/2`
    learned couplings.
    """

    beta: float
    """inverse temperature of the exact parameters."""
    couplings: HashableArray
    """``(N, N)`` symmetric coupling matrix with zero diagonal."""
    fields: HashableArray
    """``(N,)`` local fields."""
    trainable: bool = False
    """if True, hidden weights and biases, skip weights and output biases are parameters."""
    learn_couplings: bool = False
    """if True, the first-layer couplings are parameters."""
    couplings_init_scale: float | None = None
    """std of the random start of learned couplings (``None``: start from ``couplings``)."""
    chunk_elements: int = 2**25
    """memory budget (numbers held at once) of the batched pass, which is chunked over the batch."""
    precision: Any = None
    """precision of the hidden-layer contractions (:class:`jax.lax.Precision`); on GPUs float32
    matmuls default to TF32, ``Precision.HIGHEST`` keeps full float32."""

    @classmethod
    def from_hamiltonian(
        cls,
        H,
        beta: float,
        *,
        trainable: bool = False,
        learn_couplings: bool = False,
        couplings_init_scale: float | None = None,
        chunk_elements: int = 2**25,
        precision: Any = None,
        param_dtype: DType = DEFAULT_PARAM_DTYPE,
        dtype: DType = DEFAULT_DTYPE,
    ):
        """H2ARNN at the exact parameters of the pairwise Hamiltonian ``H`` at ``beta``.

        ``param_dtype``, ``dtype``: the precision policy (:mod:`~netket_arnn.models.precision`).
        """
        check_model_hamiltonian(H, "H2ARNN")
        _check_size(H.n_sites)
        param_dtype, dtype = check_precision(param_dtype, dtype)
        return cls(
            hilbert=H.hilbert,
            beta=check_beta(beta),
            couplings=hashable(H.couplings),
            fields=hashable(H.fields),
            trainable=bool(trainable),
            learn_couplings=bool(learn_couplings),
            couplings_init_scale=check_scale(couplings_init_scale, "couplings_init_scale", allow_none=True),
            chunk_elements=check_positive_int(chunk_elements, "chunk_elements"),
            precision=precision,
            param_dtype=param_dtype,
            dtype=dtype,
        )

    def setup(self):
        n = self.hilbert.size
        _check_size(n)
        J, h = np.asarray(self.couplings), np.asarray(self.fields)
        if J.shape != (n, n) or h.shape != (n,):
            raise ValueError(
                f"H2ARNN on {n} sites needs couplings of shape ({n}, {n}) and fields of shape ({n},), "
                f"got {J.shape} and {h.shape}"
            )
        self.first_layer = PackedFirstLayer(
            n_sites=n,
            values=self.couplings,
            learn_couplings=self.learn_couplings,
            couplings_init_scale=self.couplings_init_scale,
            param_dtype=self.param_dtype,
            dtype=self.compute_dtype,
        )
        # the initialisers run only when the variables are created
        exact = lambda name: lambda _: self._exact_value(name, self.beta)  # noqa: E731
        self.skip = self.physics_variable("skip", exact("skip"), self.trainable)
        self.bias = self.physics_variable("bias", exact("bias"), self.trainable)
        self.b_plus = self.physics_variable("b_plus", exact("b_plus"), self.trainable)
        self.b_minus = self.physics_variable("b_minus", exact("b_minus"), self.trainable)
        if self.trainable:
            self.weights = self.param("weights", exact("weights"))
        else:  # the scale of the regenerated hidden weights
            self.weight_scale = self.physics_variable("beta", exact("beta"), False)

    def _exact_variable_names(self) -> tuple[str, ...]:
        return ("skip", "bias", "b_plus", "b_minus", "weights" if self.trainable else "beta")

    def _exact_value(self, name: str, beta: float) -> jax.Array:
        """The exact variable ``name`` at ``beta`` in ``param_dtype`` (``weights``: trainable; ``beta``: fixed)."""
        if name == "weights":
            return self._exact_weights(*self._unit_layout(), beta)
        if name == "skip":
            value = np.full(self.hilbert.size, 2.0 * beta)
        elif name == "bias":
            value = 2.0 * beta * np.asarray(self.fields)
        elif name == "beta":
            value = beta
        else:
            value = _hidden_biases(self.couplings, self.fields, beta)[name == "b_minus"]
        return jnp.asarray(value).astype(self.param_dtype)

    def variables_at(self, beta: float) -> dict:
        r"""The exact H2ARNN at ``beta`` as variable collections (:class:`~netket_arnn.models.hooks.ExactVariables`).

        ``skip`` :math:`2\beta`, ``bias`` :math:`2\beta h`, ``b_plus``, ``b_minus`` and the hidden
        weights (trainable) or their scale ``beta`` (fixed), in the collection each lives in; with
        ``learn_couplings`` also the first-layer kernel at the Hamiltonian's couplings (the exact
        first layer, whatever its random start). The couplings, fixed, do not depend on β and are
        not returned. The model's output depends on β only through these variables.
        """
        n, beta = self.hilbert.size, check_beta(beta)
        out = {"params": {}, FIXED_COLLECTION: {}}
        for name in self._exact_variable_names():
            out["params" if self.trainable else FIXED_COLLECTION][name] = self._exact_value(name, beta)
        if self.learn_couplings:
            upper = np.asarray(self.couplings)[np.triu_indices(n, 1)]
            out["params"]["first_layer"] = {"kernel": jnp.asarray(upper).astype(self.param_dtype)}
        return {name: collection for name, collection in out.items() if collection}

    # -- layout -----------------------------------------------------------------------------
    def _unit_layout(self):
        """``(site, k)`` of every packed unit, each ``(U,)`` int32."""
        n = self.hilbert.size
        widths = 2 ** (n - 1 - np.arange(n))
        site = np.repeat(np.arange(n), widths)
        k = np.arange(2**n - 1) - np.repeat(2**n - 2 ** (n - np.arange(n)), widths)
        return jnp.asarray(site, jnp.int32), jnp.asarray(k, jnp.int32)

    def _exact_weights(self, site, k, beta):
        r"""``(..., N)`` exact hidden weights :math:`\beta x^c_l [l > i]` of units ``(site, k)``, in ``param_dtype``."""
        n = self.hilbert.size
        future = jnp.arange(n) > jnp.asarray(site)[..., None]
        return jnp.where(future, beta * _unit_spins(k, n, self.param_dtype), 0.0).astype(self.param_dtype)

    def _weights(self, site, k, window_offset=None):
        """``(..., N)`` hidden weights of units ``(site, k)`` (parameter-like, ``param_dtype``)."""
        if not self.trainable:
            return self._exact_weights(site, k, self.weight_scale)
        n = self.hilbert.size
        if window_offset is None:
            w = self.weights
        else:
            w = jax.lax.dynamic_slice(self.weights, (window_offset, jnp.int32(0)), (2 ** (n - 1), n))
        return jnp.where(jnp.arange(n) > jnp.asarray(site)[..., None], w, 0.0)

    # -- the physics -----------------------------------------------------------------------------
    def site_logits(self, xi, index):
        r""":math:`u_i = a_i \xi_{ii} + c_i + \log\rho^+_i - \log\rho^-_i` from ``xi`` ``(B, N)``,
        reading the :math:`2^{n_i}` units of site ``i`` through a static window of :math:`2^{N-1}`."""
        n = self.hilbert.size
        window = 2 ** (n - 1)
        start = 2**n - jnp.left_shift(jnp.int32(1), n - index)
        offset, valid, k = site_window(start, jnp.left_shift(jnp.int32(1), n - 1 - index), window, 2**n - 1)
        w = self.compute(self._weights(index, jnp.clip(k, 0, window - 1), window_offset=offset))  # (window, N)
        hidden = jnp.matmul(xi, w.T, precision=self.precision)
        b_p = self.compute(jax.lax.dynamic_slice(self.b_plus, (offset,), (window,)))
        b_m = self.compute(jax.lax.dynamic_slice(self.b_minus, (offset,), (window,)))
        lse_p = masked_logsumexp(b_p + hidden, valid)
        lse_m = masked_logsumexp(b_m + hidden, valid)
        diag = jax.lax.dynamic_index_in_dim(xi, index, axis=1, keepdims=False)
        return self.compute(self.skip[index]) * diag + self.compute(self.bias[index]) + lse_p - lse_m

    # -- planned batched pass ----------------------------------------------------------------------
    def logits(self, x):
        """All logits: every unit at once, reduced per site by segment log-sum-exps, in batch chunks."""
        batch, n = x.shape
        rows = self.first_layer.rows()  # read outside the loop below: nothing is created inside it
        per_sample = 2 * 2**n  # the units' inputs and their exponentials
        size = max(1, min(batch, int(self.chunk_elements) // per_sample))
        if size >= batch:
            return self._all_units_logits(x, rows)
        n_chunks = -(-batch // size)
        padded = jnp.pad(x, ((0, n_chunks * size - batch), (0, 0)), constant_values=1)
        u = jax.lax.map(lambda chunk: self._all_units_logits(chunk, rows), padded.reshape(n_chunks, size, n))
        return u.reshape(n_chunks * size, n)[:batch]

    def _all_units_logits(self, x, rows):
        # ξ_il = Σ_{s<i} rows_sl x_s is linear in x, so every unit's input is one matmul:
        # Σ_l ξ_{i(u),l} w_ul = Σ_s x_s K_su with K_su = [s < i(u)] Σ_l rows_sl w_ul. Nothing of
        # size B·U·N is gathered, and the backward pass is matmuls too.
        # The kernel is parameter-like (param_dtype, once per call); the samples meet it in dtype.
        n = self.hilbert.size
        site, k = self._unit_layout()
        x = x.astype(self.compute_dtype)
        unit_rows = jnp.matmul(rows, self._weights(site, k).T, precision=self.precision)  # (N, U)
        kernel = self.compute(jnp.where(jnp.arange(n)[:, None] < site[None, :], unit_rows, 0.0))
        hidden = jnp.matmul(x, kernel, precision=self.precision)  # (B, U)
        diag = jnp.matmul(x, self.compute(jnp.triu(rows, 1)), precision=self.precision)  # ξ_ii = Σ_{s<i} rows_si x_s
        lse_p = _segment_logsumexp(self.compute(self.b_plus) + hidden, site, n)
        lse_m = _segment_logsumexp(self.compute(self.b_minus) + hidden, site, n)
        return self.compute(self.skip) * diag + self.compute(self.bias) + lse_p - lse_m


def _segment_logsumexp(values: jax.Array, segment: jax.Array, n: int) -> jax.Array:
    """``(B, U) -> (B, n)``: log-sum-exp of the units of each (sorted, non-empty) segment."""
    top = jax.ops.segment_max(values.T, segment, num_segments=n, indices_are_sorted=True)
    top = jax.lax.stop_gradient(top)
    total = jax.ops.segment_sum(jnp.exp(values.T - top[segment]), segment, n, indices_are_sorted=True)
    return (jnp.log(total) + top).T


def _check_size(n: int) -> None:
    if n > MAX_H2ARNN_SITES:
        raise ValueError(
            f"H2ARNN has 2^N - 1 hidden units and is limited to N <= {MAX_H2ARNN_SITES} spins; got N = {n}. "
            "Use a tractable architecture (CurieWeissARNN for Curie–Weiss, SingleLayerARNN or "
            "SpinGlassARNN) for larger systems"
        )
