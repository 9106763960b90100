r"""The couplings first layer shared by every physics-derived ARNN (THEORY §2).

For sites :math:`i` and later sites :math:`l \ge i`,

.. math::  \xi_{il} = \sum_{s<i} J_{sl} x_s ,

i.e. a masked linear layer whose weights *are* the couplings. The batched pass computes
every conditional's inputs at once as an exclusive cumulative sum over :math:`s`
(:math:`O(B N^2)` work and memory for dense couplings); the sampling cache uses the
recurrence :math:`\xi_{i,l} = \xi_{i-1,l} + J_{i-1,l} x_{i-1}` (:math:`O(B N)` per site).
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray


def first_layer(x: jax.Array, J: jax.Array) -> jax.Array:
    r"""All first-layer inputs :math:`\xi_{il} = \sum_{s<i} J_{sl} x_s`.

    Args:
        x: ``(B, N)`` spins ±1 (any dtype; cast to ``J.dtype``).
        J: ``(N, N)`` coupling matrix (only rows ``s`` and columns ``l`` with ``s < l`` are
            read in a meaningful way; ``ξ_il`` for ``l < i`` is computed but unused).

    Returns:
        ``(B, N, N)`` array with ``[b, i, l] = ξ_il`` for configuration ``b``.
    """
    terms = x.astype(J.dtype)[:, :, None] * J[None, :, :]
    return jnp.cumsum(terms, axis=1) - terms


def first_layer_update(xi: jax.Array, J: jax.Array, x: jax.Array, index) -> jax.Array:
    r"""Advance the sampling state from site ``index - 1`` to ``index``.

    Implements :math:`\xi_{i,\cdot} = \xi_{i-1,\cdot} + J_{i-1,\cdot}\, x_{i-1}`; at
    ``index = 0`` the state is left at zero (nothing has been sampled yet).

    Args:
        xi: ``(B, N)`` state :math:`\xi_{i-1,\cdot}`.
        J: ``(N, N)`` couplings.
        x: ``(B, N)`` partially sampled configurations (sites ``< index`` are set).
        index: the site about to be sampled (a traced integer is fine).
    """
    prev = jnp.maximum(index - 1, 0)
    x_prev = jnp.where(index > 0, x[:, prev].astype(J.dtype), 0.0)
    return xi + x_prev[:, None] * J[prev][None, :]


class Couplings(nn.Module):
    r"""Provides the ``(N, N)`` symmetric, zero-diagonal coupling matrix of the first layer.

    Fixed (default): the matrix lives in the non-trainable ``"couplings"`` collection,
    initialised from ``values``; swapping that collection re-targets a compiled model to
    another disorder instance of the same size. Trainable (``trainable=True``): the
    :math:`N(N-1)/2` upper-triangle entries are the parameter ``"kernel"``, started from
    ``values`` when ``kernel_init`` is ``None``, else from ``kernel_init``.
    """

    n_sites: int
    values: HashableArray | None = None
    trainable: bool = False
    kernel_init: Callable | None = None
    param_dtype: jnp.dtype = jnp.float64

    @nn.compact
    def __call__(self, packed: bool = False) -> jax.Array:
        """The ``(N, N)`` matrix, or with ``packed=True`` its ``N(N-1)/2`` upper-triangle entries
        (row-major, ``np.triu_indices(N, 1)``) without building the matrix."""
        n = self.n_sites
        rows, cols = np.triu_indices(n, 1)
        if self.trainable:
            if self.kernel_init is None:
                if self.values is None:
                    raise ValueError("trainable couplings need `values` or a `kernel_init`")
                init = lambda key, shape, dtype: jnp.asarray(  # noqa: E731
                    np.asarray(self.values)[rows, cols], dtype=dtype
                )
            else:
                init = self.kernel_init
            upper = self.param("kernel", init, (len(rows),), self.param_dtype)
        else:
            if self.values is None:
                raise ValueError("fixed couplings need `values` (the Hamiltonian's couplings)")
            upper = self.variable(
                "couplings",
                "upper",
                lambda: jnp.asarray(np.asarray(self.values)[rows, cols], dtype=self.param_dtype),
            ).value
        if packed:
            return upper
        J = jnp.zeros((n, n), dtype=upper.dtype).at[rows, cols].set(upper)
        return J + J.T
