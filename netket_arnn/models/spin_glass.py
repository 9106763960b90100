r"""SK_kRSB: the replica-derived spin-glass ARNNs, dense or with sparse couplings (THEORY §4).

For site :math:`i` the network outputs the logit
:math:`u_i = \log q(x_i{=}{+1} \mid x_{<i}) - \log q(x_i{=}{-1} \mid x_{<i})`,

.. math::

    u_i = a_i\, \xi_{ii} + c_i
          + \sum_{l>i} v^+_{il}\, \phi^+_{il}(\xi_{il}) - \sum_{l>i} v^-_{il}\, \phi^-_{il}(\xi_{il}),
    \qquad q(x_i \mid x_{<i}) = \sigma(x_i u_i),

with the exact couplings first layer :math:`\xi_{il} = \sum_{s<i} J_{sl} x_s` (THEORY §2)
and, for every pair :math:`(i, l)` and sign, a chain of :math:`k+1` log-sigmoid units
(:mod:`netket_arnn.nn.chains`)

.. math::  \phi(u) = \log\sigma\bigl(b_{k} + w_{k} \log\sigma(\dots \log\sigma(b_0 + w_0 u)\dots)\bigr).

``k = 0`` is SK_RS, ``k = 1`` SK_1RSB, ``k = 2`` SK_2RSB; any ``k >= 0`` works.

**The ±J shift.** In the exact form :math:`\rho^\pm_i` is the partition function of the
unsampled spins in the fields :math:`\pm J_{il} + h_l + \xi_{il}`. The chains here act on
:math:`\xi_{il}` itself, as in the paper's code: each :math:`(i, l, \pm)` has its own
innermost bias :math:`b_0`, and :math:`b_0 + w_0 (\xi \pm J_{il} + h_l)` is
:math:`b_0' + w_0 \xi` with :math:`b_0' = b_0 + w_0(\pm J_{il} + h_l)`. With fixed couplings
the two parametrisations describe exactly the same family; keeping the shift out of the
network keeps the chains independent of :math:`J` (cheaper, and well defined when the first
layer is learned).

**Parameters** (collection ``"params"``; ``P`` = number of pairs with units, ``K = k + 1``):

=========  ============  ================================================================
name       shape         meaning, initial value
=========  ============  ================================================================
``a``      ``(N,)``      skip weight :math:`a_i`, starts at :math:`2\beta`
``c``      ``(N,)``      bias :math:`c_i`, starts at :math:`2\beta h_i`
``w``      ``(K, 2, P)`` chain weights, ``w[j, 0]``: unit ``j`` (innermost first) of the ``+`` chain
``b``      ``(K, 2, P)`` chain biases, same layout
``v``      ``(2, P)``    output weights :math:`v^+, v^-`
=========  ============  ================================================================

``w``, ``b``, ``v`` start i.i.d. :math:`\mathcal N(0, \text{hidden\_init\_std}^2)`
(default 0.01), so the initial network is the "no-future" conditional
:math:`u_i \approx 2\beta(\xi_{ii} + h_i)` (exact when :math:`x_i` is not coupled to the
unsampled spins) plus a small random correction that breaks the ± symmetry.

Parameter count: :math:`(4k+6)P + 2N`, with :math:`P = N(N-1)/2` for dense couplings (the
paper's count) and :math:`P` = number of frontier pairs (:mod:`netket_arnn.nn.sparse`) for
sparse couplings; a trainable first layer adds :math:`N(N-1)/2` (dense) or :math:`E` (sparse,
one weight per edge). See :func:`spin_glass_n_params`.

**Pair order** (how a packed ``(…, P)`` array maps to pairs): dense, the upper triangle
``(i, l), l > i`` row by row (``np.triu_indices(N, 1)``); sparse, the frontier pairs in
``(i, l)`` order (:attr:`FrontierLayout.pair_rows`, :attr:`~FrontierLayout.pair_cols`).

**Memory and work.** The batched pass (``__call__``, ``logits``) never builds the
``(B, N, N)`` first-layer tensor. Dense: the sites are cut into an even number ``M`` of
chunks of ``C`` sites; chunk ``c`` and chunk ``M-1-c`` are *folded* into one static
``(B, C, N_p + C)`` block (the columns ``l >= i`` each row needs), so one
:func:`jax.lax.scan` over ``M/2`` folded pairs covers the upper triangle with ~no waste.
Sparse: a scan over chunks of ``C`` sites of ``(B, C, 1 + W)`` frontier blocks. When there is
more than one scan step the body is rematerialised (:func:`jax.checkpoint`): the backward pass
stores only the ``(M, B, N)`` chunk bases of the first layer (dense) and recomputes each block,
at the price of one extra forward pass. ``C`` is the largest chunk whose estimated live
numbers (bases + one block's chain intermediates and cotangents) fit ``chunk_elements``
(default :math:`2^{25}`, 256 MiB of float64), else the one that minimises them. For much larger
``B N^2`` use NetKet's ``chunk_size`` (``MCState(..., chunk_size=...)``), which splits the batch.

**Sampling.** ``conditional`` keeps the ``(B, N)`` first-layer state
:math:`\xi_{i,\cdot}` in the ``"cache"`` collection (variable ``"xi"``) and advances it by
the recurrence :math:`\xi_{i,l} = \xi_{i-1,l} + J_{i-1,l} x_{i-1}`: :math:`O(B N (k+1))`
work per site dense, :math:`O(B (W (k+1) + D))` sparse (only the later neighbours of
:math:`i-1` are updated and only the frontier is read); no full forward pass.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from netket.utils import HashableArray
from netket.utils.types import DType

from .._validation import check_beta, check_spin_hilbert
from ..nn.chains import log_sigmoid, signed_chain_sum, signed_chain_terms
from ..nn.couplings import Couplings
from ..nn.packed import packed_first_layer_update, packed_index
from ..nn.sparse import (
    EdgeCouplings,
    FrontierLayout,
    frontier_first_layer,
    frontier_first_layer_update,
    frontier_layout,
)
from ..operators import PairwiseIsing
from .base import check_pairwise

__all__ = ["SpinGlassARNN", "spin_glass_n_params"]


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k (number of RSB steps) must be a non-negative integer, got {k!r}")
    if k < 0:
        raise ValueError(f"k (number of RSB steps) must be >= 0, got {k}")
    return int(k)


def spin_glass_n_params(H: PairwiseIsing, k: int, *, learn_couplings: bool = False, sparse=None) -> int:
    r"""Number of trainable parameters of ``SpinGlassARNN.from_hamiltonian(H, β, k, ...)``.

    .. math::  (4k + 6)\,P + 2N \;[+\; N(N-1)/2 \text{ dense, or } E \text{ sparse, if learn\_couplings}]

    with :math:`P = N(N-1)/2` dense (the paper's :math:`(4k+6)N(N-1)/2 + 2N`) and :math:`P`
    the number of frontier pairs sparse. ``sparse`` defaults to ``H.is_sparse``.
    """
    H = check_pairwise(H)
    k = _check_k(k)
    n = H.n_sites
    sparse = H.is_sparse if sparse is None else bool(sparse)
    if sparse:
        pairs = frontier_layout(n, np.asarray(H.edges)).n_pairs
        first = H.n_edges
    else:
        pairs = first = n * (n - 1) // 2
    return (4 * k + 6) * pairs + 2 * n + (first if learn_couplings else 0)


class SpinGlassARNN(nk.models.AbstractARNN):
    r"""SK_kRSB autoregressive network for a pairwise Ising Hamiltonian (see the module doc).

    Build it with :meth:`from_hamiltonian`. Fields (all static):

    - ``k``: number of RSB steps; each pair has two chains of ``k + 1`` units.
    - ``beta``, ``fields``: used only to initialise ``a = 2β`` and ``c = 2βh``.
    - ``couplings``: dense ``(N, N)`` symmetric matrix, or with ``edges`` the ``(E,)`` edge
      weights (sparse model, units only for frontier pairs).
    - ``learn_couplings``: the first-layer couplings become the trainable parameter
      ``params["first_layer"]["kernel"]`` (dense: the ``N(N-1)/2`` upper triangle, row-major;
      sparse: the ``E`` edge weights), started i.i.d. :math:`\mathcal N(0,
      \text{coupling\_init\_std}^2)`, or from ``couplings`` if ``coupling_init_std`` is
      None. Otherwise they are fixed, in the ``"couplings"`` collection.
    - ``chunk_elements``: memory budget (numbers held at once) of the batched pass; sets the
      site-chunk size (see the module doc).
    """

    k: int = 1
    beta: float = 1.0
    couplings: HashableArray | None = None
    edges: HashableArray | None = None
    fields: HashableArray | None = None
    learn_couplings: bool = False
    coupling_init_std: float | None = 0.01
    hidden_init_std: float = 0.01
    chunk_elements: int = 2**25
    param_dtype: DType = jnp.float64
    machine_pow: int = 2

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_hamiltonian(
        cls,
        H: PairwiseIsing,
        beta: float,
        k: int = 1,
        *,
        learn_couplings: bool = False,
        sparse: bool | None = None,
        coupling_init_std: float | None = 0.01,
        hidden_init_std: float = 0.01,
        chunk_elements: int = 2**25,
        param_dtype: DType = jnp.float64,
    ) -> SpinGlassARNN:
        r"""SK_kRSB network for ``H`` at inverse temperature ``beta`` (used for the init only).

        Args:
            H: a :class:`~netket_arnn.PairwiseIsing` Hamiltonian.
            beta: inverse temperature, > 0: ``a_i = 2β``, ``c_i = 2β h_i`` initially.
            k: RSB steps (0: SK_RS, 1: SK_1RSB, 2: SK_2RSB, any integer >= 0).
            learn_couplings: make the first layer trainable (see the class doc).
            sparse: units only for frontier pairs of the coupling graph; default
                ``H.is_sparse``. ``True`` on a dense ``H`` uses its nonzero couplings as edges;
                ``False`` on a sparse ``H`` builds the dense model from ``H.couplings``.
            coupling_init_std: std of the random start of a learned first layer (None:
                start from ``H``'s couplings).
            hidden_init_std: std of the random start of ``w``, ``b``, ``v``.
            chunk_elements: memory budget of the batched pass (numbers held at once).
            param_dtype: ``jnp.float64`` (default) or ``jnp.float32``.
        """
        H = check_pairwise(H)
        beta = check_beta(beta)
        k = _check_k(k)
        sparse = H.is_sparse if sparse is None else bool(sparse)
        if sparse:
            couplings = HashableArray(np.asarray(H.edge_weights, dtype=np.float64))
            edges = HashableArray(np.asarray(H.edges, dtype=np.int64))
        else:
            couplings = HashableArray(np.asarray(H.couplings, dtype=np.float64))
            edges = None
        return cls(
            hilbert=H.hilbert,
            k=k,
            beta=beta,
            couplings=couplings,
            edges=edges,
            fields=HashableArray(np.asarray(H.fields, dtype=np.float64)),
            learn_couplings=bool(learn_couplings),
            coupling_init_std=coupling_init_std,
            hidden_init_std=hidden_init_std,
            chunk_elements=chunk_elements,
            param_dtype=param_dtype,
        )

    # -- static structure ----------------------------------------------------------------------
    @property
    def is_sparse(self) -> bool:
        return self.edges is not None

    @property
    def layout(self) -> FrontierLayout | None:
        """The frontier tables (sparse model), else None."""
        if self.edges is None:
            return None
        return frontier_layout(self.hilbert.size, np.asarray(self.edges))

    @property
    def n_pairs(self) -> int:
        """Number of pairs ``(i, l)`` with hidden units."""
        n = self.hilbert.size
        return n * (n - 1) // 2 if self.edges is None else self.layout.n_pairs

    def _validate(self):
        n = self.hilbert.size
        check_spin_hilbert(self.hilbert, n)
        _check_k(self.k)
        check_beta(self.beta)
        if not jnp.issubdtype(jnp.dtype(self.param_dtype), jnp.floating):
            raise TypeError(f"param_dtype must be a real floating dtype, got {self.param_dtype}")
        if self.couplings is None:
            raise ValueError("SpinGlassARNN needs `couplings`; build it with SpinGlassARNN.from_hamiltonian")
        shape = np.asarray(self.couplings).shape
        if self.edges is None and shape != (n, n):
            raise ValueError(f"dense couplings must have shape ({n}, {n}), got {shape}")
        if self.edges is not None and shape != (np.asarray(self.edges).shape[0],):
            raise ValueError(f"with edges, couplings must be one weight per edge, got shape {shape}")
        if self.fields is not None and np.asarray(self.fields).shape != (n,):
            raise ValueError(f"fields must have shape ({n},), got {np.asarray(self.fields).shape}")
        if self.hidden_init_std < 0 or (self.coupling_init_std is not None and self.coupling_init_std < 0):
            raise ValueError("initialisation standard deviations must be >= 0")
        if int(self.chunk_elements) < 1:
            raise ValueError(f"chunk_elements must be a positive integer, got {self.chunk_elements}")

    def setup(self):
        self._validate()
        n = self.hilbert.size
        dtype = self.param_dtype
        depth = self.k + 1
        pairs = self.n_pairs
        kernel_init = None
        if self.learn_couplings and self.coupling_init_std is not None:
            kernel_init = nn.initializers.normal(self.coupling_init_std)
        if self.edges is None:
            self.first_layer = Couplings(
                n_sites=n,
                values=self.couplings,
                trainable=self.learn_couplings,
                kernel_init=kernel_init,
                param_dtype=dtype,
            )
        else:
            self.first_layer = EdgeCouplings(
                n_edges=np.asarray(self.edges).shape[0],
                values=self.couplings,
                trainable=self.learn_couplings,
                kernel_init=kernel_init,
                param_dtype=dtype,
            )
        beta = float(self.beta)
        h = np.zeros(n) if self.fields is None else np.asarray(self.fields, dtype=np.float64)
        self.a = self.param("a", nn.initializers.constant(2.0 * beta), (n,), dtype)
        self.c = self.param("c", lambda key, shape, dt: jnp.asarray(2.0 * beta * h, dtype=dt), (n,), dtype)
        hidden = nn.initializers.normal(self.hidden_init_std)
        self.w = self.param("w", hidden, (depth, 2, pairs), dtype)
        self.b = self.param("b", hidden, (depth, 2, pairs), dtype)
        self.v = self.param("v", hidden, (2, pairs), dtype)

    def _padded(self):
        """``w``, ``b``, ``v`` with a zero appended to the pair axis (index ``P`` = padding)."""

        def pad(p):
            return jnp.concatenate([p, jnp.zeros(p.shape[:-1] + (1,), p.dtype)], axis=-1)

        return pad(self.w), pad(self.b), pad(self.v)

    def _dense_slots(self, rows, cols, flat: bool = False) -> jax.Array:
        """Packed pair index of ``(rows[r], cols[t])`` (``(R, L)``, or ``(R,)`` elementwise if
        ``flat``); ``P`` where ``cols <= rows``."""
        n = self.hilbert.size
        rows = jnp.asarray(rows) if flat else jnp.asarray(rows)[:, None]
        cols = jnp.asarray(cols) if flat else jnp.asarray(cols)[None, :]
        return jnp.where(cols > rows, packed_index(rows, cols, n), self.n_pairs).astype(jnp.int32)

    def _dense_chunk_size(self, batch: int) -> int:
        """Sites per chunk of the dense pass: the largest within the memory budget, else the leanest.

        Live numbers, roughly: the per-chunk first-layer bases, their sums and cotangents
        (``3 B N_c N_p``) plus one pair of chunks' chain intermediates and cotangents
        (``2 (4K + 2) B C (N_p + C)``).
        """
        n = self.hilbert.size
        factor = 2 * (4 * (self.k + 1) + 2)

        def live(size):
            n_chunks = 2 * math.ceil(n / (2 * size))
            padded = n_chunks * size
            return 3 * n_chunks * batch * padded + factor * batch * size * (padded + size)

        sizes = range(1, max(math.ceil(n / 2), 1) + 1)
        fitting = [c for c in sizes if live(c) <= self.chunk_elements]
        return max(fitting) if fitting else min(sizes, key=live)

    # -- batched pass ------------------------------------------------------------------------------
    def logits(self, x: jax.Array) -> jax.Array:
        r"""All logits :math:`u_i(x_{<i})`, ``(B, N)`` float spins -> ``(B, N)``."""
        if self.edges is None:
            return self._dense_logits(x)
        return self._sparse_logits(x)

    def _dense_logits(self, x):
        r"""Dense pass over *folded* pairs of site chunks.

        Sites are cut into an even number ``M`` of chunks of ``C`` rows (``N_p = M C`` with
        padding). Row ``i`` needs the columns ``l >= i`` only, so chunk ``c`` (columns
        ``[cC, N_p)``) and chunk ``M-1-c`` (columns ``[(M-1-c)C, N_p)``, stored reversed)
        together fill exactly ``N_p + C`` columns: one scan over ``M/2`` such pairs covers the
        upper triangle with a static shape and ~no waste. The first-layer base of each chunk,
        :math:`\sum_{s < cC} J_{s\cdot} x_s`, is an exclusive cumulative sum of per-chunk
        matrix products (never a difference of sums, so :math:`u_i` depends on
        :math:`x_{<i}` only, to the last bit).
        """
        batch, n = x.shape
        size = self._dense_chunk_size(batch)
        n_chunks = 2 * math.ceil(n / (2 * size))
        n_pairs = n_chunks // 2
        padded = n_chunks * size
        width = padded + size
        pad = padded - n
        J = jnp.pad(self.first_layer(), ((0, pad), (0, pad)))  # zero couplings to padding sites
        w, b, v = self._padded()

        x_ch = jnp.pad(x, ((0, 0), (0, pad))).reshape(batch, n_chunks, size).transpose(1, 0, 2)  # (M, B, C)
        J_ch = J.reshape(n_chunks, size, padded)  # (M, C, Np)
        sums = jnp.einsum("mbs,msl->mbl", x_ch, J_ch)  # chunk m's J_sl x_s summed over its rows
        bases = jnp.concatenate([jnp.zeros_like(sums[:1]), jnp.cumsum(sums[:-1], axis=0)])  # (M, B, Np)

        # static fold geometry: pair p holds chunk p (part 1) and chunk M-1-p (part 2, reversed)
        pair = jnp.arange(n_pairs)[:, None, None]
        r = jnp.arange(size)[None, :, None]
        t = jnp.arange(width)[None, None, :]
        start = pair * size
        first = t < padded - start  # (P, 1, width): column of part 1
        row = jnp.where(first, start + r, (n_chunks - 1 - pair) * size + r)
        col = jnp.where(first, start + t, 2 * padded - 1 - start - t)
        row, col = jnp.broadcast_arrays(row, col)  # (P, C, width)
        slots = self._dense_slots(row.reshape(-1), col.reshape(-1), flat=True).reshape(n_pairs, size, width)
        slots = jnp.where((row < n) & (col < n), slots, self.n_pairs)

        def by_pair(p):  # (..., P, C, width) -> (P, ..., C, width)
            return jnp.moveaxis(p, -3, 0)

        a_ch = jnp.pad(self.a, (0, pad)).reshape(n_chunks, size)
        c_ch = jnp.pad(self.c, (0, pad)).reshape(n_chunks, size)
        xs = (
            x_ch[:n_pairs],
            x_ch[::-1][:n_pairs],
            J_ch[:n_pairs],
            J_ch[::-1][:n_pairs],
            bases[:n_pairs],
            bases[::-1][:n_pairs],
            jnp.stack([a_ch[:n_pairs], a_ch[::-1][:n_pairs]], axis=1),
            jnp.stack([c_ch[:n_pairs], c_ch[::-1][:n_pairs]], axis=1),
            by_pair(w[..., slots]),
            by_pair(b[..., slots]),
            by_pair(v[..., slots]),
            jnp.arange(n_pairs) * size,
        )
        diag = np.arange(size)

        def body(carry, chunk):
            x1, x2, J1, J2, base1, base2, a_p, c_p, w_p, b_p, v_p, start = chunk
            J_pair = jax.lax.dynamic_slice_in_dim(jnp.concatenate([J1, J2[:, ::-1]], axis=1), start, width, 1)
            base = jax.lax.dynamic_slice_in_dim(jnp.concatenate([base1, base2[:, ::-1]], axis=1), start, width, 1)
            first = jnp.arange(width) < padded - start
            spins = jnp.where(first, x1[:, :, None], x2[:, :, None])  # (B, C, width): x_s of each part
            terms = spins * J_pair[None]
            # exclusive prefix sum over the chunk's rows: term s never reaches row s
            before = jnp.cumsum(terms[:, :-1], axis=1)
            xi = base[:, None, :] + jnp.concatenate([jnp.zeros_like(terms[:, :1]), before], axis=1)
            # the two parts split at a block boundary: sum within blocks of C columns (one fused
            # reduction), then over the M + 1 blocks of each part (two masked sums of a small
            # array; masked sums of the full array would evaluate the chains twice)
            contrib = signed_chain_terms(xi, w_p, b_p, v_p)  # (B, C, width)
            blocks = jnp.sum(contrib.reshape(batch, size, n_chunks + 1, size), axis=-1)
            first_block = jnp.arange(n_chunks + 1) < n_chunks - start // size
            u1 = jnp.sum(jnp.where(first_block, blocks, 0.0), axis=-1) + a_p[0] * xi[:, diag, diag] + c_p[0]
            u2 = jnp.sum(jnp.where(first_block, 0.0, blocks), axis=-1) + a_p[1] * xi[:, diag, width - 1 - diag]
            return carry, (u1, u2 + c_p[1])

        if n_pairs > 1:  # rematerialise each pair in the backward pass (one pair fits the budget)
            body = jax.checkpoint(body)
        _, (u1, u2) = jax.lax.scan(body, None, xs)  # (P, B, C) each
        u = jnp.concatenate([u1, u2[::-1]], axis=0)  # chunks 0..M-1
        return u.transpose(1, 0, 2).reshape(batch, padded)[:, :n]

    def _sparse_logits(self, x):
        batch, n = x.shape
        layout = self.layout
        depth = self.k + 1
        width = layout.width
        db = layout.back_src.shape[1]
        # live numbers per site: gathered spins (Db per slot), chain intermediates and cotangents
        per_site = max(batch * (width + 1) * (db + 2 * (4 * depth + 2)), 1)
        size = int(min(max(int(self.chunk_elements) // per_site, 1), n))
        n_chunks = math.ceil(n / size)
        pad = n_chunks * size - n
        weights = self.first_layer()
        w, b, v = self._padded()
        # slot 0: the site itself (skip input ξ_ii); slots 1..W: its frontier
        ext = np.concatenate([np.arange(n, dtype=np.int32)[:, None], layout.cols], axis=1)
        ext = np.pad(ext, ((0, pad), (0, 0)), constant_values=n)
        slots = np.pad(layout.slot_index, ((0, pad), (0, 0)), constant_values=self.n_pairs)

        def chunked(p):  # (..., Np, W) -> (n_chunks, ..., C, W)
            p = p.reshape(p.shape[:-2] + (n_chunks, size, p.shape[-1]))
            return jnp.moveaxis(p, -3, 0)

        xs = (
            jnp.asarray(ext).reshape(n_chunks, size, width + 1),
            chunked(w[..., slots]),
            chunked(b[..., slots]),
            chunked(v[..., slots]),
            jnp.pad(self.a, (0, pad)).reshape(n_chunks, size),
            jnp.pad(self.c, (0, pad)).reshape(n_chunks, size),
            jnp.arange(n_chunks * size).reshape(n_chunks, size),
        )

        def body(carry, chunk):
            ext_c, w_c, b_c, v_c, a_c, c_c, rows_c = chunk
            xi = frontier_first_layer(x, weights, layout, rows_c, ext_c)  # (B, C, 1 + W)
            u = a_c * xi[..., 0] + c_c + signed_chain_sum(xi[..., 1:], w_c, b_c, v_c)
            return carry, u

        if n_chunks > 1:
            body = jax.checkpoint(body)
        _, u = jax.lax.scan(body, None, xs)
        return u.transpose(1, 0, 2).reshape(batch, n_chunks * size)[:, :n]

    # -- cached sampling ---------------------------------------------------------------------------
    def conditional_logit(self, x: jax.Array, index) -> jax.Array:
        """The logit of site ``index`` from the ``"cache"`` state, ``(B, N) -> (B,)``.

        Reads one row of couplings and of pair parameters: nothing of size ``N^2`` per site.
        """
        batch, n = x.shape
        cache = self.variable("cache", "xi", jnp.zeros, (batch, n), x.dtype)
        if self.edges is None:
            xi = packed_first_layer_update(cache.value, self.first_layer(packed=True), x, index)
            slots = self._dense_slots(jnp.reshape(index, (1,)), jnp.arange(n))[0]  # (N,)
            xi_cols = xi
        else:
            layout = self.layout
            xi = frontier_first_layer_update(cache.value, self.first_layer(), layout, x, index)
            slots = jnp.asarray(layout.slot_index)[index]  # (W,)
            cols = jnp.asarray(layout.cols)[index]  # (W,), padding = N
            xi_cols = jnp.concatenate([xi, jnp.zeros((batch, 1), xi.dtype)], axis=1)[:, cols]
        if not self.is_initializing():
            cache.value = xi
        if self.n_pairs == 0:
            chain = jnp.zeros((batch,), xi.dtype)
        else:
            # padding slots (index P) read pair P-1 and are switched off through v = 0
            valid = slots < self.n_pairs
            idx = jnp.minimum(slots, self.n_pairs - 1)
            v = jnp.where(valid, self.v[..., idx], 0.0)
            # materialise the gathered row first: fused into the chain's loop, the gather made
            # the per-site cost ~4x that of the chain itself (XLA CPU)
            w, b, v = jax.lax.optimization_barrier((self.w[..., idx], self.b[..., idx], v))
            chain = signed_chain_sum(xi_cols, w, b, v)
        return self.a[index] * xi[:, index] + self.c[index] + chain

    # -- NetKet ARNN interface ---------------------------------------------------------------------
    def _spins(self, inputs) -> jax.Array:
        # ARDirectSampler hands int8 spins: cast before any sum (N > 127 would overflow)
        x = jnp.asarray(inputs)
        return x.reshape(-1, x.shape[-1]).astype(self.param_dtype)

    def _local_signs(self) -> jax.Array:
        # hilbert.local_states is [+1, -1] for Spin(0.5, N): index 0 is spin up
        return jnp.asarray(self.hilbert.local_states, dtype=self.param_dtype)

    def conditionals_log_psi(self, inputs: jax.Array) -> jax.Array:
        r"""``(B, N, 2)``: :math:`\tfrac12 \log q(x_i = s \mid x_{<i})`, ``s`` in ``local_states``."""
        u = self.logits(self._spins(inputs))
        return 0.5 * log_sigmoid(u[..., None] * self._local_signs())

    def __call__(self, inputs: jax.Array) -> jax.Array:
        r""":math:`\log\psi(x) = \tfrac12 \sum_i \log\sigma(x_i u_i)` for ``(..., N)`` inputs -> ``(...)``."""
        lead = jnp.shape(inputs)[:-1]
        x = self._spins(inputs)
        log_q = jnp.sum(log_sigmoid(x * self.logits(x)), axis=-1)
        return 0.5 * log_q.reshape(lead)

    @nn.compact
    def conditional(self, inputs: jax.Array, index) -> jax.Array:
        """``(B, 2)`` normalised :math:`q(x_i = s \\mid x_{<i})`, ``s`` in ``local_states``, from the cache."""
        u = self.conditional_logit(self._spins(inputs), index)
        return jax.nn.sigmoid(u[:, None] * self._local_signs())
