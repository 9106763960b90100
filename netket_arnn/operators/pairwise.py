"""The pairwise Ising Hamiltonian as a diagonal, jax-compatible NetKet operator."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from jax.tree_util import register_pytree_node_class

from .._validation import check_finite, check_real_array, check_spin_configurations, check_spin_hilbert
from . import algebra


@register_pytree_node_class
class PairwiseIsing(nk.operator.DiscreteJaxOperator):
    r"""Classical pairwise Ising Hamiltonian on :math:`N` spins :math:`x_i \in \{-1, +1\}`,

    .. math::

        H(x) = -\sum_{i<j} J_{ij} x_i x_j - \sum_i h_i x_i ,

    with the statistical-mechanics sign: :math:`J_{ij} > 0` is ferromagnetic and the
    Boltzmann weight is :math:`e^{-\beta H(x)}`. Note that :class:`netket.operator.Ising`
    uses the opposite sign (:math:`+J\sum \sigma^z\sigma^z`) and a *transverse* field, so
    it is a different model.

    The operator is diagonal in the computational basis (one connected element, itself),
    is a pytree usable inside :func:`jax.jit`, and registers a local kernel so that
    ``MCState.expect(H)`` and ``expect_and_grad`` evaluate :math:`H(x)` directly, without
    evaluating the variational model on connected configurations.

    Couplings are either **dense** (an ``(N, N)`` symmetric matrix with zero diagonal;
    energy cost :math:`O(N^2)` per configuration) or **sparse** (a list of edges
    ``(i, j)`` with one weight each; cost :math:`O(\text{edges})`).

    Sums, differences and real multiples (``H1 + H2``, ``H1 - H2``, ``c * H``, ``H * c``,
    ``-H``, ``H / c``) are again :class:`PairwiseIsing` on the same Hilbert space (see
    :mod:`netket_arnn.operators.algebra`); anything else (another operator type, a complex
    factor) gives NetKet's generic operator sum.

    Args:
        hilbert: an unconstrained ``nk.hilbert.Spin(0.5, N)``.
        couplings: the dense ``(N, N)`` matrix, or, together with ``edges``, the ``(E,)``
            vector of edge weights.
        fields: the ``(N,)`` local fields :math:`h_i` (zero if omitted).
        edges: ``(E, 2)`` integer array of distinct pairs ``i != j``; makes the operator
            sparse. Each unordered pair may appear only once.
        triangular: if True, a dense ``couplings`` must be strictly lower or strictly upper
            triangular, each pair stored once; it is symmetrised as :math:`J + J^T`.
        dtype: floating dtype of the couplings and energies (default ``float64``).
        metadata: a dict of plain values describing the instance (kept by
            :func:`save_instance`).
    """

    def __init__(
        self,
        hilbert: nk.hilbert.Spin,
        couplings,
        fields=None,
        *,
        edges=None,
        triangular: bool = False,
        dtype=jnp.float64,
        metadata: dict | None = None,
    ):
        dtype = jnp.dtype(dtype)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"dtype must be a real floating dtype, got {dtype}")
        couplings = check_real_array(couplings, "couplings")
        if edges is None:
            n = _check_dense_couplings(couplings, triangular)
            dense = couplings + couplings.T if triangular else couplings
            rows, cols = np.triu_indices(n, 1)
            mask = dense[rows, cols] != 0
            edge_arr = np.stack([rows[mask], cols[mask]], axis=1)
            weights = dense[rows, cols][mask]
        else:
            if triangular:
                raise ValueError("triangular=True applies to dense couplings only, not edges")
            n = hilbert.size if isinstance(hilbert, nk.hilbert.Spin) else None
            edge_arr, weights = _check_edges(edges, couplings, n)
            dense = None
        check_spin_hilbert(hilbert, n)

        fields = np.zeros(n) if fields is None else check_real_array(fields, "fields")
        if fields.shape != (n,):
            raise ValueError(f"fields must have shape ({n},) to match {n} spins, got {fields.shape}")
        check_finite(fields, "fields")

        super().__init__(hilbert)
        self._is_sparse = dense is None
        self._dtype = dtype
        self._metadata = tuple(sorted((metadata or {}).items()))
        self._h = jnp.asarray(fields, dtype=dtype)
        self._edges = jnp.asarray(edge_arr, dtype=jnp.int32).reshape(-1, 2)
        self._weights = jnp.asarray(weights, dtype=dtype)
        self._J = None if dense is None else jnp.asarray(dense, dtype=dtype)

    # -- accessors --------------------------------------------------------------------
    @property
    def n_sites(self) -> int:
        """Number of spins :math:`N`."""
        return self.hilbert.size

    @property
    def n_edges(self) -> int:
        """Number of nonzero couplings (unordered pairs)."""
        return int(self._edges.shape[0])

    @property
    def is_sparse(self) -> bool:
        """True when energies are computed from the edge list, in :math:`O(\\text{edges})`."""
        return self._is_sparse

    @property
    def couplings(self) -> jax.Array:
        """The dense symmetric ``(N, N)`` coupling matrix (built on demand if sparse)."""
        if self._J is not None:
            return self._J
        n = self.n_sites
        J = jnp.zeros((n, n), dtype=self._dtype)
        J = J.at[self._edges[:, 0], self._edges[:, 1]].set(self._weights)
        return J.at[self._edges[:, 1], self._edges[:, 0]].set(self._weights)

    @property
    def edges(self) -> jax.Array:
        """``(E, 2)`` int32 pairs ``(i, j)`` with ``i < j``, one per nonzero coupling."""
        return self._edges

    @property
    def edge_weights(self) -> jax.Array:
        """``(E,)`` couplings :math:`J_{ij}` of :attr:`edges`."""
        return self._weights

    @property
    def fields(self) -> jax.Array:
        """``(N,)`` local fields :math:`h_i`."""
        return self._h

    @property
    def metadata(self) -> dict:
        """Plain-valued description of the instance (model name, seed, ...)."""
        return dict(self._metadata)

    # -- operator interface -----------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype

    @property
    def is_hermitian(self) -> bool:
        return True

    @property
    def max_conn_size(self) -> int:
        return 1

    def energy(self, x) -> jax.Array:
        r"""Energies :math:`H(x)` of configurations ``x`` of shape ``(..., N)``; returns ``(...)``.

        Spins are the values ±1 (any integer or float dtype); they are cast to
        :attr:`dtype` before any sum, so int8 samples cannot overflow. The last axis must
        have :math:`N` entries. Concrete inputs are checked to hold only ±1 (0/1 bits
        raise a ``ValueError``); traced inputs inside :func:`jax.jit` cannot be checked, so
        there other values give a number without meaning.
        """
        x = jnp.asarray(check_spin_configurations(x, self.n_sites)).astype(self._dtype)
        if self._J is None:
            # Gathering whole rows of the site-major layout is much faster than gathering
            # columns of the batch-major one.
            sites_first = jnp.moveaxis(x, -1, 0)
            products = sites_first[self._edges[:, 0]] * sites_first[self._edges[:, 1]]
            pair = jnp.tensordot(self._weights, products, axes=1)
        else:
            pair = 0.5 * jnp.sum((x @ self._J) * x, axis=-1)
        return -pair - x @ self._h

    def get_conn_padded(self, x):
        return x[..., None, :], self.energy(x)[..., None]

    def n_conn(self, x, out=None):
        return jnp.ones(x.shape[:-1], dtype=jnp.int32)

    # -- pytree -------------------------------------------------------------------------
    def tree_flatten(self):
        data = (self._J, self._edges, self._weights, self._h)
        aux = (self.hilbert, self._is_sparse, self._dtype, self._metadata)
        return data, aux

    @classmethod
    def tree_unflatten(cls, aux, data):
        new = object.__new__(cls)
        nk.operator.DiscreteJaxOperator.__init__(new, aux[0])
        new._is_sparse, new._dtype, new._metadata = aux[1:]
        new._J, new._edges, new._weights, new._h = data
        return new

    # -- algebra: sums and real multiples stay PairwiseIsing -----------------------------
    # NumPy scalars on the left must defer to __rmul__ instead of broadcasting over us.
    __array_ufunc__ = None

    def __add__(self, other):
        if isinstance(other, PairwiseIsing):
            return algebra.add(self, other)
        return super().__add__(other)

    def __sub__(self, other):
        if isinstance(other, PairwiseIsing):
            return algebra.add(self, other, sign=-1.0)
        return super().__sub__(other)

    def __neg__(self):
        return algebra.scale(self, -1.0)

    def __mul__(self, other):
        if algebra.is_real_scalar(other):
            return algebra.scale(self, other)
        return super().__mul__(other)

    def __rmul__(self, other):
        if algebra.is_real_scalar(other):
            return algebra.scale(self, other)
        return super().__rmul__(other)

    def __truediv__(self, other):
        if algebra.is_real_scalar(other):
            if other == 0:
                raise ZeroDivisionError("cannot divide a PairwiseIsing by zero")
            return algebra.scale(self, 1.0 / float(other))
        return NotImplemented

    def __repr__(self):
        kind = "sparse" if self._is_sparse else "dense"
        name = self.metadata.get("model")
        label = f", model={name}" if name else ""
        return f"PairwiseIsing(N={self.n_sites}, {kind}, n_edges={self.n_edges}{label}, dtype={self._dtype.name})"


def _check_dense_couplings(J: np.ndarray, triangular: bool) -> int:
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"dense couplings must be a square (N, N) matrix, got shape {J.shape}")
    check_finite(J, "couplings")
    if np.any(np.diag(J) != 0):
        i = int(np.flatnonzero(np.diag(J))[0])
        raise ValueError(f"couplings must have a zero diagonal (no self-interaction); J[{i},{i}] = {J[i, i]}")
    if triangular:
        if np.any(np.triu(J, 1) != 0) and np.any(np.tril(J, -1) != 0):
            raise ValueError(
                "triangular=True needs a strictly lower- or strictly upper-triangular matrix, "
                "but both triangles have nonzero entries"
            )
    elif not np.array_equal(J, J.T):
        i, j = np.argwhere(J != J.T)[0]
        raise ValueError(
            f"couplings must be symmetric: J[{i},{j}] = {J[i, j]} but J[{j},{i}] = {J[j, i]}. "
            "Pass a matrix holding each pair once with triangular=True, or symmetrise it yourself."
        )
    return J.shape[0]


def _check_edges(edges, weights: np.ndarray, n: int | None):
    edges = np.asarray(edges)
    if edges.ndim != 2 or edges.shape[1] != 2 or not np.issubdtype(edges.dtype, np.integer):
        if edges.size == 0:
            edges = edges.reshape(0, 2).astype(np.int64)
        else:
            raise ValueError(f"edges must be an (E, 2) integer array, got shape {edges.shape}")
    if weights.shape != (edges.shape[0],):
        raise ValueError(
            f"with edges, couplings must be one weight per edge, shape ({edges.shape[0]},); got {weights.shape}"
        )
    check_finite(weights, "couplings")
    if np.any(edges[:, 0] == edges[:, 1]):
        i = int(edges[edges[:, 0] == edges[:, 1]][0, 0])
        raise ValueError(f"edges contain a self-loop ({i}, {i}): couplings need i != j")
    if n is not None and edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"edge indices must lie in [0, {n}), got range [{edges.min()}, {edges.max()}]")
    ordered = np.sort(edges, axis=1)
    unique = np.unique(ordered, axis=0)
    if len(unique) != len(ordered):
        raise ValueError("edges contain a repeated pair; give each unordered pair once")
    return ordered, weights


def _local_energy_kernel(logpsi, pars, σ, O):
    return O.energy(σ)


def _local_energy_kernel_chunked(logpsi, pars, σ, O, *, chunk_size=None):
    return O.energy(σ)


@nk.vqs.get_local_kernel.dispatch
def _pairwise_local_kernel(vstate: nk.vqs.MCState, O: PairwiseIsing):
    return _local_energy_kernel


@nk.vqs.get_local_kernel.dispatch
def _pairwise_local_kernel_chunked(vstate: nk.vqs.MCState, O: PairwiseIsing, chunk_size: int):
    return _local_energy_kernel_chunked
