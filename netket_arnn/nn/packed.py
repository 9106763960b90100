r"""Rows of a symmetric matrix stored as its packed upper triangle (row-major, no diagonal).

A dense coupling matrix or a per-pair parameter array is stored as the
:math:`N(N-1)/2` entries :math:`(i, l)`, :math:`i < l`, in the order of
``np.triu_indices(N, 1)``. The sampling cache needs one row per site: gathering it costs
:math:`O(N)`, where rebuilding the matrix would cost :math:`O(N^2)` per site.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def packed_index(rows, cols, n: int):
    r"""Position of the pair ``(rows, cols)``, ``rows < cols``, in the packed upper triangle (elementwise)."""
    return rows * n - rows * (rows + 1) // 2 + cols - rows - 1


def packed_row(upper: jax.Array, s, n: int) -> jax.Array:
    r"""Row ``s`` of the symmetric, zero-diagonal matrix whose upper triangle is ``upper``.

    Args:
        upper: ``(N(N-1)/2,)`` packed entries.
        s: the row (a traced integer is fine).
        n: ``N``.

    Returns:
        ``(N,)`` with entry ``l`` equal to :math:`J_{sl}` (0 at ``l = s``).
    """
    if upper.shape[0] == 0:
        return jnp.zeros((n,), upper.dtype)
    cols = jnp.arange(n)
    idx = packed_index(jnp.minimum(cols, s), jnp.maximum(cols, s), n)
    return jnp.where(cols == s, 0.0, upper[jnp.clip(idx, 0, upper.shape[0] - 1)])


def packed_first_layer_update(xi: jax.Array, upper: jax.Array, x: jax.Array, index) -> jax.Array:
    r"""Sampling-state update :math:`\xi_{i,\cdot} = \xi_{i-1,\cdot} + J_{i-1,\cdot}\, x_{i-1}` from packed couplings.

    Same as :func:`netket_arnn.nn.first_layer_update` but reads only row ``index - 1``
    (:math:`O(B N)` work, nothing of size :math:`N^2`); no-op at ``index = 0``.

    Args:
        xi: ``(B, N)`` state :math:`\xi_{i-1,\cdot}`.
        upper: ``(N(N-1)/2,)`` packed couplings.
        x: ``(B, N)`` partially sampled configurations (sites ``< index`` are set).
        index: the site about to be sampled (a traced integer is fine).
    """
    n = xi.shape[-1]
    prev = jnp.maximum(index - 1, 0)
    x_prev = jnp.where(index > 0, x[:, prev].astype(upper.dtype), 0.0)
    return xi + x_prev[:, None] * packed_row(upper, prev, n)[None, :]
