r"""The first-layer protocol: the couplings layer shared by every physics-derived ARNN (THEORY §2).

For sites :math:`i` and later sites :math:`l \ge i` the inputs of conditional :math:`i` are

.. math::  \xi_{il} = \sum_{s<i} J_{sl}\, x_s ,

a masked linear layer whose weights *are* the couplings (fixed at the Hamiltonian's values, or
trainable when couplings are learned from data). Every implementation provides the same three
operations, over a per-sample *state* of width ``S`` (the number of columns :math:`l` it keeps):

- :meth:`FirstLayer.all_fields` — the batched pass: ``(B, N) -> (B, N, S)``, row ``i`` holding
  :math:`\xi_{i\cdot}`, an exclusive prefix sum over the sites :math:`s`;
- :meth:`FirstLayer.init_state` — the zero state ``(B, S)`` before anything is sampled;
- :meth:`FirstLayer.update` — the recurrence used while sampling,

  .. math::  \xi_{i,l} = \xi_{i-1,l} + J_{i-1,l}\, x_{i-1},

  which costs one row of couplings per site instead of a pass over all earlier sites.

The recurrence is written once, here; an implementation only says how its couplings are stored
and how one row :math:`J_{s\cdot}` is read (:meth:`FirstLayer.rows`, :meth:`FirstLayer.row`,
:meth:`FirstLayer.add_row`). The implementations:

- :class:`~netket_arnn.nn.DenseFirstLayer`: an ``(N, N)`` array (a masked dense layer; 1L);
- :class:`~netket_arnn.nn.PackedFirstLayer`: the :math:`N(N-1)/2` pairs of the upper triangle
  (H2ARNN, dense SK_kRSB);
- :class:`~netket_arnn.nn.SparseFirstLayer`: one weight per edge of a coupling graph, with
  frontier tables for :math:`O(N \cdot \text{frontier})` passes (sparse SK_kRSB);
- :class:`UniformFirstLayer`: all couplings equal (Curie–Weiss): :math:`\xi_{il} = M_i`, the
  running magnetisation, a state of width 1 (CW_N, CW_∞, 1P).

Precision: the couplings are stored in ``param_dtype`` (float64 by default) and every array with
a batch axis (the fields, the sampling state) is computed in ``dtype`` (float32 by default), the
policy of the models (:mod:`netket_arnn.models.precision`).

Couplings are fixed (default; the non-trainable ``"couplings"`` collection, so that swapping it
re-targets a compiled model to another disorder instance of the same size) or trainable
(``learn_couplings=True``: the parameter ``"kernel"``, started from the given couplings or, with
``couplings_init_scale``, from :math:`\mathcal N(0, \text{scale}^2)`).
"""

from __future__ import annotations

import abc

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray
from netket.utils.types import DType

__all__ = ["COUPLINGS_COLLECTION", "FirstLayer", "UniformFirstLayer"]

COUPLINGS_COLLECTION = "couplings"
"""Collection holding fixed first-layer couplings."""


def exclusive_cumsum(terms: jax.Array, axis: int = -1) -> jax.Array:
    r"""Exclusive prefix sum along ``axis``: entry ``i`` is the sum of entries ``< i``.

    Built from the inclusive sum of the *previous* entries (never as ``cumsum - terms``), so entry
    ``i`` does not depend on entry ``i`` even through rounding: the autoregressive property holds
    bit for bit.
    """
    terms = jnp.moveaxis(terms, axis, 0)
    out = jnp.concatenate([jnp.zeros_like(terms[:1]), jnp.cumsum(terms[:-1], axis=0)], axis=0)
    return jnp.moveaxis(out, 0, axis)


def fields_from_rows(x: jax.Array, rows: jax.Array) -> jax.Array:
    r"""``(B, N), (N, S) -> (B, N, S)``: :math:`\xi_{il} = \sum_{s<i} \text{rows}_{sl}\, x_s`."""
    return exclusive_cumsum(x.astype(rows.dtype)[:, :, None] * rows[None], axis=1)


