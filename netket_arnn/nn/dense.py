r"""Dense first layers: an ``(N, N)`` array, or the packed upper triangle of a symmetric matrix.

Both hold :math:`J_{sl}` for every pair and implement the protocol of
:class:`~netket_arnn.nn.FirstLayer` with a state of width ``N``.

**Packed triangle** (:class:`PackedFirstLayer`): the :math:`N(N-1)/2` entries :math:`(s, l)`,
:math:`s < l`, in the order of ``np.triu_indices(N, 1)``, i.e. exactly one number per pair: the
layout of a learned first layer in the paper's count. While sampling, row ``s`` is gathered in
:math:`O(N)` (:func:`packed_row`), never by rebuilding the matrix.

**Dense array** (:class:`DenseFirstLayer`): an ``(N, N)`` array. Fixed, it is the symmetric
coupling matrix; learned, it is a masked dense layer whose entries :math:`s < l` (the strict upper
triangle) are the weights and the others are stored but unused: :math:`N^2` stored numbers, the
count of the paper's 1L network.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .first_layer import FirstLayer

__all__ = ["DenseFirstLayer", "PackedFirstLayer"]


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


def symmetric_from_packed(upper: jax.Array, n: int) -> jax.Array:
    """``(N, N)`` symmetric, zero-diagonal matrix from its packed upper triangle."""
    rows, cols = np.triu_indices(n, 1)
    J = jnp.zeros((n, n), dtype=upper.dtype).at[rows, cols].set(upper)
    return J + J.T


def _check_matrix(values, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    J = np.asarray(values)
    if J.shape != (n, n):
        raise ValueError(f"{name} on {n} sites needs an ({n}, {n}) coupling matrix, got shape {J.shape}")
    return J


class PackedFirstLayer(FirstLayer):
    r"""First layer storing one coupling per pair: the packed upper triangle (see the module doc).

    ``values``: the ``(N, N)`` symmetric coupling matrix (its upper triangle is stored). Fixed
    couplings live in ``"couplings"/"upper"``; learned ones are ``params["kernel"]``, shape
    ``(N(N-1)/2,)``.
    """

    @property
    def state_width(self) -> int:
        return self.n_sites

    def _storage(self):
        n = self.n_sites
        J = _check_matrix(self.values, n, "PackedFirstLayer")
        stored = None if J is None else J[np.triu_indices(n, 1)]
        return "upper", (n * (n - 1) // 2,), stored

    def rows(self) -> jax.Array:
        return symmetric_from_packed(self.weights, self.n_sites)

    def row(self, s) -> jax.Array:
        return packed_row(self.weights, s, self.n_sites).astype(self.compute_dtype)

    def packed(self) -> jax.Array:
        """``(N(N-1)/2,)`` the stored upper triangle."""
        return self.weights


class DenseFirstLayer(FirstLayer):
    r"""First layer storing an ``(N, N)`` array (see the module doc).

    ``values``: the ``(N, N)`` start. Fixed, it must be the symmetric coupling matrix (stored as
    ``"couplings"/"matrix"``); learned (``params["kernel"]``), only its strict upper triangle
    :math:`s < l` is read, so a symmetric matrix and its upper triangle give the same layer.
    """

    @property
    def state_width(self) -> int:
        return self.n_sites

    def _storage(self):
        n = self.n_sites
        return "matrix", (n, n), _check_matrix(self.values, n, "DenseFirstLayer")

    def _upper(self) -> jax.Array:
        return jnp.triu(self.weights, 1) if self.learn_couplings else self.weights

    def rows(self) -> jax.Array:
        return self._upper()

    def row(self, s) -> jax.Array:
        row = jax.lax.dynamic_index_in_dim(self.weights, s, axis=0, keepdims=False).astype(self.compute_dtype)
        if self.learn_couplings:  # the mask of row s, O(N)
            row = jnp.where(jnp.arange(self.n_sites) > s, row, 0.0)
        return row

    def coupling_matrix(self) -> jax.Array:
        if not self.learn_couplings:
            return self.weights
        upper = self._upper()
        return upper + upper.T

    def self_fields(self, x: jax.Array, precision=None) -> jax.Array:
        r"""``(B, N)``: the diagonal :math:`\xi_{ii} = \sum_{s<i} J_{si} x_s` alone, one matmul."""
        upper = jnp.triu(self.weights, 1).astype(self.compute_dtype)
        return jnp.matmul(x.astype(upper.dtype), upper, precision=precision)