class FirstLayer(nn.Module):
    r"""The protocol (see the module doc): batched fields, a zero state and the sampling recurrence.

    Subclasses declare their storage (:meth:`_storage`), :meth:`rows` and, where a cheaper one
    exists, :meth:`row` and :meth:`add_row`. The stored couplings are :attr:`weights` (created
    in ``setup`` so that every method sees the same variable).
    """

    n_sites: int
    """number of spins ``N``."""
    values: HashableArray | None = None
    """the couplings, in the implementation's input layout: fixed values, or the start of learned ones."""
    learn_couplings: bool = False
    """if True the couplings are the trainable parameter ``"kernel"``."""
    couplings_init_scale: float | None = None
    """learned couplings start at :math:`\\mathcal N(0, \\text{scale}^2)`; ``None`` starts from ``values``."""
    param_dtype: DType = jnp.float64
    """dtype of the stored couplings (the models' precision policy, :mod:`netket_arnn.models.precision`)."""
    dtype: DType = jnp.float32
    """dtype of the fields and of the sampling state: the arithmetic of the per-sample pass."""

    @property
    def compute_dtype(self) -> jnp.dtype:
        """``dtype`` as a ``jnp.dtype``: the dtype of every array with a batch axis."""
        if self.dtype is None:
            raise TypeError(f"{type(self).__name__}.dtype must be a real floating dtype, got None")
        return jnp.dtype(self.dtype)

    # -- storage -------------------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def state_width(self) -> int:
        """``S``: columns of the state (``N``, or 1 for :class:`UniformFirstLayer`)."""

    def _storage(self) -> tuple[str, tuple[int, ...], np.ndarray | None]:
        """``(name, shape, stored values)`` of the fixed variable / trainable kernel."""
        raise NotImplementedError

    def setup(self):
        name, shape, stored = self._storage()
        if self.learn_couplings:
            if self.couplings_init_scale is not None:
                init = nn.initializers.normal(float(self.couplings_init_scale))
            elif stored is not None:
                # asarray then astype: jnp.asarray(v, dtype=...) would commit the value to one
                # device, a layout nk.vqs.FullSumState(variables=...) rejects
                init = lambda key, shape, dtype: jnp.asarray(stored).astype(dtype)  # noqa: E731
            else:
                raise ValueError(
                    f"{type(self).__name__}: learned couplings need a start: pass `values` (the couplings) "
                    "or `couplings_init_scale` (a random start)"
                )
            self.weights = self.param("kernel", init, shape, self.param_dtype)
        else:
            if stored is None:
                raise ValueError(
                    f"{type(self).__name__}: fixed couplings need `values` (the Hamiltonian's couplings); "
                    "build the model with Model.from_hamiltonian(H, beta)"
                )
            self.weights = self.variable(
                COUPLINGS_COLLECTION, name, lambda: jnp.asarray(stored).astype(self.param_dtype)
            ).value

    # -- reading couplings ---------------------------------------------------------------------
    def stored(self) -> jax.Array:
        """The couplings in their storage layout (what a planned pass reads directly)."""
        return self.weights

    @abc.abstractmethod
    def rows(self) -> jax.Array:
        r"""``(N, S)``: row ``s`` holds :math:`J_{s\cdot}`, the coupling of site ``s`` to every column."""

    def row(self, s) -> jax.Array:
        r"""``(S,)`` row :math:`J_{s\cdot}` for a (traced) site ``s``, in the compute dtype."""
        return jax.lax.dynamic_index_in_dim(self.rows(), s, axis=0, keepdims=False).astype(self.compute_dtype)

    def add_row(self, state: jax.Array, s, coeff: jax.Array) -> jax.Array:
        r"""``state + coeff[:, None] * J[s]``: the one place where a row enters the state."""
        return state + coeff[:, None] * self.row(s)[None, :]

    def coupling_matrix(self) -> jax.Array:
        """``(N, N)`` symmetric, zero-diagonal coupling matrix the layer holds (learned ones included)."""
        return self.rows()

    # -- the protocol ------------------------------------------------------------------------
    def all_fields(self, x: jax.Array) -> jax.Array:
        r"""``(B, N) -> (B, N, S)``: :math:`\xi_{il} = \sum_{s<i} J_{sl} x_s` for every site ``i``.

        :math:`O(B N S)` memory; the entries of columns :math:`l < i` are computed but meaningless.
        """
        return fields_from_rows(x, self.rows().astype(self.compute_dtype))

    def init_state(self, batch: int) -> jax.Array:
        """``(B, S)`` zeros in the compute dtype: the state before site 0."""
        return jnp.zeros((batch, self.state_width), self.compute_dtype)

    def update(self, state: jax.Array, x: jax.Array, index) -> jax.Array:
        r"""Advance the state from site ``index - 1`` to ``index``: :math:`\xi_{i} = \xi_{i-1} + J_{i-1} x_{i-1}`.

        Args:
            state: ``(B, S)`` :math:`\xi_{i-1,\cdot}`; at ``index = 0`` (a new sampling pass) it must be
                :meth:`init_state`, which it is returned as, unchanged.
            x: ``(B, N)`` partially sampled configurations (sites ``< index`` are set; any real dtype:
                only column ``index - 1`` is read and cast).
            index: the site about to be sampled (a traced scalar is fine).

        Returns:
            ``(B, S)`` :math:`\xi_{\text{index},\cdot}`.
        """
        # the state is not reset here: a select over all of it would cost O(B S) per site, where a
        # sparse layer's row touches O(B D) entries; site 0 adds a zero row instead
        prev = jnp.maximum(index - 1, 0)
        coeff = jax.lax.dynamic_index_in_dim(x, prev, axis=1, keepdims=False).astype(state.dtype)
        return self.add_row(state, prev, jnp.where(index == 0, jnp.zeros_like(coeff), coeff))


class UniformFirstLayer(FirstLayer):
    r"""All couplings equal to one: :math:`\xi_{il} = M_i = \sum_{s<i} x_s` for every ``l``.

    The Curie–Weiss first layer (:math:`J_{sl} = J/N` with :math:`J/N` absorbed into the next
    weights): one column, the running magnetisation. It holds no variables.
    """

    @property
    def state_width(self) -> int:
        return 1

    def setup(self):
        if self.learn_couplings:
            raise ValueError("UniformFirstLayer has no couplings to learn (all are equal by construction)")

    def rows(self) -> jax.Array:
        return jnp.ones((self.n_sites, 1), self.compute_dtype)

    def row(self, s) -> jax.Array:
        return jnp.ones((1,), self.compute_dtype)

    def coupling_matrix(self) -> jax.Array:
        return 1.0 - jnp.eye(self.n_sites, dtype=self.param_dtype)

    def all_fields(self, x: jax.Array) -> jax.Array:
        return exclusive_cumsum(x.astype(self.compute_dtype), axis=1)[:, :, None]
